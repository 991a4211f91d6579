"""OpenVINO inference engine: two compiled models at most, their async queues, many callers.

The engine owns the compiled models and their ``AsyncInferQueue``s and nothing image-shaped.
One model has dynamic (bounded) height and width and serves every tile smaller than the
card's (drawings that fit get the smallest tile that holds them); it is compiled first, being
the cheaper compile. The other is static at the card's tile, compiled on the first full-size
tile: big images use nothing else, and static shapes measured 2-3% faster there. One static
model per size was the first design: a compile per size (35 ms from the cache, 0.2 s
without), memory per size, and a lock that stalled the other files; 200 mixed-size drawings
ran 13% slower than 200 of one size.

Callers submit uint8 NHWC tiles with a completion function; the queue's callback hands each
result to that function on an OpenVINO thread. For the static model normalisation
(``(x - mean) / std``) and the NHWC->NCHW layout change are compiled into the model with
``PrePostProcessor``; for the dynamic one they run in NumPy (:func:`normalise`). Outputs
come back NHWC float32 either way.

Failures never hang: an exception raised by a completion function or by a request is kept
and re-raised in the submitting thread at its next ``submit`` or ``wait``.
"""
from __future__ import annotations

import atexit
import itertools
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from batchcolor.errors import InferenceError, ModelError
from batchcolor.inference.irgraph import fuse_bilinear_upsample, fuse_nearest_upsample, proven_nearest_upsamples
from batchcolor.inference.modelcard import ModelCard
from batchcolor.inference.precision import auto_precision, cpu_flags, cpu_vendor

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
    from batchcolor.inference.runtime import openvino

    ov = openvino()

    return ov


def meaningful(exc: BaseException) -> str:
    """OpenVINO's messages open with 'Exception from src/...cpp:117:'; the cause comes after
    (e.g. 'libOpenCL.so.1: cannot open shared object file')."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Exception from src/")]
    text = (useful or lines or [type(exc).__name__])[0]
    if "Cannot load library" in text and ": " in text:
        text = text.rsplit('": ', 1)[-1]  # the loader's reason, not the plugin's long path
    return text


def compile_config(config: EngineConfig, flags: frozenset[str] | None = None, vendor: str | None = None) -> dict[str, str]:
    """Compile properties; ``auto`` becomes what :func:`precision.auto_precision` says for this
    CPU (``flags``, ``vendor``: its feature flags and vendor, read from the machine when None)."""
    if config.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {config.precision!r}")
    props = {"PERFORMANCE_HINT": config.hint}
    hint = PRECISIONS[config.precision]
    if hint is None:
        hint = auto_precision(config.device, cpu_flags() if flags is None else flags, cpu_vendor() if vendor is None else vendor)
    if hint:
        props["INFERENCE_PRECISION_HINT"] = hint
    if config.threads:
        props["INFERENCE_NUM_THREADS"] = str(config.threads)
    return props


def prepare_model(core: Any, model_path: Path, card: ModelCard, tile: int, dynamic: bool = False) -> Any:
    """Read, validate against the card, fix the tile shape, fold in pre/post-processing.

    The input becomes ``[1, C, tile, tile]``, or ``[1, C, stride..tile, stride..tile]`` with
    ``dynamic`` (height and width free of each other). The checks that need numbers (output
    shape, the up-sampling rewrite's proof) run on a clone fixed at ``tile``. The static model takes uint8 NHWC tiles and normalises
    them itself (compiled into its first convolution); the dynamic one takes what
    :func:`normalise` makes.
    """
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
    if channels.is_static and channels.get_length() != card.network_channels:
        said = f"'input.channels' says {card.input_channels}"
        if card.hint_planes:
            said += f" plus {card.hint_planes} hint planes"
        raise ModelError(f"{model_path}: the network takes {channels.get_length()} input channels but the card's {said}")
    if tile % card.stride:
        raise ModelError(f"tile {tile} is not a multiple of the model's stride {card.stride} (from its card)")
    static = [1, card.network_channels, tile, tile]
    try:
        probe = model.clone()
        probe.reshape({probe.input(0): ov.PartialShape(static)})
    except Exception as exc:
        raise ModelError(f"{model_path}: cannot reshape the model to a {tile}x{tile} tile: {exc}") from exc
    out_shape = probe.output(0).get_partial_shape()
    if out_shape.is_static and list(out_shape.to_shape()) != [1, card.output_channels, tile, tile]:
        raise ModelError(
            f"{model_path}: a {tile}x{tile} tile gives output {out_shape}, expected "
            f"[1,{card.output_channels},{tile},{tile}] (is the card's stride right?)"
        )
    side = ov.Dimension(card.stride, tile) if dynamic else ov.Dimension(tile)
    try:
        model.reshape({model.input(0): ov.PartialShape([ov.Dimension(1), ov.Dimension(card.network_channels), side, side])})
    except Exception as exc:
        raise ModelError(f"{model_path}: cannot give the model a {card.stride}..{tile} px input: {exc}") from exc
    # IRs exported before the rewrite existed: rewrite what the static clone proves.
    fuse_nearest_upsample(model, only=proven_nearest_upsamples(model, static))
    fuse_bilinear_upsample(model)  # and a bilinear model's blur chain (IRs before session 11)
    ppp = ov.preprocess.PrePostProcessor(model)
    if not dynamic:  # see normalise(): with dynamic shapes these steps run unfused, slower
        ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
        ppp.input().model().set_layout(ov.Layout("NCHW"))
        mean, std = card.channel_normalisation()
        ppp.input().preprocess().convert_element_type(ov.Type.f32).mean(mean).scale(std)
    ppp.output().model().set_layout(ov.Layout("NCHW"))
    ppp.output().tensor().set_layout(ov.Layout("NHWC")).set_element_type(ov.Type.f32)
    return ppp.build()


def normalise(tile: np.ndarray, card: ModelCard) -> np.ndarray:
    """uint8 H x W x C tile -> the float32 1 x C x H x W the network takes, in NumPy.

    For the static model PrePostProcessor does this inside the graph, fused into the first
    convolution. With dynamic shapes OpenVINO runs the same steps as separate kernels: 4.76
    MP/s over mixed tile sizes against 4.93 MP/s with the input normalised here (0.2 ms).
    """
    mean, std = card.channel_normalisation()
    # transposed while still one byte a value, then converted in place: 2.5x faster than
    # converting first and transposing four-byte floats (5.7 against 14.2 ms, 656 px x 9)
    x = np.ascontiguousarray(tile.transpose(2, 0, 1)).astype(np.float32)
    x -= np.asarray(mean, np.float32)[:, None, None]
    x /= np.asarray(std, np.float32)[:, None, None]
    return x[None]


_LIVE: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@atexit.register
def _close_live_engines() -> None:
    """Engines nobody closed are closed before the interpreter starts tearing down: a queue
    destroyed during finalization can wait forever on its callback threads."""
    for engine in list(_LIVE):
        engine.close()


class _Callbacks:
    """How many completion callbacks have not returned yet.

    OpenVINO's ``wait_all`` returns once the requests are done, and a request's callback can
    still be waiting for the GIL then. Freeing a compiled model joins its executor's threads
    with the GIL held, so freeing it under such a callback hangs the process (seen in the
    suite: main thread in ``~CPUStreamsExecutor`` joining, callback thread in ``take_gil``).
    :meth:`Engine.close` waits here, with the GIL released, until every callback is out."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0

    def started(self) -> None:
        with self._cond:
            self._running += 1

    def finished(self) -> None:
        with self._cond:
            self._running -= 1
            if self._running == 0:
                self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)


