"""The layers of the package, checked from the source: no import cycle, arrows point down.

Every ``import`` counts, including the ones inside functions (a lazy import is still a
dependency). Layers, bottom first; a module may import its own layer and the ones below:
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "batchcolor"
ORDER = ["errors", "tiling", "imageio", "drawing", "inference", "colorize", "batch", "tools", "train", "cli"]
# Known arrows up or sideways that are part of the design, each with its reason.
ALLOWED_UP: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("batchcolor"):
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("batchcolor")}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import")
    return {m for m in out if m in modules}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "top"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(p, modules) - {m} for m, p in modules.items()}


def test_no_import_cycle(graph):
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_arrows_point_down(graph):
    rank = {name: i for i, name in enumerate(ORDER)}
    wrong = []
    for m, deps in graph.items():
        lm = _layer(m)
        if lm not in rank:
            continue
        for d in deps:
            ld = _layer(d)
            if ld in rank and rank[ld] > rank[lm] and (lm, ld) not in ALLOWED_UP:
                wrong.append(f"{m} -> {d}")
    assert not wrong, "imports up the layers: " + ", ".join(sorted(wrong))


def test_tiling_core_imports_neither_openvino_nor_the_engine(graph):
    for m in graph:
        if _layer(m) == "tiling":
            assert all(_layer(d) in ("tiling", "errors") for d in graph[m]), (m, graph[m])
            path = _modules()[m]
            assert "openvino" not in path.read_text() or path.name == "__init__.py", m


def test_inference_and_colorize_never_import_train(graph):
    for m, deps in graph.items():
        if _layer(m) in ("tiling", "imageio", "drawing", "inference", "colorize", "batch"):
            assert not any(_layer(d) == "train" for d in deps), (m, deps)


def test_importing_the_package_and_the_cli_stays_cheap():
    code = ("import sys, batchcolor; a = set(sys.modules); import batchcolor.cli; "
            "print(sorted(m for m in ('numpy', 'cv2', 'openvino', 'paddle') if m in sys.modules), "
            "sorted(m for m in a if m.startswith('batchcolor')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] ['batchcolor']", out
