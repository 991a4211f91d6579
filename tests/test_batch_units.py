"""Unit tests of the batch layer's pieces, without a model: the manifest's up-to-date decision,
the walk, the lock, the report's exit codes, pipeline presets and the pixel budget."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from batchcolor.batch.execute import PixelBudget
from batchcolor.batch.lock import RunLock
from batchcolor.batch.manifest import Entry, Manifest
from batchcolor.batch.pipelines import find_pipeline, load_pipeline
from batchcolor.batch.report import Report, Reporter
from batchcolor.batch.walk import destination_suffix, plan_walk
from batchcolor.errors import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_SOME_FAILED, ConfigError, LockHeld


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---- manifest: what needs work -------------------------------------------------------------

def _manifest_with(tmp_path: Path, **changes) -> tuple[Manifest, dict]:
    out = tmp_path / "out"
    _touch(out / "a.png")
    m = Manifest(out).load()
    fields = dict(size=10, mtime_ns=5, sha256="abc", output="a.png", settings="K", finished=0.0, hints="")
    m.record("a.png", Entry(**{**fields, **changes}))
    return m, fields


def test_manifest_up_to_date_needs_every_key_to_match(tmp_path):
    m, f = _manifest_with(tmp_path)
    assert m.up_to_date("a.png", 10, 5, "K", "")
    assert not m.up_to_date("b.png", 10, 5, "K", ""), "never recorded"
    assert not m.up_to_date("a.png", 11, 5, "K", ""), "size changed"
    assert not m.up_to_date("a.png", 10, 6, "K", ""), "mtime changed"
    assert not m.up_to_date("a.png", 10, 5, "other settings", ""), "settings changed"
    assert not m.up_to_date("a.png", 10, 5, "K", "layer"), "a hint layer appeared"


def test_manifest_up_to_date_needs_the_output_on_disk(tmp_path):
    m, _ = _manifest_with(tmp_path)
    (tmp_path / "out" / "a.png").unlink()
    assert not m.up_to_date("a.png", 10, 5, "K", "")


def test_manifest_checksum_compares_the_bytes_only_when_asked(tmp_path):
    m, _ = _manifest_with(tmp_path)
    calls = []
    assert m.up_to_date("a.png", 10, 5, "K", "", sha256=lambda: calls.append(1) or "abc")
    assert not m.up_to_date("a.png", 10, 5, "K", "", sha256=lambda: "different")
    assert calls == [1]
    assert m.up_to_date("a.png", 10, 5, "K", "")  # no checksum: the bytes are not read


def test_manifest_survives_reload_and_forget(tmp_path):
    m, _ = _manifest_with(tmp_path)
    m.close()
    again = Manifest(tmp_path / "out").load()
    assert again.up_to_date("a.png", 10, 5, "K", "")
    again.forget("a.png")
    again.compact()
    assert not Manifest(tmp_path / "out").load().up_to_date("a.png", 10, 5, "K", "")


# ---- report: counts and the exit code ------------------------------------------------------

@pytest.mark.parametrize("done,skipped,failed,signal_name", itertools.product((0, 2), (0, 1), (0, 1), (None, "SIGINT", "SIGTERM")))
def test_report_exit_code_for_every_mix_of_outcomes(done, skipped, failed, signal_name):
    import signal

    report = Report()
    for i in range(done):
        report.file_done(f"d{i}.png", f"d{i}.png", 1.0, 0.1)
    for i in range(skipped):
        report.file_skipped(f"s{i}.png")
    for i in range(failed):
        report.file_failed(f"f{i}.png", f"/in/f{i}.png", "cannot decode")
    if signal_name:
        report.interrupt(getattr(signal, signal_name))
    expected = ({"SIGINT": EXIT_SIGINT, "SIGTERM": EXIT_SIGTERM}[signal_name] if signal_name
                else EXIT_SOME_FAILED if failed else EXIT_OK)
    assert report.exit_code == expected
    assert (report.done, report.skipped, report.failed) == (done, skipped, failed)
    assert len(report.failures) == failed and report.megapixels == pytest.approx(done * 1.0)


def test_report_tells_the_reporter(tmp_path):
    import io

    log = io.StringIO()
    report = Report(Reporter("json", log))
    report.file_done("a.png", "a.png", 2.0, 0.5, pages=3)
    report.file_failed("b.png", "/in/b.png", "bad\nname")
    lines = log.getvalue().splitlines()
    assert '"event": "done"' in lines[0] and '"pages": 3' in lines[0]
    assert '"event": "failed"' in lines[1] and len(lines) == 2


# ---- walk ----------------------------------------------------------------------------------

def test_walk_mirrors_the_tree_and_finds_hint_layers(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for rel in ("a.png", "sub/b.jpg", "sub/deeper/c.tif", ".hidden.png", "notes.txt", "sub/b.hints.png"):
        _touch(src / rel)
    walk = plan_walk(src, out, "png")
    assert [j.rel for j in walk.jobs] == ["a.png", "sub/b.jpg", "sub/deeper/c.tif"]
    assert [j.dst for j in walk.jobs] == [out / "a.png", out / "sub/b.png", out / "sub/deeper/c.png"]
    assert [j.hints for j in walk.jobs] == [None, src / "sub/b.hints.png", None]
    assert not walk.collisions and not walk.unreadable
    assert walk.others == ((".txt", 1),)  # the hidden file, the hint layer and the folders are not counted


def test_walk_counts_the_files_it_does_not_read_by_type(tmp_path):
    from batchcolor.batch.walk import others_note

    src = tmp_path / "in"
    for rel in ("a.png", "phone/IMG_1.HEIC", "art/cover.PSD", "art/page.psd", "scan.pdf", "sub/Makefile", ".DS_Store",
                "out/x.pdf"):
        _touch(src / rel)
    walk = plan_walk(src, src / "out", "png")  # (OUT_DIR inside IN_DIR: not walked)
    assert [j.rel for j in walk.jobs] == ["a.png", "phone/IMG_1.HEIC"]
    assert walk.others == (("(no extension)", 1), (".pdf", 1), (".psd", 2))
    note = others_note(walk.others)
    assert note.startswith("4 other files not read") and ".psd (2)" in note and ".heic" in note
    assert others_note(()) is None


def test_walk_reports_two_inputs_for_one_output(tmp_path):
    src = tmp_path / "in"
    _touch(src / "a.png")
    _touch(src / "a.jpg")
    walk = plan_walk(src, tmp_path / "out", "png")
    assert not walk.jobs and len(walk.collisions) == 2
    assert all("several inputs" in reason for _, reason in walk.collisions)
    assert len(plan_walk(src, tmp_path / "out", "same").jobs) == 2


def test_walk_skips_out_dir_inside_in_dir(tmp_path):
    src = tmp_path / "in"
    _touch(src / "a.png")
    _touch(src / "out" / "a.png")  # an earlier run's output
    walk = plan_walk(src, src / "out", "png")
    assert [j.rel for j in walk.jobs] == ["a.png"]


def test_destination_suffix_refuses_unknown_formats():
    assert destination_suffix(Path("x.tif"), "same") == ".tif"
    assert destination_suffix(Path("x.tif"), "webp") == ".webp"
    with pytest.raises(ValueError, match="--format"):
        destination_suffix(Path("x.png"), "gif")


# ---- lock ----------------------------------------------------------------------------------

def test_lock_is_exclusive_across_processes_and_released_on_exit(tmp_path):
    state = tmp_path / ".batchcolor"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from batchcolor.batch.lock import RunLock;"
        f"RunLock(Path({str(state)!r})).acquire(); print('held', flush=True); time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=r"pid \d+"):
            RunLock(state).acquire()
    finally:
        holder.kill()
        holder.wait()
    with RunLock(state).acquire(wait_seconds=5):  # the kernel dropped the dead holder's lock
        pass


def test_lock_wait_gets_it_when_the_holder_lets_go(tmp_path):
    state = tmp_path / ".batchcolor"
    first = RunLock(state).acquire()
    threading.Timer(0.5, first.release).start()
    t0 = time.monotonic()
    with RunLock(state).acquire(wait_seconds=10):
        assert 0.3 < time.monotonic() - t0 < 5


# ---- pipelines -----------------------------------------------------------------------------

def test_shipped_pipelines_hold_what_they_say():
    from batchcolor.inference.registry import lookup

    default = load_pipeline("default")
    assert "model" not in default and default["scale"] == "auto" and default["format"] == "png"
    huge = load_pipeline("huge-sheets")
    assert (huge["tile"], huge["scale"], huge["workers"]) == (1024, "none", 2)
    assert "overlap" not in huge  # a fixed overlap gave a wider model visible seams; the card's is measured
    fast = load_pipeline("fast-int8")
    assert fast["model"] == "product-sketch-int8" and fast["scale"] == "auto"
    assert lookup(fast["model"]).card.extra.get("quantization"), "the preset names the shipped INT8 model"


def test_pipeline_errors_name_the_setting(tmp_path):
    def preset(text: str) -> str:
        path = tmp_path / "p.toml"
        path.write_text(text)
        return str(path)

    with pytest.raises(ConfigError, match="unknown setting 'tiles'"):
        load_pipeline(preset("tiles = 3\n"))
    with pytest.raises(ConfigError, match="'tile' has the wrong type"):
        load_pipeline(preset('tile = "big"\n'))
    with pytest.raises(ConfigError, match="'color'"):
        load_pipeline(preset('color = "reddish"\n'))
    with pytest.raises(ConfigError, match="not found"):
        find_pipeline("no-such-preset")
    assert load_pipeline(preset('model = "./m"\n'))["model"] == str((tmp_path / "m").resolve())


# ---- pixel budget --------------------------------------------------------------------------

def test_pixel_budget_bounds_what_is_in_flight():
    budget = PixelBudget(100)
    stop = threading.Event()
    assert budget.acquire(60, stop) and budget.free == 40
    got = []
    waiter = threading.Thread(target=lambda: got.append(budget.acquire(60, stop)))
    waiter.start()
    time.sleep(0.3)
    assert not got, "60 more would exceed the budget: it waits"
    budget.release(60)
    waiter.join(5)
    assert got == [True] and budget.free == 40


def test_pixel_budget_lets_one_huge_file_through_alone_and_stops_waiting_on_stop():
    budget = PixelBudget(100)
    stop = threading.Event()
    assert budget.acquire(10**9, stop) and budget.free == 0  # capped at the capacity: it runs alone
    threading.Timer(0.3, stop.set).start()
    assert budget.acquire(1, stop) is False
    budget.release(10**9)
    assert budget.free == 100


def test_blas_keeps_one_thread_while_files_are_coloured(small_unet, tmp_path, monkeypatch):
    """BLAS's idle threads spin-wait between the finishing steps' matrix products and take the
    cores from inference (batchcolor/inference/cores.py): inside a run, one thread; after it,
    what the process had."""
    import cv2
    from threadpoolctl import threadpool_info, threadpool_limits

    from batchcolor.batch import execute
    from batchcolor.batch.walk import Job
    from batchcolor.colorize.settings import InferenceSettings

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    seen: list[set[int]] = []
    real = execute.process

    def spying(*args, **kw):
        seen.append(blas_threads())
        return real(*args, **kw)

    monkeypatch.setattr(execute, "process", spying)
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), np.full((40, 50, 3), 255, np.uint8))
    todo = execute.stat_todo(Job(src=src, rel="a.png", dst=tmp_path / "out" / "a.png"), 10**8)
    (tmp_path / "out").mkdir()
    with threadpool_limits(limits=2, user_api="blas"):  # as numpy starts on a 2-core box
        assert blas_threads() == {2}
        done = list(execute.local_results([todo], InferenceSettings(model=str(small_unet)), threading.Event()))
        assert blas_threads() == {2}, "the limit is lifted when the run ends"
    assert done[0].error is None and seen == [{1}]
