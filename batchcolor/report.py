"""What a batch run tells its operator: log lines, a progress bar, a summary, an error report.

Text lines by default; ``--log-format json`` gives one JSON object per line on stderr
(events ``start``, ``done``, ``skipped``, ``failed``, ``summary``) for log shippers. The
progress bar appears only when stderr is a terminal, so cron mail stays clean.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from .images import atomic_write


@dataclass
class Summary:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    inferred: int = 0  # files that went through the network in this run
    megapixels: float = 0.0
    wall_seconds: float = 0.0
    interrupted: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def megapixels_per_second(self) -> float:
        return self.megapixels / self.wall_seconds if self.wall_seconds > 0 else 0.0


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

    def bar(self, summary: Summary) -> None:
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

    def summary(self, s: Summary) -> None:
        fields = {k: v for k, v in asdict(s).items() if k != "failures"}
        fields["megapixels_per_second"] = round(s.megapixels_per_second, 3)
        text = (f"summary: {s.done} done, {s.skipped} skipped, {s.failed} failed of {s.total}; "
                f"{s.megapixels:.1f} MP in {s.wall_seconds:.1f}s ({s.megapixels_per_second:.2f} MP/s)"
                + (f"; interrupted by {s.interrupted}" if s.interrupted else ""))
        self.event("summary", text, **fields)


def write_error_report(path: Path, summary: Summary, started: float) -> None:
    """Machine-readable list of this run's failures (``out_dir/.batchcolor/errors.json``)."""
    doc = {"started": started, "finished": time.time(), "failed": summary.failures,
           "counts": {"total": summary.total, "done": summary.done, "skipped": summary.skipped, "failed": summary.failed}}
    atomic_write(path, (json.dumps(doc, indent=1) + "\n").encode())
