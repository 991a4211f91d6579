"""The shipped default model: loads with no flags, follows hints, keeps sheets and seams right.

Figures are checked against the card (measured by ``models/ship.py`` on the full hold-outs)
with tolerances, on a few real held-out drawings; speed targets live in BENCHMARKS.md."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor.drawing import hints as H
from batchcolor.tools import metrics
from batchcolor.inference.registry import default_model

from conftest import DATA, REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"
needs_data = pytest.mark.skipif(not (DATA / "handbags-val").is_dir(), reason="shared data not present")


def test_default_model_is_installed_and_described():
    ref = default_model()
    card = ref.card
    assert card.extra.get("default") is True
    assert card.input_channels == 1 and card.hint_planes == 8 and card.stride == 16 and card.scale
    training = card.training
    assert "non-commercial" in training["licence"]
    # every step is a command this repository has: the Paddle trainer, or the accelerator mirror and its import
    steps = ("batchcolor train", "python models/gpu_train.py", "python -m batchcolor.train.weights")
    assert training["commands"] and all(c.startswith(steps) for c in training["commands"]), training["commands"]
    for split in ("shoes_holdout", "handbags_val"):
        m = card.metrics[split]
        other_lines = next(k for k in m if k.startswith("automatic_lines_"))
        for condition in ("automatic", "global", "points10", other_lines):
            assert m[condition]["psnr"] > m["flat_baseline"]["psnr"], (split, condition)
            assert {"ssim", "ciede2000", "colorfulness_ratio", "line_recall"} <= set(m[condition])
        assert m["global"]["psnr"] > m["automatic"]["psnr"] and m["points10"]["psnr"] > m["automatic"]["psnr"]
        assert m["points10"]["hint_fidelity"] < m["automatic"]["hint_fidelity"]
    assert card.metrics["runner_up"]["metrics"]["shoes_holdout"]["automatic"]["psnr"] > 0
    assert card.extra["speed"]["tiles_per_second_256"] > 0  # the 60 tiles/s target is a benchmark, see BENCHMARKS.md
    seams = card.extra["seams"]
    row = next(r for r in seams["table"] if r["overlap"] == card.overlap)
    assert row["psnr"] >= 50 and row["psnr_seams"] >= 45
    assert (ref.model_path.parent / "contact_sheet.png").exists()
    size = sum(p.stat().st_size for p in ref.model_path.parent.iterdir())
    assert size < 30 * 2**20, "shipped files stay small"


def test_run_examples_with_no_flags_is_deterministic_and_colourful(tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    for out in (out1, out2):
        r = run_cli("run", EXAMPLES, out, "--precision", "f32", "--no-cache")
        assert r.returncode == 0, r.stderr
    produced = sorted(out1.rglob("*.png"))
    assert len(produced) == len(list(EXAMPLES.rglob("*.png"))) >= 6
    scores = []
    for p in produced:
        a = cv2.imread(str(p))
        b = cv2.imread(str(out2 / p.relative_to(out1)))
        np.testing.assert_array_equal(a, b, err_msg=f"{p.name} differs between two f32 runs")
        src = cv2.imread(str(EXAMPLES / p.relative_to(out1)), cv2.IMREAD_GRAYSCALE)
        assert a.shape[:2] == src.shape
        scores.append(metrics.colorfulness(a[:, :, ::-1]))
    # A gray output scores 0, a flat-coloured one below 5: demand clearly coloured output.
    assert np.mean(scores) > 8 and min(scores) > 3, scores


def _hue_spread(rgb: np.ndarray) -> float:
    """Degrees between the 10th and 90th percentile of the hue of a picture's coloured pixels.

    Coloured: chroma above 8. In a near-black object (L about 20) one level of 8-bit RGB moves
    a and b by 1-2, so the hue of a pixel of chroma 6-8 is mostly rounding: at the old bar of 6
    the dark boot measured 36.8 degrees (session 15, saturation 2.75), all of it in such pixels,
    and 6.2 above 8, with the picture unchanged to the eye."""
    lab = metrics.rgb_to_lab(np.ascontiguousarray(rgb))
    lab = lab[np.hypot(lab[:, 1], lab[:, 2]) > 8]
    angle = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
    centre = np.degrees(np.arctan2(np.sin(np.radians(angle)).mean(), np.cos(np.radians(angle)).mean()))
    unwrapped = (angle - centre + 180.0) % 360.0 - 180.0
    return float(np.percentile(unwrapped, 90) - np.percentile(unwrapped, 10))


def test_automatic_colours_are_one_hue_per_object(tmp_path):
    """The examples are one object each: with no flags each comes out in one hue (the card's
    ``automatic_hue``), where the network's own per-pixel hue shows blotches of others."""
    spreads = {}
    for name, extra in {"card": [], "pixel": ["--hue", "pixel"]}.items():
        r = run_cli("run", EXAMPLES, tmp_path / name, "--precision", "f32", "--no-cache", *extra)
        assert r.returncode == 0, r.stderr
        spreads[name] = [_hue_spread(cv2.imread(str(p))[:, :, ::-1]) for p in sorted((tmp_path / name).rglob("*.png"))]
    # measured: 1-17 degrees (the black tote's near-neutral pixels are the noisiest) against 24-194
    assert max(spreads["card"]) < 20, spreads
    assert np.mean(spreads["pixel"]) > 4 * np.mean(spreads["card"]), spreads


