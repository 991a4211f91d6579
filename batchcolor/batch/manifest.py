"""The manifest: what has been colorized, from which input bytes, with which model and settings.

Stored in ``out_dir/.batchcolor/`` as a snapshot plus a journal:

* ``manifest.json`` is rewritten only atomically (temp file, fsync, rename), at the start and
  end of a run;
* each finished file appends one fsynced line to ``journal.jsonl`` *after* its output is in
  place, so the cost per file is one small append, not a rewrite of a 10000-entry JSON.

Loading replays the journal over the snapshot and ignores a torn last line, so a crash at any
instant leaves no entry for an output that is not on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from batchcolor.imageio.images import atomic_write

STATE_DIR = ".batchcolor"
FORMAT = "batchcolor-manifest/1"


@dataclass(frozen=True)
class Entry:
    size: int
    mtime_ns: int
    sha256: str
    output: str  # relative to out_dir
    settings: str  # settings_key of the run that made it
    finished: float
    hints: str = ""  # SHA-256 of the drawing's hint layer; "" when it had none

    def matches(self, size: int, mtime_ns: int, settings: str, hints: str = "") -> bool:
        return self.size == size and self.mtime_ns == mtime_ns and self.settings == settings and self.hints == hints


def _entry(value: Any) -> Entry:
    """An Entry from JSON, with its field types checked (TypeError/ValueError otherwise)."""
    if not isinstance(value, dict):
        raise TypeError("an entry must be an object")
    entry = Entry(**value)
    if not (isinstance(entry.size, int) and isinstance(entry.mtime_ns, int) and isinstance(entry.output, str)
            and isinstance(entry.sha256, str) and isinstance(entry.settings, str) and isinstance(entry.hints, str)):
        raise TypeError("an entry field has the wrong type")
    return entry


def safe_output(output: str) -> bool:
    """A manifest's output path: relative, without '..', so it stays inside OUT_DIR."""
    p = Path(output)
    return bool(output) and not p.is_absolute() and ".." not in p.parts and not output.startswith("~")


def settings_key(model_sha256: str, pixel_settings: dict[str, Any]) -> str:
    """Everything that changes output pixels, hashed: a new model or overlap redoes all."""
    doc = json.dumps({"model": model_sha256, **pixel_settings}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


def hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


class Manifest:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.dir = out_dir / STATE_DIR
        self.snapshot = self.dir / "manifest.json"
        self.journal = self.dir / "journal.jsonl"
        self.entries: dict[str, Entry] = {}
        self._journal_fh = None

    def load(self, create: bool = True) -> "Manifest":
        """Snapshot, then the journal replayed over it.

        A damaged snapshot (garbage, empty, half-written, binary, or JSON of the wrong shape)
        must not stop every future nightly run: it is moved aside as
        ``manifest.json.corrupt-<time>``, a note says so (see ``notes``), and the entries come
        from the journal alone; files whose record was lost are simply redone. Entries whose
        output path could point outside OUT_DIR (absolute, ``..``) are dropped, so ``--prune``
        can never delete anything there.
        """
        if create:
            self.dir.mkdir(parents=True, exist_ok=True)
        self.notes: list[str] = []
        if self.snapshot.exists():
            try:
                self.entries = self._entries(json.loads(self.snapshot.read_bytes().decode("utf-8")))
            except (ValueError, TypeError, KeyError) as exc:  # JSON, UTF-8 and shape errors
                aside = self.snapshot.with_name(f"{self.snapshot.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
                if create:  # a dry run only reads
                    os.replace(self.snapshot, aside)
                self.entries = {}
                self.notes.append(f"{self.snapshot}: unreadable manifest ({exc}); "
                                  f"{'moved aside to ' + aside.name if create else 'a real run moves it aside'}, "
                                  f"rebuilt from the journal; files whose record was lost are redone")
        for rel, entry in self._replay():
            if entry is None:
                self.entries.pop(rel, None)
            else:
                self.entries[rel] = entry
        unsafe = [rel for rel, e in self.entries.items() if not safe_output(e.output)]
        for rel in unsafe:
            del self.entries[rel]
        if unsafe:
            self.notes.append(f"{self.dir}: ignored {len(unsafe)} manifest entries whose output path leaves the "
                              f"output folder (e.g. {unsafe[0]!r})")
        return self

    def up_to_date(self, rel: str, size: int, mtime_ns: int, settings: str, hints: str = "",
                   sha256: Callable[[], str] | None = None) -> bool:
        """Whether ``rel``'s output is current, as black's ``Cache`` decides what needs work.

        Current means: recorded from an input of this size and mtime, with these pixel
        settings and this hint layer, and the output still on disk. ``sha256`` (``--checksum``)
        also compares the input's bytes, for trees whose mtimes cannot be trusted (restored
        backups, some network shares)."""
        entry = self.entries.get(rel)
        if entry is None or not entry.matches(size, mtime_ns, settings, hints):
            return False
        if not (self.out_dir / entry.output).exists():
            return False
        return sha256 is None or sha256() == entry.sha256

    @staticmethod
    def _entries(doc: Any) -> dict[str, Entry]:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("entries"), dict):
            raise ValueError(f"not a {FORMAT} document")
        return {str(k): _entry(v) for k, v in doc["entries"].items()}

    def _replay(self) -> Iterator[tuple[str, Entry | None]]:
        if not self.journal.exists():
            return
        for raw in self.journal.read_bytes().splitlines():
            try:
                rec = json.loads(raw.decode("utf-8"))
                yield str(rec["rel"]), (_entry(rec["entry"]) if rec.get("entry") else None)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a torn last line from a crash mid-append, or bytes that are not a record

    def compact(self) -> None:
        """Fold the journal into a new snapshot (atomically), then start an empty journal."""
        self.close()
        doc = {"format": FORMAT, "updated": time.time(), "entries": {k: asdict(v) for k, v in sorted(self.entries.items())}}
        atomic_write(self.snapshot, (json.dumps(doc, indent=1) + "\n").encode())
        self.journal.unlink(missing_ok=True)

    def _append(self, rec: dict[str, Any]) -> None:
        if self._journal_fh is None:
            self._journal_fh = open(self.journal, "a", encoding="utf-8")
        self._journal_fh.write(json.dumps(rec) + "\n")
        self._journal_fh.flush()
        os.fsync(self._journal_fh.fileno())

    def record(self, rel: str, entry: Entry) -> None:
        self.entries[rel] = entry
        self._append({"rel": rel, "entry": asdict(entry)})

    def forget(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self._append({"rel": rel, "entry": None})

    def close(self) -> None:
        if self._journal_fh is not None:
            self._journal_fh.close()
            self._journal_fh = None
