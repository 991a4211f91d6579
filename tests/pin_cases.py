"""Pinned outputs of the shipped default model through ``run`` and ``tile`` at f32.

The cases cover every route an image can take from file to output: small drawings coloured
whole (``run`` on the examples), a hint layer beside a drawing, a sheet coloured object by
object (``--scale auto``), a sheet tiled and streamed at 1:1 with small tiles, ``--color``
with kept lines, and a heavily inked drawing. ``python tests/pin_cases.py`` rewrites ``tests/pins/`` (do it only when the
shipped model or an intended output change says so); ``tests/test_pixel_pins.py`` checks it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "lineart"
PINS = Path(__file__).resolve().parent / "pins"

TILE_CASES: dict[str, tuple[str, ...]] = {
    "sheet_auto.png": (),
    "sheet_tiled_1to1.png": ("--scale", "none", "--tile", "256", "--overlap", "96"),
    "boot_color_keep.png": ("--color", "#b03a2e", "--lines", "keep"),
    "inked_loafer.png": (),  # heavy ink, kept part way (examples/inked)
}


def _cli(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "batchcolor", *args], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"batchcolor {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")


def _sheet() -> np.ndarray:
    cells = [cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (256, 256), interpolation=cv2.INTER_AREA)
             for p in sorted(EXAMPLES.rglob("*.png"))]
    cells = (cells * 2)[:9]
    return np.vstack([np.hstack(cells[r * 3 : r * 3 + 3]) for r in range(3)])


def _hint_layer(shape: tuple[int, int]) -> np.ndarray:
    """Two 7x7 dots (red, blue) on a transparent layer, placed on the drawing's middle."""
    h, w = shape
    layer = np.zeros((h, w, 4), np.uint8)
    for (y, x), bgr in (((h // 2, w // 3), (40, 40, 200)), ((h // 2, 2 * w // 3), (200, 60, 30))):
        layer[y - 3 : y + 4, x - 3 : x + 4] = (*bgr, 255)
    return layer


def make_inputs(folder: Path) -> tuple[Path, Path]:
    """The run tree (examples plus a hint layer for one of them) and the sheet, under ``folder``."""
    tree = folder / "lineart"
    shutil.copytree(EXAMPLES, tree)
    sneaker = tree / "shoes" / "sneaker.png"
    cv2.imwrite(str(sneaker.with_name("sneaker.hints.png")), _hint_layer(cv2.imread(str(sneaker)).shape[:2]))
    sheet = folder / "sheet.png"
    cv2.imwrite(str(sheet), _sheet())
    return tree, sheet


def produce(folder: Path) -> dict[str, Path]:
    """Every pinned output, made by the real CLI under ``folder``; name -> file."""
    tree, sheet = make_inputs(folder / "in")
    out = folder / "out"
    # --no-cache: a model imported from OpenVINO's compiled-model cache gave one of two
    # outputs from run to run (one pixel of the sheet 3 levels apart); fresh compiles agree
    _cli("run", str(tree), str(out / "run"), "--precision", "f32", "--no-cache")
    results = {f"run/{p.relative_to(out / 'run').as_posix()}": p for p in sorted((out / "run").rglob("*.png"))}
    for name, args in TILE_CASES.items():
        src = tree / "shoes" / "boot.png" if name.startswith("boot") else sheet
        if name.startswith("inked"):
            src = REPO / "examples" / "inked" / "loafer.png"
        dst = out / "tile" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        _cli("tile", str(src), "-o", str(dst), "--precision", "f32", "--no-cache", *args)
        results[f"tile/{name}"] = dst
    return results


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        made = produce(Path(tmp))
        if PINS.exists():
            shutil.rmtree(PINS)
        for name, path in made.items():
            (PINS / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, PINS / name)
    print(f"wrote {len(made)} pinned outputs to {PINS}")
