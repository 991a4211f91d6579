"""Holes the paper shows through (a handle's loop): given back to the paper where the network
leaves them paper-white, on synthetic faces and through ``run`` with the shipped default."""
from __future__ import annotations

import cv2
import numpy as np

from batchcolor.drawing.paper import object_weight
from batchcolor.drawing.seethrough import paper_white, see_through

from conftest import REPO, run_cli

BROWN, WHITE, OFF_WHITE = (110, 70, 50), (252, 252, 250), (236, 233, 231)


def _handbag() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gray drawing, the handle's loop, the pocket): a bag with a handle and a drawn pocket."""
    drawing = np.full((200, 240), 255, np.uint8)
    cv2.rectangle(drawing, (40, 80), (200, 180), 0, 2)  # the bag
    cv2.ellipse(drawing, (120, 80), (40, 50), 0, 180, 360, 0, 3)  # the handle over it
    cv2.rectangle(drawing, (90, 120), (150, 160), 0, 2)  # a pocket on it
    loop = np.zeros(drawing.shape, bool)
    loop[50:76, 95:146] = True  # well inside the loop
    pocket = np.zeros(drawing.shape, bool)
    pocket[125:156, 95:146] = True
    return drawing, loop, pocket


def _painted(drawing: np.ndarray, loop_colour, body_colour, pocket_colour=None) -> np.ndarray:
    """A network's output: the loop and the bag in the given colours, the strokes dark."""
    rgb = np.empty((*drawing.shape, 3), np.uint8)
    rgb[:] = body_colour
    face = np.zeros(drawing.shape, np.uint8)
    cv2.ellipse(face, (120, 80), (40, 50), 0, 180, 360, 1, -1)
    rgb[face.astype(bool)] = loop_colour
    if pocket_colour is not None:
        rgb[120:161, 90:151] = pocket_colour
    rgb[drawing < 128] = (30, 25, 20)
    return rgb


def test_the_loop_the_network_leaves_white_is_paper_and_coloured_faces_stay():
    drawing, loop, pocket = _handbag()
    weight = object_weight(drawing[:, :, None])
    assert weight[loop].min() == 1.0, "the mask fills the loop: the case this rule is for"
    holes = see_through(weight, _painted(drawing, WHITE, BROWN), drawing)
    assert holes[loop].all() and not holes[pocket].any() and not holes[100, 60]
    assert not (holes & (drawing < 200)).any(), "the strokes stay the object's"
    # a pocket the network colours, even light brown, stays colour
    holes = see_through(weight, _painted(drawing, WHITE, BROWN, pocket_colour=(200, 170, 140)), drawing)
    assert holes[loop].all() and not holes[pocket].any()
    # a face the network paints a shaded off-white (a white sole, L* 93) is a white material, not
    # the page: on the hold-outs such soles went to the paper and the shoes lost them
    assert not see_through(weight, _painted(drawing, OFF_WHITE, BROWN), drawing).any()


def test_a_white_object_keeps_its_white_faces_and_a_hinted_face_stays_colour():
    drawing, loop, pocket = _handbag()
    weight = object_weight(drawing[:, :, None])
    # a white bag: the loop is as white as the bag, nothing to tell them apart by
    assert not see_through(weight, _painted(drawing, WHITE, OFF_WHITE), drawing).any()
    # a pocket the network leaves flat white on a brown bag cannot be told from a loop: both go to
    # the paper, except where the user put a hint
    rgb = _painted(drawing, WHITE, BROWN, pocket_colour=WHITE)
    assert see_through(weight, rgb, drawing)[pocket].all()
    hinted = np.zeros(drawing.shape, bool)
    hinted[140, 120] = True
    holes = see_through(weight, rgb, drawing, hinted)
    assert holes[loop].all() and not holes[pocket].any()
    # a loop the network paints (a bag seen through a strap's loop) stays colour
    assert not see_through(weight, _painted(drawing, BROWN, BROWN), drawing).any()


def test_paper_white_is_light_and_nearly_without_chroma():
    rgb = np.array([[WHITE, OFF_WHITE, (255, 230, 230), (200, 200, 200), BROWN]], np.uint8)
    assert paper_white(rgb).tolist() == [[True, True, False, False, False]]


def test_run_gives_the_handbags_handle_loop_back_to_the_paper(tmp_path):
    """The example handbag with ``--color``: its handle's loop held pink and white blotches
    (the network's near-white smudges with the colour's hue laid on them); now the paper."""
    src = REPO / "examples" / "lineart" / "bags" / "handbag.png"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / src.name).write_bytes(src.read_bytes())
    r = run_cli("run", tmp_path / "in", tmp_path / "out", "--color", "#c03030", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    out = cv2.imread(str(tmp_path / "out" / src.name))
    gray = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)
    # the loop: the paper the handle and the bag's top line enclose, found from a point inside it
    face = (gray >= 200).astype(np.uint8)
    cv2.floodFill(face, None, (190, 80), 2, flags=4)
    loop = cv2.erode((face == 2).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert 5000 < loop.sum() < 12000, loop.sum()
    assert (out[loop].min(axis=1) >= 245).mean() > 0.99, np.percentile(out[loop].min(axis=1), [1, 5, 50])
    # and the bag is red
    body = out[250:300, 100:280].reshape(-1, 3).astype(int)
    assert np.median(body[:, 2]) > np.median(body[:, 1]) + 60


def test_a_hint_in_the_loop_keeps_it_colour(tmp_path):
    """The user's hint wins: a red point in the handle's loop, and the loop is not given back."""
    src = REPO / "examples" / "lineart" / "bags" / "handbag.png"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / src.name).write_bytes(src.read_bytes())
    gray = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)
    layer = np.zeros((*gray.shape, 4), np.uint8)
    layer[78:83, 188:193] = (48, 48, 192, 255)  # BGRA: a red dot inside the loop
    cv2.imwrite(str(tmp_path / "in" / "handbag.hints.png"), layer)
    r = run_cli("run", tmp_path / "in", tmp_path / "out", "--precision", "f32", "--no-cache")
    assert r.returncode == 0, r.stderr
    out = cv2.imread(str(tmp_path / "out" / src.name))
    face = (gray >= 200).astype(np.uint8)
    cv2.floodFill(face, None, (190, 60), 2, flags=4)
    loop = cv2.erode((face == 2).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (out[loop].min(axis=1) >= 245).mean() < 0.5, "the hinted loop went to the paper"
