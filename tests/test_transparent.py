"""Line art on a transparent layer (what drawing apps export): the output keeps the layer's
transparency outside the drawn objects and is opaque, coloured, inside them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.drawing.paper import opaque_objects, silhouette

from conftest import REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"


def _ring_layer(size: int = 160, radius: int = 50, thick: int = 3) -> np.ndarray:
    """BGRA: a black anti-aliased circle on a fully transparent layer (colour 0 where clear)."""
    cover = np.zeros((size, size), np.uint8)
    cv2.circle(cover, (size // 2, size // 2), radius, 255, thick, lineType=cv2.LINE_AA)
    return np.dstack([np.zeros_like(cover)] * 3 + [cover])


def _over(out: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    a = out[:, :, 3:].astype(np.float64) / 255
    return out[:, :, :3] * a + np.asarray(background, np.float64) * (1 - a)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def test_a_ring_on_a_layer_becomes_an_opaque_disc_with_the_layer_outside():
    layer = _ring_layer()
    alpha = layer[:, :, 3]
    drawing = (255 - alpha)[:, :, None]  # the layer composited over white
    out, own = opaque_objects(alpha, drawing)
    yy, xx = np.mgrid[:160, :160]
    r = np.hypot(yy - 80, xx - 80)
    assert (out[r < 45] == 255).all()  # the object's inside: opaque
    assert (out[r > 56] == 0).all() and own[r > 56].all()  # the layer's clear paper: still clear
    assert (out >= alpha).all()  # nothing the layer covered loses its cover
    # the outline's outer anti-aliased rim keeps the layer's own cover, not 255
    rim = (r > 52) & (alpha > 0) & (alpha < 255)  # (the circle's stroke ends at 51.5)
    assert rim.any() and (out[rim] == alpha[rim]).all() and own[rim].all()
    assert not own[r < 45].any()


def test_a_cut_out_keeps_its_own_alpha():
    """An opaque drawing on white inside a disc-shaped cut-out: the objects lie inside the
    opaque part, so the alpha comes back exactly as it went in."""
    size = 200
    gray = np.full((size, size), 255, np.uint8)
    cv2.rectangle(gray, (70, 70), (130, 130), 0, 2)
    alpha = np.zeros((size, size), np.uint8)
    cv2.circle(alpha, (100, 100), 90, 255, -1)
    composited = np.where(alpha == 255, gray, 255).astype(np.uint8)[:, :, None]
    out, own = opaque_objects(alpha, composited)
    np.testing.assert_array_equal(out, alpha)
    assert not own[alpha == 255].any()
    assert silhouette(composited[:, :, 0])[100, 100]  # (the square was found, and filled)


def _layer_of(name: str) -> tuple[np.ndarray, np.ndarray]:
    gray = cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    return gray, np.dstack([np.zeros_like(gray)] * 3 + [255 - gray])


def test_run_with_the_shipped_model_colours_a_transparent_layer(tmp_path):
    """A drawing exported as a line layer (black lines, alpha = ink), a gray+alpha one, the
    same drawings flat on white, and an RGBA file that is opaque everywhere, through `run`."""
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    sneaker, layer = _layer_of("shoes/sneaker")
    cv2.imwrite(str(src / "sneaker_layer.png"), layer)
    cv2.imwrite(str(src / "sneaker_flat.png"), sneaker)
    cv2.imwrite(str(src / "sneaker_opaque.png"), np.dstack([sneaker] * 3 + [np.full_like(sneaker, 255)]))
    clutch, _ = _layer_of("bags/clutch")
    Image.fromarray(np.dstack([np.zeros_like(clutch), 255 - clutch]), "LA").save(src / "clutch_layer.png")
    cv2.imwrite(str(src / "clutch_flat.png"), clutch)
    r = run_cli("run", src, tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    # an opaque RGBA file is coloured exactly as the same drawing without alpha
    opaque = cv2.imread(str(out / "sneaker_opaque.png"), cv2.IMREAD_UNCHANGED)
    flat = cv2.imread(str(out / "sneaker_flat.png"))
    assert (opaque[:, :, 3] == 255).all()
    np.testing.assert_array_equal(opaque[:, :, :3], flat)
    for name, gray in (("sneaker", sneaker), ("clutch", clutch)):
        got = cv2.imread(str(out / f"{name}_layer.png"), cv2.IMREAD_UNCHANGED)
        flat = cv2.imread(str(out / f"{name}_flat.png"))
        assert got.shape == flat.shape[:2] + (4,)
        # over white it looks like the flat drawing's output (only the outline's rim differs)
        assert _psnr(_over(got, (255, 255, 255)), flat) >= 35.0
        inside = silhouette(gray)
        core = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert (got[core, 3] == 255).all()  # the coloured object is opaque ...
        far = ~cv2.dilate(inside.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        assert (got[far, 3] == 0).all()  # ... the paper around it stays clear
        hsv = cv2.cvtColor(np.ascontiguousarray(got[:, :, :3]), cv2.COLOR_BGR2HSV)
        assert np.median(hsv[core & (gray > 200), 1]) > 40  # coloured, not the bare lines
        # over a dark background: no light ring round the object (the rim shows the layer's ink)
        dark = _over(got, (30, 40, 60)).max(axis=2)
        ring = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~core
        outside_object = ring & ~inside
        assert dark[outside_object].max() <= 60 + 1


def test_tile_colours_a_line_layer_the_same_way(tmp_path):
    """`tile` takes the same path: a line layer comes back opaque inside its outline."""
    layer = _ring_layer(192, 60, 3)
    cv2.imwrite(str(tmp_path / "ring.png"), layer)
    r = run_cli("tile", tmp_path / "ring.png", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    got = cv2.imread(str(tmp_path / "ring_color.png"), cv2.IMREAD_UNCHANGED)
    yy, xx = np.mgrid[:192, :192]
    rad = np.hypot(yy - 96, xx - 96)
    assert (got[rad < 55, 3] == 255).all() and (got[rad > 66, 3] == 0).all()
    assert (got[:, :, 3] >= layer[:, :, 3]).all()


@pytest.mark.parametrize("bad_alpha", [0, 255])
def test_uniform_alpha_layers(tmp_path, bad_alpha):
    """A layer that is all clear (nothing drawn) or all opaque: no crash, alpha as it was."""
    img = np.dstack([np.full((64, 80), 255, np.uint8)] * 3 + [np.full((64, 80), bad_alpha, np.uint8)])
    cv2.imwrite(str(tmp_path / "u.png"), img)
    r = run_cli("tile", tmp_path / "u.png", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    got = cv2.imread(str(tmp_path / "u_color.png"), cv2.IMREAD_UNCHANGED)
    assert (got[:, :, 3] == bad_alpha).all()


def test_a_line_layer_to_jpeg_shows_as_over_white_paper(tmp_path):
    """JPEG has no alpha: the output is the picture composited over white, so the layer's clear
    paper (black at alpha 0 in drawing apps' exports) is white, not black."""
    from batchcolor.imageio.pixels import over_white

    src = tmp_path / "in"
    src.mkdir()
    gray, layer = _layer_of("bags/handbag")
    cv2.imwrite(str(src / "bag.png"), layer)
    r = run_cli("run", src, tmp_path / "jpg", "--format", "jpg", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    r = run_cli("run", src, tmp_path / "png", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    jpg = cv2.imread(str(tmp_path / "jpg" / "bag.jpg"))
    png = cv2.imread(str(tmp_path / "png" / "bag.png"), cv2.IMREAD_UNCHANGED)
    far = ~cv2.dilate(silhouette(gray).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert jpg[far].mean() > 245  # white paper, not the layer's black
    assert _psnr(jpg, over_white(png)) > 35  # the PNG's picture, as JPEG at quality 95 keeps it


def test_over_white_is_the_compositing_the_model_sees():
    from batchcolor.imageio.pixels import over_white, prepare

    rng = np.random.default_rng(1)
    bgra = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    flat = over_white(bgra)
    assert flat.shape == (20, 30, 3)
    assert (flat[bgra[:, :, 3] == 0] == 255).all()
    np.testing.assert_array_equal(flat[bgra[:, :, 3] == 255], bgra[bgra[:, :, 3] == 255][:, :3])
    np.testing.assert_array_equal(prepare(bgra, 3).model_input, flat[:, :, ::-1])


def test_light_lines_on_a_clear_layer_are_composited_over_black():
    """White lines on a mostly clear layer (a dark-mode app's export) vanish over white: they
    go over black, a negative that levelling turns over. Dark lines, and a light card that is
    mostly opaque (clear corners only), still go over white."""
    from batchcolor.imageio.pixels import over_paper, over_white

    gray, black_lines = _layer_of("shoes/boot")
    white_lines = black_lines.copy()
    white_lines[:, :, :3] = 255
    flat = over_paper(white_lines)
    np.testing.assert_array_equal(flat[:, :, 0], 255 - gray)  # the negative of the drawing
    np.testing.assert_array_equal(over_paper(black_lines), over_white(black_lines))
    card = np.dstack([np.full((100, 120), 250, np.uint8)] * 3 + [np.full((100, 120), 255, np.uint8)])
    card[:15, :15, 3] = card[-15:, -15:, 3] = 0
    cv2.line(card, (20, 50), (100, 50), (0, 0, 0, 255), 2)
    np.testing.assert_array_equal(over_paper(card), over_white(card))


def test_run_colours_white_lines_on_a_clear_layer_as_it_colours_black_ones(tmp_path):
    """Through `run` (shipped model, f32): the white-line layer comes out with the black-line
    layer's alpha and, inside the objects, its colours; before, it came back uncoloured."""
    src = tmp_path / "in"
    src.mkdir()
    gray, black_lines = _layer_of("shoes/boot")
    white_lines = black_lines.copy()
    white_lines[:, :, :3] = 255
    cv2.imwrite(str(src / "black.png"), black_lines)
    cv2.imwrite(str(src / "white.png"), white_lines)
    r = run_cli("run", src, tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    black = cv2.imread(str(tmp_path / "out" / "black.png"), cv2.IMREAD_UNCHANGED)
    white = cv2.imread(str(tmp_path / "out" / "white.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(white[:, :, 3], black[:, :, 3])
    core = cv2.erode(silhouette(gray).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert core.mean() > 0.2
    assert _psnr(white[core][:, :3], black[core][:, :3]) > 35
    hsv = cv2.cvtColor(np.ascontiguousarray(white[:, :, :3]), cv2.COLOR_BGR2HSV)
    assert np.median(hsv[core & (gray > 200), 2]) < 200  # coloured, not the white layer back
