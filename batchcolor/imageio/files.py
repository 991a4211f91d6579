"""Finding input images in a folder tree: which files, in which order, never leaving the tree.

Shared by ``run`` (through :mod:`batchcolor.batch.walk`) and the paired-data reader, so a
hold-out named by order is the same files everywhere.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from batchcolor.imageio.images import INPUT_SUFFIXES, is_hint_layer


def natural_key(path: Path) -> list:
    """``2_AB.jpg`` before ``10_AB.jpg``: numbered datasets sort the way people count."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def inside(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or below it (both as given: resolve them first to follow links)."""
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def iter_inputs(in_dir: Path, skip: Path | None = None, unreadable: list[tuple[Path, str]] | None = None,
                others: dict[str, int] | None = None) -> list[Path]:
    """Input files under ``in_dir``; folders that cannot be listed go to ``unreadable``
    (a nightly job must say so, not skip them silently), and the other files' types, counted,
    to ``others`` (a ``.pdf`` scan or a ``.psd`` left uncoloured with no word was a silent
    gap in a nightly job's output)."""
    root = in_dir.resolve()
    skip_real = skip.resolve() if skip is not None else None
    found: list[Path] = []
    visited: set[Path] = set()
    stack = [in_dir]
    while stack:
        folder = stack.pop()
        real = folder.resolve()
        if real in visited or (skip_real is not None and real == skip_real):
            continue
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((folder, f"cannot list folder: {exc.strerror}"))
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                continue
            if is_dir:
                target = path.resolve()
                if entry.is_symlink() and not inside(target, root):
                    continue  # never leave in_dir through a link
                subdirs.append(path)
            elif path.suffix.lower() in INPUT_SUFFIXES and not is_hint_layer(path):
                found.append(path)
            elif others is not None and path.suffix.lower() not in INPUT_SUFFIXES and entry.is_file():
                kind = path.suffix.lower() or "(no extension)"
                others[kind] = others.get(kind, 0) + 1
        stack.extend(reversed(subdirs))
    return sorted(found, key=lambda p: p.relative_to(in_dir).as_posix())
