"""Automatic colours' chroma aimed at one level per object (the card's ``chroma_target``)."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from batchcolor.drawing.chroma import ChromaTarget, object_chroma_gains, one_hue_per_object
from batchcolor.tools import synthetic

TARGET = ChromaTarget(15.0, 2.0, 4.0)


def _lab8(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab).astype(np.float32)


def _chroma(lab8: np.ndarray) -> np.ndarray:
    return np.hypot(lab8[..., 1] - 128, lab8[..., 2] - 128)


def test_each_object_gets_the_gain_that_brings_it_to_the_level_within_bounds():
    ab = np.array([[3.0, 4.0], [0.0, 6.0], [-10.0, 0.0], [20.0, 15.0], [0.0, 0.0]], np.float32)  # chroma 5, 6, 10, 25, 0
    np.testing.assert_allclose(object_chroma_gains(ab, TARGET), [3.0, 2.5, 2.0, 2.0, 4.0], rtol=1e-6)
    assert object_chroma_gains(ab, ChromaTarget(30.0, 1.0, 10.0))[1] == pytest.approx(5.0)
    assert ChromaTarget.from_card({"chroma": 15, "gains": [2, 4]}) == TARGET
    assert ChromaTarget.from_card(None) is None and ChromaTarget.from_card({}) is None
    assert ChromaTarget.from_card(TARGET.as_card()) == TARGET


def _object(rgb: np.ndarray, lab8: tuple[int, int, int], box: tuple[slice, slice]) -> None:
    rgb[box] = cv2.cvtColor(np.array([[lab8]], np.uint8), cv2.COLOR_Lab2RGB)[0, 0]


def test_one_hue_per_object_aims_each_object_at_the_level_and_keeps_light_and_paper():
    rgb = np.full((80, 300, 3), 255, np.uint8)
    boxes = [(slice(10, 70), slice(10, 90)), (slice(10, 70), slice(110, 190)), (slice(10, 70), slice(210, 290))]
    _object(rgb, (110, 132, 134), boxes[0])  # a dull brown: chroma 7.2 -> gain 2.08
    _object(rgb, (120, 128, 131), boxes[1])  # nearly grey: chroma 3 -> gain 4 (the bound), 12
    _object(rgb, (100, 140, 144), boxes[2])  # vivid: chroma 20 -> gain 2 (the bound), in gamut
    before = _lab8(rgb)
    out = one_hue_per_object(rgb, target=TARGET)
    after = _lab8(out)
    got = [float(np.median(_chroma(after[b]))) for b in boxes]
    want = [float(np.median(_chroma(before[b]))) * g for b, g in zip(boxes, (15 / 7.2, 4.0, 2.0))]
    np.testing.assert_allclose(got, want, atol=1.5)
    hue = lambda lab: np.degrees(np.arctan2(np.median(lab[..., 2]) - 128, np.median(lab[..., 1]) - 128))
    for b in boxes:
        assert abs(hue(after[b]) - hue(before[b])) < 4, "the object's hue stays; only its chroma moves"
    assert np.abs(after[..., 0] - before[..., 0]).max() <= 2, "the network's light and shade stay"
    assert (out[:8] == 255).all() and (out[:, 95:105] == 255).all(), "paper exactly as it was"
    # without a target: each object's own mean chroma, unscaled
    plain = _lab8(one_hue_per_object(rgb))
    np.testing.assert_allclose([np.median(_chroma(plain[b])) for b in boxes],
                               [np.median(_chroma(before[b])) for b in boxes], atol=1.0)


def test_the_target_replaces_the_fixed_gain_only_where_one_hue_per_object_runs():
    from batchcolor.colorize.guidance import guidance
    from batchcolor.colorize.settings import InferenceSettings
    from batchcolor.drawing.hints import Hints

    plain = synthetic.test_card("t", 1, 16, tile=64, overlap=16, hints=True)
    card = replace(plain, extra={**plain.extra, "automatic_hue": "object", "saturation": 2.5,
                                 "chroma_target": TARGET.as_card()})
    auto = guidance(InferenceSettings(), card)
    assert auto.chroma_target == TARGET and auto.gain == 1.0 and not auto.by_rows
    streamed = auto.streamed()  # band by band: no object, so the card's fixed gain
    assert streamed.gain == 2.5 and streamed.by_rows
    assert guidance(InferenceSettings(hue="pixel"), card).gain == 2.5
    fixed = guidance(InferenceSettings(saturation=3.0), card)  # the user's gain wins, for every object alike
    assert fixed.chroma_target is None and fixed.gain == 3.0
    layer = Hints(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool))
    assert guidance(InferenceSettings(), card, layer).chroma_target is None  # hinted: the user's colours
    no_target = replace(card, extra={k: v for k, v in card.extra.items() if k != "chroma_target"})
    assert guidance(InferenceSettings(), no_target).gain == 2.5
