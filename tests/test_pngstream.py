"""The streamed PNG writer produces ordinary PNGs, band by band."""
from __future__ import annotations

import io
import threading

import cv2
import numpy as np
import pytest

from batchcolor.imageio.pngstream import PngWriter


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("bands", [[7], [1, 2, 3, 1], [3, 4]])
def test_png_roundtrip(channels, bands):
    rng = np.random.default_rng(channels)
    h = sum(bands)
    img = rng.integers(0, 256, (h, 13, channels), dtype=np.uint8)
    img[:, 5:] = 200  # some structure for the filter
    buf = io.BytesIO()
    w = PngWriter(buf, 13, h, channels)
    start = 0
    for n in bands:
        w.write_rows(img[start : start + n])
        start += n
    w.close()
    decoded = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    if channels == 1:
        decoded = decoded[:, :, None]
    elif channels == 3:
        decoded = decoded[:, :, ::-1]
    else:
        decoded = decoded[:, :, [2, 1, 0, 3]]
    np.testing.assert_array_equal(decoded, img)


def test_png_writer_refuses_wrong_rows():
    w = PngWriter(io.BytesIO(), 4, 2, 3)
    with pytest.raises(ValueError):
        w.write_rows(np.zeros((1, 5, 3), np.uint8))
    w.write_rows(np.zeros((1, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="declared 2 rows"):
        w.close()


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("shape", [(300, 170), (64, 256), (1, 1), (130, 600)])
def test_tiff_roundtrip_in_odd_bands(tmp_path, channels, shape):
    """Rows pushed in bands of any size come back whole, read by tifffile and libvips (and by
    OpenCV for RGB: it premultiplies unassociated alpha on reading)."""
    import tifffile

    from batchcolor.imageio.tiffstream import TiffWriter

    h, w = shape
    img = np.random.default_rng(h).integers(0, 256, (h, w, channels), dtype=np.uint8)
    path = tmp_path / "a.tif"
    with open(path, "wb") as fh:
        writer = TiffWriter(fh, w, h, channels)
        start, n = 0, 1
        while start < h:
            writer.write_rows(img[start : start + n])
            start, n = start + n, n * 2 + 3  # 1, 5, 13, ... rows: never aligned to the strips
        writer.close()
    np.testing.assert_array_equal(tifffile.imread(path), img)
    pyvips = pytest.importorskip("pyvips")
    np.testing.assert_array_equal(pyvips.Image.new_from_file(str(path)).numpy().reshape(h, w, channels), img)
    if channels == 3:
        np.testing.assert_array_equal(cv2.imread(str(path))[:, :, ::-1], img)


def test_tiff_writer_refuses_wrong_rows_and_stops_its_thread(tmp_path):
    from batchcolor.imageio.tiffstream import TiffWriter

    with open(tmp_path / "a.tif", "wb") as fh:
        writer = TiffWriter(fh, 10, 100, 3)
        with pytest.raises(ValueError):
            writer.write_rows(np.zeros((2, 11, 3), np.uint8))
        writer.write_rows(np.zeros((70, 10, 3), np.uint8))
        with pytest.raises(ValueError, match="declared 100 rows"):
            writer.close()
    assert not [t for t in threading.enumerate() if t.name == "batchcolor-tiff"], "the encoder thread is left running"
