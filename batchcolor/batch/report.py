"""What a batch run tells its operator: log lines, a progress bar, a summary, an error report.

Text lines by default; ``--log-format json`` gives one JSON object per line on stderr
(events ``start``, ``done``, ``skipped``, ``failed``, ``summary``) for log shippers. The
progress bar appears only when stderr is a terminal, so cron mail stays clean.
"""
from __future__ import annotations

import json
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from batchcolor.errors import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_SOME_FAILED
from batchcolor.imageio.images import atomic_write


@dataclass
class Report:
    """A run's outcome, as black's ``Report``: it records what happened to each input, tells
    the operator (through a :class:`Reporter`, if given) and answers the exit code.

    Nothing else counts: the runner calls ``file_done``/``file_skipped``/``file_failed`` and
    asks ``exit_code`` at the end.
    """

    log: "Reporter | None" = None
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    megapixels: float = 0.0
    wall_seconds: float = 0.0
    interrupted: str | None = None  # "SIGINT" or "SIGTERM": the run was asked to stop
    failures: list[dict[str, str]] = field(default_factory=list)

    def file_done(self, rel: str, output: str, megapixels: float, seconds: float, pages: int = 1,
                  note: str = "") -> None:
        """``note``: what the operator should know about how the file was read (e.g. that it
        was coloured as a negative), in the text line and as the JSON event's ``note``."""
        self.done += 1
        self.megapixels += megapixels
        skipped_pages = f"; first of {pages} pages, the other {pages - 1} skipped" if pages > 1 else ""
        said = f"; {note}" if note else ""
        extra = {"note": note} if note else {}
        self._event("done", f"done {rel} -> {output} ({megapixels:.2f} MP, {seconds:.2f}s{skipped_pages}{said})",
                    input=rel, output=output, megapixels=round(megapixels, 4), seconds=round(seconds, 3), pages=pages,
                    **extra)

    def file_skipped(self, rel: str) -> None:
        self.skipped += 1
        self._event("skipped", f"up to date {rel}", input=rel)

    def file_failed(self, rel: str, path: str, reason: str) -> None:
        """``rel`` is the input relative to IN_DIR ("" for a run-level failure such as the manifest)."""
        self.failed += 1
        self.failures.append({"input": rel, "path": path, "error": reason})
        self._event("failed", f"FAILED {path}: {reason}" if rel else f"FAILED {reason}", input=rel, path=path,
                    error=reason)

    def interrupt(self, signum: int) -> None:
        self.interrupted = "SIGINT" if signum == signal.SIGINT else "SIGTERM"

    @property
    def exit_code(self) -> int:
        """130/143 when stopped by SIGINT/SIGTERM, 3 when any input failed, else 0."""
        if self.interrupted is not None:
            return EXIT_SIGINT if self.interrupted == "SIGINT" else EXIT_SIGTERM
        return EXIT_SOME_FAILED if self.failed else EXIT_OK

    @property
    def megapixels_per_second(self) -> float:
        return self.megapixels / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def counts(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "skipped": self.skipped, "failed": self.failed}

    def _event(self, kind: str, text: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.event(kind, text, **fields)
            self.log.bar(self)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Control characters (a newline in a file name) escaped, so one event stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class Reporter:
    # Events listed only with --verbose: a nightly run over a big tree is mostly up-to-date
    # files, which the summary counts.
    QUIET = frozenset({"skipped"})

    def __init__(self, fmt: str = "text", stream: IO[str] | None = None, progress: bool | None = None,
                 verbose: bool = False):
        if fmt not in ("text", "json"):
            raise ValueError(f"--log-format must be text or json, got {fmt!r}")
        self.fmt = fmt
        self.verbose = verbose
        self.stream = stream or sys.stderr
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.progress = tty and fmt == "text" if progress is None else progress
        self._bar_shown = False
        self._t0 = time.monotonic()

    def event(self, kind: str, text: str, **fields: Any) -> None:
        if kind in self.QUIET and not self.verbose:
            return
        self._clear_bar()
        if self.fmt == "json":
            self.stream.write(json.dumps({"event": kind, "time": round(time.time(), 3), **fields}) + "\n")
        else:
            self.stream.write(printable(text) + "\n")
        self.stream.flush()

    def bar(self, summary: "Report") -> None:
        if not self.progress or summary.total == 0:
            return
        finished = summary.done + summary.skipped + summary.failed
        frac = finished / summary.total
        elapsed = time.monotonic() - self._t0
        eta = elapsed / frac * (1 - frac) if frac > 0 else 0
        width = 30
        fill = int(frac * width)
        self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {finished}/{summary.total} "
                          f"failed {summary.failed} eta {eta:5.0f}s ")
        self.stream.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\033[K")
            self._bar_shown = False

    def summary(self, s: "Report") -> None:
        fields = {**s.counts(), "megapixels": s.megapixels, "wall_seconds": s.wall_seconds,
                  "interrupted": s.interrupted, "megapixels_per_second": round(s.megapixels_per_second, 3),
                  "exit_code": s.exit_code}
        text = (f"summary: {s.done} done, {s.skipped} skipped, {s.failed} failed of {s.total}; "
                f"{s.megapixels:.1f} MP in {s.wall_seconds:.1f}s ({s.megapixels_per_second:.2f} MP/s)"
                + (f"; interrupted by {s.interrupted}" if s.interrupted else ""))
        self.event("summary", text, **fields)


def write_error_report(path: Path, report: Report, started: float) -> None:
    """Machine-readable list of this run's failures (``out_dir/.batchcolor/errors.json``)."""
    doc = {"started": started, "finished": time.time(), "failed": report.failures, "counts": report.counts()}
    atomic_write(path, (json.dumps(doc, indent=1) + "\n").encode())
