"""How many CPU threads Paddle trains with: ``train --threads N`` or ``--threads auto``.

Why it is measured, not guessed: on the 2-core boxes of this project, two threads trained the
default's recipe (UNet-L1, bilinear up-sampling, hints) 1.2x faster than one, yet the same
UNet with ``--up resize`` (the default) or ``transpose``, and pix2pix, trained 1.4-2.1x
*slower* on two (session 31, ``benchmarks/train_speed.py --threads 1 2``): one backward
kernel or another scales badly, and which one depends on the recipe and the box.
``OMP_NUM_THREADS`` is read once when Paddle starts, but ``paddle.base.core.set_num_threads``
changes it between steps, so ``auto`` times the run's own first steps at each candidate count
(they are real training steps: nothing is spent but the slower counts' extra seconds) and
keeps the fastest. The timing is :class:`ThreadTrial`'s; setting the count is the trainer's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

ROUNDS = 2  # steps timed per candidate count, after one settling step at that count


def parse_threads(value: str | int | None) -> int | str | None:
    """``None`` (Paddle's own default: OMP_NUM_THREADS, else its build's), ``"auto"``, or a count >= 1."""
    if value is None or value == "auto":
        return value
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"--threads must be 'auto' or a whole number >= 1, got {value!r}") from None
    if count < 1:
        raise ValueError(f"--threads must be 'auto' or a whole number >= 1, got {value!r}")
    return count


def candidate_counts(cores: int | None = None) -> list[int]:
    """1, then the powers of two below the core count, then the core count itself: on the
    edge boxes this project trains on (2-8 cores) that is 2-4 candidates, 4-8 timed steps."""
    cores = max(1, cores if cores is not None else (os.cpu_count() or 1))
    counts, n = [1], 2
    while n < cores:
        counts.append(n)
        n *= 2
    if cores > 1:
        counts.append(cores)
    return counts


@dataclass
class ThreadTrial:
    """The schedule and the verdict of ``--threads auto``: each candidate count in turn runs
    one settling step, whose time is not counted, then ``rounds`` timed steps; the count with
    the least mean timed step wins. The first step after a switch is not what the count
    costs: on the 2-core box, ``--up resize`` took 6.9 s for its first step at two threads,
    then 18-19 s a step for as long as it stayed there (one thread: 9-10 s)."""

    candidates: list[int]
    rounds: int = ROUNDS
    times: dict[int, list[float]] = field(default_factory=dict)
    _asked: int = 0

    @property
    def steps(self) -> int:
        """Steps the trial takes, settling steps included."""
        return (1 + self.rounds) * len(self.candidates)

    def next_count(self) -> int | None:
        """The thread count for the next step, or None once the trial is over."""
        if self.done:
            return None
        self._asked += 1
        return self.candidates[(self._asked - 1) // (1 + self.rounds)]

    def record(self, count: int, seconds: float) -> None:
        """The time of the step just asked for (dropped if it was a settling step)."""
        if (self._asked - 1) % (1 + self.rounds) == 0:
            return
        self.times.setdefault(count, []).append(seconds)

    @property
    def done(self) -> bool:
        return len(self.candidates) < 2 or self._asked >= self.steps

    def best(self) -> int:
        """The count with the least mean timed step (the first candidate until one is timed)."""
        timed = {count: sum(ts) / len(ts) for count, ts in self.times.items() if ts}
        return min(timed, key=timed.get) if timed else self.candidates[0]

    def summary(self) -> str:
        timed = ", ".join(f"{count}: {sum(ts) / len(ts):.2f} s" for count, ts in sorted(self.times.items()) if ts)
        return f"threads: {self.best()} (mean step at each count, after one settling step: {timed})"


def set_paddle_threads(count: int) -> None:
    """The CPU threads of Paddle's kernels from the next operation on."""
    from paddle.base import core

    core.set_num_threads(int(count))
