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

The same flags on AMD's Zen 4 (AVX-512 BF16, no AMX) give the opposite result: there bf16
ran at 2x f32 for the float default (21.2 against 10.6 tiles/s at 256 px, benchmark_app, one
EPYC box with 2 cores) and 1.05x for its INT8 twin (39.2 against 37.2), and bf16 moved the
default's handbags-val figures (automatic, `--color`, 10 points) by at most 0.003 dB PSNR. So the rule reads the vendor too: bf16
on AMD, f32 on Intel, for the same flags.

The decision is a pure function of (device, CPU flags, vendor); reading them is the one piece
of I/O, kept apart. Where they cannot be read (not Linux), the runtime's own default stands.
"""
from __future__ import annotations

import functools
from pathlib import Path

AMX_FLAGS = frozenset({"amx_bf16", "amx_tile"})


AMD = "AuthenticAMD"


def auto_precision(device: str, cpu_flags: frozenset[str], vendor: str = "") -> str | None:
    """The ``INFERENCE_PRECISION_HINT`` that ``auto`` sets, or None for the runtime's default."""
    if device.strip().upper() != "CPU":
        return None
    if "avx512_bf16" in cpu_flags and not cpu_flags & AMX_FLAGS:
        return "bf16" if vendor == AMD else "f32"
    return None


def machine_auto_precision(device: str) -> str | None:
    """:func:`auto_precision` for the CPU this process runs on."""
    return auto_precision(device, cpu_flags(), cpu_vendor())


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


@functools.lru_cache(maxsize=1)
def cpu_vendor(cpuinfo: str = "/proc/cpuinfo") -> str:
    """``vendor_id`` from Linux's ``/proc/cpuinfo`` (``GenuineIntel``, ``AuthenticAMD``); empty
    where it cannot be read."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("vendor_id") and ":" in line:
            return line.split(":", 1)[1].strip()
    return ""
