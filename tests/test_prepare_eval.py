"""`prepare` edge extraction and `eval` metrics, on synthetic photos and real files."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor.tools import metrics
from batchcolor.tools.prepare import EdgeSettings, line_art_from_photo

from conftest import run_cli


def synthetic_photo(size: int = 200) -> np.ndarray:
    img = np.full((size, size, 3), 255, np.uint8)
    cv2.circle(img, (100, 100), 60, (200, 40, 40), -1)
    cv2.rectangle(img, (30, 170), (170, 192), (30, 90, 200), -1)
    noise = np.random.default_rng(0).normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["canny", "xdog", "sobel"])
def test_prepare_gives_thin_dark_contours_on_white(method):
    photo = synthetic_photo()
    lines = line_art_from_photo(photo, EdgeSettings(method=method))
    dark = lines < 128
    assert lines.dtype == np.uint8 and set(np.unique(lines)) <= {0, 255}
    assert 0.005 < dark.mean() < 0.12, dark.mean()  # mostly white paper
    # contours lie on the shape boundaries, not inside flat colour
    inner = np.zeros(dark.shape, bool)
    cv2.circle(inner.view(np.uint8), (100, 100), 50, 1, -1)
    assert dark[inner].mean() < 0.01
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    hit = [dark[np.rint(100 + r * np.sin(t)).astype(int), np.rint(100 + r * np.cos(t)).astype(int)].any()
           for t in angles for r in [np.arange(57, 64)]]
    assert np.mean(hit) > 0.9, "the circle's outline is drawn nearly all the way round"
    # thin: the circle's perimeter (~377 px) is drawn with few pixels per unit length
    circle_pixels = dark & (np.hypot(*np.mgrid[:200, :200] - 100) < 70) & ~inner
    assert circle_pixels.sum() < 377 * 4


def test_prepare_ink_draws_thick_lines_on_the_dark_side_of_each_edge():
    """Ink imitates a photocopied or traced drawing: thicker than Canny's contours, on the
    outline all the way round, and on the darker side of it, never out on the paper."""
    photo = synthetic_photo()
    dark = line_art_from_photo(photo, EdgeSettings(method="ink")) < 128
    canny = line_art_from_photo(photo, EdgeSettings(method="canny")) < 128
    r = np.hypot(*np.mgrid[:200, :200] - 100)
    assert dark[r < 50].mean() < 0.01, "flat colour stays clear"
    ring_in, ring_out = dark[(r > 54) & (r <= 60)].mean(), dark[(r > 61) & (r < 67)].mean()
    assert ring_in > 0.4 and ring_out < 0.05, (ring_in, ring_out)
    ring = (r > 50) & (r < 70)
    assert dark[ring].sum() > 2 * canny[ring].sum(), "thick lines, not Canny's 1 px contours"


def test_prepare_rejects_an_unknown_edge_method():
    with pytest.raises(ValueError, match="canny, xdog, ink, sobel"):
        line_art_from_photo(synthetic_photo(), EdgeSettings(method="hed"))


def test_prepare_folder_cli_writes_ab_pairs(tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    cv2.imwrite(str(photos / "a.jpg"), synthetic_photo()[:, :, ::-1])
    cv2.imwrite(str(photos / "sub" / "b.png"), synthetic_photo(150)[:30, :, ::-1])  # not square: padded
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    Image.fromarray(synthetic_photo(120)).save(photos / "phone.heic", quality=95)  # a phone's photo
    r = run_cli("prepare", photos, tmp_path / "ab", "--size", "64")
    assert r.returncode == 3 and "broken.png" in r.stderr and "phone.heic" not in r.stderr
    ab = cv2.imread(str(tmp_path / "ab" / "a_AB.png"))
    assert ab.shape == (64, 128, 3)
    assert (tmp_path / "ab" / "sub" / "b_AB.png").exists()
    assert cv2.imread(str(tmp_path / "ab" / "phone_AB.png")).shape == (64, 128, 3)
    left = ab[:, :64]
    assert (left > 200).mean() > 0.8


def test_metrics_perfect_and_degraded():
    rng = np.random.default_rng(1)
    targets = np.stack([cv2.GaussianBlur(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), (0, 0), 2) for _ in range(4)])
    perfect = metrics.all_metrics(targets, targets)
    assert perfect["psnr"] == 100 and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["ciede2000"] == pytest.approx(0.0, abs=1e-9) and perfect["l1"] == 0
    assert perfect["colorfulness_ratio"] == pytest.approx(1.0)
    degraded = np.stack([cv2.GaussianBlur(t, (0, 0), 3) for t in targets])
    gray = np.repeat(degraded.mean(axis=3, keepdims=True), 3, axis=3).astype(np.uint8)
    d = metrics.all_metrics(degraded, targets)
    g = metrics.all_metrics(gray, targets)
    assert d["psnr"] < 40 and d["ssim"] < 0.95 and d["ciede2000"] > 0.5 and d["l1"] > 0
    assert g["colorfulness_ratio"] < 0.05 < d["colorfulness_ratio"]


def test_ciede2000_matches_sharma_reference_pairs():
    # pairs 1, 7 and 17 of Sharma, Wu & Dalal (2005), Table 1
    lab1 = np.array([[50.0, 2.6772, -79.7751], [50.0, 0.0, 0.0], [50.0, 2.5, 0.0]])
    lab2 = np.array([[50.0, 0.0, -82.7485], [50.0, -1.0, 2.0], [73.0, 25.0, -18.0]])
    np.testing.assert_allclose(metrics.ciede2000_lab(lab1, lab2), [2.0425, 2.3669, 27.1492], atol=1e-4)


def test_eval_cli_on_own_targets_is_perfect_and_beats_flat(tmp_path, pointwise_rgb):
    """A model whose output is its input, evaluated on pairs whose target is the input."""
    from batchcolor.tools import synthetic

    import openvino as ov
    import openvino.opset13 as ops

    param = ops.parameter([1, 3, -1, -1], np.float32, name="x")
    identity = ov.Model([ops.multiply(param, ops.constant(np.float32(1.0)))], [param], "identity")
    folder = tmp_path / "identity"
    synthetic.save_with_card(identity, folder, synthetic.test_card("identity", 3, 1, tile=64, overlap=16))
    data = tmp_path / "pairs"
    data.mkdir()
    for i in range(5):
        photo = synthetic_photo(64)
        photo = np.roll(photo, i * 7, axis=1)
        cv2.imwrite(str(data / f"{i}_AB.png"), np.concatenate([photo, photo], axis=1)[:, :, ::-1])
    # (--levels off: the drawings' grainy white would be levelled first, as run does with scans)
    r = run_cli("eval", folder, data, "-o", tmp_path / "report", "--size", "64", "--levels", "off")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    m, flat = report["model_metrics"], report["flat_baseline"]
    assert m["psnr"] == 100 and m["ssim"] == pytest.approx(1.0) and m["ciede2000"] == pytest.approx(0, abs=1e-6)
    assert flat["psnr"] < 30 and flat["ciede2000"] > 1 and flat["ssim"] < 0.99
    sheet = cv2.imread(str(tmp_path / "report" / "contact_sheet.png"))
    assert sheet.shape[0] > 5 * 64 and sheet.shape[1] > 3 * 64


def test_eval_colours_several_drawings_at_once_exactly_as_one_by_one(unet_model):
    """``eval`` keeps several drawings in flight on the engine's requests; each output is the
    one the one-image path gives that drawing alone, in the order given."""
    from batchcolor.colorize.image import colorize_image
    from batchcolor.colorize.settings import InferenceSettings, open_engine
    from batchcolor.tools import synthetic
    from batchcolor.tools.evaluate import predict

    folder, _ = unet_model
    settings = InferenceSettings(model=str(folder), precision="f32")
    edges = np.stack([np.repeat(synthetic.line_art(96, 96, seed=s)[:, :, None], 3, axis=2) for s in range(6)])
    engine, tiling = open_engine(settings)
    try:
        alone = [colorize_image(np.ascontiguousarray(e[:, :, ::-1]), engine, tiling)[:, :, ::-1] for e in edges]
        together, _ = predict(settings, edges, engine_tiling=(engine, tiling))
    finally:
        engine.close()
    assert together.shape == (6, 96, 96, 3)
    for i in range(6):
        np.testing.assert_array_equal(together[i], alone[i])
    assert len({a.tobytes() for a in alone}) == 6  # six different drawings: order is checked
