"""Speech balloons and solid ink blocks are left as drawn (batchcolor.drawing.lettering), and
no drawn object is ever taken for one."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.drawing import paper
from batchcolor.drawing.components import labelled, with_stats
from batchcolor.drawing.lettering import is_balloon, is_solid_ink
from batchcolor.drawing.objects import object_extent
from batchcolor.tools.comicpage import balloon as _balloon, caption as _caption, paste

from conftest import REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"
NAMES = ["bags/handbag", "bags/clutch", "bags/tote", "shoes/boot", "shoes/pump", "shoes/sneaker"]


def _drawing(name: str) -> np.ndarray:
    return cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)


def comic_page() -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """Two bordered panels: a boot and a handbag, two speech balloons, a black caption box
    10 px from a border (its rows are long runs, as a border's are)."""
    page = np.full((900, 640), 255, np.uint8)
    cv2.rectangle(page, (20, 20), (620, 440), 0, 3)
    cv2.rectangle(page, (20, 460), (620, 880), 0, 3)
    paste(page, cv2.resize(_drawing("shoes/boot"), (256, 336), interpolation=cv2.INTER_AREA), 60, 330)
    paste(page, _drawing("bags/handbag"), 500, 40)
    _balloon(page, (150, 110), (105, 55), ["NEW BOOTS!", "Only $49"])
    _balloon(page, (500, 560), (100, 50), ["Wow, a bag."], tail=False)
    _caption(page, 460, 800, "LATER...")
    regions = {"balloon 1": (slice(50, 170), slice(40, 260)), "balloon 2": (slice(505, 615), slice(395, 605)),
               "caption": (slice(796, 874), slice(456, 614))}
    return page, regions


def test_balloons_and_a_caption_box_are_not_objects_but_the_drawings_are():
    page, regions = comic_page()
    inside = paper.silhouette(page, object_extent(page))
    for name, box in regions.items():
        assert inside[box].mean() < 0.02, name
    assert inside[150:380, 370:520].mean() > 0.8  # the boot
    assert inside[560:820, 60:400].mean() > 0.7  # the handbag


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [None, 800])
def test_no_drawn_object_is_a_balloon_or_a_block(name, size):
    gray = _drawing(name)
    if size:
        gray = cv2.resize(gray, (size, round(gray.shape[0] * size / gray.shape[1])), interpolation=cv2.INTER_CUBIC)
    shape = paper.silhouette(gray, object_extent(gray))
    count, labels, stats = with_stats(shape)
    ink = gray < paper.LINE_LEVEL
    big = [i for i in range(1, count) if min(stats[i, 2], stats[i, 3]) >= 24]
    assert big, "the drawing must be found"
    for i in big:
        x, y, w, h = stats[i, :4]
        part = labels[y : y + h, x : x + w] == i
        assert not is_solid_ink(part, ink[y : y + h, x : x + w])
        hull = cv2.convexHull(np.argwhere(part)[:, ::-1].astype(np.int32))
        assert not is_balloon(part, ink[y : y + h, x : x + w], cv2.contourArea(hull))


def test_eyelets_in_a_row_with_the_shoes_own_lines_are_not_lettering():
    """An outline with a row of six eyelets, and the lines of the shoe's upper inside it."""
    gray = np.full((300, 400), 255, np.uint8)
    cv2.ellipse(gray, (200, 150), (170, 90), 0, 0, 360, 0, 2)
    for i in range(6):
        cv2.circle(gray, (120 + 30 * i, 120), 5, 0, 2)
    cv2.line(gray, (60, 180), (340, 185), 0, 2)  # a seam across
    inside = paper.silhouette(gray)
    assert inside[150, 200] and inside.mean() > 0.3


def test_a_black_shape_drawn_solid_is_left_black_and_lines_beside_it_still_fill():
    gray = np.full((300, 300), 255, np.uint8)
    cv2.circle(gray, (90, 150), 50, 0, -1)  # a solid black ball
    cv2.rectangle(gray, (170, 80), (270, 220), 0, 2)  # an outlined box
    inside = paper.silhouette(gray)
    assert not inside[150, 90] and inside[150, 220]


