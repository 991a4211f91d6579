"""Streamed decoding of huge images: same rows as the full decoder, bounded memory, clean errors."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pyvips = pytest.importorskip("pyvips")

from batchcolor.colorize import image as colorize, single  # noqa: E402
from batchcolor.imageio import pixels, streamread  # noqa: E402
from batchcolor.colorize.settings import InferenceSettings  # noqa: E402
from batchcolor.errors import InputError  # noqa: E402
from batchcolor.tiling.geometry import reflect_indices  # noqa: E402
from batchcolor.tools.synthetic import line_art  # noqa: E402
from batchcolor.tiling.tiler import ArraySource, TileSettings  # noqa: E402

from conftest import rng_image, run_cli  # noqa: E402


def full_decode(path: Path, channels: int) -> np.ndarray:
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return pixels.prepare(decoded, channels).model_input


def walk_like_the_tiler(source, height: int, tile: int = 64, overlap: int = 16, stride: int = 16):
    """Every tile row's rows, in the tiler's order, with its mirror padding."""
    plan = TileSettings(tile, overlap).plan(height, 10**6, stride)
    return [source.take_rows(reflect_indices(o, o + plan.rows.tile, height)) for o in plan.rows.origins]


@pytest.mark.parametrize("kind", ["gray8", "gray16", "rgb8", "tiff-tiled", "jpeg"])
@pytest.mark.parametrize("channels", [1, 3])
def test_streamed_rows_equal_the_full_decode(tmp_path, kind, channels):
    h, w = 203, 77
    if kind == "gray8":
        img, path = line_art(h, w, seed=1), tmp_path / "a.png"
        cv2.imwrite(str(path), img)
    elif kind == "gray16":
        img, path = (rng_image(h, w, 1, seed=2)[:, :, 0].astype(np.uint16) * 257 + 3), tmp_path / "a.png"
        cv2.imwrite(str(path), img)
    elif kind == "rgb8":
        img, path = rng_image(h, w, 3, seed=3), tmp_path / "a.png"
        cv2.imwrite(str(path), img)
    elif kind == "tiff-tiled":
        path = tmp_path / "a.tif"
        pyvips.Image.new_from_array(line_art(h, w, seed=4)).write_to_file(str(path), tile=True, tile_width=32,
                                                                        tile_height=32, compression="deflate")
    else:
        path = tmp_path / "a.jpg"
        cv2.imwrite(str(path), rng_image(h, w, 3, seed=5))
    source = streamread.open_streamed(path, channels)
    assert source is not None and source.shape == (h, w, channels)
    expected = ArraySource(full_decode(path, channels))
    for got, want in zip(walk_like_the_tiler(source, h), walk_like_the_tiler(expected, h)):
        if kind == "jpeg":  # two libjpeg builds may round IDCT output differently
            assert np.abs(got.astype(int) - want).max() <= 2
        else:
            np.testing.assert_array_equal(got, want)


def test_only_a_band_is_held(tmp_path):
    path = tmp_path / "tall.png"
    cv2.imwrite(str(path), line_art(3000, 50, seed=6))
    source = streamread.open_streamed(path, 1)
    held = [source.held_rows for _ in walk_like_the_tiler(source, 3000)]
    assert max(held) <= 64  # one tile's rows, whatever the height


def test_rows_must_be_asked_for_top_down(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), line_art(300, 40, seed=7))
    source = streamread.open_streamed(path, 1)
    source.take_rows(np.arange(200, 260))
    with pytest.raises(RuntimeError, match="top to bottom"):
        source.take_rows(np.arange(0, 10))


def test_alpha_and_rotation_go_to_the_full_decoder(tmp_path):
    rgba = tmp_path / "a.png"
    cv2.imwrite(str(rgba), rng_image(40, 40, 4))
    assert streamread.open_streamed(rgba, 1) is None
    rotated = tmp_path / "r.jpg"
    pyvips.Image.new_from_array(rng_image(40, 30, 3)).copy(interpretation="srgb").write_to_file(str(rotated))
    img = pyvips.Image.new_from_file(str(rotated)).copy()
    img.set_type(pyvips.GValue.gint_type, "orientation", 6)
    img.write_to_file(str(rotated))
    assert streamread.open_streamed(rotated, 1) is None


def test_heic_goes_to_the_full_decoder(tmp_path):
    """libvips opens a HEIC's header but, built without HEVC, fails on its rows: a 16.8 MP
    phone photo failed at its first band; the full decoder (Pillow + pillow-heif) reads it."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    photo = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(rng_image(40, 48, 3)).save(photo, quality=90)
    assert pyvips.Image.new_from_file(str(photo), access="sequential").get("vips-loader") == "heifload"
    assert streamread.open_streamed(photo, 1) is None
    assert streamread.open_streamed(photo.read_bytes(), 3) is None
    png = tmp_path / "same.png"
    cv2.imwrite(str(png), rng_image(40, 48, 3))
    assert streamread.open_streamed(png, 1) is not None


