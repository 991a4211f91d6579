"""Streamed accumulation of blended tile outputs, one band of rows at a time.

Tilers that hold a full-size float image for the weighted sum, another for the weights and a
third for the result need 3 x 4 x H x W x C bytes: several GB for a poster. Here each tile row
gets its own float band, only as tall as a tile and only as wide as the image; the weight sum
is not stored at all (it is separable, see :func:`blending.axis_weight_sum`). Once a tile row
and everything above it has arrived, the image rows that no later tile touches are
normalised, converted to uint8 and handed to ``emit``, and bands nobody needs any more are
freed. At most ``rows in flight + 1`` bands exist at a time.

``add`` is called from OpenVINO's callback threads; ``flush`` from the submitting thread.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from .blending import axis_weight_sum, axis_window
from .geometry import TilePlan

RowSink = Callable[[int, np.ndarray], None]


def to_uint8(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    scaled = (values - lo) * np.float32(255.0 / (hi - lo))
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


class BandMerger:
    def __init__(
        self,
        plan: TilePlan,
        channels: int,
        value_range: tuple[float, float],
        emit: RowSink,
        as_uint8: bool = True,
    ):
        self.plan = plan
        self.as_uint8 = as_uint8
        self.channels = channels
        self.value_range = value_range
        self.emit = emit
        self._row_sum = axis_weight_sum(plan.rows)
        self._col_norm = (1.0 / axis_weight_sum(plan.cols)).astype(np.float32)[None, :, None]
        self._bands: dict[int, np.ndarray] = {}
        self._pending: dict[int, int] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._next_row = 0  # first tile row not yet flushed
        self._emitted = 0  # image rows handed to emit so far

    def open_row(self, k: int) -> None:
        """Allocate the band for tile row ``k`` before its tiles are submitted."""
        with self._lock:
            self._bands[k] = np.zeros((self.plan.tile, self.plan.cols.length, self.channels), np.float32)
            self._pending[k] = self.plan.cols.count

    def add(self, key: tuple[int, int], out: np.ndarray) -> None:
        k, j = key
        rows, cols = self.plan.rows, self.plan.cols
        origin = cols.origins[j]
        lo, hi = max(0, -origin), min(cols.tile, cols.length - origin)
        weight = axis_window(rows, k)[:, None, None] * axis_window(cols, j)[None, lo:hi, None]
        contribution = out[:, lo:hi, : self.channels] * weight
        with self._lock:
            self._bands[k][:, origin + lo : origin + hi] += contribution
            self._pending[k] -= 1
            if self._pending[k] == 0:
                self._changed.notify_all()

    def wait_row(self, k: int, timeout: float) -> bool:
        with self._lock:
            return self._changed.wait_for(lambda: self._pending.get(k, 1) == 0, timeout)

    def flush_through(self, k: int) -> None:
        """Emit every image row that is final once tile rows ``<= k`` are complete.

        The caller guarantees those rows are complete (``wait_row``)."""
        rows = self.plan.rows
        while self._next_row <= k:
            r = self._next_row
            stop = rows.origins[r + 1] if r + 1 < rows.count else rows.length
            self._emit_rows(self._emitted, min(stop, rows.length))
            self._next_row += 1
            # Bands whose tile ends above the next unflushed row are no longer needed.
            with self._lock:
                for done in [b for b in self._bands if b <= r and rows.origins[b] + rows.tile <= stop]:
                    del self._bands[done]
                    del self._pending[done]

    def _emit_rows(self, start: int, stop: int, chunk: int = 64) -> None:
        # In chunks of rows, so normalisation and uint8 conversion temporaries stay small
        # (a 20000 px wide, 400-row stretch would otherwise cost several 100 MB arrays).
        for lo in range(start, stop, chunk):
            self._emit_chunk(lo, min(stop, lo + chunk))
        self._emitted = max(self._emitted, stop)

    def _emit_chunk(self, start: int, stop: int) -> None:
        rows = self.plan.rows
        total = np.zeros((stop - start, self.plan.cols.length, self.channels), np.float32)
        with self._lock:
            for b, band in self._bands.items():
                o = rows.origins[b]
                lo, hi = max(start, o), min(stop, o + rows.tile)
                if lo < hi:
                    total[lo - start : hi - start] += band[lo - o : hi - o]
        total *= (1.0 / self._row_sum[start:stop]).astype(np.float32)[:, None, None]
        total *= self._col_norm
        self.emit(start, to_uint8(total, self.value_range) if self.as_uint8 else total)

    @property
    def live_bands(self) -> int:
        with self._lock:
            return len(self._bands)
