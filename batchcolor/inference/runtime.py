"""Import OpenVINO without its converter's telemetry: an edge box makes no network attempt.

``import openvino`` also imports ``openvino.tools.ovc`` (the model converter, for
``convert_model``), and that module's import sends a usage event: with no consent file it
counts as opted in, forks a child that resolves an analytics host and writes
``~/intel/stats``. batchcolor never converts at run time (export reads ONNX with
``Core.read_model``), so the converter is kept out of the import; nothing in the user's
settings is changed, and a program that imports ``openvino.tools.ovc`` itself later still can.
"""
from __future__ import annotations

import sys
from typing import Any

_CONVERTER = "openvino.tools.ovc"


def openvino() -> Any:
    if "openvino" not in sys.modules and _CONVERTER not in sys.modules:
        sys.modules[_CONVERTER] = None  # type: ignore[assignment]  # 'from openvino.tools.ovc import ...' -> ImportError, skipped
        try:
            import openvino
        finally:
            if sys.modules.get(_CONVERTER, 0) is None:
                del sys.modules[_CONVERTER]
        return openvino
    import openvino

    return openvino
