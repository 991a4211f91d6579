"""One run per output folder: an ``fcntl`` lock on ``out_dir/.batchcolor/lock``.

The kernel drops the lock when the process dies (even by ``kill -9``), so there is no stale
lock to clean up after a crash; the pid and start time written into the file are only there
to make the "lock held" message useful.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from batchcolor.errors import LockHeld


class RunLock:
    def __init__(self, state_dir: Path):
        self.path = state_dir / "lock"
        self._fd: int | None = None

    def acquire(self, wait_seconds: float = 0.0, poll: float = 0.2) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise LockHeld(
                        f"another batchcolor run holds {self.path.parent.parent} ({holder}); "
                        f"it exits on its own, or pass --wait SECONDS"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
