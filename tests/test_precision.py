"""``--precision auto``: f32 on CPUs with AVX-512 BF16 and no AMX (where the runtime's bf16
default ran at 0.6x f32 for the float default and 0.95x for its INT8 twin), the runtime's
default everywhere else."""
from __future__ import annotations

import numpy as np
import pytest

from batchcolor.inference.engine import EngineConfig, compile_config
from batchcolor.inference.precision import auto_precision, cpu_flags
from batchcolor.inference.runtime import openvino
from batchcolor.tools import synthetic
from test_tiling_inference import engine_for

ZEN4 = frozenset({"avx512f", "avx512_bf16", "avx512_vnni"})
SAPPHIRE_RAPIDS = ZEN4 | {"amx_bf16", "amx_tile", "amx_int8"}
OLD_XEON = frozenset({"avx2", "avx512f"})


@pytest.mark.parametrize("device,flags,expected", [
    ("CPU", ZEN4, "f32"),            # bf16 without AMX: slower and less exact than f32 (INT8 too)
    ("cpu", ZEN4, "f32"),
    ("CPU", SAPPHIRE_RAPIDS, None),  # AMX: the runtime's bf16 is the fast choice
    ("CPU", OLD_XEON, None),         # no bf16 at all: the runtime's default is f32 anyway
    ("GPU", ZEN4, None),             # another device: its own default
    ("CPU", frozenset(), None),      # flags unknown (not Linux): the runtime decides
])
def test_auto_precision_rule(device, flags, expected):
    assert auto_precision(device, flags) == expected


def test_compile_config_resolves_auto_and_keeps_explicit_choices():
    auto = EngineConfig(tile=256)
    assert compile_config(auto, flags=ZEN4)["INFERENCE_PRECISION_HINT"] == "f32"
    assert "INFERENCE_PRECISION_HINT" not in compile_config(auto, flags=SAPPHIRE_RAPIDS)
    assert compile_config(EngineConfig(tile=256, precision="bf16"), flags=ZEN4)["INFERENCE_PRECISION_HINT"] == "bf16"
    with pytest.raises(ValueError, match="precision must be one of"):
        compile_config(EngineConfig(tile=256, precision="int4"), flags=ZEN4)


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx512f avx512_bf16\nbugs\t\t: spectre\n")
    assert cpu_flags(str(info)) == frozenset({"fpu", "avx512f", "avx512_bf16"})
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_engine_compiles_auto_as_the_rule_says_on_this_machine(unet_model):
    """The real engine on this CPU: a float network under ``auto`` runs at the rule's precision
    (f32 on the AVX-512 BF16, no-AMX boxes this project runs on), or at the runtime's default."""
    folder, _ = unet_model
    engine = engine_for(folder, 256, precision="auto")
    runtime_default = openvino().Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    expected = auto_precision("CPU", cpu_flags()) or runtime_default
    assert engine.inference_precision() == expected
