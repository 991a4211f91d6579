"""``--scale auto`` measures drawn objects, not the image; bad factors are usage errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.tools import synthetic
from batchcolor.colorize.image import scale_factor
from batchcolor.inference.modelcard import card_from_dict
from batchcolor.drawing.objects import object_extent

from conftest import run_cli


def drawing(size: int, seed: int) -> np.ndarray:
    """One closed object (an outline with inner details) filling ~90% of a size x size cell."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 255, np.uint8)
    m = size // 20
    cv2.rectangle(img, (m, m + size // 8), (size - m, size - m), 0, 2)
    cv2.ellipse(img, (size // 2, m + size // 8), (size // 3, size // 8), 0, 180, 360, 0, 2)
    for _ in range(6):  # details inside: not objects of their own
        x, y = (int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        cv2.circle(img, (x, y), int(rng.integers(3, size // 10)), 0, 1)
    return img


def sheet(cells: list[np.ndarray], cols: int, gap: int = 16) -> np.ndarray:
    size = cells[0].shape[0]
    rows = (len(cells) + cols - 1) // cols
    out = np.full((rows * (size + gap) + gap, cols * (size + gap) + gap), 255, np.uint8)
    for i, c in enumerate(cells):
        y, x = gap + (i // cols) * (size + gap), gap + (i % cols) * (size + gap)
        out[y : y + size, x : x + size] = c
    return out


def test_a_sheet_measures_like_its_drawings():
    cells = [drawing(256, seed) for seed in range(9)]
    singles = [object_extent(c) for c in cells]
    assert all(220 <= s <= 256 for s in singles), singles
    assert object_extent(sheet(cells, 3)) == pytest.approx(np.median(singles), rel=0.05)
    big = cv2.resize(sheet(cells, 3), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)  # measured on a reduced copy
    assert object_extent(big) == pytest.approx(4 * np.median(singles), rel=0.08)


def test_blank_paper_has_no_objects():
    assert object_extent(np.full((100, 100), 255, np.uint8)) is None


def _card(scale: int | None, tolerance: float | None = None):
    extra = {"scale_tolerance": tolerance} if tolerance else {}
    return card_from_dict(name="x", version="0", input_channels=1, output_channels=3, input_mean=127.5, input_std=127.5,
                          output_range=(-1.0, 1.0), stride=16, tile=256, overlap=64, scale=scale, extra=extra)


def test_scale_factor_rules():
    d = drawing(256, 0)[:, :, None]
    extent = object_extent(d[:, :, 0])
    assert scale_factor(d, "auto", _card(128)) == pytest.approx(128 / extent)
    assert scale_factor(sheet([d[:, :, 0]] * 4, 2)[:, :, None], "auto", _card(128)) == pytest.approx(128 / extent, rel=0.05)
    assert scale_factor(d, "auto", _card(128, tolerance=2.5)) == 1.0  # within what the model was trained on
    assert scale_factor(d, "auto", _card(None)) == 1.0
    assert scale_factor(d, "none", _card(128)) == 1.0
    assert scale_factor(d, "0.5", _card(128)) == 0.5
    huge = np.zeros((4001, 4000, 1), np.uint8)  # >= 16 MP: posters stay 1:1 (and streamed)
    assert scale_factor(huge, "auto", _card(128)) == 1.0
    for bad in ("2x", "0", "-1", "1000"):
        with pytest.raises(ValueError, match="--scale"):
            scale_factor(d, bad, _card(128))


@pytest.mark.parametrize("how", ["run", "tile", "pipeline"])
def test_bad_scale_is_a_usage_error_up_front(pointwise_gray, tmp_path, how):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"{i}.png"), synthetic.line_art(40, 40, seed=i))
    if how == "run":
        r = run_cli("run", src, tmp_path / "out", "--model", pointwise_gray, "--scale", "2x")
    elif how == "tile":
        r = run_cli("tile", src / "0.png", "-o", tmp_path / "o.png", "--model", pointwise_gray, "--scale", "-1")
    else:
        (tmp_path / "p.toml").write_text('scale = "0"\n')
        r = run_cli("run", src, tmp_path / "out", "--model", pointwise_gray, "--pipeline", tmp_path / "p.toml")
    assert r.returncode == 2, r.stderr
    assert "--scale" in r.stderr and r.stderr.count("\n") <= 2  # one line, not a line per file
    assert not list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True


def test_sheet_is_coloured_like_its_drawings_alone(tmp_path):
    """scale auto colours each object of a sheet as if it were drawn alone (a random UNet with
    a wide receptive field: without this, neighbours reach into each other's colours)."""
    from batchcolor.colorize.image import colorize_image
    from batchcolor.colorize.settings import InferenceSettings, open_engine
    from batchcolor.tools.metrics import psnr

    card = synthetic.test_card("u", 1, 16, tile=256, overlap=64)
    card = card_from_dict(**{**card.__dict__, "scale": 128, "padding": "constant"})
    synthetic.save_with_card(synthetic.random_unet(1, 8, 4, seed=3), tmp_path / "m", card)
    engine, tiling = open_engine(InferenceSettings(model=str(tmp_path / "m"), precision="f32", cache_dir=None))
    cells = [drawing(256, seed) for seed in range(9)]
    big = sheet(cells, 3, gap=16)
    out = colorize_image(cv2.cvtColor(big, cv2.COLOR_GRAY2BGR), engine, tiling, "auto")
    scores = []
    for i, c in enumerate(cells):
        alone = colorize_image(cv2.cvtColor(c, cv2.COLOR_GRAY2BGR), engine, tiling, "auto")
        y, x = 16 + (i // 3) * 272, 16 + (i % 3) * 272
        scores.append(psnr(out[y : y + 256, x : x + 256], alone))
    engine.close()
    print("sheet vs alone, PSNR per cell:", np.round(scores, 1))
    assert min(scores) >= 25, scores


def panels(cells: list[np.ndarray], cols: int, pad: int = 30, gutter: int = 20, border: int = 3) -> np.ndarray:
    """A comic page: each cell in a bordered panel, the panels in a grid."""
    size = cells[0].shape[0]
    side = size + 2 * pad
    rows = (len(cells) + cols - 1) // cols
    out = np.full((rows * (side + gutter) + gutter, cols * (side + gutter) + gutter), 255, np.uint8)
    for i, c in enumerate(cells):
        y, x = gutter + (i // cols) * (side + gutter), gutter + (i % cols) * (side + gutter)
        cv2.rectangle(out, (x, y), (x + side - 1, y + side - 1), 0, border)
        out[y + pad : y + pad + size, x + pad : x + pad + size] = c
    return out


def blob(size: int, seed: int) -> np.ndarray:
    """A round, curvy drawing (no long straight lines of its own)."""
    img = np.full((size, size), 255, np.uint8)
    cv2.ellipse(img, (size // 2, size // 2), (size * 2 // 5, size // 3), seed * 20, 0, 360, 0, 2)
    cv2.circle(img, (size // 2, size // 2), size // 8, 0, 1)
    return img


@pytest.mark.parametrize("cols,count", [(2, 4), (3, 6), (2, 3)])
def test_a_comic_pages_panel_borders_are_not_an_object(cols, count):
    from batchcolor.drawing.objects import measure_objects
    from batchcolor.drawing.paper import silhouette

    cells = [blob(200, s) for s in range(count)]
    page = panels(cells, cols)
    alone = np.median([object_extent(c) for c in cells])
    found = measure_objects(page)
    assert found.extent == pytest.approx(alone, rel=0.1)
    assert len(found.boxes) == count
    inside = silhouette(page, found.extent)
    assert not inside[:20].any() and not inside[:, :20].any()  # the gutters are paper
    assert inside[20 + 30 + 100, 20 + 30 + 100]  # a drawing's middle is object
    assert inside.mean() < 0.5


@pytest.mark.parametrize("cols,count", [(2, 4), (2, 3)])
def test_panels_whose_drawings_touch_their_borders_are_still_panels(cols, count):
    """Each drawing has a stroke running into its panel's border (a character's arm, a
    strap): the borders and the drawings are one group of lines, found as panels anyway."""
    from batchcolor.drawing.objects import measure_objects
    from batchcolor.drawing.paper import silhouette

    size, pad, gutter = 200, 30, 20
    cells = [blob(size, s) for s in range(count)]
    page = panels(cells, cols, pad=pad, gutter=gutter)
    side = size + 2 * pad
    for i in range(count):
        y, x = gutter + (i // cols) * (side + gutter), gutter + (i % cols) * (side + gutter)
        mid = y + pad + size // 2
        cv2.line(page, (x + pad + size // 2 + size * 2 // 5 - 3, mid), (x + side - 1, mid), 0, 2)
    found = measure_objects(page)
    assert found.extent < 0.5 * max(page.shape)  # not the page
    assert len(found.boxes) == count
    inside = silhouette(page, found.extent)
    assert not inside[:gutter].any() and not inside[:, :gutter].any()
    assert inside.mean() < 0.5


def test_a_border_round_the_whole_picture_frames_its_one_drawing():
    """A single panel, or a sketch framed by a rule round the page: the frame is not the
    object (it was: the drawing was shrunk to the frame's scale and the frame filled)."""
    from batchcolor.drawing.objects import measure_objects
    from batchcolor.drawing.paper import silhouette

    drawing = blob(300, 2)  # (a drawing at least half the frame's size: smaller, the frame may be a box)
    page = np.full((400, 440), 255, np.uint8)
    cv2.rectangle(page, (8, 8), (431, 391), 0, 3)
    page[50:350, 70:370] = drawing
    found = measure_objects(page)
    assert found.extent == pytest.approx(object_extent(drawing), rel=0.1)
    inside = silhouette(page, found.extent)
    assert not inside[12:70, 12:-12].any() and not inside[12:-12, 12:90].any()  # the margin inside the frame is paper
    assert inside[200, 220]


def test_a_cabinet_filling_the_picture_is_still_an_object():
    from batchcolor.drawing.objects import frame_strokes, measure_objects

    img = np.full((400, 300), 255, np.uint8)
    cv2.rectangle(img, (4, 4), (295, 395), 0, 2)
    cv2.line(img, (4, 200), (295, 200), 0, 2)
    for y in (100, 300):
        cv2.circle(img, (150, y), 8, 0, 2)
    assert frame_strokes(img < 160) is None
    assert measure_objects(img).extent == pytest.approx(390, rel=0.05)


def test_a_boxy_product_with_small_details_is_an_object_not_a_panel_grid():
    """A cabinet: straight lines closing two drawers, each with a knob. Knobs are details, so
    its lines are strokes of one object (and the drawers are coloured)."""
    from batchcolor.drawing.objects import frame_strokes, measure_objects

    img = np.full((400, 300), 255, np.uint8)
    cv2.rectangle(img, (30, 30), (270, 370), 0, 2)
    cv2.line(img, (30, 200), (270, 200), 0, 2)
    for y in (115, 285):
        cv2.circle(img, (150, y), 8, 0, 2)
    assert frame_strokes(img < 160) is None
    found = measure_objects(img)
    assert len(found.boxes) == 1 and found.extent == pytest.approx(340, rel=0.05)


def _ruled_product(kind: str) -> np.ndarray:
    """A boxy product drawn to fill the picture, its parts ruled: a TV (screen and knobs) or
    a fridge (two doors, long handles)."""
    if kind == "tv":
        img = np.full((300, 400), 255, np.uint8)
        cv2.rectangle(img, (8, 8), (391, 291), 0, 3)
        cv2.rectangle(img, (40, 30), (330, 260), 0, 2)
        for y in (60, 100):
            cv2.circle(img, (360, y), 10, 0, 2)
        return img
    img = np.full((400, 240), 255, np.uint8)
    cv2.rectangle(img, (8, 8), (231, 391), 0, 2)
    cv2.line(img, (8, 130), (231, 130), 0, 2)
    cv2.rectangle(img, (190, 160), (200, 360), 0, 2)
    cv2.rectangle(img, (190, 40), (200, 100), 0, 2)
    return img


@pytest.mark.parametrize("kind", ["tv", "fridge"])
def test_a_ruled_product_filling_the_picture_is_an_object_not_a_frame(kind):
    """Its screen or handle is as big as a panel's drawing but drawn all in straight runs: a
    part of the box (session 20's frame rule took both for a frame round one drawing, and
    coloured the screen alone)."""
    from batchcolor.drawing.objects import frame_strokes, measure_objects
    from batchcolor.drawing.paper import silhouette

    img = _ruled_product(kind)
    assert frame_strokes(img < 160) is None
    found = measure_objects(img)
    assert len(found.boxes) == 1 and found.extent == pytest.approx(max(img.shape) - 16, rel=0.05)
    assert silhouette(img, found.extent)[20:-20, 20:-20].all()  # filled from side to side


def test_a_wide_single_panel_frames_a_drawing_less_than_half_its_width():
    """A drawing 300 px tall in a 700 x 520 panel spans 0.6 of its height but under half its
    width: the panel's drawing all the same (only the longer side counted before)."""
    from batchcolor.drawing.objects import frame_strokes, measure_objects

    drawing = np.full((320, 240), 255, np.uint8)
    cv2.ellipse(drawing, (120, 160), (100, 150), 0, 0, 360, 0, 2)
    cv2.circle(drawing, (120, 120), 30, 0, 1)
    page = np.full((520, 700), 255, np.uint8)
    cv2.rectangle(page, (10, 10), (690, 510), 0, 3)
    page[100:420, 230:470] = drawing
    assert frame_strokes(page < 160) is not None
    assert measure_objects(page).extent == pytest.approx(object_extent(drawing), rel=0.1)


def _hold_out_pages():
    from conftest import DATA

    from batchcolor.tools import comicpage, evaluate

    if not (DATA / "handbags-val").is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    shoes = evaluate.load_eval_pairs(DATA / "shoes-train", 256, None, 100).edges[:20]
    bags = evaluate.load_eval_pairs(DATA / "handbags-val", 256, 20).edges
    for shoe, bag in zip(shoes, bags):
        yield "lettered", comicpage.lettered_page(shoe.min(axis=2), bag.min(axis=2))
        yield "toned", comicpage.toned_page(bag.min(axis=2))


def test_panels_round_edge_map_drawings_are_found():
    """Edge maps draw outlines in pieces, and a drawing touching its border is one group with
    it: its straight edges are taken out with the border's runs and what is left is pieces
    (session 20 found 13 of 20 lettered and 11 of 20 toned pages of the hold-outs)."""
    from batchcolor.drawing.objects import frame_strokes
    from batchcolor.drawing.tones import tone_mask, without_tone

    found = {"lettered": 0, "toned": 0}
    for kind, page in _hold_out_pages():
        seen = without_tone(page.gray[:, :, None], tone_mask(page.gray))[:, :, 0]
        found[kind] += frame_strokes(seen < 160) is not None
    assert found["lettered"] >= 19 and found["toned"] >= 19, found


def test_groups_whose_boxes_overlap_join_and_groups_apart_do_not():
    from batchcolor.drawing.objects import _joined

    def rows(*boxes):  # (x0, y0, x1, y1, ink) -> the measure's (x, y, w, h, ink) rows
        return np.array([(x0, y0, x1 - x0, y1 - y0, ink) for x0, y0, x1, y1, ink in boxes], np.int64)

    np.testing.assert_array_equal(_joined(rows((0, 0, 10, 10, 5), (5, 5, 20, 20, 7), (30, 30, 40, 40, 1))),
                                  rows((0, 0, 20, 20, 12), (30, 30, 40, 40, 1)))  # the ink summed
    apart = rows((0, 0, 10, 10, 1), (10, 0, 20, 10, 1))  # edge to edge: apart
    np.testing.assert_array_equal(_joined(apart), apart)
    # a chain, and a box that overlaps only what a join made: joined again until none overlap
    chain = rows((0, 0, 10, 10, 1), (9, 0, 20, 10, 1), (19, 0, 30, 10, 1), (50, 50, 60, 60, 1), (55, 0, 70, 52, 1))
    np.testing.assert_array_equal(_joined(chain), rows((0, 0, 30, 10, 3), (50, 0, 70, 60, 2)))


def broken_shoe(size: int = 300) -> np.ndarray:
    """A shoe drawn in two pieces, as an edge map with thick, broken lines draws one: the upper
    (a closed outline) and the sole, a line wrapping under it 30+ px away, whose box reaches up
    into the upper's."""
    img = np.full((size, size), 255, np.uint8)
    s = size / 300
    cv2.ellipse(img, (round(140 * s), round(130 * s)), (round(100 * s), round(60 * s)), 0, 0, 360, 0, 3)
    sole = np.array([(20, 175), (60, 215), (270, 215), (280, 150)], np.float64) * s
    cv2.polylines(img, [np.round(sole).astype(np.int32)], False, 0, 4)
    return img


def test_a_drawing_broken_into_overlapping_pieces_is_one_object():
    """Before, each piece was an object of its own: coloured in its own crop at its own scale
    (the crops' mean where they overlap showed as rectangles across the shoe), and the
    pieces' sides set the scale: 205 px, the upper's."""
    from batchcolor.drawing.objects import object_boxes

    shoe = broken_shoe()
    assert len(object_boxes(shoe)) == 1
    assert object_extent(shoe) == pytest.approx(270, abs=6)  # the whole shoe's width
    two = sheet([shoe, broken_shoe()], 2, gap=24)  # two such shoes side by side stay two
    assert len(object_boxes(two)) == 2
    nine = sheet([drawing(256, seed) for seed in range(9)], 3)
    assert len(object_boxes(nine)) == 9


def test_two_drawings_whose_boxes_overlap_at_a_corner_keep_their_own_size():
    """Two views of a product drawn overlapping (their strokes apart, their boxes sharing a
    corner) are not pieces of one drawing: joined for the scale, they measured 1.8x one of
    them, and were coloured at half their scale."""
    a, b = blob(256, 0), blob(256, 1)
    single = object_extent(a)
    page = np.full((256 + 150, 256 + 200), 255, np.uint8)
    page[:256, :256] = a
    page[150:, 200:] = np.minimum(page[150:, 200:], b)
    assert object_extent(page) == pytest.approx(single, rel=0.05)
    assert object_extent(broken_shoe()) == pytest.approx(270, abs=6)  # while pieces within a drawing still join