@needs_data
def test_automatic_chroma_is_aimed_at_the_cards_level_per_drawing(tmp_path):
    """The card's ``chroma_target``: each drawing's object chroma is its network chroma (one
    hue per object, no gain) times the gain that brings it to the card's level, within the
    card's bounds. So the drawings the network leaves greyish get more than the fixed gain
    gives them, and the vivid ones less."""
    from batchcolor.drawing.chroma import object_weight

    card = default_model().card
    target = card.extra["chroma_target"]
    level, (low, high) = target["chroma"], target["gains"]
    edges = _held_out(10).edges
    own = _colorize(edges, tmp_path, "own", "--saturation", "1")
    aimed = _colorize(edges, tmp_path, "aimed")

    def chroma(img: np.ndarray) -> float:
        lab = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2Lab).astype(np.float32)
        inside = object_weight(img) >= 1.0
        return float(np.hypot(lab[..., 1][inside].mean() - 128, lab[..., 2][inside].mean() - 128))

    checked = 0
    for a, b in zip(own, aimed):
        c_own, c_aimed = chroma(a), chroma(b)
        if c_own < 2.0:  # too grey to read a gain from 8-bit pixels
            continue
        want = c_own * min(max(level / c_own, low), high)
        assert abs(c_aimed - want) < 0.15 * want + 1.0, (c_own, c_aimed, want)
        checked += 1
    assert checked >= 6


def _held_out(n: int = 12, size: int = 256):
    from batchcolor.tools.evaluate import load_eval_pairs

    return load_eval_pairs(DATA / "handbags-val", size, limit=n)


def _colorize(edges: np.ndarray, tmp_path, name: str, *args: str, layers: list[np.ndarray] | None = None) -> list[np.ndarray]:
    src = tmp_path / f"in-{name}"
    src.mkdir()
    for i, e in enumerate(edges):
        cv2.imwrite(str(src / f"{i:02d}.png"), cv2.cvtColor(e, cv2.COLOR_RGB2GRAY))
        if layers is not None:
            cv2.imwrite(str(src / f"{i:02d}.hints.png"), layers[i][:, :, [2, 1, 0, 3]])
    r = run_cli("run", src, tmp_path / f"out-{name}", "--precision", "f32", "--no-cache", *args)
    assert r.returncode == 0, r.stderr
    return [cv2.imread(str(tmp_path / f"out-{name}" / f"{i:02d}.png"))[:, :, ::-1] for i in range(len(edges))]


@needs_data
def test_color_moves_the_object_toward_the_given_colour(tmp_path):
    """Each drawing is run with a colour it is not (the hue turned half way round): the
    output's object colour moves from where automatic mode puts it toward the asked colour."""
    card = default_model().card
    data = _held_out(8)
    auto = _colorize(data.edges, tmp_path, "auto")
    moved, fidelity = [], []
    for i, (edge, target) in enumerate(zip(data.edges, data.targets)):
        want = H.global_color(target) or (128, 128, 128)
        lab = cv2.cvtColor(np.uint8([[want]]), cv2.COLOR_RGB2Lab)[0, 0].astype(int)
        lab[1:] = 128 - (lab[1:] - 128) + np.sign(128 - lab[1:]) * 30  # the opposite hue, and vivid
        asked = tuple(int(v) for v in cv2.cvtColor(np.uint8([[np.clip(lab, 0, 255)]]), cv2.COLOR_Lab2RGB)[0, 0])
        out = _colorize(edge[None], tmp_path, f"c{i}", "--color", H.format_color(asked))[0]
        d = lambda img: float(metrics.ciede2000_lab(metrics.rgb_to_lab(np.uint8([[H.global_color(img) or (255, 255, 255)]])),  # noqa: E731
                                                    metrics.rgb_to_lab(np.uint8([[asked]])))[0])
        moved.append(d(auto[i]) - d(out))
        fidelity.append(d(out))
    assert np.mean(moved) > 5, moved  # CIEDE2000 units closer to the asked colour
    card_fid = card.metrics["handbags_val"]["global"]["hint_fidelity"]
    assert np.mean(fidelity) < card_fid + 15, (fidelity, card_fid)  # asked colours are harder than true ones


