"""A comic page scanned at 600 dpi (35 MP): coloured on a reduced copy, against the 1:1 route.

    python benchmarks/bigpage.py [MODEL] [--figure bigpage.jpg]

The page is A4 at 600 dpi, 4960 x 7016: two bordered panels, each with a hold-out drawing
enlarged to about 2400 px (lines 3-8 px thick, as a pen at that resolution draws them) and
a speech balloon. ``run`` at its defaults (``--scale auto``) takes the reduced-copy route
(:mod:`batchcolor.colorize.reduced`); ``--scale none`` is the 1:1 streamed route, which is what
``auto`` did with every drawing of 16 MP and more before. Each is a real ``batchcolor run``
subprocess, f32; the table gives its wall time, its peak RSS (``getrusage`` of the child) and,
per drawing, the saturation of its inside and how dark its own lines come out.

``--figure`` writes the page reduced, and a full-resolution crop of the first drawing, for
both routes.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from batchcolor.tools import comicpage, evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags"


def page_600dpi(shoe: np.ndarray, bag: np.ndarray) -> tuple[np.ndarray, list[tuple[slice, slice]], tuple[slice, slice]]:
    """The page, each drawing's box, the first balloon's box."""
    page = np.full((7016, 4960), 255, np.uint8)
    cv2.rectangle(page, (120, 120), (4840, 3440), 0, 14)
    cv2.rectangle(page, (120, 3560), (4840, 6890), 0, 14)
    boxes = []
    for gray, (top, left) in ((shoe, (700, 2000)), (bag, (3900, 300))):
        big = cv2.resize(gray, (2400, 2400), interpolation=cv2.INTER_CUBIC)  # 256 -> 2400: lines 3-8 px
        boxes.append(comicpage.paste(page, big, top, left))
    words = (slice(250, 1100), slice(250, 1950))
    cv2.ellipse(page, (1100, 675), (820, 390), 0, 0, 360, 0, 12, lineType=cv2.LINE_AA)
    for i, text in enumerate(["NEW BOOTS!", "Only $49"]):
        cv2.putText(page, text, (560, 620 + 200 * i), cv2.FONT_HERSHEY_SIMPLEX, 5.0, 0, 14, lineType=cv2.LINE_AA)
    return page, boxes, words


def run(src: Path, out: Path, *args: str) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one ``batchcolor run`` child, measured by the kernel (a
    wrapper process reads its one child's maximum)."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); r = subprocess.run(sys.argv[1:]); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "batchcolor", "run", str(src), str(out), "--precision", "f32", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds, rss, rc = proc.stdout.split()[-3:]
    if rc != "0":
        raise RuntimeError(proc.stderr[-2000:])
    return float(seconds), int(rss) / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: the installed default)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()
    shoe = evaluate.load_eval_pairs(args.data / "shoes-train", 256, None, 100).edges[1].min(axis=2)
    bag = evaluate.load_eval_pairs(args.data / "handbags-val", 256, 1).edges[0].min(axis=2)
    page, boxes, words = page_600dpi(shoe, bag)
    model = ["--model", args.model] if args.model else []
    rows, outs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        cv2.imwrite(str(src / "page.png"), page)
        for name, extra in (("1:1 streamed (`--scale none`; `auto` before)", ["--scale", "none"]),
                            ("reduced copy (`--scale auto`, the default)", [])):
            dst = Path(tmp) / name[:7].replace(" ", "_").replace(":", "")
            seconds, rss = run(src, dst, *model, *extra)
            out = cv2.imread(str(dst / "page.png"))
            hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
            sat = [float(np.median(hsv[b][:, :, 1][page[b] > 200])) for b in boxes]
            ink = [float(out[b][page[b] < 64].max(axis=1).mean()) for b in boxes]
            diff = np.abs(out[words].astype(int) - page[words][:, :, None]).max(axis=2)
            rows.append((name, seconds, rss, sat, ink, float(np.mean(diff <= 2))))
            outs[name] = out
    print("A4 at 600 dpi, 4960 x 7016 (34.8 MP), two panels with 2400 px hold-out drawings, f32")
    print()
    print("| route | seconds | peak RSS, MiB | saturation inside (shoe ; bag) | its lines, brightest channel | balloon as drawn |")
    print("|---|---|---|---|---|---|")
    for name, seconds, rss, sat, ink, kept in rows:
        print(f"| {name} | {seconds:.1f} | {rss:.0f} | {sat[0]:.0f} ; {sat[1]:.0f} | {ink[0]:.0f} ; {ink[1]:.0f} | {100 * kept:.1f}% |")
    if args.figure:
        from batchcolor.imageio.images import atomic_write, encode

        pages = [cv2.resize(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), (620, 877), interpolation=cv2.INTER_AREA)]
        pages += [cv2.resize(o, (620, 877), interpolation=cv2.INTER_AREA) for o in outs.values()]
        crop = (slice(1500, 2377), slice(2600, 3220))  # full resolution: the shoe's toe
        crops = [cv2.cvtColor(page[crop], cv2.COLOR_GRAY2BGR)] + [o[crop] for o in outs.values()]
        gap = np.full((877, 8, 3), 255, np.uint8)
        top = np.hstack([pages[0], gap, pages[1], gap, pages[2]])
        bottom = np.hstack([crops[0], gap, crops[1], gap, crops[2]])
        atomic_write(args.figure, encode(np.vstack([top, np.full((8, top.shape[1], 3), 255, np.uint8), bottom]),
                                         args.figure.suffix.lower()))


if __name__ == "__main__":
    main()
