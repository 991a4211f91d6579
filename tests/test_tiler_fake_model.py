"""The tiler and merger on a model that is plain NumPy: no OpenVINO, the geometry alone."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from batchcolor.drawing.hints import Hints, PlaneMap
from batchcolor.tiling.tiler import TileSettings, colorize_array

from conftest import rng_image


class PointwiseModel:
    """out = tanh(x @ W): every output pixel depends on its own input pixel only, so tiled
    output must equal whole-image output exactly, whatever the geometry."""

    def __init__(self, channels: int, stride: int = 16, seed: int = 0):
        self.w = np.random.default_rng(seed).normal(0, 0.05, (channels, 3)).astype(np.float32)
        self.card = SimpleNamespace(stride=stride, output_channels=3, output_range=(-1.0, 1.0))
        self.submitted: list[tuple] = []

    def whole(self, image: np.ndarray) -> np.ndarray:
        return np.tanh((image.astype(np.float32) - 127.5) @ self.w)

    def submit(self, tile, done, key):
        assert tile.dtype == np.uint8 and tile.shape[0] == tile.shape[1] and tile.shape[0] % self.card.stride == 0
        self.submitted.append((key, tile.shape))
        done(key, self.whole(tile))

    def raise_if_failed(self):
        pass


class ContextModel(PointwiseModel):
    """Each output pixel sees the tile's mean: tiles that see different context differ, so the
    blend weights (not just the geometry) decide what comes out."""

    def submit(self, tile, done, key):
        out = self.whole(tile) + 0.01 * tile.mean() / 255
        done(key, out.astype(np.float32))


@pytest.mark.parametrize("shape,tile,overlap", [((37, 91), 64, 16), ((300, 200), 64, 32), ((1, 500), 32, 16),
                                                 ((129, 129), 128, 0)])
def test_pointwise_fake_model_tiles_exactly(shape, tile, overlap):
    model = PointwiseModel(1)
    image = rng_image(*shape, 1, seed=sum(shape))
    out = colorize_array(image, model, TileSettings(tile, overlap), as_uint8=False)
    np.testing.assert_allclose(out, model.whole(image), atol=1e-5)
    assert all(k[0] >= 0 and s[0] <= tile for k, s in model.submitted)


def test_fake_model_with_hint_planes_and_kept_lines():
    model = PointwiseModel(9)
    image = rng_image(70, 90, 1, seed=2)
    hints = Hints(rng_image(10, 9, 3), np.random.default_rng(1).random((10, 9)) < 0.3, (200, 10, 10))
    planes = PlaneMap(hints, 70, 90)
    tiled = colorize_array(image, model, TileSettings(32, 16), as_uint8=False, planes=planes, keep_lines=True)
    x = np.concatenate([image, planes.tile(np.arange(70), np.arange(90))], axis=2)
    expected = -1 + (model.whole(x) + 1) * (image.astype(np.float32) / 255)
    np.testing.assert_allclose(tiled, expected, atol=1e-5)


def test_blending_is_a_partition_of_unity_even_when_tiles_disagree():
    model = ContextModel(1)
    image = np.full((200, 200, 1), 255, np.uint8)
    out = colorize_array(image, model, TileSettings(64, 32), as_uint8=False)
    base = model.whole(image)[0, 0]
    # every pixel is a convex mix of what the tiles covering it said: within their range
    assert np.all(out >= base - 1e-6) and np.all(out <= base + 0.01 + 1e-6)


class AsyncModel(PointwiseModel):
    """Answers on worker threads, out of order, as OpenVINO's infer requests do; tile ``fail``
    raises instead."""

    def __init__(self, channels: int, fail: tuple[int, int] | None = None):
        super().__init__(channels)
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(4)
        self.fail = fail
        self.error: BaseException | None = None

    def submit(self, tile, done, key):
        tile = tile.copy()  # the caller's view is only valid during submit, as with the engine

        def work():
            import time

            time.sleep(np.random.default_rng(hash(key) % 2**32).uniform(0, 0.01))
            if key == self.fail:
                self.error = RuntimeError(f"tile {key} failed")
                return
            done(key, self.whole(tile))

        self.pool.submit(work)

    def raise_if_failed(self):
        if self.error is not None:
            raise self.error


def test_out_of_order_answers_from_threads_give_the_same_image():
    image = rng_image(300, 257, 1, seed=3)
    sync = colorize_array(image, PointwiseModel(1), TileSettings(64, 16), as_uint8=False)
    out = colorize_array(image, AsyncModel(1), TileSettings(64, 16), rows_in_flight=1, as_uint8=False)
    np.testing.assert_allclose(out, sync, atol=1e-6)  # only the order of float additions differs


def test_a_failed_tile_raises_instead_of_hanging():
    with pytest.raises(RuntimeError, match=r"tile \(1, 2\) failed"):
        colorize_array(rng_image(300, 300, 1, seed=4), AsyncModel(1, fail=(1, 2)), TileSettings(64, 16))


def test_a_plan_for_another_size_is_refused():
    from batchcolor.tiling.tiler import ArraySource, colorize_source

    model = PointwiseModel(1)
    plan = TileSettings(64, 16).plan(100, 100, model.card.stride)
    with pytest.raises(ValueError, match="tile plan for 100x100 given an image of 90x100"):
        colorize_source(ArraySource(rng_image(100, 90, 1)), model, plan, lambda start, rows: None)
