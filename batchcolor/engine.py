"""OpenVINO inference engine: one compiled model, one async infer queue, many callers.

The engine owns the compiled model and its ``AsyncInferQueue`` and nothing image-shaped.
Callers submit uint8 NHWC tiles with a completion function; the queue's callback hands each
result to that function on an OpenVINO thread. Normalisation (``(x - mean) / std``) and the
NHWC<->NCHW layout change are compiled into the model with ``PrePostProcessor``, so they run
fused on the runtime's own threads instead of in Python.

Failures never hang: an exception raised by a completion function or by a request is kept
and re-raised in the submitting thread at its next ``submit`` or ``wait``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import InferenceError, ModelError
from .irgraph import fuse_nearest_upsample
from .modelcard import ModelCard

PRECISIONS = {"auto": None, "bf16": "bf16", "f16": "f16", "f32": "f32"}

Completion = Callable[[Any, np.ndarray], None]


@dataclass(frozen=True)
class EngineConfig:
    tile: int
    device: str = "CPU"
    precision: str = "auto"
    cache_dir: Path | None = None
    num_requests: int | None = None
    threads: int | None = None
    hint: str = "THROUGHPUT"


def _ov():  # imported lazily: `batchcolor --help` must not pay for the runtime
    import openvino as ov

    return ov


def compile_config(config: EngineConfig) -> dict[str, str]:
    if config.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {config.precision!r}")
    props = {"PERFORMANCE_HINT": config.hint}
    if PRECISIONS[config.precision]:
        props["INFERENCE_PRECISION_HINT"] = PRECISIONS[config.precision]
    if config.threads:
        props["INFERENCE_NUM_THREADS"] = str(config.threads)
    return props


def prepare_model(core: Any, model_path: Path, card: ModelCard, tile: int) -> Any:
    """Read, validate against the card, fix the tile shape, and fold in pre/post-processing."""
    ov = _ov()
    try:
        model = core.read_model(str(model_path))
    except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long texts
        raise ModelError(f"{model_path}: OpenVINO cannot read this model: {str(exc).splitlines()[0]}") from exc
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"{model_path}: expected one input and one output, got {len(model.inputs)} and {len(model.outputs)}")
    in_shape = model.input(0).get_partial_shape()
    if in_shape.rank.is_static and in_shape.rank.get_length() != 4:
        raise ModelError(f"{model_path}: expected an NCHW image input, got shape {in_shape}")
    channels = in_shape[1]
    if channels.is_static and channels.get_length() != card.input_channels:
        raise ModelError(
            f"{model_path}: the network takes {channels.get_length()} input channels but the card's "
            f"'input.channels' says {card.input_channels}"
        )
    if tile % card.stride:
        raise ModelError(f"tile {tile} is not a multiple of the model's stride {card.stride} (from its card)")
    try:
        model.reshape({model.input(0): ov.PartialShape([1, card.input_channels, tile, tile])})
    except Exception as exc:
        raise ModelError(f"{model_path}: cannot reshape the model to a {tile}x{tile} tile: {exc}") from exc
    out_shape = model.output(0).get_partial_shape()
    if out_shape.is_static and list(out_shape.to_shape()) != [1, card.output_channels, tile, tile]:
        raise ModelError(
            f"{model_path}: a {tile}x{tile} tile gives output {out_shape}, expected "
            f"[1,{card.output_channels},{tile},{tile}] (is the card's stride right?)"
        )
    fuse_nearest_upsample(model)  # IRs exported before the rewrite existed; static shapes prove it
    ppp = ov.preprocess.PrePostProcessor(model)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    ppp.input().preprocess().convert_element_type(ov.Type.f32).mean(card.input_mean).scale(card.input_std)
    ppp.output().model().set_layout(ov.Layout("NCHW"))
    ppp.output().tensor().set_layout(ov.Layout("NHWC")).set_element_type(ov.Type.f32)
    return ppp.build()


class Engine:
    """Compiled models behind async queues with back-pressure, one per tile size in use.

    ``config.tile`` is the largest tile; a drawing smaller than that runs on the smallest
    stride-aligned tile that holds it (see :func:`geometry.fit_tile`), compiled on first use
    (0.1-0.3 s, then from the compiled-model cache). ``submit`` blocks while every request
    of that size is busy, so a caller can never queue a whole image; it is safe to call from
    several threads (the batch runner keeps several images in flight).
    """

    def __init__(self, model_path: Path, card: ModelCard, config: EngineConfig):
        ov = _ov()
        self.card = card
        self.config = config
        self.model_path = Path(model_path)
        self._core = ov.Core()
        if config.cache_dir:
            Path(config.cache_dir).mkdir(parents=True, exist_ok=True)
            self._core.set_property({"CACHE_DIR": str(config.cache_dir)})
        self._compiled: dict[int, tuple[Any, Any]] = {}
        self._compile_lock = threading.Lock()
        self._submit_lock = threading.Lock()
        self._error: BaseException | None = None
        self._sync_requests: dict[int, Any] = {}
        self.compiled, _ = self._for_tile(config.tile)
        n = config.num_requests or int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.num_requests = max(1, n)

    def _for_tile(self, tile: int) -> tuple[Any, Any]:
        with self._compile_lock:
            if tile not in self._compiled:
                ov = _ov()
                model = prepare_model(self._core, self.model_path, self.card, tile)
                try:
                    compiled = self._core.compile_model(model, self.config.device, compile_config(self.config))
                except Exception as exc:
                    raise ModelError(f"cannot compile {self.model_path} for device {self.config.device}: "
                                     f"{str(exc).splitlines()[0]}") from exc
                n = self.config.num_requests or int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
                queue = ov.AsyncInferQueue(compiled, max(1, n))
                queue.set_callback(self._on_done)
                self._compiled[tile] = (compiled, queue)
            return self._compiled[tile]

    @property
    def tile(self) -> int:
        return self.config.tile

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.tile, self.tile, self.card.input_channels)

    def inference_precision(self) -> str:
        value = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        return value.get_type_name() if hasattr(value, "get_type_name") else str(value)

    def _on_done(self, request: Any, userdata: tuple[Completion, Any]) -> None:
        done, key = userdata
        try:
            done(key, request.get_output_tensor(0).data[0])
        except BaseException as exc:  # re-raised in the submitting thread
            if self._error is None:
                self._error = exc

    def raise_if_failed(self) -> None:
        if self._error is not None:
            err = self._error
            raise InferenceError(f"inference failed: {err!r}") from err

    def submit(self, tile: np.ndarray, done: Completion, key: Any) -> None:
        """Start one tile; ``done(key, output_hwc_float32)`` runs on completion.

        The output array is only valid during the call: ``done`` must copy or consume it.
        """
        self.raise_if_failed()
        size = tile.shape[0]
        if (tile.dtype != np.uint8 or tile.shape != (size, size, self.card.input_channels) or size > self.tile
                or size % self.card.stride):
            raise InferenceError(f"tile must be uint8 (T, T, {self.card.input_channels}) with T a multiple of "
                                 f"{self.card.stride} up to {self.tile}, got {tile.dtype} {tile.shape}")
        _, queue = self._for_tile(size)
        batch = np.ascontiguousarray(tile[None])
        with self._submit_lock:
            try:
                queue.start_async({0: batch}, (done, key))
            except Exception as exc:
                raise InferenceError(f"inference request failed to start: {exc}") from exc
        self.raise_if_failed()

    def wait_all(self) -> None:
        for _, queue in list(self._compiled.values()):
            queue.wait_all()
        self.raise_if_failed()

    def infer_sync(self, tile: np.ndarray) -> np.ndarray:
        """One tile, synchronously, on a request of its own (tests and the naive baseline)."""
        size = tile.shape[0]
        if size not in self._sync_requests:
            self._sync_requests[size] = self._for_tile(size)[0].create_infer_request()
        result = self._sync_requests[size].infer({0: np.ascontiguousarray(tile[None])})
        return np.array(result[0][0], copy=True)