@needs_data
def test_hint_layer_colours_appear_under_the_hints(tmp_path):
    card = default_model().card
    data = _held_out(8)
    points = [H.eval_points(i, t, 10) for i, t in enumerate(data.targets)]
    auto = np.stack(_colorize(data.edges, tmp_path, "auto"))
    hinted = np.stack(_colorize(data.edges, tmp_path, "hinted", layers=[H.as_layer(p) for p in points]))
    mask, color = np.stack([p.mask for p in points]), np.stack([p.color for p in points])
    got, before = metrics.hint_fidelity(hinted, color, mask), metrics.hint_fidelity(auto, color, mask)
    assert got < before - 3, (got, before)
    assert got < card.metrics["handbags_val"]["points10"]["hint_fidelity"] + 5


@needs_data
def test_a_3x3_sheet_is_coloured_like_its_drawings_alone(tmp_path):
    data = _held_out(9)
    gap = 16
    sheet = np.full((3 * 256 + 4 * gap, 3 * 256 + 4 * gap), 255, np.uint8)
    cells = [cv2.cvtColor(e, cv2.COLOR_RGB2GRAY) for e in data.edges]
    for i, c in enumerate(cells):
        y, x = gap + (i // 3) * (256 + gap), gap + (i % 3) * (256 + gap)
        sheet[y : y + 256, x : x + 256] = c
    whole = _colorize(sheet[None, :, :, None].repeat(3, axis=3), tmp_path, "sheet")[0]
    alone = _colorize(data.edges, tmp_path, "cells")
    cells_out = [whole[gap + (i // 3) * (256 + gap):][:256, gap + (i % 3) * (256 + gap):][:, :256] for i in range(9)]
    scores = [metrics.psnr(c, a) for c, a in zip(cells_out, alone)]
    sheet_psnr = metrics.psnr(np.concatenate(cells_out), np.concatenate(alone))  # all cells as one picture
    print("sheet vs cells alone:", round(sheet_psnr, 1), "dB; per cell", np.round(scores, 1))
    # measured with the shipped model (session 5): 26.2 dB over the sheet, cells 21.6-31.2
    # (the session-3 weights: 28.9); 7 dB before objects were coloured alone. The worst cells
    # are drawings whose lines run off their frame (cut out with paper where, alone, their
    # strokes met the border). This guards the level reached and the target of 25.
    assert sheet_psnr >= 25 and min(scores) >= 15, scores
    if default_model().card.extra.get("paper") == "keep":  # the gaps between drawings stay paper
        gaps = np.concatenate([whole[:gap].reshape(-1, 3), whole[256 + gap : 256 + 2 * gap].reshape(-1, 3)])
        assert (gaps >= 250).mean() > 0.99, (gaps >= 250).mean()


@needs_data
def test_a_comic_page_with_panel_borders_is_coloured_like_its_drawings_alone(tmp_path):
    """Four drawings in a 2x2 grid of bordered panels: the borders join into one page-sized
    group of lines, which is a panel grid (batchcolor.drawing.objects.frame_strokes), not an
    object holding four details. Before that, the page came out as one brown block. On a
    comic page ``--lines auto`` keeps the ink, so the drawings alone are coloured with it kept."""
    data = _held_out(4)
    cells = [cv2.cvtColor(e, cv2.COLOR_RGB2GRAY) for e in data.edges]
    pad, gutter, side = 40, 24, 256 + 2 * 40  # drawing, paper round it in the panel, gutter
    page = np.full((2 * side + 3 * gutter, 2 * side + 3 * gutter), 255, np.uint8)
    origins = []
    for i, c in enumerate(cells):
        y, x = gutter + (i // 2) * (side + gutter), gutter + (i % 2) * (side + gutter)
        cv2.rectangle(page, (x, y), (x + side - 1, y + side - 1), 0, 3)
        page[y + pad : y + pad + 256, x + pad : x + pad + 256] = c
        origins.append((y + pad, x + pad))
    whole = _colorize(page[None, :, :, None].repeat(3, axis=3), tmp_path, "page")[0]
    alone = _colorize(data.edges, tmp_path, "panels", "--lines", "keep")
    got = [whole[y : y + 256, x : x + 256] for y, x in origins]
    page_psnr = metrics.psnr(np.concatenate(got), np.concatenate(alone))
    print("page vs drawings alone:", round(page_psnr, 1), "dB")
    assert page_psnr >= 22, page_psnr
    paper = np.zeros(page.shape, bool)  # each panel's paper margin, and the gutters
    for y, x in origins:
        paper[y - pad + 8 : y - 8, x - pad + 8 : x + 256 + pad - 8] = True
    paper[:gutter - 2] = True
    assert (whole[paper] >= 245).all(axis=1).mean() > 0.98
    borders = page < 64  # the borders stay the drawing's own dark lines
    assert whole[borders].max(axis=1).mean() < 100
    # and so do the drawings' own lines, kept over the colour (a 256 px drawing alone at 1x
    # has them painted by the network, lighter: --lines auto leaves them off there)
    ink = np.concatenate([cells[i][24:-24, 24:-24] < 64 for i in range(4)])
    inked = np.concatenate([g[24:-24, 24:-24] for g in got])[ink]
    plain = np.concatenate([a[24:-24, 24:-24] for a in _colorize(data.edges, tmp_path, "plain")])[ink]
    print("the drawings' ink, brightest channel: on the page", round(float(inked.max(axis=1).mean()), 1),
          "alone at 1x", round(float(plain.max(axis=1).mean()), 1))
    assert inked.max(axis=1).mean() < 90 and plain.max(axis=1).mean() > inked.max(axis=1).mean() + 20, \
        (inked.max(axis=1).mean(), plain.max(axis=1).mean())


@pytest.mark.parametrize("rows", [2, 1])
def test_card_overlap_meets_the_seam_bar_on_a_sheet_of_drawings(rows):
    """Two rows of drawings need tiles both ways at the card's size; one row (a strip 400 px
    tall) runs as a row of tiles fitted to its height, rectangles, seamed along its length."""
    from batchcolor.tools.seams import tiled_vs_one_tile
    from batchcolor.tiling.tiler import TileSettings

    ref = default_model()
    drawings = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(EXAMPLES.rglob("*.png"))]
    side = max(max(d.shape) for d in drawings)
    cells = [cv2.copyMakeBorder(d, 0, side - d.shape[0], 0, side - d.shape[1], cv2.BORDER_CONSTANT, value=255) for d in drawings]
    sheet = np.concatenate([np.concatenate(cells[:3], 1), np.concatenate(cells[3:6], 1)], 0)[:, :, None]
    if rows == 1:  # 2400 x 400: a strip long enough for full tiles along it
        sheet = np.concatenate([sheet, sheet], 1)[:400]
    # (1200 x 800: 2 x 3 tiles at the card's size, seams both ways across drawings)
        plan = TileSettings(ref.card.tile, ref.card.overlap, pad_value=ref.card.pad_value).plan(*sheet.shape[:2], ref.card.stride)
        assert plan.rows.count == 1 and plan.tile_shape[0] < plan.tile_shape[1] == ref.card.tile, plan.tile_shape
    row = tiled_vs_one_tile(ref, sheet, ref.card.tile, [ref.card.overlap])[0]
    assert row["tiles"] > 1 and row["psnr"] >= 50 and row["psnr_seams"] >= 45, row


@needs_data
def test_eval_on_20_handbags_beats_flat_baseline(tmp_path):
    r = run_cli("eval", default_model().model_path.parent, DATA / "handbags-val", "--limit", "20", "--size", "256",
                "--scale", "auto", "--hints", "10", "--global-color", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    flat = report["flat_baseline"]
    assert report["pairs"] == 20
    for condition, m in report["conditions"].items():
        assert m["psnr"] > flat["psnr"] and m["ciede2000"] < flat["ciede2000"], (condition, report)


def test_models_command_lists_the_default():
    r = run_cli("models")
    assert r.returncode == 0
    line = next(line for line in r.stdout.splitlines() if default_model().card.name in line)
    assert "*" in line and "tiles/s" in line and " dB" in line and "hints" in line


def _int8():
    from batchcolor.errors import ModelError
    from batchcolor.inference.registry import lookup

    try:
        return lookup("product-sketch-int8")
    except ModelError:
        return None


@pytest.mark.skipif(_int8() is None, reason="no INT8 twin shipped (models/ship.py keeps it only at >= 1.5x and <= 1 dB)")
def test_int8_variant_is_shipped_faster_and_as_good():
    """Issue bar: ship INT8 only if >= 1.5x the bf16 tiles/s at <= 1 dB PSNR loss (card figures)."""
    card = _int8().card
    default = default_model().card
    assert card.extra["weights"].startswith("int8") and card.extra.get("default") is None and card.hint_planes == 8
    assert card.extra["speed"]["tiles_per_second_256"] >= 1.5 * default.extra["speed"]["tiles_per_second_256"]
    for split in ("shoes_holdout", "handbags_val"):
        assert card.metrics[split]["automatic"]["psnr"] >= default.metrics[split]["automatic"]["psnr"] - 1.0


def test_fast_int8_preset_matches_what_is_shipped():
    from batchcolor.batch.pipelines import find_pipeline

    try:
        find_pipeline("fast-int8")
        preset = True
    except Exception:
        preset = False
    assert preset == (_int8() is not None), "the fast-int8 preset ships exactly when the INT8 twin does"


@needs_data
def test_kept_lines_are_found_in_the_output(tmp_path):
    """--lines keep: >= 98% of the drawing's line pixels have an edge of the output within 2 px."""
    r = run_cli("eval", default_model().model_path.parent, DATA / "handbags-val", "--limit", "20", "--size", "256",
                "--scale", "auto", "--lines", "keep", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "report.json").read_text())["conditions"]["automatic"]
    assert m["line_recall"] >= 0.98, m


def test_a_drawing_broken_into_pieces_is_coloured_whole(tmp_path):
    """A shoe drawn in two pieces whose boxes overlap (as thick, broken edge maps draw them) is
    coloured as one drawing, at its measured scale: as ``--scale`` with that factor colours
    it. Before, each piece was cut out and coloured at its own scale, and the crops' mean
    showed as rectangles across the shoe."""
    from test_scale import broken_shoe

    from batchcolor.colorize.image import scale_factor

    shoe = broken_shoe()
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "shoe.png"), shoe)
    factor = scale_factor(shoe[:, :, None], "auto", default_model().card)
    assert factor < 0.9  # resized: the comparison below is not the 1:1 route
    outs = {}
    for name, scale in {"auto": "auto", "factor": repr(factor)}.items():
        r = run_cli("run", tmp_path / "in", tmp_path / name, "--precision", "f32", "--no-cache", "--scale", scale)
        assert r.returncode == 0, r.stderr
        outs[name] = cv2.imread(str(tmp_path / name / "shoe.png"))
    assert metrics.psnr(outs["auto"], outs["factor"]) > 50


def test_tile_makes_the_picture_run_makes(tmp_path):
    """One drawing, one path: ``tile`` reads run's default preset, so a 256 px drawing comes out
    of both at the card's scale, byte for byte. Before session 38 ``tile`` coloured it 1:1 (its
    own ``--scale none`` default): blotchy white patches on a dark bag, 14.6 dB from run's."""
    src = sorted((EXAMPLES / "bags").glob("*.png"))[0]
    (tmp_path / "in").mkdir()
    drawing = tmp_path / "in" / src.name
    drawing.write_bytes(src.read_bytes())
    common = ("--precision", "f32", "--no-cache")
    assert run_cli("run", tmp_path / "in", tmp_path / "out", *common).returncode == 0
    tiled = tmp_path / "tiled.png"
    r = run_cli("tile", drawing, "-o", tiled, *common)
    assert r.returncode == 0, r.stderr
    by_run = cv2.imread(str(tmp_path / "out" / src.name))
    np.testing.assert_array_equal(cv2.imread(str(tiled)), by_run)
    # a preset reaches tile too, its run-only settings (format, workers, ...) left out:
    # huge-sheets colours 1:1, which on this drawing is another picture
    one_to_one = tmp_path / "one_to_one.png"
    r = run_cli("tile", drawing, "-o", one_to_one, "-p", "huge-sheets", *common)
    assert r.returncode == 0, r.stderr
    assert np.abs(cv2.imread(str(one_to_one)).astype(int) - by_run).mean() > 2
    r = run_cli("tile", drawing, "-o", tmp_path / "same.png", "--scale", "none", *common)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "same.png")), cv2.imread(str(one_to_one)))
