"""Streamed accumulation of blended tile outputs, one band of rows at a time.

Tilers that hold a full-size float image for the weighted sum, another for the weights and a
third for the result need 3 x 4 x H x W x C bytes: several GB for a poster. Here each tile row
gets its own float band, only as tall as a tile and only as wide as the image; the weight sum
is not stored at all: it is separable, so it is divided into the 1-D windows up front
(:func:`blending.normalised_axis_window`) and the bands hold final values. Once a tile row
and everything above it has arrived, the image rows that no later tile touches are converted
to uint8 and handed to ``emit``; a band then shrinks to the rows the next tile row still
overlaps, and bands nobody needs any more are freed. At most ``rows in flight`` full bands
plus one overlap strip exist at a time: (T + overlap) x W x C floats for a wide image.

The per-pixel work runs in OpenCV kernels, one pass each, because on a 2-core edge box every
cycle spent here is taken from inference: ``accumulateProduct`` adds a weighted tile into its
band (0.2 ms for a 640 px RGB tile, against 2.1 ms for the NumPy expression with its
temporaries) and ``convertScaleAbs`` scales, rounds and saturates to uint8.

``add`` is called from OpenVINO's callback threads; ``flush`` from the submitting thread.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import cv2
import numpy as np

from batchcolor.tiling.blending import normalised_axis_window
from batchcolor.tiling.geometry import TilePlan

RowSink = Callable[[int, np.ndarray], None]


def to_uint8(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Map ``value_range`` to 0..255, round to nearest, saturate; any shape, float32 in."""
    lo, hi = value_range
    scale = 255.0 / (hi - lo)
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(values.shape[0], -1)
    # convertScaleAbs takes |x|: clamp below first so values under ``lo`` give 0, not a mirror.
    flat = cv2.max(flat, float(lo))
    return cv2.convertScaleAbs(flat, alpha=scale, beta=-lo * scale).reshape(values.shape)


class BandMerger:
    def __init__(
        self,
        plan: TilePlan,
        channels: int,
        value_range: tuple[float, float],
        emit: RowSink,
        as_uint8: bool = True,
        cached_weights: int = 4,
    ):
        self.plan = plan
        self.as_uint8 = as_uint8
        self.channels = channels
        self.value_range = value_range
        self.emit = emit
        self._row_class = _window_classes(plan.rows)
        self._col_class = _window_classes(plan.cols)
        # 2-D weights (tile x tile x channels float32, 4.9 MB at 640 px RGB), a few at a time:
        # interior tiles all share one, so a small LRU hits almost always.
        self._weights: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._cached_weights = cached_weights
        self._bands: dict[int, np.ndarray] = {}
        self._band_top: dict[int, int] = {}  # image row of each band's first row
        self._pending: dict[int, int] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._next_row = 0  # first tile row not yet flushed
        self._emitted = 0  # image rows handed to emit so far

    def open_row(self, k: int) -> None:
        """Allocate the band for tile row ``k`` before its tiles are submitted."""
        with self._lock:
            self._bands[k] = np.zeros((self.plan.rows.tile, self.plan.cols.length, self.channels), np.float32)
            self._band_top[k] = self.plan.rows.origins[k]
            self._pending[k] = self.plan.cols.count

    def _weight(self, k: int, j: int) -> np.ndarray:
        key = (self._row_class[k], self._col_class[j])
        with self._lock:
            weight = self._weights.get(key)
            if weight is not None:
                self._weights.move_to_end(key)
                return weight
        rows, cols = self.plan.rows, self.plan.cols
        lo, hi = _span(cols, j)
        w2 = normalised_axis_window(rows, k)[:, None] * normalised_axis_window(cols, j)[None, lo:hi]
        weight = np.repeat(w2[:, :, None], self.channels, axis=2)
        with self._lock:
            self._weights[key] = weight
            while len(self._weights) > self._cached_weights:
                self._weights.popitem(last=False)
        return weight

    def add(self, key: tuple[int, int], out: np.ndarray) -> None:
        k, j = key
        lo, hi = _span(self.plan.cols, j)
        origin = self.plan.cols.origins[j]
        tile = out[:, lo:hi, : self.channels]
        if self.plan.count == 1:  # a lone tile's weight is 1 wherever it is inside the image
            with self._lock:
                np.copyto(self._bands[k][:, origin + lo : origin + hi], tile)
                self._pending[k] -= 1
                self._changed.notify_all()
            return
        weight = self._weight(k, j)
        with self._lock:
            cv2.accumulateProduct(tile, weight, self._bands[k][:, origin + lo : origin + hi])
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
            with self._lock:
                for b in list(self._bands):
                    if b > r:
                        continue
                    top, band = self._band_top[b], self._bands[b]
                    if top + len(band) <= stop:  # nothing left that a later row still needs
                        del self._bands[b], self._band_top[b], self._pending[b]
                    elif top < stop:  # keep only the overlap with the next tile row
                        self._bands[b] = band[stop - top :].copy()
                        self._band_top[b] = stop

    def _emit_rows(self, start: int, stop: int, chunk: int = 64) -> None:
        # In chunks of rows, so conversion temporaries stay small (a 20000 px wide,
        # 400-row stretch would otherwise cost several 100 MB arrays).
        for lo in range(start, stop, chunk):
            self._emit_chunk(lo, min(stop, lo + chunk))
        self._emitted = max(self._emitted, stop)

    def _emit_chunk(self, start: int, stop: int) -> None:
        with self._lock:
            parts = []
            for b, band in self._bands.items():
                o = self._band_top[b]
                lo, hi = max(start, o), min(stop, o + len(band))
                if lo < hi:
                    parts.append((lo - start, hi - start, band[lo - o : hi - o]))
        if len(parts) == 1 and parts[0][:2] == (0, stop - start):
            total = parts[0][2]  # rows only one tile row touches: the band itself, no copy
        else:
            total = np.zeros((stop - start, self.plan.cols.length, self.channels), np.float32)
            for lo, hi, part in parts:
                total[lo:hi] += part
        self.emit(start, to_uint8(total, self.value_range) if self.as_uint8 else np.array(total, copy=True))

    @property
    def live_bands(self) -> int:
        with self._lock:
            return len(self._bands)

    @property
    def held_rows(self) -> int:
        """Float rows (each image-wide) held right now: the merger's memory, in rows."""
        with self._lock:
            return sum(len(b) for b in self._bands.values())


def _span(axis, j: int) -> tuple[int, int]:
    """The part ``[lo, hi)`` of tile ``j`` that lies inside the image, in tile coordinates."""
    origin = axis.origins[j]
    return max(0, -origin), min(axis.tile, axis.length - origin)


def _window_classes(axis) -> list[int]:
    """Tiles whose normalised windows (and in-image spans) are identical share a class id."""
    ids: dict[bytes, int] = {}
    classes = []
    for k in range(axis.count):
        lo, hi = _span(axis, k)
        key = normalised_axis_window(axis, k).tobytes() + lo.to_bytes(4, "little") + hi.to_bytes(4, "little")
        classes.append(ids.setdefault(key, len(ids)))
    return classes
