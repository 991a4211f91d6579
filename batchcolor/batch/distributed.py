"""Dask execution for ``batchcolor run --scheduler tcp://host:8786``.

The client (the ``run`` process) walks the tree, reads the manifest, holds the lock, and
records results as they stream back; workers only colorize files. What that assumes and
guarantees:

* inputs and outputs are on storage every worker sees at the same paths (an NFS/SMB mount);
* each worker process compiles the model once, cached in the process and keyed by the
  model's hash and the pixel settings; OpenVINO objects never cross the wire;
* inference threads are capped to the worker's own thread count, so several workers on one
  box do not oversubscribe its cores;
* a task returns a status record and never raises; a file whose worker dies is rescheduled
  by Dask on another worker (``--retries`` more attempts on ordinary errors); outputs are
  atomic and the manifest is written by the client only, so re-runs stay idempotent.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Iterator

from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.inference.cores import blas_single_threaded
from batchcolor.batch.report import Reporter
from batchcolor.batch.execute import Done, Todo, process

_ENGINES: dict[InferenceSettings, tuple[Any, Any]] = {}
_ENGINES_LOCK = threading.Lock()


def _worker_threads() -> int | None:
    try:
        from dask.distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def worker_engine(settings: InferenceSettings) -> tuple[Any, Any]:
    """This worker process's engine for ``settings`` (compiled on first use, then reused)."""
    with _ENGINES_LOCK:
        if settings not in _ENGINES:
            _ENGINES[settings] = open_engine(replace(settings, threads=settings.threads or _worker_threads()))
            blas_single_threaded()  # for the life of this worker process, which colours files only
        return _ENGINES[settings]


def colorize_on_worker(todo: Todo, settings: InferenceSettings) -> Done:
    """The Dask task: one file, a status record back, never an exception."""
    try:
        engine, tiling = worker_engine(settings)
        return process(todo, engine, tiling, settings)
    except Exception as exc:  # a model that cannot load on this worker, a broken mount, ...
        return Done(todo, error=f"on worker: {type(exc).__name__}: {exc}")


def dask_results(todos: list[Todo], settings: InferenceSettings, scheduler: str, retries: int,
                 stop: threading.Event, reporter: Reporter | None = None) -> Iterator[Done]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        from batchcolor.errors import BatchcolorError

        raise BatchcolorError("--scheduler needs the dask extra (install batchcolor[dask])") from exc
    with Client(scheduler, timeout="30s") as client:
        workers = len(client.scheduler_info().get("workers", {}))
        if reporter is not None:
            reporter.event("cluster", f"dask: {workers} workers at {scheduler}", scheduler=scheduler, workers=workers)
        futures = client.map(colorize_on_worker, todos, settings=settings, pure=False, retries=retries)
        todo_of = {f.key: t for f, t in zip(futures, todos)}
        stream = as_completed(futures)
        for future in stream:
            if stop.is_set():
                client.cancel([f for f in futures if not f.done()])
            if future.cancelled():
                continue
            try:
                yield future.result()
            except Exception as exc:  # KilledWorker after too many worker deaths, lost connection
                yield Done(todo_of[future.key], error=f"{type(exc).__name__}: {exc}")
