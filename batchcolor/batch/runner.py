"""``batchcolor run``: colorize a folder tree, incrementally, safely, with several files in flight.

Order of a run:
1. take the output folder's lock (a second run exits 11, or waits with ``--wait``);
2. sweep ``.partial`` temp files a killed run left behind;
3. walk the input tree, report output collisions, load the manifest, decide per file:
   up to date (skip), new/changed (do), or gone (``--prune``);
4. open the engine only if there is work, then keep files in flight on worker threads
   (read + hash + decode, tile inference through the shared async queue, encode + atomic
   write), bounded by a pixel budget, while the main thread records results in order of
   completion: the journal line is written only after the output is in place;
5. compact the manifest, write the error report, print the summary, return the exit code.

SIGINT/SIGTERM: the first stops new files from starting and lets in-flight files finish;
a second one exits at once (outputs are atomic, so nothing partial is left either way).
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchcolor.colorize.settings import InferenceSettings, open_engine, resolve
from batchcolor.errors import EXIT_SIGINT, EXIT_SIGTERM, BatchcolorError, InputError
from batchcolor.batch.lock import RunLock
from batchcolor.batch.manifest import Entry, Manifest, hash_files, settings_key
from batchcolor.batch.report import Report, Reporter, write_error_report
from batchcolor.batch.walk import others_note, plan_walk
from batchcolor.imageio.files import inside
from batchcolor.batch.execute import Todo, local_results, stat_todo
from batchcolor.inference.precision import machine_auto_precision


@dataclass(frozen=True)
class RunOptions:
    in_dir: Path
    out_dir: Path
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    fmt: str = "png"
    force: bool = False
    prune: bool = False
    dry_run: bool = False
    fail_fast: bool = False
    checksum: bool = False
    max_pixels: int = 400_000_000
    inflight_megapixels: float = 64.0
    workers: int | None = None
    wait_seconds: float = 0.0
    scheduler: str | None = None  # Dask scheduler address; None runs here
    retries: int = 1


# exactly the names images.atomic_output gives its temp files (mkstemp: 8 characters)
_OWN_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.partial$")


def sweep_partials(out_dir: Path, in_dir: Path | None = None) -> int:
    """Remove temp files a killed run left (``.NAME.XXXXXXXX.partial``); we hold the lock.

    Only our own temp-file names, and never inside IN_DIR (a user's ``.notes.partial``, or an
    input tree that lives inside OUT_DIR, is not ours to delete)."""
    removed = 0
    keep_out = None
    if in_dir is not None and in_dir.resolve() != out_dir.resolve() and inside(in_dir.resolve(), out_dir.resolve()):
        keep_out = in_dir.resolve()  # IN_DIR lives inside OUT_DIR: its files are the user's
    for root, dirs, files in os.walk(out_dir):
        if keep_out is not None and inside(Path(root).resolve(), keep_out):
            dirs[:] = []
            continue
        for name in files:
            if _OWN_TEMP.match(name):
                Path(root, name).unlink(missing_ok=True)
                removed += 1
    return removed


def model_identity(settings: InferenceSettings) -> tuple[InferenceSettings, str]:
    """Resolved settings and the key of everything that changes output pixels."""
    ref, filled = resolve(settings)
    files = [ref.model_path, ref.card_path]
    if ref.model_path.suffix == ".xml":
        files.append(ref.model_path.with_suffix(".bin"))
    # ``auto`` is keyed by what it resolves to on this machine: the pixels follow that, and an
    # output made at ``--precision bf16`` is the one ``auto`` would make where auto means bf16.
    precision = filled.precision
    if precision == "auto":
        precision = machine_auto_precision(filled.device) or "auto"  # (None: the device's own default)
    pixel_settings = {"tile": filled.tile, "overlap": filled.overlap, "precision": precision,
                      "device": filled.device, "scale": filled.scale}
    # Keys added with hint support appear only when they do something, so the outputs of
    # plain models made before stay up to date.
    if filled.color:
        pixel_settings["color"] = filled.color.lower().lstrip("#")
    if (filled.lines or ref.card.lines) == "keep":
        pixel_settings["lines"] = "keep"
    if filled.saturation is not None:  # the card's own gain is in the card's hash already
        pixel_settings["saturation"] = filled.saturation
    if filled.hue is not None:  # (as the saturation)
        pixel_settings["hue"] = filled.hue
    # keyed only when off: outputs of drawings on clean paper, made before levelling existed,
    # are what auto makes now (redo older outputs of scans with --force)
    if filled.levels == "off":
        pixel_settings["levels"] = "off"
    if filled.construction == "keep":  # (as --levels: drawings without coloured lines are as before)
        pixel_settings["construction"] = "keep"
    return filled, settings_key(hash_files(files), pixel_settings)


class _Signals:
    """First SIGINT/SIGTERM: stop starting files. Second: leave now (outputs are atomic)."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.stop.is_set():
            os._exit(EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)
        self.signum = signum
        self.stop.set()

    def __exit__(self, *exc: Any) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