def test_truncated_file_fails_with_a_clean_error(tmp_path):
    path = tmp_path / "t.png"
    cv2.imwrite(str(path), line_art(400, 300, seed=8))
    data = path.read_bytes()
    source = streamread.open_streamed(data[: len(data) // 2], 1)
    assert source is not None  # the header is intact: the damage shows only when rows are read
    with pytest.raises(InputError, match=r"^cannot decode rows \d+-\d+: \S"):
        walk_like_the_tiler(source, 400)


@pytest.mark.parametrize("shape", [(300, 420), (130, 1000)])
def test_tile_streams_big_images_with_identical_output(tmp_path, monkeypatch, pointwise_gray, unet_model, shape):
    """`tile` on a streamed input gives the same pixels as on a fully decoded one (f32)."""
    folder, _ = unet_model
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), line_art(*shape, seed=9))
    settings = InferenceSettings(model=str(folder), precision="f32", tile=128, overlap=32)
    monkeypatch.setattr(colorize, "STREAM_MIN_PIXELS", 1)
    msg = single.colorize_one(src, tmp_path / "streamed.png", settings)
    assert "input streamed" in msg
    monkeypatch.setattr(colorize, "STREAM_MIN_PIXELS", 10**12)
    msg = single.colorize_one(src, tmp_path / "full.png", settings)
    assert "input streamed" not in msg
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "streamed.png")), cv2.imread(str(tmp_path / "full.png")))
    # and streamed in, streamed out as a tiled TIFF: the same pixels again
    monkeypatch.setattr(colorize, "STREAM_MIN_PIXELS", 1)
    assert "input streamed" in single.colorize_one(src, tmp_path / "streamed.tif", settings)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "streamed.tif")), cv2.imread(str(tmp_path / "full.png")))


def test_run_reports_a_truncated_huge_input_and_goes_on(tmp_path, small_unet):
    """A streamed file that breaks halfway: per-file error, no partial output, others done."""
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "good.png"), line_art(4100, 4100, seed=10, strokes=200))
    big = cv2.imencode(".png", line_art(4100, 4100, seed=11, strokes=200))[1].tobytes()
    (src / "bad.png").write_bytes(big[: len(big) * 2 // 3])
    r = run_cli("run", src, tmp_path / "out", "--model", small_unet, "--scale", "none", "--no-cache",
                "--tile", "512", "--overlap", "64")
    assert r.returncode == 3, r.stderr
    assert (tmp_path / "out" / "good.png").exists()
    failed = [line for line in r.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and failed[0].count("bad.png") == 1 and "cannot decode rows" in failed[0], failed
    assert not (tmp_path / "out" / "bad.png").exists() and not list((tmp_path / "out").rglob("*.partial"))
    good = cv2.imread(str(tmp_path / "out" / "good.png"))
    assert good.shape == (4100, 4100, 3)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_height(tmp_path, pointwise_gray):
    """Peak RSS of `tile` (measured by the kernel) on 3000 px wide sheets 10000 and 40000 rows
    tall: a full decode alone would add 90 MB for the taller one. Streamed, the allocator's
    arenas still grow a little with the number of bands (measured +8 to +18 MB), far less."""
    from batchcolor.tools.bench import peak_rss_of_tile

    rss = {}
    for height in (10000, 40000):
        src = tmp_path / f"h{height}.png"
        cv2.imwrite(str(src), line_art(height, 3000, seed=12, strokes=height * 3000 // 20000))
        rss[height], _ = peak_rss_of_tile(src, tmp_path / f"out{height}.png",
                                          ["--model", str(pointwise_gray), "--tile", "512", "--overlap", "64", "--no-cache"])
        assert cv2.imread(str(tmp_path / f"out{height}.png")).shape == (height, 3000, 3)
    assert rss[40000] - rss[10000] < 40, rss
