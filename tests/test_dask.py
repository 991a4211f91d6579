"""`batchcolor run --scheduler`: a real dask.distributed LocalCluster on 127.0.0.1."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from batchcolor.tools import synthetic
from batchcolor.batch.manifest import Manifest

distributed = pytest.importorskip("dask.distributed", reason="needs the dask extra")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, worker_dashboard_address=None) as c:
        with distributed.Client(c) as client:
            yield c, client


def inputs(folder: Path, n: int) -> None:
    for i in range(n):
        sub = folder / f"s{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sub / f"f{i:03d}.png"), synthetic.line_art(70 + i % 5, 90, seed=i, strokes=5))
    (folder / "bad.png").write_text("not an image")
    (folder / "empty.png").write_bytes(b"")


def run(src, out, model, *extra, timeout=600):
    return subprocess.run([sys.executable, "-m", "batchcolor", "run", str(src), str(out), "--model", str(model),
                           "--precision", "f32", "--log-format", "json", "--no-cache", *extra],
                          capture_output=True, text=True, timeout=timeout)


def events(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}


@pytest.mark.slow
def test_cluster_run_matches_local_run(tmp_path, small_unet, cluster):
    c, _ = cluster
    src = tmp_path / "in"
    inputs(src, 24)
    local = run(src, tmp_path / "local", small_unet)
    remote = run(src, tmp_path / "remote", small_unet, "--scheduler", c.scheduler_address)
    assert local.returncode == remote.returncode == 3, remote.stderr
    lo, re_ = outputs(tmp_path / "local"), outputs(tmp_path / "remote")
    assert set(lo) == set(re_) and len(lo) == 24
    for name in lo:
        a = cv2.imdecode(np.frombuffer(lo[name], np.uint8), cv2.IMREAD_UNCHANGED)
        b = cv2.imdecode(np.frombuffer(re_[name], np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(a, b, err_msg=name)
    fail_local = {e["input"]: e["error"] for e in events(local.stderr) if e["event"] == "failed"}
    fail_remote = {e["input"]: e["error"] for e in events(remote.stderr) if e["event"] == "failed"}
    assert fail_local == fail_remote == {"bad.png": fail_local["bad.png"], "empty.png": fail_local["empty.png"]}
    m_local, m_remote = Manifest(tmp_path / "local").load(), Manifest(tmp_path / "remote").load()
    assert {k: (v.sha256, v.output, v.settings) for k, v in m_local.entries.items()} == \
           {k: (v.sha256, v.output, v.settings) for k, v in m_remote.entries.items()}
    r_err = json.loads((tmp_path / "remote" / ".batchcolor" / "errors.json").read_text())
    l_err = json.loads((tmp_path / "local" / ".batchcolor" / "errors.json").read_text())
    assert [f["input"] for f in r_err["failed"]] == [f["input"] for f in l_err["failed"]]
    again = run(src, tmp_path / "remote", small_unet, "--scheduler", c.scheduler_address)
    s = [e for e in events(again.stderr) if e["event"] == "summary"][-1]
    assert s["done"] == 0 and s["skipped"] == 24


@pytest.mark.slow
def test_killing_a_worker_mid_run_loses_nothing(tmp_path, small_unet):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, worker_dashboard_address=None) as c, \
            distributed.Client(c) as client:
        src = tmp_path / "in"
        inputs(src, 80)
        proc = subprocess.Popen([sys.executable, "-m", "batchcolor", "run", str(src), str(tmp_path / "out"),
                                 "--model", str(small_unet), "--log-format", "json", "--no-cache",
                                 "--scheduler", c.scheduler_address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(list((tmp_path / "out").rglob("f*.png"))) < 5:
            time.sleep(0.05)
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 3, err  # only the two bad files fail
        summary = [e for e in events(err) if e["event"] == "summary"][-1]
        assert summary["done"] == 80 and summary["failed"] == 2
        for f in (tmp_path / "out").rglob("*.png"):
            assert cv2.imread(str(f)) is not None, f
        # a temp file the dead worker left is swept by the next run, which redoes nothing
        again = subprocess.run([sys.executable, "-m", "batchcolor", "run", str(src), str(tmp_path / "out"),
                                "--model", str(small_unet), "--log-format", "json", "--no-cache"],
                               capture_output=True, text=True, timeout=600)
        s = [e for e in events(again.stderr) if e["event"] == "summary"][-1]
        assert not list((tmp_path / "out").rglob("*.partial"))
        assert (s["skipped"], s["done"]) == (80, 0)


@pytest.mark.slow
def test_cluster_carries_hint_layers_and_color(tmp_path, cluster):
    """Hint layers travel as paths (the shared mount), --color and --lines as settings: a Dask
    run gives the local run's pixels and manifest hint keys."""
    c, _ = cluster
    model = tmp_path / "hinted"
    synthetic.save_with_card(synthetic.random_unet(9, 4, 3, seed=5), model,
                             synthetic.test_card("hinted", 1, 8, tile=64, overlap=16, hints=True))
    src = tmp_path / "in"
    inputs(src, 6)
    layer = np.zeros((20, 20, 4), np.uint8)
    layer[4:9, 4:9] = (0, 0, 255, 255)
    for rel in ("s0/f000.png", "s1/f001.png"):
        cv2.imwrite(str(src / rel.replace(".png", ".hints.png")), layer)
    extra = ("--color", "#20c040", "--lines", "keep")
    local = run(src, tmp_path / "local", model, *extra)
    remote = run(src, tmp_path / "remote", model, *extra, "--scheduler", c.scheduler_address)
    assert local.returncode == remote.returncode == 3, remote.stderr
    lo, re_ = outputs(tmp_path / "local"), outputs(tmp_path / "remote")
    assert set(lo) == set(re_) and len(lo) == 6 and not any(".hints" in k for k in lo)
    for name in lo:
        a = cv2.imdecode(np.frombuffer(lo[name], np.uint8), cv2.IMREAD_UNCHANGED)
        b = cv2.imdecode(np.frombuffer(re_[name], np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(a, b, err_msg=name)
    m_local, m_remote = Manifest(tmp_path / "local").load(), Manifest(tmp_path / "remote").load()
    keys = {k: v.hints for k, v in m_remote.entries.items()}
    assert keys == {k: v.hints for k, v in m_local.entries.items()}
    assert bool(keys["s0/f000.png"]) and bool(keys["s1/f001.png"]) and not keys["s2/f002.png"]