def test_the_fast_labelling_is_opencvs_own():
    rng = np.random.default_rng(3)
    for conn in (4, 8):
        for _ in range(5):
            mask = (rng.random((97, 131)) < rng.uniform(0.1, 0.9)).astype(np.uint8)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=conn)
            m, mine, my_stats = with_stats(mask, conn)
            assert n == m and np.array_equal(labels, mine) and np.array_equal(stats, my_stats)
            assert np.array_equal(labelled(mask, conn)[1], labels)


def test_run_leaves_balloons_and_captions_as_drawn_and_colours_the_drawings(tmp_path):
    page, regions = comic_page()
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "page.png"), page)
    r = run_cli("run", tmp_path / "in", tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    out = cv2.imread(str(tmp_path / "out" / "page.png"))
    for name, box in regions.items():
        diff = np.abs(out[box].astype(int) - page[box][:, :, None]).max(axis=2)
        assert np.mean(diff <= 2) > 0.99, name  # the balloon's words, the caption's white letters
    hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
    assert np.median(hsv[200:360, 380:500, 1]) > 40  # the boot is coloured
    assert np.median(hsv[580:800, 100:360, 1]) > 40  # and the handbag


def test_a_clasp_or_a_buckle_is_not_lettering():
    """Product drawings with a small hardware detail passed the balloon rules and came out
    uncoloured: a clutch with its clasp in the middle (a box and three bars: one mark much
    bigger than the rest), and a crossbody bag with a buckle at its bottom, under the
    strap's triangle (four marks of one size, off the shape's middle)."""
    clutch = np.full((200, 300), 255, np.uint8)
    cv2.rectangle(clutch, (20, 50), (280, 150), 0, 3)
    cv2.rectangle(clutch, (126, 86), (174, 112), 0, 2)  # the clasp's plate
    for x in (138, 148, 158):
        cv2.line(clutch, (x, 92), (x, 105), 0, 2)
    bag = np.full((300, 160), 255, np.uint8)
    cv2.line(bag, (20, 180), (80, 20), 0, 3)  # the strap
    cv2.line(bag, (80, 20), (140, 180), 0, 3)
    cv2.rectangle(bag, (20, 180), (140, 280), 0, 3)
    for x, y, w, h in ((50, 250, 8, 12), (62, 250, 8, 12), (74, 250, 8, 12), (86, 250, 8, 12)):
        cv2.rectangle(bag, (x, y), (x + w, y + h), 0, 1)  # the buckle's marks
    for gray, middle in ((clutch, (100, 60)), (bag, (230, 100))):
        inside = paper.silhouette(gray, object_extent(gray))
        assert inside[middle], "the drawing is coloured"


@pytest.mark.parametrize("folder, index, method", [("handbags-train", 181, "xdog"), ("handbags-train", 274, "xdog"),
                                                   ("shoes-train", 984, "xdog"), ("handbags-val", 91, "sobel"),
                                                   ("handbags-val", 99, "sobel"), ("handbags-val", 144, "sobel")])
def test_real_drawings_with_a_few_small_marks_inside_are_coloured(folder, index, method):
    """Re-drawings of the shared photos that were taken for balloons (two crossbody bags
    with a buckle, a ballet flat; three handbags whose handles' inner lines and clasp read
    as rows of letters): the silhouette now covers the photo's object."""
    from conftest import DATA

    from batchcolor.imageio.pairs import find_pairs, read_pair
    from batchcolor.tools.prepare import EdgeSettings, make_pair

    if not (DATA / folder).is_dir():
        pytest.skip("shared data not present")
    photo = read_pair(find_pairs(DATA / folder)[index], 256)[1]
    gray = np.ascontiguousarray(make_pair(photo, 256, EdgeSettings(method=method))[:, :256].min(axis=2))
    target = photo.min(axis=2) < 230
    inside = paper.silhouette(gray, object_extent(gray))
    assert (target & inside).sum() > 0.8 * target.sum()
