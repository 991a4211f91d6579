"""Per-file execution: what one file needs, how it is processed, and files kept in flight here.

Below ``runner`` (which plans a run and records its outcome) and beside ``distributed`` (the
same ``process`` on a Dask cluster): both execution routes import this module, and it imports
neither of them.
"""
from __future__ import annotations

import hashlib
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

from batchcolor.drawing.hints import read_hint_layer
from batchcolor.imageio import images
from batchcolor.colorize.image import NEGATIVE_NOTE, colorize_file
from batchcolor.errors import InputError
from batchcolor.batch.manifest import hash_files
from batchcolor.colorize.guidance import guidance
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.inference.cores import blas_single_threaded
from batchcolor.batch.walk import Job


@dataclass(frozen=True)
class Todo:
    job: Job
    size: int
    mtime_ns: int
    pixels: int
    has_alpha: bool = False
    hints_sha256: str = ""  # of the hint layer at planning time ("" without one)
    max_pixels: int | None = None  # checked again on the bytes the worker reads


@dataclass(frozen=True)
class Done:
    todo: Todo
    sha256: str | None = None
    hints_sha256: str = ""  # of the hint layer bytes actually used
    size: int | None = None  # stat of the input as read (fstat of the open file), for the manifest
    mtime_ns: int | None = None
    pages: int = 1
    note: str = ""  # for the log: how the file was read (colorize.image.NEGATIVE_NOTE)
    error: str | None = None
    megapixels: float = 0.0
    seconds: float = 0.0


class PixelBudget:
    """A counting semaphore in pixels: what is decoded and in flight stays bounded."""

    def __init__(self, pixels: int):
        self.capacity = max(1, pixels)
        self.free = self.capacity
        self._cv = threading.Condition()

    def cost(self, pixels: int) -> int:
        return min(max(1, pixels), self.capacity)

    def acquire(self, pixels: int, stop: threading.Event) -> bool:
        need = self.cost(pixels)
        with self._cv:
            while self.free < need:
                if stop.is_set():
                    return False
                self._cv.wait(0.1)
            self.free -= need
            return True

    def release(self, pixels: int) -> None:
        with self._cv:
            self.free += self.cost(pixels)
            self._cv.notify_all()


def stat_todo(job: Job, max_pixels: int) -> Todo:
    st = images.check_regular_file(job.src)
    info = images.probe(job.src, max_pixels)
    hints_sha = ""
    if job.hints is not None:
        try:
            hints_sha = hash_files([job.hints])
        except OSError as exc:
            raise InputError(f"hint layer {job.hints.name}: cannot read: {exc.strerror}") from exc
    return Todo(job, st.st_size, st.st_mtime_ns, info.pixels, info.has_alpha, hints_sha, max_pixels)


def process(todo: Todo, engine: Any, tiling: Any, settings: InferenceSettings) -> Done:
    """Read, hash, decode, colorize, encode and atomically write one file (worker thread)."""
    t0 = time.perf_counter()
    hints_sha = ""
    try:
        layer = None
        if todo.job.hints is not None:
            try:
                layer_bytes, _, _ = images.read_input(todo.job.hints, todo.max_pixels)
                hints_sha = hashlib.sha256(layer_bytes).hexdigest()
                layer = read_hint_layer(layer_bytes)
            except InputError as exc:
                raise InputError(f"hint layer {todo.job.hints.name}: {exc}") from exc
        data, st, info = images.read_input(todo.job.src, todo.max_pixels)
        sha = hashlib.sha256(data).hexdigest()
        guide = guidance(settings, engine.card, layer)
        written = colorize_file(data, todo.job.dst, engine, tiling, settings.scale, guide, info=info)
    except InputError as exc:
        return Done(todo, error=str(exc))
    except (OSError, ValueError) as exc:
        return Done(todo, error=f"{type(exc).__name__}: {exc}")
    return Done(todo, sha256=sha, hints_sha256=hints_sha, size=st.st_size, mtime_ns=st.st_mtime_ns, pages=info.pages,
                note=NEGATIVE_NOTE if written.negative else "", megapixels=written.height * written.width / 1e6,
                seconds=time.perf_counter() - t0)


def local_results(todos: list[Todo], settings: InferenceSettings, stop: threading.Event,
                  workers: int | None = None, inflight_megapixels: float = 64.0,
                  engine_ahead: Future | None = None) -> Iterator[Done]:
    """Files in flight on worker threads sharing one engine; results in completion order.

    At most ``workers`` files are submitted at once (a stop must not find 10000 files queued)
    and their decoded pixels stay within the pixel budget.
    """
    own = engine_ahead is None
    engine, tiling = open_engine(settings) if own else engine_ahead.result()
    try:
        with blas_single_threaded():
            yield from _results_in_flight(todos, engine, tiling, settings, stop, workers, inflight_megapixels)
    finally:
        if own:
            engine.close()


def _results_in_flight(todos: list[Todo], engine: Any, tiling: Any, settings: InferenceSettings,
                       stop: threading.Event, workers: int | None, inflight_megapixels: float) -> Iterator[Done]:
    workers = workers or max(4, 2 * engine.num_requests)
    budget = PixelBudget(int(inflight_megapixels * 1e6))
    results: "queue.Queue[Done]" = queue.Queue()
    pending = iter(todos)
    in_flight = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batchcolor") as pool:

        def top_up() -> int:
            started = 0
            while in_flight + started < workers and not stop.is_set():
                todo = next(pending, None)
                if todo is None or not budget.acquire(todo.pixels, stop):
                    break
                future: Future = pool.submit(process, todo, engine, tiling, settings)
                future.add_done_callback(lambda f, t=todo: (budget.release(t.pixels), results.put(_result_of(f, t))))
                started += 1
            return started

        in_flight += top_up()
        while in_flight:
            while True:
                try:
                    done = results.get(timeout=0.1)
                    break
                except queue.Empty:
                    continue
            # Top up before handing the result back: the caller records it (an fsynced
            # journal line), and a slot left empty meanwhile is a file not being worked on.
            in_flight -= 1
            in_flight += top_up()
            yield done


def _result_of(future: Future, todo: Todo) -> Done:
    exc = future.exception()
    if exc is not None:  # an inference failure: report it against this file, keep going
        return Done(todo, error=f"{type(exc).__name__}: {exc}")
    return future.result()
