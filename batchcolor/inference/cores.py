"""While images are coloured, the cores belong to the network.

OpenVINO's streams keep every core busy, and the work around them (decoding, finishing,
encoding) is single-threaded per image, several images at a time. NumPy's BLAS (OpenBLAS)
does not know that: after each matrix product in a finishing step (``spread_points``' P x K
weights, the RGB->gray luma) its idle threads spin-wait for the next one. Measured on 100
small drawings with the network replaced by a constant (2-core EPYC): the finishing took
3.7 s of CPU with one BLAS thread and 7.0 s with the default two, at the same wall time; in
a real run those 3.3 s were taken from inference.

So a run, ``tile``, ``eval`` and each Dask worker pin BLAS to one thread while they colour
(threadpoolctl: the limit is set on the loaded libraries, not through environment variables
read at import, and it is lifted again when the scope ends).
"""
from __future__ import annotations

from typing import Any


def blas_single_threaded() -> Any:
    """A context manager (also applied on creation) that keeps BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
