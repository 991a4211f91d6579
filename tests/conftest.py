"""Shared fixtures: small real OpenVINO models built in code, saved as IR with cards."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batchcolor.tools import synthetic

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BATCHCOLOR_DATA", REPO.parent / "shared" / "data" / "edges2shoes-handbags"))


def real_pairs(folder: Path, count: int, source: str = "shoes-train") -> Path:
    """The first ``count`` real AB pairs of the shared data, copied to ``folder`` (never into
    the repo); skips the test where the shared data is absent."""
    src = DATA / source
    if not src.is_dir():
        pytest.skip(f"shared data not found at {src}")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        (folder / f"{i}_AB.jpg").write_bytes((src / f"{i}_AB.jpg").read_bytes())
    return folder


@pytest.fixture(scope="session")
def pointwise_rgb(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "pointwise_rgb"
    synthetic.save_with_card(synthetic.pointwise(3), folder, synthetic.test_card("pointwise", 3, 16, tile=64, overlap=16))
    return folder


@pytest.fixture(scope="session")
def pointwise_gray(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "pointwise_gray"
    synthetic.save_with_card(synthetic.pointwise(1), folder, synthetic.test_card("pointwise", 1, 16, tile=64, overlap=16))
    return folder


@pytest.fixture(scope="session")
def unet_model(tmp_path_factory):
    """A random depth-4 UNet (stride 16) with its card at the shipped defaults (512 / 128)."""
    folder = tmp_path_factory.mktemp("models") / "unet"
    model = synthetic.random_unet(1, 8, 4, seed=1)
    synthetic.save_with_card(model, folder, synthetic.test_card("unet", 1, 16, tile=512, overlap=128))
    return folder, model


@pytest.fixture(scope="session")
def small_unet(tmp_path_factory) -> Path:
    """A random UNet with small tiles, for fast batch-runner tests."""
    folder = tmp_path_factory.mktemp("models") / "small_unet"
    synthetic.save_with_card(synthetic.random_unet(3, 4, 3, seed=2), folder, synthetic.test_card("small", 3, 8, tile=64, overlap=16))
    return folder


def run_cli(*args: str, env: dict | None = None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """The real console script in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "batchcolor", *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, **kw)


def rng_image(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, c), dtype=np.uint8)
