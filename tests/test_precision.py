"""``--precision auto``: on CPUs with AVX-512 BF16 and no AMX, f32 on Intel (where the
runtime's bf16 default ran at 0.6x f32 for the float default and 0.95x for its INT8 twin) and
bf16 on AMD Zen 4 (2x f32 for the float default); the runtime's default everywhere else."""
from __future__ import annotations

import numpy as np
import pytest

from batchcolor.inference.engine import EngineConfig, compile_config
from batchcolor.inference.precision import AMD, auto_precision, cpu_flags, cpu_vendor, machine_auto_precision
from batchcolor.inference.runtime import openvino
from batchcolor.tools import synthetic
from test_tiling_inference import engine_for

ZEN4 = frozenset({"avx512f", "avx512_bf16", "avx512_vnni"})
SAPPHIRE_RAPIDS = ZEN4 | {"amx_bf16", "amx_tile", "amx_int8"}
OLD_XEON = frozenset({"avx2", "avx512f"})


INTEL = "GenuineIntel"


@pytest.mark.parametrize("device,flags,vendor,expected", [
    ("CPU", ZEN4, INTEL, "f32"),            # Intel, bf16 without AMX: slower and less exact than f32 (INT8 too)
    ("cpu", ZEN4, INTEL, "f32"),
    ("CPU", ZEN4, "", "f32"),               # vendor unknown: the measured-slow case is the safe guess
    ("CPU", ZEN4, AMD, "bf16"),             # Zen 4: bf16 ran at 2x f32 (float default), 1.05x (INT8 twin)
    ("CPU", SAPPHIRE_RAPIDS, INTEL, None),  # AMX: the runtime's bf16 is the fast choice
    ("CPU", OLD_XEON, INTEL, None),         # no bf16 at all: the runtime's default is f32 anyway
    ("CPU", OLD_XEON, AMD, None),
    ("GPU", ZEN4, AMD, None),               # another device: its own default
    ("CPU", frozenset(), AMD, None),        # flags unknown (not Linux): the runtime decides
])
def test_auto_precision_rule(device, flags, vendor, expected):
    assert auto_precision(device, flags, vendor) == expected


def test_compile_config_resolves_auto_and_keeps_explicit_choices():
    auto = EngineConfig(tile=256)
    assert compile_config(auto, flags=ZEN4, vendor=INTEL)["INFERENCE_PRECISION_HINT"] == "f32"
    assert compile_config(auto, flags=ZEN4, vendor=AMD)["INFERENCE_PRECISION_HINT"] == "bf16"
    assert "INFERENCE_PRECISION_HINT" not in compile_config(auto, flags=SAPPHIRE_RAPIDS, vendor=INTEL)
    assert compile_config(EngineConfig(tile=256, precision="bf16"), flags=ZEN4, vendor=INTEL)["INFERENCE_PRECISION_HINT"] == "bf16"
    assert compile_config(EngineConfig(tile=256, precision="f32"), flags=ZEN4, vendor=AMD)["INFERENCE_PRECISION_HINT"] == "f32"
    with pytest.raises(ValueError, match="precision must be one of"):
        compile_config(EngineConfig(tile=256, precision="int4"), flags=ZEN4)


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx512f avx512_bf16\nbugs\t\t: spectre\n")
    assert cpu_flags(str(info)) == frozenset({"fpu", "avx512f", "avx512_bf16"})
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
    assert cpu_vendor(str(info)) == AMD
    assert cpu_vendor(str(tmp_path / "missing")) == ""


def test_engine_compiles_auto_as_the_rule_says_on_this_machine(unet_model):
    """The real engine on this CPU: a float network under ``auto`` runs at the rule's precision
    (f32 on the AVX-512 BF16, no-AMX boxes this project runs on), or at the runtime's default."""
    folder, _ = unet_model
    engine = engine_for(folder, 256, precision="auto")
    runtime_default = openvino().Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    expected = machine_auto_precision("CPU") or runtime_default
    assert engine.inference_precision() == expected
