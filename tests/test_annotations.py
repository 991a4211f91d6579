"""A product sheet's notes (dimension lines, leader lines, labels) are left as drawn, not
coloured as objects (batchcolor.drawing.annotations, lettering.is_label); bare lines and the
hold-outs keep their masks."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.drawing import paper
from batchcolor.drawing.objects import object_extent

from conftest import DATA, REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _drawing(name: str, side: int = 560) -> np.ndarray:
    gray = cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)


def _sheet(name: str, words: bool = True) -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """A 1100 x 800 product sheet: the drawing, a dimension line with arrows under it, a
    leader from a label to a dot on the paper beside it, and the sheet's title. ``words``
    False draws the same lines without any lettering."""
    page = np.full((800, 1100), 255, np.uint8)
    page[120:680, 120:680] = _drawing(name)
    cv2.arrowedLine(page, (400, 730), (140, 730), 0, 1, cv2.LINE_AA, tipLength=0.05)
    cv2.arrowedLine(page, (400, 730), (660, 730), 0, 1, cv2.LINE_AA, tipLength=0.05)
    cv2.line(page, (790, 242), (700, 60), 0, 1, cv2.LINE_AA)  # a leader to a dot beside the drawing
    cv2.circle(page, (700, 60), 4, 0, -1, cv2.LINE_AA)
    if words:
        cv2.putText(page, "32 cm", (370, 765), FONT, 0.8, 0, 2, cv2.LINE_AA)
        cv2.putText(page, "LEATHER STRAP", (800, 250), FONT, 0.9, 0, 2, cv2.LINE_AA)
        cv2.putText(page, "MODEL A-1 rev.2", (40, 60), FONT, 1.1, 0, 2, cv2.LINE_AA)
    places = {"dimension": (slice(715, 745), slice(130, 670)), "size": (slice(745, 772), slice(365, 450)),
              "label": (slice(225, 255), slice(795, 1040)), "drawing": (slice(120, 680), slice(120, 680))}
    return page, places


@pytest.mark.parametrize("name", ["shoes/boot", "bags/handbag"])
def test_dimension_lines_leaders_and_labels_are_not_objects(name):
    page, places = _sheet(name)
    mask = paper.silhouette(page, object_extent(page))
    for place in ("dimension", "size", "label"):
        assert mask[places[place]].mean() < 0.02, place
    leader = np.zeros(page.shape, np.uint8)
    cv2.line(leader, (785, 232), (705, 70), 1, 3)
    assert mask[leader > 0].mean() < 0.05
    # the drawing is the object it was alone on the sheet
    alone = np.full_like(page, 255)
    alone[places["drawing"]] = page[places["drawing"]]
    by_itself = paper.silhouette(alone, object_extent(alone))
    assert (mask & by_itself).sum() / (mask | by_itself).sum() > 0.97


def test_the_same_lines_without_words_keep_the_old_rules():
    """A bare straight line beside a drawing is what an edge map of a photo has (a shadow's
    edge, the frame): without words near it, it is not a note."""
    page, places = _sheet("shoes/boot", words=False)
    with_notes = paper.silhouette(page, object_extent(page))
    from batchcolor.drawing import paper as module

    original = module.note_strokes
    try:
        module.note_strokes = lambda *a, **k: None
        without = paper.silhouette(page, object_extent(page))
    finally:
        module.note_strokes = original
    assert np.array_equal(with_notes, without)
    assert with_notes[places["dimension"]].mean() > 0.2  # (what the notes rule takes away on a worded sheet)


def test_a_box_drawn_in_straight_lines_with_a_label_stays_filled():
    page = np.full((600, 800), 255, np.uint8)
    cv2.rectangle(page, (100, 100), (420, 380), 0, 2)
    cv2.rectangle(page, (130, 130), (390, 330), 0, 2)  # the screen
    cv2.line(page, (450, 240), (560, 240), 0, 1, cv2.LINE_AA)  # a leader stopping short of the box
    cv2.putText(page, "SCREEN 32in", (570, 250), FONT, 0.8, 0, 2, cv2.LINE_AA)
    mask = paper.silhouette(page, object_extent(page))
    assert mask[110:370, 110:410].mean() > 0.98
    assert mask[225:255, 575:760].mean() < 0.02  # the words stay words
    assert mask[236:244, 460:555].mean() < 0.05  # and the leader a line


def test_the_holdouts_have_no_notes():
    files = sorted((DATA / "handbags-val").glob("*.jpg"))[:40] + sorted((DATA / "shoes-train").glob("*.jpg"))[:20]
    if not files:
        pytest.skip("shared data not found")
    from batchcolor.drawing import paper as module

    original = module.note_strokes
    for f in files:
        gray = cv2.cvtColor(cv2.imread(str(f))[:, :256], cv2.COLOR_BGR2GRAY)
        for side in (256, 512):
            g = cv2.resize(gray, (side, side), interpolation=cv2.INTER_CUBIC) if side != 256 else gray
            extent = object_extent(g)
            now = paper.silhouette(g, extent)
            try:
                module.note_strokes = lambda *a, **k: None
                before = paper.silhouette(g, extent)
            finally:
                module.note_strokes = original
            assert np.array_equal(now, before), f.name


def test_run_leaves_the_notes_as_drawn(tmp_path):
    page, places = _sheet("bags/handbag")
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "sheet.png"), page)
    proc = run_cli("run", str(src), str(tmp_path / "out"), "--precision", "f32")
    assert proc.returncode == 0, proc.stderr
    out = cv2.imread(str(tmp_path / "out" / "sheet.png"))
    drawn = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR).astype(int)
    for place in ("dimension", "size"):
        diff = np.abs(out[places[place]].astype(int) - drawn[places[place]])
        assert diff.max() <= 2, place
    inside = out[300:500, 250:550].astype(int)
    assert (inside.max(axis=2) - inside.min(axis=2)).mean() > 10  # the bag itself is coloured
