"""`batchcolor tile` through Click's CliRunner and as a real subprocess."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
from click.testing import CliRunner

from batchcolor.tools import synthetic
from batchcolor.cli import main

from conftest import run_cli


def write_art(path, h=300, w=420, seed=0):
    cv2.imwrite(str(path), synthetic.line_art(h, w, seed=seed))
    return path


def test_tile_cli_runner_default_output_name(tmp_path, small_unet):
    src = write_art(tmp_path / "sheet.png")
    result = CliRunner().invoke(main, ["tile", str(src), "--model", str(small_unet), "--precision", "f32", "--no-cache"])
    assert result.exit_code == 0, result.output
    out = cv2.imread(str(tmp_path / "sheet_color.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (300, 420, 3)
    assert "tiles" in result.output


def test_tile_subprocess_with_save_tiles(tmp_path, small_unet):
    src = write_art(tmp_path / "big.png", 200, 260)
    out = tmp_path / "o" / "colored.png"
    r = run_cli("tile", src, "-o", out, "--model", small_unet, "--overlap", "32", "--tile", "64",
                "--save-tiles", tmp_path / "dbg", "--cache-dir", tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(out)).shape == (200, 260, 3)
    names = sorted(p.name for p in (tmp_path / "dbg").iterdir())
    assert "grid.png" in names
    n_in = sum(n.startswith("in_") for n in names)
    assert n_in == sum(n.startswith("out_") for n in names) and n_in > 4
    assert cv2.imread(str(tmp_path / "dbg" / "grid.png")).shape == (200, 260, 3)


def test_tile_rgba_keeps_alpha(tmp_path, small_unet):
    """A line layer (a ring of ink on clear paper, its anti-aliased rim part-covered): the
    ring's inside comes back opaque, everything else as the layer's own pixels."""
    bgra = np.zeros((90, 120, 4), np.uint8)
    cv2.circle(bgra, (60, 45), 30, (0, 0, 0, 255), 2, lineType=cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    r = CliRunner().invoke(main, ["tile", str(tmp_path / "a.png"), "-m", str(small_unet), "--no-cache"])
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "a_color.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (90, 120, 4)
    mine = out[..., 3] < 255
    np.testing.assert_array_equal(out[mine], bgra[mine])
    yy, xx = np.mgrid[:90, :120]
    r = np.hypot(yy - 45, xx - 60)
    assert not mine[r < 28].any() and mine[r > 34].all()


def test_tile_bad_input_clear_error(tmp_path, small_unet):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    r = run_cli("tile", bad, "--model", small_unet, "--no-cache")
    assert r.returncode == 1
    assert "bad.png" in r.stderr and "not an image" in r.stderr
    assert "Traceback" not in r.stderr


def test_tile_missing_model_clear_error(tmp_path):
    src = write_art(tmp_path / "x.png", 40, 40)
    r = run_cli("tile", src, "--model", tmp_path / "nope")
    assert r.returncode == 1 and "model not found" in r.stderr


def test_tile_bad_overlap_is_usage_error(tmp_path, small_unet):
    src = write_art(tmp_path / "x.png", 40, 40)
    r = run_cli("tile", src, "--model", small_unet, "--tile", "64", "--overlap", "64", "--no-cache")
    assert r.returncode == 2 and "overlap" in r.stderr


def test_bad_overlap_is_refused_even_where_a_drawing_fits_one_tile(tmp_path, small_unet):
    """With a card border of 0 a 40 px drawing fits one 64 px tile and never steps, but an
    overlap that leaves no step is still refused up front, not on the first big image."""
    import json
    import shutil

    model = tmp_path / "m"
    shutil.copytree(small_unet, model)
    card = json.loads((model / "card.json").read_text())
    card["tile"]["border"] = 0
    (model / "card.json").write_text(json.dumps(card))
    src = write_art(tmp_path / "x.png", 40, 40)
    r = run_cli("tile", src, "--model", model, "--tile", "64", "--overlap", "60", "--no-cache")
    assert r.returncode == 2 and "overlap" in r.stderr
    ok = run_cli("tile", src, "--model", model, "--tile", "64", "--overlap", "16", "--no-cache", "-o", tmp_path / "y.png")
    assert ok.returncode == 0, ok.stderr


def test_help_and_version_do_not_import_heavy_packages():
    code = ("import sys; from click.testing import CliRunner; from batchcolor.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
            "r = CliRunner().invoke(main, ['--version']); assert r.exit_code == 0; "
            "print(sorted(m for m in ('paddle', 'paddle2onnx', 'onnx', 'openvino', 'cv2', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
