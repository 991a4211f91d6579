"""How the shipped default model is chosen and made: export candidates, measure, pick, card.

    python models/ship.py models/NAME --candidate unet-l1=RUN/last.pdckpt --candidate pix2pix=RUN2/last.pdckpt
                          [--data ../shared/data/edges2shoes-handbags] [--int8 CALIBRATION_DIR]

1. every candidate is exported (``batchcolor export``: fp16 IR, parity-gated, the overlap
   measured on the real model) into ``reports/candidates/NAME``;
2. each is evaluated as users run it: 256 px gray drawings, ``run``'s defaults (``--scale
   auto``, the card's ``--lines``), on the shoes hold-out (last 100 of shoes-train) and
   handbags-val, automatic, with the target's median object colour as ``--color``, and with
   10 seeded 5x5 point hints in a hint layer; plus automatic with ``--lines none`` for line
   recall; against the flat mean-colour baseline;
3. among the candidates within PSNR_TOLERANCE (0.3 dB) of the best mean PSNR over the three
   conditions and both sets, the one meeting most of the product's targets (TARGETS) ships to
   ``models/NAME`` (then PSNR breaks ties; see :func:`rank` for the two sessions that set
   this rule). The runner-up's figures go into its card and README;
   Before that, each candidate's card scale (the object size ``--scale auto`` brings drawings
   to) is measured: automatic mode, PSNR at the card's ``--lines`` (as ``run`` gives it) and
   line recall at ``--lines none``, at SCALE_STEPS times the export's scale (the middle of the
   run's scale augmentation); among the scales within SCALE_PSNR_SLACK dB of the best
   automatic PSNR on both sets, the card takes the smallest whose line recall
   meets the product's target on both (the fewest pixels through the network, and ``--lines
   auto`` keeps the drawn lines on more drawings), or, where none does, the one with the best
   line recall (a drawing shrunk less keeps its thin lines; measured on the session-3 weights:
   0.78 -> 0.92 line recall at the same PSNR). Then each candidate's automatic saturation (the card's chroma gain, see
   ``batchcolor/drawing/chroma.py``) is measured: automatic mode on both sets at each gain of
   SATURATIONS, and the card takes the smallest gain whose colourfulness ratio reaches the
   product's target (0.8 of the photos') on both sets among those that cost at most
   SATURATION_PSNR_COST dB of automatic PSNR on either set (the least change that does the
   job: a stronger gain also strengthens a wrong hue; CIEDE2000 rises with it); if none
   reaches it, the most colourful of those;
   Every candidate is also measured on other edge maps (OTHER_EDGES: the same hold-out photos
   re-drawn by ``batchcolor prepare`` with Canny, 1-2 px lines; XDoG, about 4 px; ink, thick
   lines from an adaptive threshold; Sobel, thinned gradients; since session 25 the last two,
   ``--other-edges-only`` adds them to the shipped card), the same three conditions, and the
   mean PSNR of step 3 is taken over all five edge styles: the project is judged on edge maps
   we do not have, so a model that only fits HED loses;
4. ``benchmark_app`` measures tiles/s at 256x256 (THROUGHPUT hint) at what ``--precision auto`` resolves to,
   and at f32 and bf16 side by side (``--speed-only`` re-measures just this);
5. with ``--int8 CALIB`` the INT8 twin is made and measured the same way, and kept only if it
   gives >= 1.5x the tiles/s at <= 1 dB automatic PSNR on both sets; otherwise it is removed.

``--incumbent`` adds the shipped model, with the figures its card records, to the ranking: a
candidate replaces it only by ranking above it, and the old model becomes the runner-up row.

Maintenance of the shipped folders without new weights: ``--speed-only`` (speed), ``--seams-only
RUN`` (overlap), ``--border-only`` and ``--scale-only`` (the card's image border and scale; then
``--remeasure``), ``--rewrite-ir`` (the export's graph rewrites applied to the shipped IR, checked
against it at f32), ``--int8-only CALIB`` (the INT8 twin remade from the shipped float model).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

LICENCE = ("Trained on the pix2pix edges2shoes (UT Zappos50K photos) and edges2handbags (iGAN project photos) "
           "datasets, which are for academic, non-commercial research use only. The weights inherit that "
           "restriction: research and evaluation use, not commercial use.")
DATA_DESCRIPTION = ("edges2shoes (files 1-900 of shoes-train) + edges2handbags (900 of handbags-train), each pair "
                    "re-drawn in random line styles and scales; hold-out: last 100 of each folder")
SETS = {"shoes_holdout": ("shoes-train", ["--last", "100"]), "handbags_val": ("handbags-val", [])}
CONDITIONS = ("automatic", "global", "points10")
# Re-drawn by ``batchcolor prepare --method``: Canny (1-2 px), XDoG (about 4 px, sketchy), ink
# (an adaptive threshold: thick lines, dark texture inked), Sobel (gradients thinned to 1 px).
# ``train --restyle`` trains on Canny and ink; XDoG and Sobel no recipe has seen.
OTHER_EDGES = ("canny", "xdog", "ink", "sobel")
BC = [sys.executable, "-m", "batchcolor"]


def sh(*args: str) -> str:
    print("+", " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def evaluate(model_dir: Path, data: Path, reports: Path) -> dict:
    """The card's metrics block: per set, the three conditions, automatic with the other
    ``--lines`` setting, and the flat baseline."""
    out: dict = {}
    default_lines = json.loads((model_dir / "card.json").read_text()).get("lines", {}).get("default", "none")
    # the other setting's figures beside the default's; "auto" equals "none" on the 256 px hold-outs
    # (they are enlarged about 1.3x, under LINES_AUTO_ENLARGEMENT), so its other is "keep"
    other = "none" if default_lines == "keep" else "keep"
    for key, (folder, extra) in SETS.items():
        common = [str(model_dir), str(data / folder), *extra, "--size", "256", "--scale", "auto"]
        full = json.loads(sh(*BC, "eval", *common, "--hints", "10", "--global-color", "-o", str(reports / key)))
        plain = json.loads(sh(*BC, "eval", *common, "--lines", other))
        out[key] = {**full["conditions"], f"automatic_lines_{other}": plain["conditions"]["automatic"],
                    "flat_baseline": full["flat_baseline"]}
        out["evaluated_at"] = (f"{full['size']} px gray drawings through run's defaults (--scale auto, --lines "
                               f"{full['lines']}), f32 hint; 10 points = seeded 5x5 patches of the target's colour")
    return out


def redrawn_sets(data: Path, reports: Path) -> dict[str, dict[str, Path]]:
    """{edge style: {set: folder of pairs}}: each hold-out's photos re-drawn by ``prepare``
    (made once under ``reports/redrawn``; the photos are the sets' own, so no new data)."""
    from batchcolor.imageio.pairs import find_pairs, read_pair
    import cv2

    out: dict[str, dict[str, Path]] = {m: {} for m in OTHER_EDGES}
    for key, (folder, extra) in SETS.items():
        pairs = find_pairs(data / folder)
        if extra[:1] == ["--last"]:
            pairs = pairs[-int(extra[1]):]
        photos = reports / "redrawn" / f"photos_{key}"
        if not photos.is_dir():
            tmp = photos.with_name(photos.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for i, pair in enumerate(pairs):
                photo = read_pair(pair)[1]
                cv2.imwrite(str(tmp / f"{i:04d}.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
            tmp.rename(photos)
        for method in OTHER_EDGES:
            target = reports / "redrawn" / f"{method}_{key}"
            if not target.is_dir():
                sh(*BC, "prepare", str(photos), str(target), "--method", method)
            out[method][key] = target
    return out


def evaluate_redrawn(model_dir: Path, redrawn: dict[str, dict[str, Path]], reports: Path) -> dict:
    """{edge style: {set: conditions}} for the three conditions, as :func:`evaluate`."""
    out: dict = {}
    for method, sets in redrawn.items():
        out[method] = {}
        for key, folder in sets.items():
            r = json.loads(sh(*BC, "eval", str(model_dir), str(folder), "--size", "256", "--scale", "auto",
                              "--hints", "10", "--global-color", "-o", str(reports / f"{method}_{key}")))
            out[method][key] = r["conditions"]
    return out


# A candidate's scale, about the export's (the middle of its scale augmentation). Both ways:
# until session 17 the steps only went up (1.0 / 1.2 / 1.4), and on the default PSNR still rose
# toward the smallest of them (154 / 185 / 216 px, 17.11 / 16.76 / 16.32 dB on shoes); with
# session 15's 16 px border its best scale was 0.9x the export's.
SCALE_STEPS = (0.7, 0.8, 0.9, 1.0, 1.2, 1.4)
SCALE_PSNR_SLACK = 0.1
# ``--scale-only``: the shipped model's scale re-measured about its card's (a change of tiling
# or finishing moves it). In 5% steps near it: in session 37 the card's 139 px missed the
# line recall target on handbags by 0.001-0.009, and the next step up (154 px, 10%) was 0.13
# dB from the best on shoes, while 146 px met both.
RESCALE_STEPS = (0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2)


def _card_edit(model_dir: Path, **fields) -> dict:
    card = json.loads((model_dir / "card.json").read_text())
    card.update(fields)
    (model_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _shipped(model_dir: Path) -> list[Path]:
    """The shipped model folder and its INT8 twin, those that exist."""
    return [f for f in (model_dir, model_dir.with_name(model_dir.name + "-int8")) if (f / "card.json").exists()]


REWRITE_TOLERANCE = 1e-4  # max |old - new| at f32 on [-1, 1] outputs: the rewrites are exact up to float rounding


def rewrite_ir(model_dir: Path) -> dict:
    """Re-save a shipped float IR with the export's current graph rewrites, weights untouched.

    The engine applies the same rewrites when it loads an older IR, so users already run the
    rewritten graph; this brings the file (and with it ``benchmark_app``, which reads the file
    as it is) up to date. The new IR is checked against the old at f32 on random inputs of two
    sizes and replaces it only within REWRITE_TOLERANCE."""
    import numpy as np

    from batchcolor.inference.irgraph import fuse_upsampling
    from batchcolor.inference.runtime import openvino

    ov = openvino()
    core = ov.Core()
    xml = model_dir / "model.xml"
    model = core.read_model(str(xml))
    stored = {}  # elements of float constants by type: an fp16-compressed IR keeps a few f32 scalars
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant" and op.get_element_type() in (ov.Type.f16, ov.Type.f32):
            stored[op.get_element_type()] = stored.get(op.get_element_type(), 0) + int(np.prod(op.get_output_shape(0)))
    fp16 = stored.get(ov.Type.f16, 0) > stored.get(ov.Type.f32, 0)
    fused = fuse_upsampling(model)
    if not any(fused.values()):
        return {"rewritten": 0}
    tmp = model_dir / ".rewrite.xml"
    ov.save_model(model, str(tmp), compress_to_fp16=fp16)  # the weights stay as they were stored
    rng = np.random.default_rng(0)
    channels = model.input(0).get_partial_shape()[1].get_length()
    worst = 0.0
    for h, w in ((256, 256), (208, 144)):
        x = rng.standard_normal((1, channels, h, w)).astype(np.float32)
        old, new = (core.compile_model(str(f), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(x)[0] for f in (xml, tmp))
        worst = max(worst, float(np.abs(old - new).max()))
    if worst > REWRITE_TOLERANCE:
        tmp.unlink()
        tmp.with_suffix(".bin").unlink()
        raise SystemExit(f"{xml}: the rewritten IR differs by {worst:.2e} (> {REWRITE_TOLERANCE}); left as it was")
    os.replace(tmp.with_suffix(".bin"), xml.with_suffix(".bin"))
    os.replace(tmp, xml)
    return {"rewritten": sum(fused.values()), **fused, "max_abs_difference_f32": worst}


def _eval_as_run(model_dir: Path, data: Path, folder: str, extra: list[str], *flags: str) -> dict:
    """``batchcolor eval``'s report on one hold-out set as users run it (256 px drawings, ``--scale
    auto``), with ``flags`` added: the measurement every card rule is chosen on."""
    return json.loads(sh(*BC, "eval", str(model_dir), str(data / folder), *extra, "--size", "256", "--scale", "auto",
                         *flags))


def measure_scale(model_dir: Path, data: Path, steps: tuple[float, ...] = SCALE_STEPS) -> dict:
    """Automatic PSNR as ``run`` gives it (the card's ``--lines``) and line recall (``--lines
    none``) at each card scale (``steps`` times the card's scale now); the chosen one, written
    into the card.

    Why two evaluations where the card says ``--lines auto``: the scale decides the lines. A
    256 px drawing brought to 128 px or less is enlarged 2x after the network, so ``auto``
    lays the drawn lines on it, which costs up to 2 dB against the photos (session 17, the
    default: 17.38 / 14.86 dB at 111 px with ``--lines none``, 15.41 / 13.83 with ``auto``).
    Until session 17 the table held the ``none`` figures only, and on it the rule took 123 px."""
    card = json.loads((model_dir / "card.json").read_text())
    base, lines = card["scale"], (card.get("lines") or {}).get("default", "none")
    rows = []
    for step in steps:
        px = int(round(base * step))
        _card_edit(model_dir, scale=px)
        row = {"px": px}
        for key, (folder, extra) in SETS.items():
            def automatic(flag: str) -> dict:
                report = _eval_as_run(model_dir, data, folder, extra, "--lines", flag, "--saturation", "1")
                return report["conditions"]["automatic"]
            bare = automatic("none")
            as_run = bare if lines == "none" else automatic(lines)
            row[key] = {"psnr": as_run["psnr"], "psnr_lines_none": bare["psnr"], "line_recall": bare["line_recall"]}
        rows.append(row)
        print(f"scale {px} px: {json.dumps(row)}", file=sys.stderr)
    px = choose_scale(rows)
    _card_edit(model_dir, scale=px)
    return {"table": rows, "px": px, "lines": lines, "rule": (
        f"the smallest scale within {SCALE_PSNR_SLACK} dB of the best automatic PSNR (--lines {lines}, as run gives it) "
        f"on both sets whose line recall (--lines none) meets the target ({LINE_RECALL_TARGET}) on both; if none does, "
        "the one with the best line recall; if no scale is that close on both sets, the best mean PSNR")}


def choose_scale(rows: list[dict]) -> int:
    """Why the smallest: the network's work grows with the square of the scale, and ``--lines
    auto`` lays the drawn lines back only on drawings enlarged 2x or more after it. Until
    session 17 the rule took the best line recall among the close scales, which once the
    target was met bought 0.01 of recall for 1.4x the pixels (session 14's whole-object
    candidate: 195 px against 167, its best PSNR on both sets)."""
    best = {s: max(r[s]["psnr"] for r in rows) for s in SETS}
    close = [r for r in rows if all(best[s] - r[s]["psnr"] <= SCALE_PSNR_SLACK for s in SETS)]
    if not close:  # the sets peak at scales too far apart for one to be close to both: the best mean
        close = [max(rows, key=lambda r: sum(r[s]["psnr"] for s in SETS))]
    enough = [r for r in close if all(r[s]["line_recall"] >= LINE_RECALL_TARGET for s in SETS)]
    if enough:
        return min(r["px"] for r in enough)
    return max(close, key=lambda r: sum(r[s]["line_recall"] for s in SETS))["px"]


# Context padded round the image (the card's ``tile.border``, see geometry.image_border), in px;
# None is the seam margin, what every card before session 15 used. No less than 16: at 0 a
# drawing cropped tight to its object has its outline on the tile's edge, where the network
# sees its own zero padding. Measured on the default (session 15), 0 had the best mean PSNR on
# the hold-outs (whose objects sit inside paper) by 0.03 dB, and on the repository's examples
# it painted a brown smear between a tote's handles and a white band under a sneaker's sole.
BORDERS = (None, 32, 16)
BORDER_PSNR_SLACK = 0.05  # dB of mean PSNR a smaller (faster) border may give up to the best
BORDER_CONDITION_COST = 0.1  # dB any one condition on either set may lose against the seam margin


def _set_border(model_dir: Path, border: int | None) -> dict:
    card = json.loads((model_dir / "card.json").read_text())
    tile = {k: v for k, v in card["tile"].items() if k != "border"}
    if border is not None:
        tile["border"] = border
    return _card_edit(model_dir, tile=tile)


def measure_border(model_dir: Path, data: Path) -> dict:
    """PSNR of the three conditions and automatic line recall, on both sets, at each border of
    BORDERS (the card's other settings as they are); the chosen border, written into the card."""
    rows = []
    for border in BORDERS:
        _set_border(model_dir, border)
        row: dict = {"border": border}
        for key, (folder, extra) in SETS.items():
            r = _eval_as_run(model_dir, data, folder, extra, "--hints", "10", "--global-color")
            row[key] = {c: {"psnr": r["conditions"][c]["psnr"], "line_recall": r["conditions"][c]["line_recall"]}
                        for c in CONDITIONS}
            row[key]["automatic_seconds"] = r["seconds"]  # the automatic pass over the set, f32
        rows.append(row)
    border = choose_border(rows)
    _set_border(model_dir, border)
    tried = ", ".join("the seam margin" if b is None else f"{b} px" for b in BORDERS)
    return {"table": rows, "border": border, "rule": (
        f"the smallest border within {BORDER_PSNR_SLACK} dB of the best mean PSNR (automatic, --color and 10 points "
        f"on both sets) that loses no condition more than {BORDER_CONDITION_COST} dB against the seam margin; "
        f"tried: {tried}")}


def choose_border(rows: list[dict]) -> int | None:
    """The least context that colours as well as the most: each pixel of border is network time
    on every drawing, and on 256 px drawings more paper measured no better (session 15).
    Rows that lose any condition on either set by more than BORDER_CONDITION_COST against the
    seam margin (the ``None`` row, counted as the largest border) are out first."""
    def mean(r: dict) -> float:
        return sum(r[s][c]["psnr"] for s in SETS for c in CONDITIONS) / (len(SETS) * len(CONDITIONS))

    reference = next((r for r in rows if r["border"] is None), None)
    eligible = [r for r in rows if reference is None or all(
        reference[s][c]["psnr"] - r[s][c]["psnr"] <= BORDER_CONDITION_COST for s in SETS for c in CONDITIONS)]
    if not eligible:
        return None
    best = max(mean(r) for r in eligible)
    ok = [r for r in eligible if best - mean(r) <= BORDER_PSNR_SLACK]
    return min(ok, key=lambda r: float("inf") if r["border"] is None else r["border"])["border"]


# Quarter steps where the rule decides (session 15): at the 16 px border the default reached
# colourfulness 0.79 at 2.5 and cost 0.18 dB at 3.0, so the half-step grid fell between the two.
SATURATIONS = (1.0, 1.5, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5)
SATURATION_PSNR_COST = 0.15


def measure_saturation(model_dir: Path, data: Path, known: dict | None = None) -> dict:
    """Automatic PSNR and colourfulness at each gain of SATURATIONS, and of the network's own
    output (``--hue pixel --saturation 1``, the reference the PSNR cost is counted from); the
    chosen gain. ``known``: a table measured before with the card's current ``automatic_hue``,
    whose rows are reused."""
    card = json.loads((model_dir / "card.json").read_text())
    hue = card.get("automatic_hue", "pixel")
    reuse = {r["gain"]: r for r in known["table"]} if known and known.get("automatic_hue", "pixel") == hue else {}

    def row(*flags: str) -> dict:
        out = {}
        for key, (folder, extra) in SETS.items():
            r = _eval_as_run(model_dir, data, folder, extra, *flags)["conditions"]["automatic"]
            out[key] = {"psnr": r["psnr"], "colorfulness_ratio": r["colorfulness_ratio"], "ciede2000": r["ciede2000"]}
        return out

    rows = [reuse.get(gain) or {"gain": gain, **row("--saturation", str(gain))} for gain in SATURATIONS]
    reference = {"hue": "pixel", "gain": 1.0, **row("--hue", "pixel", "--saturation", "1")}
    gain = choose_saturation(rows, reference)
    measured = {"table": rows, "reference": reference, "automatic_hue": hue, "gain": gain,
                "rule": (f"the smallest gain reaching colourfulness ratio {COLOURFULNESS_TARGET} on both sets among "
                         f"those costing <= {SATURATION_PSNR_COST} dB automatic PSNR on either set against the "
                         "network's own output (per-pixel hue, gain 1)")}
    chosen = next(r for r in rows if r["gain"] == gain)
    if hue == "object" and not _colourful_enough(chosen):
        measured["chroma_targets"] = _measure_chroma_targets(model_dir, row)
        measured["chroma_target"] = choose_chroma_target(measured["chroma_targets"], reference)
        measured["chroma_rule"] = chroma_rule()
    return measured


# Session 40: the fixed gain's best (2.5) left shoes at colourfulness 0.78 with handbags at
# 0.88: the network's chroma is its confidence. Levels aimed at per object (gain 2-4) measured
# on five edge styles x two sets (replayed finishing, 1,500 drawings): level 15 kept the mean
# automatic PSNR (16.042 against 16.044) and raised the mean colourfulness 0.715 -> 0.730, its
# lowest 0.514 -> 0.567; for more colour the two are on par (gain 3.0: 0.849 for 0.064 dB, level
# 20: 0.840 for 0.057). benchmarks/chroma_target.py measures it again.
CHROMA_LEVELS = (13.0, 14.0, 15.0, 16.0, 17.0, 18.0)
CHROMA_GAINS = (2.0, 4.0)


def chroma_rule() -> str:
    return (f"the smallest level of {', '.join(f'{v:g}' for v in CHROMA_LEVELS)} (gain {CHROMA_GAINS[0]:g}-"
            f"{CHROMA_GAINS[1]:g}) reaching colourfulness ratio {COLOURFULNESS_TARGET} on both sets among those costing "
            f"<= {SATURATION_PSNR_COST} dB automatic PSNR on either set against the network's own output, tried "
            "because no fixed gain reached it at that cost")


def _colourful_enough(row: dict) -> bool:
    return all(row[s]["colorfulness_ratio"] >= COLOURFULNESS_TARGET for s in SETS)


def _measure_chroma_targets(model_dir: Path, row: Callable[..., dict]) -> list[dict]:
    """Automatic PSNR and colourfulness at each level of CHROMA_LEVELS (the card's
    ``chroma_target`` set to it, run's defaults otherwise); the card is left without one."""
    rows = []
    try:
        for level in CHROMA_LEVELS:
            _card_edit(model_dir, chroma_target={"chroma": level, "gains": list(CHROMA_GAINS)})
            rows.append({"chroma": level, "gains": list(CHROMA_GAINS), **row()})
    finally:
        card = json.loads((model_dir / "card.json").read_text())
        card.pop("chroma_target", None)
        (model_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return rows


def choose_chroma_target(rows: list[dict], reference: dict) -> dict | None:
    """The least level reaching the colourfulness target at an affordable PSNR cost (counted
    from the network's own output, as :func:`choose_saturation`), as the card writes it."""
    enough = [r for r in rows if _colourful_enough(r)
              and all(reference[s]["psnr"] - r[s]["psnr"] <= SATURATION_PSNR_COST for s in SETS)]
    if not enough:
        return None
    best = min(enough, key=lambda r: r["chroma"])
    return {"chroma": best["chroma"], "gains": best["gains"]}


def saturation_words(card: dict) -> str:
    """The card README's saturation line: the fixed gain, and the per-object chroma level where
    the card has one."""
    measured = card.get("saturation_measured", {})
    fixed = (f"automatic colours' chroma x{card.get('saturation', 1.0)} (`--saturation` overrides; chosen by "
             f"{measured.get('rule', 'hand')})")
    target = card.get("chroma_target")
    if not target:
        return fixed
    low, high = target["gains"]
    return (f"each object's automatic chroma aimed at {target['chroma']:g} (8-bit Lab a, b from neutral) with a gain "
            f"of {low:g}-{high:g} (`ChromaTarget` in `batchcolor/drawing/chroma.py`; chosen by "
            f"{measured.get('chroma_rule', 'hand')}). Where one hue per object does not run (`--hue pixel`, huge "
            f"streamed images) or `--saturation` is given, a fixed gain: {fixed}")


def apply_saturation(model_dir: Path, measured: dict) -> dict:
    """Write a :func:`measure_saturation` result into the card: the fixed gain, and the chroma
    target where one was chosen (removed where none was)."""
    card = json.loads((model_dir / "card.json").read_text())
    card["saturation"], card["saturation_measured"] = measured["gain"], measured
    card.pop("chroma_target", None)
    if measured.get("chroma_target"):
        card["chroma_target"] = measured["chroma_target"]
    (model_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


COLOURFULNESS_TARGET = 0.8


def choose_saturation(rows: list[dict], reference: dict | None = None) -> float:
    """The least gain that reaches the colourfulness target at an affordable PSNR cost.

    The cost is counted from ``reference``, the network's own output, so that the finishing
    as a whole (one hue per object, then the gain) is what may cost at most
    SATURATION_PSNR_COST: counted from the first row, a finishing step that gains PSNR would
    not be allowed to spend it on colour. Without a reference, the first row (gain 1)."""
    base = reference or rows[0]
    allowed = [r for r in rows if all(base[s]["psnr"] - r[s]["psnr"] <= SATURATION_PSNR_COST for s in SETS)]
    if not allowed:
        return min(rows, key=lambda r: r["gain"])["gain"]
    enough = [r for r in allowed if all(r[s]["colorfulness_ratio"] >= COLOURFULNESS_TARGET for s in SETS)]
    if enough:
        return min(enough, key=lambda r: r["gain"])["gain"]
    return max(allowed, key=lambda r: min(r[s]["colorfulness_ratio"] for s in SETS))["gain"]


# (condition, metric, bound, higher is better): the default-model issue's targets
LINE_RECALL_TARGET = 0.85
TARGETS = (("automatic", "psnr", 16.5, True), ("automatic", "colorfulness_ratio", 0.8, True),
           ("automatic", "line_recall", LINE_RECALL_TARGET, True), ("global", "psnr", 19.0, True),
           ("points10", "psnr", 20.0, True), ("points10", "hint_fidelity", 5.0, False))


def targets_met(metrics: dict) -> int:
    """How many (target, set) pairs the figures meet; line recall is taken at --lines none."""
    met = 0
    for s in SETS:
        for cond, key, bound, higher in TARGETS:
            figures = metrics[s].get("automatic_lines_none", metrics[s][cond]) if key == "line_recall" else metrics[s][cond]
            value = figures.get(key)
            met += value is not None and (value >= bound if higher else value <= bound)
    return met


def edge_styles(metrics: dict) -> list[dict]:
    """The figures per edge style measured: the hold-outs' own HED maps, then each of ``other_edges``."""
    return [metrics] + [metrics["other_edges"][m] for m in OTHER_EDGES if m in metrics.get("other_edges", {})]


def score(metrics: dict) -> float:
    """Mean PSNR over the three conditions and both sets, and over the edge styles measured
    (the hold-outs' own HED maps, then each of ``other_edges``), each style weighing the same."""
    styles = edge_styles(metrics)
    per_style = [sum(f[s][c]["psnr"] for s in SETS for c in CONDITIONS) / (len(SETS) * len(CONDITIONS)) for f in styles]
    return sum(per_style) / len(per_style)


PSNR_TOLERANCE = 0.3  # dB of mean PSNR within which the product's targets decide


UP_WORDS = {"resize": "nearest x2 + 3x3 conv", "bilinear": "bilinear x2 (nearest + a fixed [1 2 1] blur) + 3x3 conv",
            "transpose": "transposed-convolution"}
SCORE_TIE = 0.05  # dB: closer than this, the mean PSNR over ~300 drawings does not tell two models apart


def structure(metrics: dict) -> float:
    """Mean automatic SSIM over both sets: blocky banding and hue blotches in flat areas lower
    it while PSNR barely moves."""
    return sum(metrics[s]["automatic"]["ssim"] for s in SETS) / len(SETS)


LINE_TIE = 0.01  # mean line recall: a tie on PSNR is not broken in favour of a model that loses more lines than this


def lines_kept(metrics: dict) -> float:
    """Mean automatic line recall (at --lines none, as the targets take it) over both sets and
    every edge style measured: the figure the product is most behind on, and the first one a
    smoother network gives up."""
    styles = edge_styles(metrics)
    values = [f[s].get("automatic_lines_none", f[s]["automatic"]).get("line_recall") for f in styles for s in SETS]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else 0.0


def rank(results: dict) -> list[str]:
    """Candidates best first: those within PSNR_TOLERANCE of the best mean PSNR by targets met
    (then PSNR), the rest by PSNR after them. PSNR alone picked, in session 5, weights 0.05 dB
    ahead that keep 78% of a shoe's lines against 99%; targets alone picked, in session 4, a
    pix2pix 0.6 dB behind whose every automatic shoe was one dark green. Two neighbours with the
    same targets met and PSNR within SCORE_TIE are ordered by automatic SSIM (session 9: a
    nearest-up-sampling network 0.02 dB ahead of its bilinear continuation showed 8 px blocks
    and blue blotches on white shoes that the other did not; SSIM 0.716 against 0.721), unless
    the cleaner one keeps fewer lines by more than LINE_TIE (session 32: a soup 0.02 dB behind
    the shipped model, SSIM 0.724 against 0.723, won the tie while its line recall fell 0.865
    against 0.887 over the ten sets, 0.80 against 0.84-0.86 on handbags and Canny)."""
    best = max(score(m) for m in results.values())
    order = sorted(results, key=lambda n: (score(results[n]) >= best - PSNR_TOLERANCE,
                                           targets_met(results[n]) if score(results[n]) >= best - PSNR_TOLERANCE else 0,
                                           score(results[n])), reverse=True)
    for i in range(len(order) - 1):
        a, b = results[order[i]], results[order[i + 1]]
        if (targets_met(a) == targets_met(b) and abs(score(a) - score(b)) < SCORE_TIE
                and structure(b) > structure(a) and lines_kept(b) >= lines_kept(a) - LINE_TIE):
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


def speed(model_dir: Path) -> dict:
    """benchmark_app at 256 px: at what ``--precision auto`` resolves to for this model on this
    CPU (see ``batchcolor/inference/precision.py``), and at f32 and bf16 hints side by side."""
    from batchcolor.tools.bench import _cpu_name, benchmark_app, resolved_precision
    from batchcolor.inference.modelcard import resolve_model

    ref = resolve_model(model_dir)
    xml, channels = ref.model_path, ref.card.network_channels
    resolved = resolved_precision(xml, "auto")
    if resolved == "auto":
        from batchcolor.inference.runtime import openvino

        hint = openvino().Core().get_property("CPU", "INFERENCE_PRECISION_HINT")
        default = f"{hint.get_type_name()} (the runtime's default)"
    else:
        default = resolved
    return {"tiles_per_second_256": benchmark_app(xml, channels, 256, "auto", 15),
            "tiles_per_second_256_f32": benchmark_app(xml, channels, 256, "f32", 10),
            "tiles_per_second_256_bf16": benchmark_app(xml, channels, 256, "bf16", 10),
            "default_precision": default,
            "measured_with": f"benchmark_app -hint throughput, {_cpu_name()} x{os.cpu_count()}, "
                             f"--precision auto = {default} here"}


def table(metrics: dict, name: str = "") -> str:
    rows = ["| set | condition | PSNR dB | SSIM | CIEDE2000 | colourfulness ratio | line recall | hint fidelity (dE00) |",
            "|---|---|---|---|---|---|---|---|"]
    labels = {"automatic": "automatic", "global": "`--color` (median object colour)", "points10": "10 point hints",
              "automatic_lines_none": "automatic, `--lines none`", "automatic_lines_keep": "automatic, `--lines keep`",
              "flat_baseline": "flat mean colour"}
    for s in SETS:
        for c, label in labels.items():
            if c not in metrics[s]:
                continue
            m = metrics[s][c]
            fid = m.get("hint_fidelity")
            rows.append(f"| {s.replace('_', ' ')}{' ' + name if name else ''} | {label} | {m['psnr']:.2f} | {m['ssim']:.3f} | "
                        f"{m['ciede2000']:.2f} | {m['colorfulness_ratio']:.2f} | {m['line_recall']:.3f} | "
                        f"{'' if fid is None else f'{fid:.2f}'} |")
    return "\n".join(rows)


def other_edges_table(metrics: dict) -> str:
    """Edge maps the model never saw (hold-out photos re-drawn), beside the hold-outs' own."""
    if "other_edges" not in metrics:
        return ""
    rows = ["| edges | set | automatic PSNR | colourfulness | line recall | `--color` PSNR | 10 points PSNR | hint fidelity |",
            "|---|---|---|---|---|---|---|---|"]
    styles = [("HED (the hold-outs)", metrics)] + [(f"{m} (re-drawn)", metrics["other_edges"][m])
                                                   for m in OTHER_EDGES if m in metrics["other_edges"]]
    for label, f in styles:
        for s in SETS:
            a, g, p = f[s]["automatic"], f[s]["global"], f[s]["points10"]
            rows.append(f"| {label} | {s.replace('_', ' ')} | {a['psnr']:.2f} | {a['colorfulness_ratio']:.2f} | "
                        f"{a['line_recall']:.3f} | {g['psnr']:.2f} | {p['psnr']:.2f} | {p['hint_fidelity']:.2f} |")
    return "\n".join(rows)


HUE_WORDS = {"object": ("one hue per drawn object: each object's mean chroma laid over all of it with the network's "
                       "light and shade (`batchcolor/drawing/chroma.py`; huge streamed images keep the per-pixel hue)"),
             "pixel": "the network's hue at each pixel"}
def lines_words(default: str) -> str:
    """What the card's ``--lines`` default does, in the model README's words."""
    from batchcolor.inference.modelcard import HEAVY_INK, HEAVY_INK_OPACITY, LINES_AUTO_ENLARGEMENT

    if default != "auto":
        return ""
    return (f" (the drawing's lines kept where the colouring was enlarged {LINES_AUTO_ENLARGEMENT:g}x or more and on "
            f"comic pages, and at {HEAVY_INK_OPACITY:.0%} opacity where its ink is heavy: XDoG- or ink-like strokes, "
            f"{HEAVY_INK:g} px or wider at the card's scale)")


def _border_words(card: dict) -> str:
    border = card["tile"].get("border")
    if border is None:
        return "the seam margin (3/8 of the overlap) of paper padded round each image"
    rule = card.get("border_measured", {}).get("rule")
    return (f"{border} px of paper padded round each image before the network, so a small drawing runs on a tile of "
            f"its own size plus {2 * border} px" + (f"; chosen by {rule}" if rule else ""))


def model_readme(card: dict) -> str:
    r = card["training"]["recipe"]
    quant = card.get("quantization")
    title = (f"{card['name']} v{card['version']} (INT8 variant of {quant['source_model']}; preset `pipelines/fast-int8.toml`)"
             if quant else f"{card['name']} v{card['version']} (the default model)")
    runner = card["metrics"].get("runner_up")
    runner_text = ""
    if runner:
        finishing = f" (measured with {runner['measured_with']})" if runner.get("measured_with") else ""
        runner_text = (f"\nRunner-up ({runner['name']}: {runner['recipe']}), same protocol{finishing}:\n\n"
                       f"{table(runner['metrics'])}\n")
        if "other_edges" in runner["metrics"]:
            runner_text += f"\nRunner-up on other edge maps:\n\n{other_edges_table(runner['metrics'])}\n"
    others = other_edges_table(card["metrics"])
    if others:
        others = ("\nOn edge maps it never saw (the same hold-out photos re-drawn by `batchcolor prepare`: Canny, "
                  "1-2 px lines; XDoG, about 4 px), run defaults:\n\n" + others + "\n")
    seams = card.get("seams", {})
    return f"""# {title}

A {card['architecture']['depth']}-level UNet, base width {card['architecture']['base']}: the gray drawing plus 8 hint
planes in (hint colour, hint mask, global colour, global flag; see the card's `input.hints`), {UP_WORDS.get(card['architecture'].get('up', 'resize'), card['architecture'].get('up'))}
up-sampling, BatchNorm, tanh out; {card['parameters']:,} parameters, {card['gmac_per_256_tile']} GMAC per 256x256 tile;
{card['weights']} weights in an OpenVINO IR.

* Recipe: {card['training'].get('summary', r['arch'])}.
* Exact commands: {'; '.join(f'`{c}`' for c in card['training']['commands'])}
* Data: {card['training']['data_description']}.
* Licence caveat: {card['training']['licence']}
* Scale: objects about {card['scale']} px across; `--scale auto` (the default pipeline) measures the drawn objects
  and brings them to that size (chosen by {card.get('scale_measured', {}).get('rule', 'the training size')}).
* Lines: `--lines {card['lines']['default']}` by default{lines_words(card['lines']['default'])}.
* Automatic colours: {HUE_WORDS[card.get('automatic_hue', 'pixel')]} (`--hue` overrides).
* Saturation: {saturation_words(card)}.
* `--color`: {'the network sets light and shade, the colour sets the hue (chroma transfer, `batchcolor/drawing/chroma.py`)' if card.get('color_transfer') == 'chroma' else 'given to the network only'}; hint layers: {'each hint colours the region of the drawing it sits in, with the network'"'"'s light and shade' if card.get('color_transfer') == 'chroma' else 'given to the network only'}.
* Image border: {_border_words(card)}.
* Tiles: {card['tile']['recommended']} px, overlap {card['tile']['overlap']}: the smallest overlap whose tiled output
  is >= {seams.get('bar', {}).get('psnr', 50)} dB from one-tile output overall and >= {seams.get('bar', {}).get('psnr_seams', 45)}
  dB within 8 px of seams, measured on this model ({seams.get('measured', 'see the card')}).
* Speed here (benchmark_app, 256x256, THROUGHPUT): {card['speed']['tiles_per_second_256']} tiles/s at `--precision
  auto` ({card['speed'].get('default_precision', 'the runtime default')} here); {card['speed']['tiles_per_second_256_f32']} with an f32 hint,
  {card['speed'].get('tiles_per_second_256_bf16', 'n/a')} with bf16 ({card['speed']['measured_with']}).

Metrics ({card['metrics']['evaluated_at']}):

{table(card['metrics'])}
{others}{runner_text}
drawing | automatic | `--color` | hint layer | result | photo (shoes hold-out):

![contact sheet](contact_sheet.png)
"""


INCUMBENT = "previous-default"


def incumbent_result(model_dir: Path) -> tuple[dict, str]:
    """The shipped model's figures as its card records them, and its recipe in words.

    Why: a new candidate should ship only if it beats the model users already have, by the same
    rule that ranks candidates; re-measuring the incumbent costs ~35 minutes on two cores, and
    its card holds the same protocol's figures (``--remeasure`` keeps them current when a
    finishing step changes)."""
    card = json.loads((model_dir / "card.json").read_text())
    metrics = {k: v for k, v in card.get("metrics", {}).items() if k != "runner_up"}
    missing = [s for s in SETS if s not in metrics]
    if missing:
        raise ValueError(f"{model_dir}: its card has no figures for {', '.join(missing)}; measure it as a candidate instead")
    return metrics, card.get("training", {}).get("summary", model_dir.name)


def finish_card(model_dir: Path, metrics: dict, extra: dict, reports: Path) -> dict:
    card_path = model_dir / "card.json"
    card = json.loads(card_path.read_text())
    card["training"]["licence"] = LICENCE
    card["training"]["data_description"] = DATA_DESCRIPTION
    card["metrics"] = metrics
    card.update(extra)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    shutil.copy(reports / "shoes_holdout" / "contact_sheet.png", model_dir / "contact_sheet.png")
    (model_dir / "contact_sheet.png").chmod(0o644)
    (model_dir / "README.md").write_text(model_readme(card))
    return card


def refigure(model_dir: Path, data: Path, reports: Path) -> dict:
    """Every figure of the shipped model and its INT8 twin again, their gains and weights as
    they are: the image path changed (how drawings are measured, a mask's rule), so what users
    get did, and the cards, READMEs and contact sheets say it. The float card's figures on the
    other edge maps too; the runner-up's row stays as it was measured."""
    out = {}
    for folder in _shipped(model_dir):
        old = json.loads((folder / "card.json").read_text())
        metrics = evaluate(folder, data, reports / f"refigure-{folder.name}")
        if "other_edges" in old["metrics"]:
            metrics["other_edges"] = evaluate_redrawn(folder, redrawn_sets(data, reports), reports / f"refigure-{folder.name}")
        if "runner_up" in old["metrics"]:
            metrics["runner_up"] = old["metrics"]["runner_up"]
        finish_card(folder, metrics, {}, reports / f"refigure-{folder.name}")
        out[folder.name] = {s: {c: {"before": round(old["metrics"][s][c]["psnr"], 2), "after": round(metrics[s][c]["psnr"], 2)}
                                for c in ("automatic", "global", "points10")} for s in SETS}
    return out


def add_other_edges(model_dir: Path, data: Path, reports: Path) -> dict:
    """The shipped float model measured on the edge styles of OTHER_EDGES its card does not
    hold yet (a style was added to the protocol; the weights and image path did not change,
    so the figures it holds stand), then its README rewritten. Returns the new figures."""
    card = json.loads((model_dir / "card.json").read_text())
    have = card["metrics"].get("other_edges", {})
    missing = {m: sets for m, sets in redrawn_sets(data, reports).items() if m not in have}
    new = evaluate_redrawn(model_dir, missing, reports / f"other-edges-{model_dir.name}") if missing else {}
    card = _card_edit(model_dir, metrics={**card["metrics"], "other_edges": {**have, **new}})
    (model_dir / "README.md").write_text(model_readme(card))
    return new


def remeasure(model_dir: Path, automatic_hue: str, data: Path, reports: Path) -> dict:
    """The shipped model's card after a change of finishing step: the saturation re-chosen by
    its rule (a gain measured for one finishing no longer holds for another), then every
    figure. The runner-up was measured before; its row stays, saying with what."""
    old = json.loads((model_dir / "card.json").read_text())
    before = {"automatic_hue": old.get("automatic_hue", "pixel"), "saturation": old.get("saturation", 1.0)}
    _card_edit(model_dir, automatic_hue=automatic_hue)
    # every gain again: rows measured with the old finishing are not this finishing's (session 38:
    # the reused rows beside a re-measured reference moved the cost of 2.5 from 0.148 to 0.151 dB)
    sat = measure_saturation(model_dir, data)
    apply_saturation(model_dir, sat)
    metrics = evaluate(model_dir, data, reports / "remeasure-eval")
    metrics["other_edges"] = evaluate_redrawn(model_dir, redrawn_sets(data, reports), reports / "remeasure-eval")
    runner = old["metrics"].get("runner_up")
    if runner:
        runner.setdefault("measured_with", f"--hue {before['automatic_hue']} and its own card's saturation")
        metrics["runner_up"] = runner
    finish_card(model_dir, metrics, {}, reports / "remeasure-eval")
    return {"before": {**before, "metrics": {s: old["metrics"][s] for s in SETS}},
            "after": {"automatic_hue": automatic_hue, "saturation": sat["gain"],
                      "chroma_target": sat.get("chroma_target"), "metrics": {s: metrics[s] for s in SETS}},
            "saturation_table": sat["table"], "targets_met": targets_met(metrics), "mean_psnr": round(score(metrics), 2)}


def make_int8_twin(model_dir: Path, calibration: Path, data: Path, reports: Path, float_metrics: dict,
                   float_speed: dict) -> dict:
    """Quantize the shipped float model into ``MODEL-int8`` and keep it only if it gives >= 1.5x
    the tiles/s at <= 1 dB automatic PSNR on both sets (the twin's card takes the float card's
    recipe and commands); returns the measured ratio and loss, and whether it was kept.

    The twin's saturation is its own, by the float card's rule: quantization pales the
    network's chroma, and at the float card's gain session 16's twin reached colourfulness
    0.75 / 0.82 against the float model's 0.80 / 0.90."""
    int8_dir = model_dir.with_name(model_dir.name + "-int8")
    sh(*BC, "export", str(model_dir), "--int8", "--calibration", str(calibration), "--calibration-count", "128",
       "-o", str(int8_dir))
    sat = measure_saturation(int8_dir, data)
    apply_saturation(int8_dir, sat)
    m8 = evaluate(int8_dir, data, reports / "int8-eval")
    s8 = speed(int8_dir)
    ratio = (s8["tiles_per_second_256"] or 0) / max(float_speed["tiles_per_second_256"] or 1, 1e-9)
    loss = max(float_metrics[s]["automatic"]["psnr"] - m8[s]["automatic"]["psnr"] for s in SETS)
    result = {"speed_ratio": round(ratio, 2), "worst_psnr_loss_db": round(loss, 2), "saturation": sat["gain"]}
    if ratio >= 1.5 and loss <= 1.0:
        training = json.loads((model_dir / "card.json").read_text())["training"]
        card8 = json.loads((int8_dir / "card.json").read_text())
        card8["training"]["summary"], card8["training"]["commands"] = training.get("summary"), training.get("commands", [])
        (int8_dir / "card.json").write_text(json.dumps(card8, indent=2) + "\n")
        finish_card(int8_dir, m8, {"speed": s8}, reports / "int8-eval")
        return {**result, "kept": True}
    shutil.rmtree(int8_dir)
    return {**result, "kept": False}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--candidate", action="append", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument("--seams-only", type=Path, metavar="RUN_DIR", help="re-measure the shipped model's (and its INT8 "
                    "twin's) seams and card overlap on the sheets of RUN_DIR's validation drawings; nothing else changes")
    ap.add_argument("--speed-only", action="store_true", help="re-measure the shipped model's (and its INT8 twin's) "
                    "speed into their cards and READMEs; nothing else changes")
    ap.add_argument("--rewrite-ir", action="store_true", help="re-save the shipped float IR with the export's current "
                    "graph rewrites (checked against the old IR at f32), then re-measure its speed; weights untouched")
    ap.add_argument("--border-only", action="store_true", help="measure the shipped model's image border (the "
                    "context padded round a drawing) and write it into its card and its INT8 twin's; then run "
                    "--remeasure (and --int8-only) for the figures")
    ap.add_argument("--scale-only", action="store_true", help="re-measure the shipped model's card scale at "
                    "RESCALE_STEPS times its current one and write it into its card and its INT8 twin's; then run "
                    "--remeasure (and --int8-only) for the figures")
    ap.add_argument("--int8-only", type=Path, metavar="CALIBRATION_DIR", help="remake the INT8 twin from the shipped "
                    "float model and measure it against the float card's figures; the float model is untouched")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags")
    ap.add_argument("--tile", type=int, default=768)
    ap.add_argument("--lines", choices=["keep", "none", "auto"], default="auto")
    ap.add_argument("--color-transfer", choices=["chroma", "none"], default="chroma")
    ap.add_argument("--paper", choices=["keep", "model"], default="keep")
    ap.add_argument("--hint-transfer", choices=["regions", "distance"], default="distance")
    ap.add_argument("--hint-input", choices=["points", "mean"], default="mean")
    ap.add_argument("--automatic-hue", choices=["object", "pixel"], default="object")
    ap.add_argument("--remeasure", action="store_true", help="a finishing step changed, the weights did not: set the "
                    "shipped model's --automatic-hue, re-measure its saturation and every figure, and rewrite its card, "
                    "README and contact sheet (the runner-up's figures stay, labelled with the finishing they were "
                    "measured with)")
    ap.add_argument("--other-edges-only", action="store_true", help="measure the shipped float model on the edge "
                    "styles of OTHER_EDGES its card lacks, and add them")
    ap.add_argument("--refigure", action="store_true", help="the image path changed, the weights and gains did not: "
                    "re-measure every figure of the shipped model and its INT8 twin, and rewrite their cards, READMEs "
                    "and contact sheets")
    ap.add_argument("--overlap", type=int, default=None, help="card overlap (default: measured by export)")
    ap.add_argument("--summary", action="append", default=[], metavar="NAME=TEXT", help="recipe in words, per candidate")
    ap.add_argument("--commands", action="append", default=[], metavar="NAME=CMD;CMD", help="training commands per candidate")
    ap.add_argument("--reports", type=Path, default=Path("reports"))
    ap.add_argument("--int8", type=Path, metavar="CALIBRATION_DIR")
    ap.add_argument("--incumbent", action="store_true", help="the shipped model competes with the figures its card "
                    "records: a candidate ships only if it ranks above it, and then it becomes the runner-up row")
    ap.add_argument("--measure-only", action="store_true", help="export and measure the candidates, ship nothing")
    ap.add_argument("--reuse", action="store_true", help="reuse what --reports already holds of a candidate: its export "
                    "(with the measured saturation), and its metrics")
    args = ap.parse_args()
    if args.rewrite_ir:  # the export's graph rewrites changed, the weights did not
        report = rewrite_ir(args.model_dir)
        card = _card_edit(args.model_dir, speed=speed(args.model_dir))
        (args.model_dir / "README.md").write_text(model_readme(card))
        print(f"{args.model_dir}: {json.dumps(report)}; {json.dumps(card['speed'])}", file=sys.stderr)
        return
    if args.remeasure:
        print(json.dumps(remeasure(args.model_dir, args.automatic_hue, args.data, args.reports), indent=2))
        return
    if args.other_edges_only:
        print(json.dumps(add_other_edges(args.model_dir, args.data, args.reports), indent=2))
        return
    if args.refigure:
        print(json.dumps(refigure(args.model_dir, args.data, args.reports), indent=2))
        return
    if args.border_only:  # the tiling learnt an image border of its own; the weights did not change
        measured = measure_border(args.model_dir, args.data)
        card = _card_edit(args.model_dir, border_measured=measured)
        card.pop("saturation_measured", None)  # measured on the old border's output: --remeasure redoes every gain
        (args.model_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
        for folder in _shipped(args.model_dir):
            _set_border(folder, measured["border"])
        print(json.dumps(measured, indent=2))
        return
    if args.scale_only:  # the tiling or finishing changed, the weights did not: the scale again, both ways
        before = json.loads((args.model_dir / "card.json").read_text())["scale"]
        measured = measure_scale(args.model_dir, args.data, RESCALE_STEPS)
        card = _card_edit(args.model_dir, scale_measured=measured)
        if measured["px"] != before:  # the gain was measured at the old scale: --remeasure redoes every gain
            card.pop("saturation_measured", None)
            (args.model_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
        for folder in _shipped(args.model_dir)[1:]:
            _card_edit(folder, scale=measured["px"])
        print(json.dumps(measured, indent=2))
        return
    if args.int8_only:  # the twin is remade from the shipped float model as it is now
        card = json.loads((args.model_dir / "card.json").read_text())
        metrics = {s: card["metrics"][s] for s in SETS}
        print(json.dumps(make_int8_twin(args.model_dir, args.int8_only, args.data, args.reports, metrics, card["speed"])))
        return
    if args.speed_only:  # the code or the runtime changed, the weights did not: re-measure speed only
        for folder in _shipped(args.model_dir):
            card = _card_edit(folder, speed=speed(folder))
            (folder / "README.md").write_text(model_readme(card))
            print(f"{folder}: {json.dumps(card['speed'])}", file=sys.stderr)
        return
    if args.seams_only:  # the seam protocol changed, the weights did not: re-measure the overlap
        from batchcolor.inference.modelcard import resolve_model
        from batchcolor.train.export import seam_sheets
        from batchcolor.tools.seams import seam_report

        sheets = seam_sheets(args.seams_only)
        if sheets is None:
            ap.error(f"{args.seams_only}: no config.json with reachable validation data for the seam sheets")
        for folder in _shipped(args.model_dir):
            ref = resolve_model(folder)
            report = seam_report(ref, sheets, ref.card.tile)
            overlap = report["smallest_passing_overlap"] or ref.card.overlap
            card = _card_edit(folder, seams=report, tile={"recommended": ref.card.tile, "overlap": overlap})
            (folder / "README.md").write_text(model_readme(card))
            print(f"{folder}: overlap {card['tile']['overlap']}: {json.dumps(report['table'])}", file=sys.stderr)
        return
    if not args.candidate:
        ap.error("--candidate NAME=CHECKPOINT is required (or --speed-only / --seams-only)")
    summaries = dict(s.split("=", 1) for s in args.summary)
    commands = {k: v.split(";") for k, v in (c.split("=", 1) for c in args.commands)}
    results = {}
    redrawn = redrawn_sets(args.data, args.reports)
    for spec in args.candidate:
        name, ckpt = spec.split("=", 1)
        folder = args.reports / "candidates" / name
        saved = args.reports / "candidates" / f"{name}-eval" / "metrics.json"
        exported = args.reuse and (folder / "card.json").exists()
        if exported and saved.exists():
            results[name] = json.loads(saved.read_text())
            print(f"{name}: reused {saved}", file=sys.stderr)
            if "other_edges" not in results[name]:
                results[name]["other_edges"] = evaluate_redrawn(folder, redrawn, saved.parent)
                saved.write_text(json.dumps(results[name], indent=1) + "\n")
            continue
        if not exported:
            sh(*BC, "export", ckpt, "-o", str(folder), "--default", "--tile", str(args.tile), "--lines", args.lines,
               "--color-transfer", args.color_transfer, "--paper", args.paper, "--hint-transfer", args.hint_transfer,
               "--hint-input", args.hint_input, "--automatic-hue", args.automatic_hue, "--name", args.model_dir.name,
               *(["--overlap", str(args.overlap)] if args.overlap else []))
        card = json.loads((folder / "card.json").read_text())
        if "scale_measured" not in card:  # (a saturation measured at another scale no longer holds)
            card.pop("saturation_measured", None)
            (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
            card = _card_edit(folder, scale_measured=measure_scale(folder, args.data))
        print(f"{name}: card scale {card['scale']} px", file=sys.stderr)
        if "border_measured" not in card:  # (before the saturation: the border changes the network's output)
            card.pop("saturation_measured", None)
            (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
            card = _card_edit(folder, border_measured=measure_border(folder, args.data))
        print(f"{name}: card border {card['tile'].get('border')} px", file=sys.stderr)
        if "saturation_measured" not in card:
            card = apply_saturation(folder, measure_saturation(folder, args.data))
        print(f"{name}: saturation {card['saturation']}", file=sys.stderr)
        results[name] = evaluate(folder, args.data, args.reports / "candidates" / f"{name}-eval")
        results[name]["other_edges"] = evaluate_redrawn(folder, redrawn, saved.parent)
        saved.write_text(json.dumps(results[name], indent=1) + "\n")
        print(f"{name}: targets met {targets_met(results[name])}/{len(TARGETS) * len(SETS)}, "
              f"mean PSNR over conditions and sets {score(results[name]):.2f} dB", file=sys.stderr)
    if args.incumbent:
        results[INCUMBENT], summaries[INCUMBENT] = incumbent_result(args.model_dir)
    ranked = rank(results)
    if args.measure_only or ranked[0] == INCUMBENT:
        if ranked[0] == INCUMBENT and not args.measure_only:
            print(f"{args.model_dir}: the shipped model ranks first; nothing changes", file=sys.stderr)
        print(json.dumps({n: {"targets_met": targets_met(results[n]), "mean_psnr": round(score(results[n]), 2)}
                          for n in ranked}, indent=2))
        return
    best = ranked[0]
    if args.model_dir.exists():
        shutil.rmtree(args.model_dir)
    shutil.copytree(args.reports / "candidates" / best, args.model_dir)
    metrics = dict(results[best])
    if len(ranked) > 1:
        second = ranked[1]
        metrics["runner_up"] = {"name": second, "recipe": summaries.get(second, second), "metrics": results[second]}
        if second == INCUMBENT:
            metrics["runner_up"]["measured_with"] = "the figures its card recorded, measured in an earlier session"
    extra = {"speed": speed(args.model_dir)}
    card = json.loads((args.model_dir / "card.json").read_text())
    card["name"] = args.model_dir.name  # a reused candidate may have been exported for another folder
    training = card["training"]
    training["summary"] = summaries.get(best, best)
    training["commands"] = commands.get(best, [training.get("command", "")])
    (args.model_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    finish_card(args.model_dir, metrics, extra, args.reports / "candidates" / f"{best}-eval")
    summary = {"shipped": best, "scores": {n: {"targets_met": targets_met(results[n]), "mean_psnr": round(score(results[n]), 2)}
                                           for n in ranked}, "speed": extra["speed"]}
    if args.int8:
        summary["int8"] = make_int8_twin(args.model_dir, args.int8, args.data, args.reports, metrics, extra["speed"])
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