def run_batch(options: RunOptions, reporter: Reporter | None = None) -> Report:
    """Run ``options``; the returned :class:`Report` has the counts and the exit code.

    Fatal problems (no input folder, the lock held, a bad model) raise
    :class:`~batchcolor.errors.BatchcolorError` with their own exit code."""
    in_dir, out_dir = options.in_dir, options.out_dir
    if not in_dir.is_dir():
        raise BatchcolorError(f"{in_dir}: input folder not found")
    if out_dir.resolve() == in_dir.resolve():
        raise BatchcolorError("out_dir must differ from in_dir")
    started = time.time()
    t0 = time.monotonic()
    manifest = Manifest(out_dir)
    report = Report(reporter)
    if not options.dry_run:  # a dry run creates, locks and deletes nothing
        out_dir.mkdir(parents=True, exist_ok=True)
    with (nullcontext() if options.dry_run else RunLock(manifest.dir).acquire(options.wait_seconds)):
        swept = 0 if options.dry_run else sweep_partials(out_dir, in_dir)
        settings, key = model_identity(options.inference)
        # Compile while the tree is walked and probed (it overlaps 0.1-0.2 s of start-up);
        # an up-to-date run waits for it and closes it (never exit with OpenVINO mid-compile).
        engine_ahead = None if options.dry_run or options.scheduler else _in_background(open_engine, settings)
        try:
            manifest.load(create=not options.dry_run)
            for note in manifest.notes:
                _say(reporter, "warning", f"warning: {note}", warning=note)
            walk = plan_walk(in_dir, out_dir, options.fmt)
            report.total = len(walk.jobs) + len(walk.collisions) + len(walk.unreadable)
            _say(reporter, "start", f"batchcolor run: {report.total} inputs in {in_dir} -> {out_dir} "
                 f"(model {Path(settings.model or '').parent.name}, settings {key})",
                 inputs=report.total, in_dir=str(in_dir), out_dir=str(out_dir), settings=key,
                 model=settings.model, tile=settings.tile, overlap=settings.overlap,
                 precision=settings.precision, swept_partials=swept)
            note = others_note(walk.others)
            if note:
                _say(reporter, "others", note, others=dict(walk.others))
            for job, reason in walk.collisions:
                report.file_failed(job.rel, str(job.src), reason)
            for folder, reason in walk.unreadable:
                report.file_failed(folder.relative_to(in_dir).as_posix() + "/", str(folder), reason)
            todos = _todos(walk.jobs, manifest, key, options, report)
            if options.prune:
                _prune(manifest, walk, in_dir, out_dir, reporter, options.dry_run)

            if options.dry_run:
                for t in todos:
                    _say(reporter, "would_do", f"would colorize {t.job.rel} -> {t.job.dst}", input=t.job.rel,
                         output=str(t.job.dst))
                report.wall_seconds = time.monotonic() - t0
                if reporter is not None:
                    reporter.summary(report)
                return report

            stop = threading.Event()
            with _Signals(stop) as signals:
                if todos and not (options.fail_fast and report.failed):
                    _execute(todos, settings, key, options, manifest, report, reporter, stop, engine_ahead)
            report.wall_seconds = time.monotonic() - t0
            if signals.signum is not None:
                report.interrupt(signals.signum)
            # The error report first (small), then the compaction (rewrites the whole manifest):
            # a full disk must not leave the previous run's errors.json behind. A compaction
            # that fails loses nothing (the journal stays and is replayed next time).
            write_error_report(manifest.dir / "errors.json", report, started)
            try:
                manifest.compact()
            except OSError as exc:
                report.file_failed("", str(manifest.snapshot), f"{manifest.snapshot}: cannot rewrite the manifest "
                                   f"({exc.strerror}); the journal keeps every record")
            if reporter is not None:
                reporter.summary(report)
        finally:
            _close_engine(engine_ahead)
    return report