def _weak_callback(ref: "weakref.ref[Engine]", callbacks: _Callbacks) -> Callable[[Any, int], None]:
    """The queue's callback, holding its engine weakly (no engine <-> queue cycle)."""

    def on_done(request: Any, token: int) -> None:
        try:
            engine = ref()
            if engine is None:
                return
            done, key = engine._pending.pop(token)
            # No strong reference while ``done`` runs: it may release the submitting thread,
            # which may then drop the engine; the last reference must not die on this thread.
            del engine
            try:
                done(key, request.get_output_tensor(0).data[0])
            except BaseException as exc:  # re-raised in the submitting thread
                engine = ref()
                if engine is not None and engine._error is None:
                    engine._error = exc
        finally:
            callbacks.finished()

    return on_done


class Engine:
    """Compiled models behind async queues with back-pressure.

    ``config.tile`` is the largest tile; a drawing smaller than that along either axis runs
    on the smallest stride-aligned tile that holds it (see :func:`geometry.fit_axis`), on
    the dynamic model, whose height and width are free (``stride..tile`` each).
    ``submit`` blocks while every request is busy, so a caller can never queue a
    whole image; it is safe to call from several threads (the batch runner keeps several
    images in flight).
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
        self._error: BaseException | None = None
        # Requests carry a token, not the completion: OpenVINO keeps a request's userdata
        # until the request is reused, and a completion (an image's merger, its closures)
        # would keep a cycle through this engine alive for the garbage collector to break,
        # on whatever thread it runs: on a queue's own callback thread that aborts the
        # process ("Resource deadlock avoided"). With tokens and a weak callback there is no
        # cycle: an engine is freed where its last user lets go.
        self._pending: dict[int, tuple[Completion, Any]] = {}
        self._callbacks = _Callbacks()
        self._tokens = itertools.count()
        self._lock = threading.Lock()  # guards lazy compiles and start_async
        self._models: dict[bool, tuple[Any, Any]] = {}  # dynamic? -> (compiled, queue)
        self._sync_requests: dict[bool, Any] = {}
        self.tiles_submitted = 0  # what ran, whatever the caller planned (reports count this)
        _LIVE.add(self)
        # The dynamic model first: it is the cheaper compile (0.09 s against 0.18 s here) and
        # serves every size, so a run of small drawings never builds the static one.
        self.compiled, _ = self._model(dynamic=True)
        n = config.num_requests or int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.num_requests = max(1, n)

    def _model(self, dynamic: bool) -> tuple[Any, Any]:
        """(compiled model, async queue) for full tiles or for the smaller sizes; the caller
        may hold ``self._lock``: compiling happens under it, once per engine."""
        if dynamic not in self._models:
            model = prepare_model(self._core, self.model_path, self.card, self.config.tile, dynamic)
            try:
                props = compile_config(self.config)
                compiled = self._core.compile_model(model, self.config.device, props)
            except Exception as exc:
                raise ModelError(f"cannot compile {self.model_path} for device {self.config.device}: "
                                 f"{meaningful(exc)} (devices available here: "
                                 f"{', '.join(self._core.available_devices) or 'none'})") from exc
            n = self.config.num_requests or int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
            queue = _ov().AsyncInferQueue(compiled, max(1, n))
            queue.set_callback(_weak_callback(weakref.ref(self), self._callbacks))
            self._models[dynamic] = (compiled, queue)
        return self._models[dynamic]

    @property
    def tile(self) -> int:
        return self.config.tile

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.tile, self.tile, self.card.network_channels)

    def inference_precision(self) -> str:
        value = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        return value.get_type_name() if hasattr(value, "get_type_name") else str(value)

    def raise_if_failed(self) -> None:
        if self._error is not None:
            err = self._error
            raise InferenceError(f"inference failed: {err!r}") from err

    def submit(self, tile: np.ndarray, done: Completion, key: Any) -> None:
        """Start one tile; ``done(key, output_hwc_float32)`` runs on completion.

        The output array is only valid during the call: ``done`` must copy or consume it.
        """
        self.raise_if_failed()
        s, limit = self.card.stride, self.tile
        if (tile.dtype != np.uint8 or tile.ndim != 3 or tile.shape[2] != self.card.network_channels
                or not all(0 < side <= limit and side % s == 0 for side in tile.shape[:2])):
            raise InferenceError(f"tile must be uint8 (H, W, {self.card.network_channels}) with H and W multiples of "
                                 f"{s} up to {limit}, got {tile.dtype} {tile.shape}")
        dynamic, batch = self._request_input(tile)
        with self._lock:
            _, queue = self._model(dynamic)
            self.tiles_submitted += 1
            token = next(self._tokens)
            self._pending[token] = (done, key)
            self._callbacks.started()
            try:  # copied into the request: share_inputs=True gave wrong tiles (pointwise test, 777 x 1 px)
                queue.start_async({0: batch}, token)
            except Exception as exc:
                self._pending.pop(token, None)
                self._callbacks.finished()
                raise InferenceError(f"inference request failed to start: {exc}") from exc
        self.raise_if_failed()

    def _request_input(self, tile: np.ndarray) -> tuple[bool, np.ndarray]:
        """Which model a tile goes to (dynamic for anything smaller than the card's tile) and
        the input that model takes (``start_async`` copies it into the request, so the
        caller may reuse its tile buffer at once)."""
        if tile.shape[:2] == (self.tile, self.tile):
            return False, np.ascontiguousarray(tile[None])
        return True, normalise(tile, self.card)

    CALLBACK_TIMEOUT_S = 60.0

    def _wait_callbacks(self) -> None:
        """Every request done and every callback returned (see :class:`_Callbacks`)."""
        for _, queue in list(self._models.values()):
            queue.wait_all()
        self._callbacks.wait_idle(self.CALLBACK_TIMEOUT_S)
        # the last callback has returned but its thread may still need the GIL for a moment
        # to leave OpenVINO's wrapper: let it have it before anything is freed
        time.sleep(0.001)

    def wait_all(self) -> None:
        self._wait_callbacks()
        self.raise_if_failed()

    def close(self) -> None:
        """Let in-flight requests and their callbacks finish, then drop the compiled models.

        Callers that are done with the engine call this rather than leaving OpenVINO's
        queues to garbage collection at interpreter exit, where a queue torn down under a
        live callback thread aborts the process."""
        self._wait_callbacks()
        with self._lock:
            self._models.clear()
            self._sync_requests.clear()

    def infer_sync(self, tile: np.ndarray) -> np.ndarray:
        """One tile, synchronously, on a request of its own (tests and the naive baseline)."""
        dynamic, batch = self._request_input(tile)
        if dynamic not in self._sync_requests:
            with self._lock:
                self._sync_requests[dynamic] = self._model(dynamic)[0].create_infer_request()
        result = self._sync_requests[dynamic].infer({0: batch})
        return np.array(result[0][0], copy=True)
