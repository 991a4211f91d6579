"""What ``--precision auto`` means on this machine.

OpenVINO's CPU plugin picks bf16 whenever the CPU has AVX-512 BF16. With AMX that is the fast
choice (4x f32 for the classic UNets, see the facts notes). Without AMX it is not: on a
2-core Xeon with AVX-512 BF16 and no AMX, oneDNN's bf16 convolutions ran at about half the
f32 speed, and the whole float network with them (shipped product-sketch at 256 px:
8.2 tiles/s bf16 against 13.2 f32; the previous base-12 default 27 against 46), while bf16
also moves outputs by ~5e-2 against f32's 1e-5. So ``auto`` pins f32 on such a CPU. That holds
for INT8 networks too: their float remainder had run faster in bf16 (product-sketch-int8: 39.0
against 31.3) only while it held the bilinear blur's reference Pad; with the blur rewritten
into one Interpolate (``irgraph.py``) the twin ran at 50.4-51.2 tiles/s f32 against 48.0-49.8
bf16, three runs each, side by side.

The decision is a pure function of (device, CPU flags); reading the flags is the
one piece of I/O, kept apart. Where the flags cannot be read (not Linux), the runtime's own
default stands.
"""
from __future__ import annotations

import functools
from pathlib import Path

AMX_FLAGS = frozenset({"amx_bf16", "amx_tile"})


def auto_precision(device: str, cpu_flags: frozenset[str]) -> str | None:
    """The ``INFERENCE_PRECISION_HINT`` that ``auto`` sets, or None for the runtime's default."""
    if device.strip().upper() != "CPU":
        return None
    if "avx512_bf16" in cpu_flags and not cpu_flags & AMX_FLAGS:
        return "f32"
    return None


@functools.lru_cache(maxsize=1)
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags from Linux's ``/proc/cpuinfo``; empty where it cannot be read."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()