def _say(reporter: Reporter | None, kind: str, text: str, **fields: Any) -> None:
    if reporter is not None:
        reporter.event(kind, text, **fields)


def _todos(jobs: Any, manifest: Manifest, key: str, options: RunOptions, report: Report) -> list[Todo]:
    """The jobs that need work: probed (bad headers fail here, before any work), then asked of
    the manifest whether their output is current (``--force`` redoes everything)."""
    todos: list[Todo] = []
    for job in jobs:
        try:
            todo = stat_todo(job, options.max_pixels)
        except InputError as exc:
            report.file_failed(job.rel, str(job.src), str(exc))
            continue
        checksum = (lambda src=job.src: hash_files([src])) if options.checksum else None
        if not options.force and manifest.up_to_date(job.rel, todo.size, todo.mtime_ns, key, todo.hints_sha256, checksum):
            report.file_skipped(job.rel)
            continue
        todos.append(todo)
    return todos


def _prune(manifest: Manifest, walk: Any, in_dir: Path, out_dir: Path, reporter: Reporter | None, dry_run: bool) -> None:
    live = {j.rel for j in walk.jobs} | {j.rel for j, _ in walk.collisions}
    for rel, entry in sorted(manifest.entries.items()):
        if rel in live or (in_dir / rel).exists():
            continue
        target = out_dir / entry.output
        if not inside(target.parent.resolve(), out_dir.resolve()):
            _say(reporter, "warning", f"warning: not pruning {entry.output}: it resolves outside {out_dir}",
                           warning="prune target outside out_dir", output=entry.output)
            continue
        _say(reporter, "pruned", f"{'would prune' if dry_run else 'pruned'} {entry.output} (input {rel} is gone)",
                       input=rel, output=entry.output)
        if not dry_run:
            target.unlink(missing_ok=True)
            manifest.forget(rel)


def _execute(todos: list[Todo], settings: InferenceSettings, key: str, options: RunOptions, manifest: Manifest,
             report: Report, reporter: Reporter | None, stop: threading.Event,
             engine_ahead: Future | None = None) -> None:
    """Run the todos on this machine or on a Dask cluster; record each result as it arrives
    (the journal line only after the output is in place)."""
    if options.scheduler:
        from batchcolor.batch.distributed import dask_results

        results = dask_results(todos, settings, options.scheduler, options.retries, stop, reporter)
    else:
        results = local_results(todos, settings, stop, options.workers, options.inflight_megapixels, engine_ahead)
    for done in results:
        job = done.todo.job
        if done.error is not None:
            report.file_failed(job.rel, str(job.src), done.error)
            if options.fail_fast:
                stop.set()
            continue
        output = job.dst.relative_to(options.out_dir).as_posix()
        manifest.record(job.rel, Entry(size=done.size if done.size is not None else done.todo.size,
                                       mtime_ns=done.mtime_ns if done.mtime_ns is not None else done.todo.mtime_ns,
                                       sha256=done.sha256 or "", output=output, settings=key, finished=time.time(),
                                       hints=done.hints_sha256))
        report.file_done(job.rel, output, done.megapixels, done.seconds, done.pages, done.note)


def _close_engine(engine_ahead: Future | None) -> None:
    """Wait for the background open (never leave it compiling at exit) and close the engine."""
    if engine_ahead is None:
        return
    if engine_ahead.exception() is None:  # blocks until the open has finished
        engine, _ = engine_ahead.result()
        engine.close()


def _in_background(fn: Any, *args: Any) -> Future:
    """``fn(*args)`` on a daemon thread (exit never waits for it); errors come out of ``result()``."""
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name="batchcolor-open-engine", daemon=True).start()
    return future


