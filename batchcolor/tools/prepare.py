"""``batchcolor prepare``: AB training pairs from colour photos alone.

The edge maps imitate edges2shoes' (HED + non-maximum suppression + threshold + thinning +
small-component removal): thin, clean, slightly broken dark contours on white. Canny gives
the NMS-thinned, hysteresis-thresholded contours; thresholds follow the image's own median
gradient so a dim photo and a contrasty one get similar line density; components shorter
than ``min_component`` pixels are dropped as texture noise. XDoG (Winnemoeller et al. 2012)
is the softer, sketchier alternative. Two more imitate what users scan or export:
``ink`` (an adaptive threshold: thick lines on the dark side of each edge, and dark
texture inked in, as a photocopied drawing looks) and ``sobel`` (the strongest gradients thinned to 1 px centre lines,
denser than Canny). The trainer's ``--restyle`` re-draws samples with Canny and ink only, so
XDoG and Sobel stay edge styles a model never saw.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batchcolor.errors import InputError
from batchcolor.imageio.images import INPUT_SUFFIXES, atomic_write, decode_bgr, encode


@dataclass(frozen=True)
class EdgeSettings:
    method: str = "canny"  # canny | xdog | ink | sobel
    blur_sigma: float = 1.5
    low_ratio: float = 0.66
    high_ratio: float = 1.33
    min_component: int = 12
    xdog_sigma: float = 1.2
    xdog_k: float = 1.6
    xdog_tau: float = 0.98
    xdog_phi: float = 200.0
    xdog_eps: float = -0.01
    ink_block: int = 9  # px: the adaptive threshold's neighbourhood (odd)
    ink_offset: float = 5.0  # gray levels below the neighbourhood mean that count as ink
    ink_median: int = 5  # px: median filter before the threshold (odd), so texture does not ink
    sobel_share: float = 0.12  # share of the image's pixels with the strongest gradients kept


def edges_canny(rgb: np.ndarray, s: EdgeSettings) -> np.ndarray:
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    blurred = cv2.GaussianBlur(gray, (0, 0), s.blur_sigma)
    gx, gy = cv2.Sobel(blurred, cv2.CV_32F, 1, 0), cv2.Sobel(blurred, cv2.CV_32F, 0, 1)
    mag = np.hypot(gx, gy)
    ref = float(np.median(mag[mag > 0])) if np.any(mag > 0) else 1.0
    ref = max(ref, 8.0)
    lines = cv2.Canny(blurred, s.low_ratio * ref, s.high_ratio * ref * 2, L2gradient=True)
    return remove_small_components(lines > 0, s.min_component)


def edges_xdog(rgb: np.ndarray, s: EdgeSettings) -> np.ndarray:
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    g1 = cv2.GaussianBlur(gray, (0, 0), s.xdog_sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), s.xdog_sigma * s.xdog_k)
    d = g1 - s.xdog_tau * g2
    soft = np.where(d >= s.xdog_eps, 1.0, 1.0 + np.tanh(s.xdog_phi * (d - s.xdog_eps)))
    return remove_small_components(soft < 0.5, s.min_component)


def edges_ink(rgb: np.ndarray, s: EdgeSettings) -> np.ndarray:
    import cv2

    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), s.ink_median)
    inked = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, s.ink_block, s.ink_offset)
    return remove_small_components(inked == 0, s.min_component)


def edges_sobel(rgb: np.ndarray, s: EdgeSettings) -> np.ndarray:
    import cv2

    from batchcolor.tools.restyle import thin

    gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), s.blur_sigma).astype(np.float32)
    mag = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    strong = mag > max(float(np.quantile(mag, 1.0 - s.sobel_share)), 1e-3)
    return remove_small_components(thin(strong), s.min_component)


EDGE_METHODS = {"canny": edges_canny, "xdog": edges_xdog, "ink": edges_ink, "sobel": edges_sobel}


def remove_small_components(mask: np.ndarray, min_size: int) -> np.ndarray:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_size
    return keep[labels]


def line_art_from_photo(rgb: np.ndarray, settings: EdgeSettings = EdgeSettings()) -> np.ndarray:
    """Photo (H x W x 3 RGB uint8) -> line art (H x W uint8): 0 on lines, 255 elsewhere."""
    if settings.method not in EDGE_METHODS:
        raise ValueError(f"edge method must be one of {', '.join(EDGE_METHODS)}, got {settings.method!r}")
    lines = EDGE_METHODS[settings.method](rgb, settings)
    return np.where(lines, 0, 255).astype(np.uint8)


def square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Pad to a square with white (product shots sit on white), then resize."""
    import cv2

    h, w = rgb.shape[:2]
    side = max(h, w)
    canvas = np.full((side, side, 3), 255, np.uint8)
    y, x = (side - h) // 2, (side - w) // 2
    canvas[y : y + h, x : x + w] = rgb
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(canvas, (size, size), interpolation=interp)


def make_pair(rgb: np.ndarray, size: int, settings: EdgeSettings = EdgeSettings()) -> np.ndarray:
    """A pix2pix AB image: edges on the left, photo on the right (size x 2*size x 3, RGB)."""
    photo = square(rgb, size)
    edges = line_art_from_photo(photo, settings)
    return np.concatenate([np.repeat(edges[:, :, None], 3, axis=2), photo], axis=1)


def prepare_folder(photos: Path, out_dir: Path, size: int = 256, settings: EdgeSettings = EdgeSettings(),
                   fmt: str = "png") -> tuple[int, list[tuple[Path, str]]]:
    """Write ``NAME_AB.<fmt>`` for every photo under ``photos``; returns (written, failures)."""
    written, failures = 0, []
    for path in sorted(p for p in Path(photos).rglob("*") if p.suffix.lower() in INPUT_SUFFIXES and p.is_file()):
        try:
            img = decode_bgr(path.read_bytes())
        except InputError as exc:
            failures.append((path, str(exc)))
            continue
        pair = make_pair(img[:, :, ::-1], size, settings)
        rel = path.relative_to(photos).with_suffix("")
        atomic_write(out_dir / rel.parent / f"{rel.name}_AB.{fmt}", encode(pair[:, :, ::-1].copy(), f".{fmt}"))
        written += 1
    return written, failures
