"""Pixel formats: gray, RGB, RGBA, 16-bit and palette images in; 8-bit RGB(A) out."""
from __future__ import annotations


import cv2
import numpy as np
from PIL import Image

from batchcolor.imageio import images, pixels


def test_16bit_is_scaled_not_truncated():
    v = np.array([[0, 257, 32896, 65535, 383]], np.uint16)
    out = pixels.to_uint8(v)
    np.testing.assert_array_equal(out, [[0, 1, 128, 255, 1]])  # 383/257 = 1.49 -> 1; truncation gives 1 too
    assert pixels.to_uint8(np.array([[65407]], np.uint16))[0, 0] == 255  # high byte would give 254


def test_gray_to_rgb_model_and_rgb_to_gray_model():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    p = pixels.prepare(gray, 3)
    assert p.model_input.shape == (3, 4, 3) and p.alpha is None
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 255  # red in BGR
    p = pixels.prepare(bgr, 1)
    assert p.model_input.shape == (2, 2, 1) and p.model_input[0, 0, 0] == 76  # BT.601 luma of red
    assert pixels.prepare(bgr, 3).model_input[0, 0].tolist() == [255, 0, 0]  # RGB order for the model


def test_palette_png_with_transparency(tmp_path):
    pal = Image.new("P", (8, 6))
    pal.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    pal.putpixel((1, 1), 1)
    path = tmp_path / "pal.png"
    pal.save(path, transparency=0)
    decoded = images.decode(path)
    assert decoded.shape == (6, 8, 4)
    p = pixels.prepare(decoded, 3)
    assert p.alpha is not None and p.alpha[1, 1] == 255 and p.alpha[0, 0] == 0
    assert p.model_input[0, 0].tolist() == [255, 255, 255]  # transparent -> white
    assert p.model_input[1, 1].tolist() == [0, 0, 0]


def test_16bit_png_roundtrip(tmp_path):
    a = (np.arange(30, dtype=np.uint16).reshape(5, 6) * 2000)
    path = tmp_path / "g16.png"
    cv2.imwrite(str(path), a)
    d = images.decode(path)
    assert d.dtype == np.uint16
    assert pixels.prepare(d, 1).model_input[..., 0].tolist() == pixels.to_uint8(a).tolist()


def test_finish_puts_alpha_back():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 200
    alpha = np.full((2, 3), 7, np.uint8)
    out = pixels.finish(rgb, alpha)
    assert out.shape == (2, 3, 4) and out[0, 0].tolist() == [0, 0, 200, 7]


def test_atomic_write_leaves_no_partial(tmp_path):
    target = tmp_path / "sub" / "x.png"
    images.atomic_write(target, b"abc")
    assert target.read_bytes() == b"abc"
    try:
        with images.atomic_output(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    assert target.read_bytes() == b"abc"
    assert [p.name for p in target.parent.iterdir()] == ["x.png"]
