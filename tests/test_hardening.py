"""Red-team findings (issue 12): each test failed before its fix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from batchcolor.tools import synthetic
from batchcolor.colorize.settings import InferenceSettings, open_engine
from batchcolor.batch.execute import process, stat_todo as _stat_todo
from batchcolor.batch.walk import Job

from conftest import run_cli


@pytest.fixture(scope="module")
def engine(small_unet):
    settings = InferenceSettings(model=str(small_unet), precision="f32", cache_dir=None)
    eng, tiling = open_engine(settings)
    yield eng, tiling, settings
    eng.close()


def _planned(tmp_path, max_pixels=1_000_000):
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), synthetic.line_art(64, 64))
    job = Job(src=src, rel="a.png", dst=tmp_path / "out" / "a.png")
    return job, _stat_todo(job, max_pixels)


def test_input_swapped_for_a_bigger_image_after_planning_is_refused(tmp_path, engine):
    eng, tiling, settings = engine
    job, todo = _planned(tmp_path)
    cv2.imwrite(str(job.src), np.full((1200, 1000), 255, np.uint8))  # 1.2 MP > --max-pixels 1 MP
    done = process(todo, eng, tiling, settings)
    assert done.error and "max-pixels" in done.error and not job.dst.exists()


def test_input_swapped_for_a_fifo_fails_at_once(tmp_path, engine):
    eng, tiling, settings = engine
    job, todo = _planned(tmp_path)
    job.src.unlink()
    os.mkfifo(job.src)
    result = {}
    t = threading.Thread(target=lambda: result.update(done=process(todo, eng, tiling, settings)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "reading a FIFO hung"
    assert "not a regular file" in result["done"].error


def test_input_swapped_for_a_link_to_dev_zero_is_not_read(tmp_path, engine):
    eng, tiling, settings = engine
    job, todo = _planned(tmp_path)
    job.src.unlink()
    job.src.symlink_to("/dev/zero")
    t0 = time.monotonic()
    done = process(todo, eng, tiling, settings)
    assert "not a regular file" in done.error and time.monotonic() - t0 < 5


def test_manifest_records_the_stat_of_what_was_read(tmp_path, engine):
    eng, tiling, settings = engine
    job, todo = _planned(tmp_path)
    cv2.imwrite(str(job.src), synthetic.line_art(70, 70, seed=5))  # changed between planning and reading
    st = os.stat(job.src)
    done = process(todo, eng, tiling, settings)
    assert done.error is None and done.size == st.st_size and done.mtime_ns == st.st_mtime_ns


def _tree(root, n=3, size=48):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(root / f"d{i}.png"), synthetic.line_art(size, size, seed=i))
    return root


@pytest.mark.parametrize("damage", [b"", b"{\"format\": \"batchcolor-manifest/1\", \"entr", b"\x89PNG\x00\xff\xfe garbage",
                                    b"[1, 2, 3]", b"{\"format\": \"batchcolor-manifest/1\", \"entries\": {\"a\": 5}}"])
def test_damaged_manifest_is_moved_aside_and_the_run_goes_on(tmp_path, small_unet, damage):
    src, out = _tree(tmp_path / "in"), tmp_path / "out"
    assert run_cli("run", src, out, "--model", small_unet).returncode == 0
    state = out / ".batchcolor"
    (state / "manifest.json").write_bytes(damage)
    r = run_cli("run", src, out, "--model", small_unet)
    assert r.returncode == 0, r.stderr
    aside = list(state.glob("manifest.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damage
    assert sum(aside[0].name in line for line in r.stderr.splitlines()) == 1  # one line names it
    assert json.loads((state / "manifest.json").read_text())["format"] == "batchcolor-manifest/1"
    again = run_cli("run", src, out, "--model", small_unet)  # and from then on, nothing to redo
    assert again.returncode == 0 and "3 skipped" in again.stderr


def test_journal_lines_that_do_not_decode_are_skipped(tmp_path, small_unet):
    from batchcolor.batch.manifest import Manifest

    src, out = _tree(tmp_path / "in"), tmp_path / "out"
    assert run_cli("run", src, out, "--model", small_unet).returncode == 0
    m = Manifest(out).load()
    (m.journal).write_bytes(b"\xff\xfe\x00not utf-8\n{\"rel\": 3}\n")
    assert Manifest(out).load().entries.keys() == m.entries.keys()


def test_outputs_never_leave_out_dir_through_a_symlinked_subfolder(tmp_path, small_unet):
    src, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    _tree(src / "sub")
    elsewhere.mkdir()
    out.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    r = run_cli("run", src, out, "--model", small_unet)
    assert r.returncode == 3 and "outside the output folder" in r.stderr
    assert list(elsewhere.iterdir()) == []


def test_in_dir_inside_out_dir_never_overwrites_an_input_and_sweep_spares_user_files(tmp_path, small_unet):
    out = tmp_path / "out"
    src = _tree(out / "sub")  # IN_DIR = OUT_DIR/sub
    _tree(src / "sub")  # sub/sub/d0.png would be written to OUT_DIR/sub/d0.png: an input
    (src / ".notes.partial").write_text("my notes")
    own = out / ".d9.png.abc12_xy.partial"
    own.write_bytes(b"left by a killed run")
    before = {p.relative_to(src): p.read_bytes() for p in src.rglob("*.png")}
    r = run_cli("run", src, out, "--model", small_unet)
    assert r.returncode == 3 and "would overwrite an input" in r.stderr
    assert {p.relative_to(src): p.read_bytes() for p in src.rglob("*.png")} == before
    assert (src / ".notes.partial").read_text() == "my notes" and not own.exists()
    assert (out / "d0.png").exists()  # the inputs whose outputs are safe were done


def test_dry_run_creates_and_deletes_nothing(tmp_path, small_unet):
    src, out = _tree(tmp_path / "in"), tmp_path / "out"
    r = run_cli("run", src, out, "--model", small_unet, "--dry-run")
    assert r.returncode == 0 and "would colorize" in r.stderr
    assert not out.exists()
    out.mkdir()
    leftover = out / ".d0.png.abc12_xy.partial"
    leftover.write_bytes(b"x")
    run_cli("run", src, out, "--model", small_unet, "--dry-run")
    assert leftover.exists() and not (out / ".batchcolor").exists()


def test_prune_never_deletes_outside_out_dir(tmp_path, small_unet):
    from batchcolor.batch.manifest import Manifest

    src, out = _tree(tmp_path / "in"), tmp_path / "out"
    assert run_cli("run", src, out, "--model", small_unet).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    doc = json.loads((out / ".batchcolor" / "manifest.json").read_text())
    entry = dict(doc["entries"]["d0.png"], output="../victim.txt")
    doc["entries"]["gone.png"] = entry
    doc["entries"]["gone2.png"] = dict(entry, output=str(victim))
    (out / ".batchcolor" / "manifest.json").write_text(json.dumps(doc))
    assert "gone.png" not in Manifest(out).load().entries
    r = run_cli("run", src, out, "--model", small_unet, "--prune")
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "precious" and "leaves the output folder" in r.stderr


def test_a_folder_that_cannot_be_listed_is_a_failure(tmp_path, small_unet, monkeypatch):
    """As root, permissions do not stop a listing; the failure is injected where it happens."""
    import io

    from batchcolor.imageio import files as walkmod
    from batchcolor.batch.report import Reporter
    from batchcolor.batch.runner import RunOptions, run_batch

    src, out = _tree(tmp_path / "in"), tmp_path / "out"
    _tree(src / "locked")
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(walkmod.os, "scandir", scandir)
    log = io.StringIO()
    outcome = run_batch(RunOptions(in_dir=src, out_dir=out, inference=InferenceSettings(model=str(small_unet))),
                        Reporter("text", log))
    assert outcome.exit_code == 3 and outcome.done == 3 and "in/locked: cannot list folder" in log.getvalue()
    report = json.loads((out / ".batchcolor" / "errors.json").read_text())
    assert [f["input"] for f in report["failed"]] == ["locked/"]


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height (no pixel data): what a 948 KB bomb looks like to a probe."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_tile_has_runs_pixel_guard(tmp_path, small_unet):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 30000, 30000)
    r = run_cli("tile", bomb, "-o", tmp_path / "o.png", "--model", small_unet, timeout=30)
    assert r.returncode == 1 and "max-pixels" in r.stderr and "30000x30000" in r.stderr
    small = tmp_path / "s.png"
    cv2.imwrite(str(small), synthetic.line_art(1200, 1000))
    r = run_cli("tile", small, "-o", tmp_path / "o.png", "--model", small_unet, "--max-pixels", "1000000")
    assert r.returncode == 1 and "max-pixels" in r.stderr and not (tmp_path / "o.png").exists()


def test_tile_sigterm_leaves_no_partial(tmp_path, small_unet):
    import signal
    import subprocess
    import sys

    big = tmp_path / "big.png"
    cv2.imwrite(str(big), synthetic.line_art(3000, 3000, seed=1))
    proc = subprocess.Popen([sys.executable, "-m", "batchcolor", "tile", str(big), "-o", str(tmp_path / "out.png"),
                             "--model", str(small_unet), "--tile", "64", "--no-cache"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.png.*.partial")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "finished before the signal: make the image bigger"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 143
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "out.png").exists()


def test_out_dir_below_a_file_is_one_clear_line(tmp_path, small_unet):
    src = _tree(tmp_path / "in", 1)
    (tmp_path / "afile.txt").write_text("x")
    r = run_cli("run", src, tmp_path / "afile.txt" / "sub", "--model", small_unet)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "afile.txt" in r.stderr and "Not a directory" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_full_disk_at_compaction_writes_errors_first_and_exits_3(tmp_path, small_unet, monkeypatch):
    import errno
    import io

    from batchcolor.batch import manifest as manifestmod
    from batchcolor.batch.report import Reporter
    from batchcolor.batch.runner import RunOptions, run_batch

    src, out = _tree(tmp_path / "in", 2), tmp_path / "out"
    (src / "bad.png").write_text("not an image")
    state = out / ".batchcolor"
    state.mkdir(parents=True)
    (state / "errors.json").write_text('{"stale": true}')

    def full(target, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(manifestmod, "atomic_write", full)
    log = io.StringIO()
    outcome = run_batch(RunOptions(in_dir=src, out_dir=out, inference=InferenceSettings(model=str(small_unet))),
                        Reporter("text", log))
    assert outcome.exit_code == 3 and "cannot rewrite the manifest" in log.getvalue()
    report = json.loads((state / "errors.json").read_text())
    assert "stale" not in report and [f["input"] for f in report["failed"]] == ["bad.png"]
    monkeypatch.undo()
    from batchcolor.batch.manifest import Manifest

    assert set(Manifest(out).load().entries) == {"d0.png", "d1.png"}  # the journal kept them


def test_unavailable_device_names_the_cause_and_the_devices(tmp_path, small_unet):
    art = tmp_path / "a.png"
    cv2.imwrite(str(art), synthetic.line_art(40, 40))
    r = run_cli("tile", art, "--model", small_unet, "--device", "NOSUCHDEVICE")
    assert r.returncode == 1 and "core.cpp" not in r.stderr.splitlines()[-1].split("for device")[1][:40]
    assert "devices available here: CPU" in r.stderr


def test_missing_gpu_says_why(tmp_path, small_unet):
    from batchcolor.inference.runtime import openvino

    if "GPU" in openvino().Core().available_devices:
        pytest.skip("this box has a GPU")
    art = tmp_path / "a.png"
    cv2.imwrite(str(art), synthetic.line_art(40, 40))
    r = run_cli("tile", art, "--model", small_unet, "--device", "GPU")
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and not last.rstrip().endswith(":") and "devices available here" in last


def test_bench_finds_benchmark_app_beside_python_not_only_on_path(tmp_path):
    import subprocess
    import sys

    code = "from batchcolor.tools.bench import find_benchmark_app as f; print(f())"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PATH": "/nonexistent"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(os.path.dirname(sys.executable), "benchmark_app")
    fake = tmp_path / "bin" / "python3"  # a Python with no benchmark_app beside it and none on PATH
    fake.parent.mkdir()
    fake.symlink_to(sys.executable)
    r = subprocess.run([str(fake), "-c", code + "\n"], capture_output=True, text=True,
                       env={**os.environ, "PATH": "/nonexistent", "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.returncode != 0 and "benchmark_app not found" in r.stderr


def test_multipage_tiff_says_the_other_pages_were_skipped(tmp_path, small_unet):
    import tifffile

    src = tmp_path / "in"
    src.mkdir()
    with tifffile.TiffWriter(src / "book.tif") as tif:  # three separate pages, as a scanner writes them
        for i in range(3):
            tif.write(synthetic.line_art(48, 48, seed=i), contiguous=False)
    r = run_cli("run", src, tmp_path / "out", "--model", small_unet)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stderr.splitlines() if x.startswith("done book.tif"))
    assert "first of 3 pages, the other 2 skipped" in line


def test_logs_escape_control_characters_and_list_skipped_only_when_verbose(tmp_path, small_unet):
    src = _tree(tmp_path / "in", 2)
    os.rename(src / "d1.png", src / "evil\nFAILED fake.png")
    r = run_cli("run", src, tmp_path / "out", "--model", small_unet)
    assert r.returncode == 0 and "evil\\x0aFAILED" in r.stderr
    assert not any(line.startswith("FAILED") for line in r.stderr.splitlines())
    quiet = run_cli("run", src, tmp_path / "out", "--model", small_unet)
    assert "up to date" not in quiet.stderr and "2 skipped" in quiet.stderr
    loud = run_cli("run", src, tmp_path / "out", "--model", small_unet, "-v")
    assert loud.stderr.count("up to date") == 2


@pytest.mark.parametrize("args", [["run", "/nonexistent/in", "OUT"], ["run", "IN", "OUT", "--scale", "2x"],
                                  ["run", "IN", "OUT", "--model", "/nonexistent/model"]])
def test_json_logs_make_usage_and_fatal_errors_json(tmp_path, args):
    src = _tree(tmp_path / "in", 1)
    argv = [str(src) if a == "IN" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    r = run_cli(*argv, "--log-format", "json")
    assert r.returncode in (1, 2)
    lines = [json.loads(line) for line in r.stderr.strip().splitlines()]
    assert lines[-1]["event"] == "error" and lines[-1]["exit_code"] == r.returncode and lines[-1]["error"]


def test_tile_reports_the_tiles_that_ran(tmp_path, small_unet):
    art = tmp_path / "a.png"
    cv2.imwrite(str(art), synthetic.line_art(300, 300))
    full = run_cli("tile", art, "-o", tmp_path / "o.png", "--model", small_unet, "--tile", "64")
    half = run_cli("tile", art, "-o", tmp_path / "p.png", "--model", small_unet, "--tile", "64", "--scale", "0.5")
    count = lambda r: int(r.stderr.split(" tiles of")[0].rsplit(" ", 1)[1])  # noqa: E731
    assert count(half) < count(full) / 2


def test_decoder_noise_is_silenced(tmp_path, small_unet):
    import tifffile

    src = tmp_path / "in"
    src.mkdir()
    tifffile.imwrite(src / "t.tif", synthetic.line_art(200, 200))
    data = (src / "t.tif").read_bytes()
    (src / "t.tif").write_bytes(data[: len(data) // 2])  # truncated strips
    cv2.imwrite(str(src / "ok.png"), synthetic.line_art(40, 40))
    png = cv2.imencode(".png", synthetic.line_art(100, 100))[1].tobytes()
    (src / "cut.png").write_bytes(png[: len(png) // 2])
    r = run_cli("run", src, tmp_path / "out", "--model", small_unet)
    assert r.returncode == 3
    assert "[ERROR" not in r.stderr and "[ WARN" not in r.stderr and "TIFFRead" not in r.stderr, r.stderr
    assert sum(line.startswith("FAILED") for line in r.stderr.splitlines()) == 2


def test_run_defaults_stream_huge_drawings(tmp_path):
    """run's default pipeline says --scale auto; a 36 MP drawing must still take the streamed
    path (peak RSS of run at its defaults ~ tile's streamed run, not the full decoder's)."""
    from batchcolor.tools.bench import peak_rss_of_run, peak_rss_of_tile

    folder = tmp_path / "m"
    card = synthetic.test_card("u", 1, 16, tile=512, overlap=64)
    from batchcolor.inference.modelcard import card_from_dict

    synthetic.save_with_card(synthetic.pointwise(1), folder, card_from_dict(**{**card.__dict__, "scale": 128}))
    (tmp_path / "in").mkdir()
    sheet = tmp_path / "in" / "sheet.png"
    cv2.imwrite(str(sheet), synthetic.line_art(6000, 6000, seed=3, strokes=600))
    streamed, _ = peak_rss_of_tile(sheet, tmp_path / "t.png", ["--model", str(folder), "--no-cache"])
    defaults, _ = peak_rss_of_run(tmp_path / "in", tmp_path / "out", ["--model", str(folder), "--no-cache"])
    print(f"peak RSS: tile (streamed) {streamed:.0f} MiB, run at its defaults {defaults:.0f} MiB")
    assert defaults < streamed + 45, (streamed, defaults)  # the full decoder adds 36 MB in + 108 MB out, and more


def test_read_only_out_dir_is_one_clear_line(tmp_path, small_unet, monkeypatch):
    """As root nothing is read-only; the refusal is injected where the kernel would give it."""
    import pathlib

    from click.testing import CliRunner

    from batchcolor.cli import main

    src, out = _tree(tmp_path / "in", 1), tmp_path / "ro"
    real = pathlib.Path.mkdir

    def mkdir(self, *a, **k):
        if str(self).startswith(str(out)):
            raise PermissionError(13, "Read-only file system", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    r = CliRunner().invoke(main, ["run", str(src), str(out), "--model", str(small_unet)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"{out}: Read-only file system" in r.output


def test_sigint_during_start_up_exits_130(tmp_path, small_unet):
    import signal
    import subprocess
    import sys

    # enough work that the signal lands before the end: 400 files of 48 px took 1.2 s, and under
    # the suite's load the run had finished before the poll below saw OpenVINO loaded (exit 0)
    src = _tree(tmp_path / "in", 120, size=256)
    # The signal is sent once the command's own start-up is under way (OpenCV, then OpenVINO
    # loaded by the run command), not after a fixed delay: on a loaded box a fixed 0.1 s can
    # land inside Python's own start-up (site packages), before any of batchcolor's code.
    for library in ("cv2", "libopenvino"):
        # a child inherits an ignored SIGINT, and Python then installs no KeyboardInterrupt handler:
        # something earlier in the suite leaves SIGINT ignored in pytest's process (the run went on
        # to "120 done" under the full suite, passed alone), so start it as a shell would
        proc = subprocess.Popen([sys.executable, "-m", "batchcolor", "run", str(src), str(tmp_path / f"out{library}"),
                                 "--model", str(small_unet), "--no-cache"], stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if library in Path(f"/proc/{proc.pid}/maps").read_text():
                    break
            except OSError:
                pass
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Aborted!" not in err and "Traceback" not in err


def test_ctrl_c_while_the_command_is_still_importing_exits_130_without_a_traceback():
    """Deterministic twin of the SIGINT test above: the interrupt lands inside ``import click``."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from batchcolor.__main__ import entry\n"
        "entry()\n"
    )
    r = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "batchcolor: interrupted"


FREE_AFTER_CLOSE = """
import sys, numpy as np
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.settings import InferenceSettings, open_engine
for i in range(12):
    engine, tiling = open_engine(InferenceSettings(model=sys.argv[1], precision="f32", cache_dir=None))
    colorize_image(np.full((40, 40), 255, np.uint8), engine, tiling)
    engine.close()
    del engine  # the compiled model is freed here, right after the last tile's callback
print("freed", i + 1)
"""


def test_an_engine_freed_right_after_close_does_not_hang(tmp_path, pointwise_gray):
    """OpenVINO's wait_all returns before a request's callback has run; freeing the compiled
    model then joined its executor with the GIL held while the callback waited for the GIL:
    a hang in 5 of 5 suite runs of the lines-auto test. close() now waits for callbacks."""
    out = tmp_path / "out.txt"
    with open(out, "w") as fh:  # output to a file, as under pytest's capture, where it hung
        proc = subprocess.run([sys.executable, "-c", FREE_AFTER_CLOSE, str(pointwise_gray)], stdout=fh,
                              stderr=subprocess.STDOUT, timeout=60)
    assert proc.returncode == 0 and "freed 12" in out.read_text(), out.read_text()[-2000:]
