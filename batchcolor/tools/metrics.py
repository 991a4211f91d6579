"""Image quality metrics in NumPy + OpenCV (no Paddle), for ``eval``, training validation and tests.

All take uint8 RGB arrays (H x W x 3 or N x H x W x 3) and return Python floats.
Colorfulness matters as much as fidelity here: a network trained with L1 alone learns the
conditional median, which for ambiguous colours is a washed-out grey; PSNR and SSIM barely
notice, the colorfulness ratio (outputs over targets) does.
"""
from __future__ import annotations

import numpy as np


def l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference on the [-1, 1] scale the networks train on."""
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))) / 127.5)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of per-image PSNR (dB, peak 255); identical images count as 100 dB."""
    scores = []
    for x, y in zip(_images(a), _images(b)):
        mse = float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))
        scores.append(100.0 if mse == 0 else 10.0 * np.log10(255.0**2 / mse))
    return float(np.mean(scores))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, per channel, averaged."""
    import cv2

    a, b = _images(a), _images(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for x, y in zip(a, b):
        x, y = x.astype(np.float64), y.astype(np.float64)
        blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        scores.append(float(m.mean()))
    return float(np.mean(scores))


def _images(x: np.ndarray) -> np.ndarray:
    return x[None] if x.ndim == 3 else x


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    import cv2

    flat = _images(rgb).reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)


def ciede2000(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference (Sharma, Wu, Dalal 2005), sRGB D65."""
    return float(np.mean(ciede2000_lab(rgb_to_lab(a), rgb_to_lab(b))))


def ciede2000_lab(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    L1, a1, b1 = lab1[:, 0], lab1[:, 1], lab1[:, 2]
    L2, a2, b2 = lab2[:, 0], lab2[:, 1], lab2[:, 2]
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(cbar7 / (cbar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp, dCp = L2 - L1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    Lbar, Cbar = (L1 + L2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    hbar = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2), hsum / 2)
    hbar = np.where(c1p * c2p == 0, hsum, hbar)
    t = (1 - 0.17 * np.cos(np.radians(hbar - 30)) + 0.24 * np.cos(np.radians(2 * hbar))
         + 0.32 * np.cos(np.radians(3 * hbar + 6)) - 0.20 * np.cos(np.radians(4 * hbar - 63)))
    d_theta = 30 * np.exp(-(((hbar - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cbar**7 / (Cbar**7 + 25.0**7))
    sl = 1 + 0.015 * (Lbar - 50) ** 2 / np.sqrt(20 + (Lbar - 50) ** 2)
    sc = 1 + 0.045 * Cbar
    sh = 1 + 0.015 * Cbar * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt((dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dCp / sc) * (dHp / sh))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colorfulness M, averaged over images."""
    scores = []
    for img in _images(rgb):
        r, g, b = (img[:, :, i].astype(np.float64) for i in range(3))
        rg, yb = r - g, 0.5 * (r + g) - b
        scores.append(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    return float(np.mean(scores))


def all_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    target_color = colorfulness(targets)
    return {
        "psnr": psnr(outputs, targets),
        "ssim": ssim(outputs, targets),
        "ciede2000": ciede2000(outputs, targets),
        "l1": l1(outputs, targets),
        "colorfulness_ratio": colorfulness(outputs) / target_color if target_color > 0 else float("nan"),
    }


def line_recall(drawing: np.ndarray, output: np.ndarray, radius: int = 2) -> float:
    """Fraction of the drawing's line pixels with an edge of the output within ``radius`` px.

    Lines are the drawing's pixels darker than 128; the output's edges are Canny on each of
    its 8-bit Lab channels (OR-ed), so a line that shows only as a change of hue still counts.
    Averaged over images. The target photos of the shared data score about 0.99 against
    their own edge maps; an output that fills a region with one flat colour scores its outline.
    """
    import cv2

    drawings = drawing[None] if output.ndim == 3 else drawing  # one image, or N of them
    outs = _images(output)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    scores = []
    for d, o in zip(drawings, outs):
        gray = d if d.ndim == 2 else (d[:, :, 0] if d.shape[2] == 1 else cv2.cvtColor(np.ascontiguousarray(d), cv2.COLOR_RGB2GRAY))
        lines = gray < 128
        if not lines.any():
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(o), cv2.COLOR_RGB2Lab)
        edges = np.zeros(gray.shape, np.uint8)
        for c in range(3):
            edges |= cv2.Canny(np.ascontiguousarray(lab[:, :, c]), 20, 60)
        near = cv2.dilate(edges, kernel) > 0
        scores.append(float(near[lines].mean()))
    return float(np.mean(scores)) if scores else float("nan")


def hint_fidelity(output: np.ndarray, hint_color: np.ndarray, hint_mask: np.ndarray) -> float:
    """Mean CIEDE2000 between each hinted pixel's hint colour and the output under it.

    ``output``/``hint_color`` N x H x W x 3 (or one image), ``hint_mask`` N x H x W bool.
    NaN when no pixel is hinted."""
    out, col = _images(output), _images(hint_color)
    mask = hint_mask[None] if hint_mask.ndim == 2 else hint_mask
    if not mask.any():
        return float("nan")
    a = out[mask].reshape(-1, 1, 3)
    b = col[mask].reshape(-1, 1, 3)
    return float(np.mean(ciede2000_lab(rgb_to_lab(a[None]), rgb_to_lab(b[None]))))
