"""A notebook's printed rulings (ruled lines, graph squares, dot grids) made paper before
colouring (batchcolor.drawing.rulings), on their own and through `run` with the shipped model."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from batchcolor.drawing.rulings import MARK_LEVEL as MARK, ruling_mask, without_rulings
from batchcolor.tools import comicpage, metrics, productsheet
from batchcolor.tools.synthetic import line_art

from conftest import REPO, run_cli

EXAMPLES = REPO / "examples" / "lineart"
NAMES = ["bags/handbag", "bags/clutch", "bags/tote", "shoes/boot", "shoes/pump", "shoes/sneaker"]


def _drawing(name: str) -> np.ndarray:
    return cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)


def _ruled(shape: tuple[int, int], kind: str, level: int = 190, spacing: int = 16) -> np.ndarray:
    """A blank notebook page (gray): ``lines`` (ruled), ``squares`` (graph paper) or ``dots``."""
    h, w = shape
    page = np.full(shape, 255, np.uint8)
    if kind == "dots":
        for y in range(spacing // 2, h, spacing):
            for x in range(spacing // 2, w, spacing):
                cv2.circle(page, (x, y), 1, level, -1)
        return page
    for y in range(spacing // 2, h, spacing):
        cv2.line(page, (0, y), (w - 1, y), level, 1)
    if kind == "squares":
        for x in range(spacing // 2, w, spacing):
            cv2.line(page, (x, 0), (x, h - 1), level, 1)
    return page


@pytest.mark.parametrize("kind", ["lines", "squares", "dots"])
@pytest.mark.parametrize("name", NAMES)
def test_rulings_under_a_drawing_are_found_and_its_ink_kept(name, kind):
    drawing = _drawing(name)
    page = _ruled(drawing.shape, kind, spacing=24 if kind == "lines" else 16)
    sketch = np.minimum(page, drawing)
    found = ruling_mask(sketch)
    assert found is not None
    assert found[_away(page, drawing)].mean() > 0.98
    assert not found[drawing < 100].any()  # a pen line crossing a ruling keeps its ink
    lifted = without_rulings(sketch[:, :, None], found)[:, :, 0]
    assert np.abs(lifted.astype(int) - drawing).mean() < 1.0  # the drawing alone again, near enough


def _away(page: np.ndarray, drawing: np.ndarray) -> np.ndarray:
    """The ruling's pixels 3 px or more from the drawing's ink (a dot touching a line is part
    of the stroke, and stays)."""
    near = cv2.dilate((drawing < 250).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    return (page < 255) & ~near


def test_a_drawings_own_long_straight_strokes_are_kept():
    """Long level strokes drawn between the ruled lines (a shelf, a table's edge) run across
    most of their rows too: they are off the comb, and stay."""
    drawing = np.full((400, 420), 255, np.uint8)
    drawn = [48, 120, 216, 288]  # between the ruling's rows (12 + 24 k)
    for y in drawn:
        cv2.line(drawing, (20, y), (400, y), 0, 2)
    sketch = np.minimum(_ruled(drawing.shape, "lines", spacing=24), drawing)
    found = ruling_mask(sketch)
    assert found is not None
    assert found[12::24].mean() > 0.9
    for y in drawn:
        assert not found[y - 1 : y + 3].any(), y


def _equal_tiers(rows: int) -> np.ndarray:
    """A comic page of ``rows`` equal tiers sharing their borders, a drawing in each."""
    page = np.full((rows * 150 + 1, 400), 255, np.uint8)
    for k in range(rows + 1):
        page[k * 150, :] = 0
    page[:, 0] = page[:, -1] = 0
    small = cv2.resize(_drawing("shoes/boot"), (100, 130), interpolation=cv2.INTER_AREA)
    for k in range(rows):
        page[10 + k * 150 : 140 + k * 150, 150:250] = small
    return page


@pytest.mark.parametrize("page", ["examples", "line art", "comic pages", "product sheets", "equal tiers", "tone", "blank"])
def test_drawings_without_rulings_have_none(page):
    """No ruling is found where there is none: the examples; the bench's line art; comic pages
    with balloons, captions and screentone of pitch 4-10; product sheets with notes and
    dimensions; a page of five equal tiers sharing their borders (too few, too far apart);
    a blank page."""
    if page == "examples":
        images = [_drawing(n) for n in NAMES]
    elif page == "line art":
        images = [line_art(300 + 7 * i, 420, seed=i) for i in range(10)]
    elif page == "comic pages":
        images = [comicpage.lettered_page(_drawing("shoes/boot"), _drawing("bags/clutch")).gray]
    elif page == "tone":
        images = [comicpage.toned_page(_drawing(n), pitch=p).gray for n in NAMES[:3] for p in (4, 6, 8, 10)]
    elif page == "product sheets":
        images = [productsheet.product_sheet(_drawing(n), kind=k).gray for n in NAMES[:3]
                  for k in ("floating", "dimensioned", "elbowed")]
    elif page == "equal tiers":
        images = [_equal_tiers(5)]
    else:
        images = [np.full((300, 300), 255, np.uint8)]
    for img in images:
        assert ruling_mask(img) is None


def test_ruled_lines_a_fraction_of_a_px_apart():
    """A printed spacing is rarely a whole number of px (7 mm at 150 dpi: 41.3 px): the comb is
    refitted through its lines, so the last of 20 lines 17.4 px apart is found as the first is."""
    drawing = _drawing("shoes/sneaker")
    page = np.full(drawing.shape, 255, np.uint8)
    rows = np.rint(8 + 17.4 * np.arange(17)).astype(int)
    page[rows[rows < page.shape[0]], :] = 180
    found = ruling_mask(np.minimum(page, drawing))
    assert found is not None and found[_away(page, drawing)].mean() > 0.98


@pytest.mark.parametrize("angle", [0.3, -0.7, 1.4])
@pytest.mark.parametrize("kind", ["lines", "squares"])
def test_rulings_scanned_askew_are_found_along_their_slope(kind, angle):
    """A page on the scanner's glass is rarely straight: at 0.3 degrees a ruled line already
    drifts two rows across a 380 px page, and counted along rows it was not found (a third of
    it at 0.2 degrees, none from 0.5). Counted along the best slope up to 1.5 degrees, it is."""
    drawing = _drawing("bags/handbag")
    page = _ruled(drawing.shape, kind, spacing=24 if kind == "lines" else 16)
    h, w = page.shape
    turned = cv2.warpAffine(page, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h), borderValue=255)
    found = ruling_mask(np.minimum(turned, drawing))
    assert found is not None
    ruling = _away(np.where(turned < MARK, 0, 255).astype(np.uint8), drawing)
    assert found[ruling].mean() > 0.8
    assert not found[drawing < 100].any()


@pytest.mark.parametrize("spacing", [6, 10, 30])
def test_dot_grids_of_other_pitches(spacing):
    drawing = _drawing("bags/tote")
    page = _ruled(drawing.shape, "dots", level=170, spacing=spacing)
    found = ruling_mask(np.minimum(page, drawing))
    assert found is not None and found[_away(page, drawing)].mean() > 0.98


def test_run_colours_a_sketch_on_notebook_paper_as_the_drawing_alone(tmp_path):
    """The shipped model through `run`'s defaults (f32): the handbag on gray ruled, squared
    and dot-grid paper comes out within a few levels of the handbag alone; with
    ``--construction keep`` (rulings and pencil roughs left in) it does not: the dots made an
    orange halo stepped round the bag, the lines brown smears along each line, the squares a
    dark gray bag."""
    src = tmp_path / "in"
    src.mkdir()
    drawing = _drawing("bags/handbag")
    cv2.imwrite(str(src / "alone.png"), drawing)
    for kind in ("lines", "squares", "dots"):
        cv2.imwrite(str(src / f"{kind}.png"), np.minimum(_ruled(drawing.shape, kind, spacing=24 if kind == "lines" else 16),
                                                           drawing))
    for mode in ("drop", "keep"):
        r = run_cli("run", src, tmp_path / mode, "--precision", "f32", "--no-cache", "--construction", mode)
        assert r.returncode == 0, r.stderr
    reference = cv2.imread(str(tmp_path / "drop" / "alone.png"))
    for kind in ("lines", "squares", "dots"):
        assert metrics.psnr(cv2.imread(str(tmp_path / "drop" / f"{kind}.png")), reference) > 35, kind
        assert metrics.psnr(cv2.imread(str(tmp_path / "keep" / f"{kind}.png")), reference) < 20, kind
