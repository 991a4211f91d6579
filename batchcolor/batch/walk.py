"""Find the inputs of a batch run and where each one's output goes.

Deterministic (sorted) order; hidden files and folders skipped; ``out_dir`` skipped when it
lies inside ``in_dir``; directory symlinks followed only when they resolve inside ``in_dir``
and to a folder not yet visited, so a symlink loop or a link to ``/`` cannot hang or escape.
Two inputs that would write the same output (``a.png`` and ``a.jpg`` with ``--format png``)
are found here, before any work starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from batchcolor.imageio.files import inside, iter_inputs
from batchcolor.imageio.images import INPUT_SUFFIXES, OUTPUT_FORMATS, OUTPUT_SUFFIXES, hint_layer_for


@dataclass(frozen=True)
class Job:
    src: Path
    rel: str  # POSIX path relative to in_dir: the manifest key
    dst: Path
    hints: Path | None = None  # NAME.hints.png beside the drawing, when there is one


@dataclass(frozen=True)
class Walk:
    jobs: tuple[Job, ...]
    collisions: tuple[tuple[Job, str], ...]  # (job, reason): inputs refused before any work (shared or unsafe output)
    unreadable: tuple[tuple[Path, str], ...] = ()  # folders that could not be listed, and why
    others: tuple[tuple[str, int], ...] = ()  # (extension, count) of the files of types it does not read


def destination_suffix(src: Path, fmt: str) -> str:
    if fmt == "same":
        return src.suffix
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"--format must be one of png, jpg, webp, same; got {fmt!r}")
    return OUTPUT_FORMATS[fmt]


def plan_walk(in_dir: Path, out_dir: Path, fmt: str) -> Walk:
    unreadable: list[tuple[Path, str]] = []
    others: dict[str, int] = {}
    inputs = iter_inputs(in_dir, skip=out_dir if inside(out_dir.resolve(), in_dir.resolve()) else None,
                         unreadable=unreadable, others=others)
    out_real = out_dir.resolve()
    input_real = {p.resolve() for p in inputs}
    by_dst: dict[Path, list[Job]] = {}
    for src in inputs:
        rel = src.relative_to(in_dir)
        dst = (out_dir / rel).with_suffix(destination_suffix(src, fmt))
        layer = hint_layer_for(src)
        job = Job(src=src, rel=rel.as_posix(), dst=dst, hints=layer if layer.is_file() else None)
        by_dst.setdefault(dst, []).append(job)
    jobs, collisions = [], []
    for dst, group in by_dst.items():
        unsafe = unsafe_destination(dst, out_real, input_real) or unwritable_type(dst)
        if unsafe:
            collisions += [(j, unsafe) for j in group]
        elif len(group) == 1:
            jobs.append(group[0])
        else:
            names = ", ".join(j.rel for j in group)
            for j in group:
                collisions.append((j, f"output {dst.name} would be written by several inputs ({names}); rename one"))
    jobs.sort(key=lambda j: j.rel)
    collisions.sort(key=lambda c: c[0].rel)
    return Walk(tuple(jobs), tuple(collisions), tuple(unreadable), tuple(sorted(others.items())))


def others_note(others: tuple[tuple[str, int], ...]) -> str | None:
    """One line naming the files a run leaves alone by type (not failures: a folder may hold
    notes and exports beside its drawings), or None."""
    if not others:
        return None
    count = sum(n for _, n in others)
    kinds = ", ".join(f"{kind} ({n})" for kind, n in others)
    types = ", ".join(sorted(INPUT_SUFFIXES))
    return f"{count} other file{'s' if count != 1 else ''} not read (the input types are {types}): {kinds}"


def unwritable_type(dst: Path) -> str | None:
    """Why ``--format same`` cannot write this input's type (a GIF is read, not written), or None."""
    if dst.suffix.lower() in OUTPUT_SUFFIXES:
        return None
    return f"output {dst.name}: {dst.suffix} is read but not written; give --format png, jpg or webp"


def unsafe_destination(dst: Path, out_real: Path, inputs_real: set[Path]) -> str | None:
    """Why an output may not be written there, or None.

    A folder inside OUT_DIR that is a symlink to elsewhere would carry the output outside it;
    an OUT_DIR around IN_DIR could make an output land on an input."""
    parent = dst.parent.resolve()
    if not inside(parent, out_real):
        return f"output folder {dst.parent} resolves to {parent}, outside the output folder (a symlink?); refused"
    if dst.resolve() in inputs_real:
        return f"output {dst} would overwrite an input; put OUT_DIR outside IN_DIR's tree"
    return None
