"""Outputs of ``run`` and ``tile`` are the pinned ones (``tests/pin_cases.py``), pixel for pixel.

The pins were made with the shipped default model at f32; a refactor of the image path must
reproduce them. Across CPUs, f32 kernels may round differently: at most 0.1% of the pixels
may differ, by at most 2 levels (on this machine they are identical).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import pin_cases


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    return pin_cases.produce(tmp_path_factory.mktemp("pins"))


def test_every_pin_is_produced(produced):
    pinned = {p.relative_to(pin_cases.PINS).as_posix() for p in pin_cases.PINS.rglob("*.png")}
    assert pinned and set(produced) == pinned


@pytest.mark.parametrize("name", sorted(p.relative_to(pin_cases.PINS).as_posix() for p in pin_cases.PINS.rglob("*.png")))
def test_output_matches_its_pin(produced, name):
    want = cv2.imread(str(pin_cases.PINS / name), cv2.IMREAD_UNCHANGED)
    got = cv2.imread(str(produced[name]), cv2.IMREAD_UNCHANGED)
    assert got.shape == want.shape
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert diff.max() <= 2, f"{name}: max difference {diff.max()}"
    assert (diff.max(axis=2) > 0).mean() <= 0.001, f"{name}: {(diff.max(axis=2) > 0).mean():.4%} of pixels differ"
