"""Crash safety, signals and concurrent runs, with real subprocesses."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from batchcolor.tools import synthetic
from batchcolor.batch.manifest import Manifest


def make_inputs(folder: Path, n: int, size: int = 40) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        sub = folder / f"d{i % 7}"
        sub.mkdir(exist_ok=True)
        cv2.imwrite(str(sub / f"img{i:04d}.png"), synthetic.line_art(size, size + i % 13, seed=i, strokes=3))


def start(src: Path, out: Path, model: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "batchcolor", "run", str(src), str(out), "--model", str(model),
                             "--log-format", "json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def visible_outputs(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file() and ".batchcolor" not in p.parts and not p.name.startswith(".")]


def recorded(out: Path) -> dict[str, int]:
    """Outputs the manifest vouches for, with their inode+mtime stamp."""
    if not (out / ".batchcolor").exists():
        return {}
    m = Manifest(out).load()
    stamps = {}
    for rel, entry in m.entries.items():
        st = (out / entry.output).stat()
        stamps[entry.output] = (st.st_ino, st.st_mtime_ns)
    return stamps


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    make_inputs(src, 240)
    rng = random.Random(7)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    for attempt in range(5):
        before = recorded(out)
        p = start(src, out, small_unet, *cache)
        time.sleep(rng.uniform(0.8, 2.5))
        p.kill()
        p.wait()
        for f in visible_outputs(out):  # nothing partial is visible, ever
            assert cv2.imread(str(f)) is not None, f"partial output {f} after kill {attempt}"
        after = recorded(out)
        for name, stamp in before.items():
            assert after[name] == stamp, f"{name} was redone although it was finished before kill {attempt}"
    before = recorded(out)
    p = start(src, out, small_unet, *cache)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    summary = [json.loads(line) for line in err.splitlines() if line.startswith("{")][-1]
    assert summary["skipped"] == len(before) and summary["done"] == 240 - len(before)
    assert len(before) > 0, "the kills should have left some finished work to reuse"
    outputs = visible_outputs(out)
    assert len(outputs) == 240 and all(cv2.imread(str(f)) is not None for f in outputs)
    assert not [p for p in out.rglob("*.partial")], "temp files from killed runs are swept"
    after = recorded(out)
    assert all(after[n] == s for n, s in before.items())


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_resumes(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    make_inputs(src, 150)
    p = start(src, out, small_unet, "--no-cache")
    deadline = time.time() + 60
    while time.time() < deadline and not (out / ".batchcolor" / "journal.jsonl").exists():
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err
    summary = [json.loads(line) for line in err.splitlines() if line.startswith("{")][-1]
    assert summary["event"] == "summary" and summary["interrupted"] == "SIGTERM"
    assert 0 < summary["done"] < 150
    m = Manifest(out).load()
    assert len(m.entries) == summary["done"] and not (out / ".batchcolor" / "journal.jsonl").exists()
    assert not list(out.rglob("*.partial"))
    r = start(src, out, small_unet, "--no-cache")
    _, err = r.communicate(timeout=300)
    assert r.returncode == 0
    final = [json.loads(line) for line in err.splitlines() if line.startswith("{")][-1]
    assert final["skipped"] == summary["done"] and final["done"] == 150 - summary["done"]


@pytest.mark.slow
def test_two_concurrent_runs_one_does_the_work(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    make_inputs(src, 300, size=120)  # seconds of work for A, so B surely starts while A runs
    a = start(src, out, small_unet, "--no-cache")
    lock = out / ".batchcolor" / "lock"
    deadline = time.time() + 60
    while time.time() < deadline and not (lock.exists() and f"pid {a.pid}" in lock.read_text()):
        time.sleep(0.01)
    b = start(src, out, small_unet, "--no-cache")
    _, err_b = b.communicate(timeout=300)
    assert a.poll() is None, "A finished before B started: the test did not test concurrency"
    _, err_a = a.communicate(timeout=600)
    assert a.returncode == 0, err_a
    assert b.returncode == 11, err_b
    assert "another batchcolor run" in err_b and f"pid {a.pid}" in err_b
    summary = [json.loads(line) for line in err_a.splitlines() if line.startswith("{")][-1]
    assert summary["done"] == 300
    assert len(visible_outputs(out)) == 300
