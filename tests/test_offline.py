"""No network attempt at run time: OpenVINO's converter telemetry stays out of run/tile."""
from __future__ import annotations

import os
import subprocess
import sys

import cv2

from batchcolor.tools import synthetic

PROBE = r"""
import socket, sys
made = []
class Refuse(socket.socket):
    def __init__(self, *a, **k):
        made.append(a)
        raise OSError("network disabled in this test")
socket.socket = Refuse
from batchcolor.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("SOCKETS", len(made), "TELEMETRY", "openvino_telemetry" in sys.modules, file=sys.stderr)
"""


def test_tile_and_run_make_no_network_attempt(tmp_path, pointwise_gray):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), synthetic.line_art(64, 64))
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for args in (["tile", tmp_path / "in" / "a.png", "-o", tmp_path / "a_color.png", "--model", pointwise_gray],
                 ["run", tmp_path / "in", tmp_path / "out", "--model", pointwise_gray]):
        r = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert "SOCKETS 0 TELEMETRY False" in r.stderr, r.stderr
    assert not (home / "intel").exists()  # where the telemetry writes its client id and stats
    assert (tmp_path / "a_color.png").exists() and (tmp_path / "out" / "a.png").exists()


def test_plain_openvino_import_would_have_reached_for_telemetry(tmp_path):
    """The check above can fail: importing OpenVINO the ordinary way loads the telemetry."""
    env = {**os.environ, "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", "import sys, openvino; print('openvino_telemetry' in sys.modules)"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.stdout.strip() == "True"
