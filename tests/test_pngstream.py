"""The streamed PNG writer produces ordinary PNGs, band by band."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from batchcolor.pngstream import PngWriter


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
