"""`batchcolor run` end to end: real files, real OpenVINO, real subprocesses."""
from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner
from PIL import Image

from batchcolor.tools import synthetic
from batchcolor.cli import main
from batchcolor.batch.lock import RunLock
from batchcolor.batch.manifest import Manifest

from conftest import run_cli


def art(path: Path, h: int = 60, w: int = 80, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix, synthetic.line_art(h, w, seed=seed, strokes=6))
    path.write_bytes(buf.tobytes())
    return path


def events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def summary_of(stderr: str) -> dict:
    return [e for e in events(stderr) if e["event"] == "summary"][-1]


def run(in_dir, out_dir, model, *extra, **kw):
    return run_cli("run", in_dir, out_dir, "--model", model, "--log-format", "json", "--no-cache", *extra, **kw)


def test_tree_mirroring_formats_and_hidden(tmp_path, small_unet):
    src = tmp_path / "in"
    art(src / "a.png")
    art(src / "deep" / "er" / "b.JPG", seed=1)
    art(src / ".hidden" / "c.png", seed=2)
    art(src / ".d.png", seed=3)
    (src / "notes.txt").write_text("not an image, not an image suffix")
    out = tmp_path / "out"
    r = run(src, out, small_unet, "--format", "webp")
    assert r.returncode == 0, r.stderr
    produced = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and ".batchcolor" not in p.parts)
    assert produced == ["a.webp", "deep/er/b.webp"]
    # the file it does not read is named by type (a note, not a failure), in either log format
    assert [e["others"] for e in events(r.stderr) if e["event"] == "others"] == [{".txt": 1}]
    assert summary_of(r.stderr)["failed"] == 0
    text = run_cli("run", src, tmp_path / "text", "--model", small_unet, "--no-cache")
    assert "1 other file not read" in text.stderr and ".txt (1)" in text.stderr
    assert cv2.imread(str(out / "deep/er/b.webp")).shape == (60, 80, 3)
    r = run(src, tmp_path / "same", small_unet, "--format", "same")
    assert r.returncode == 0
    assert (tmp_path / "same" / "deep/er/b.JPG").exists()


def test_collisions_reported_before_work(tmp_path, small_unet):
    src = tmp_path / "in"
    art(src / "a.png")
    art(src / "a.jpg", seed=1)
    art(src / "b.png", seed=2)
    r = run(src, tmp_path / "out", small_unet)
    assert r.returncode == 3
    ev = events(r.stderr)
    kinds = [e["event"] for e in ev]
    first_done = kinds.index("done")
    failed = [e for e in ev if e["event"] == "failed"]
    assert {e["input"] for e in failed} == {"a.png", "a.jpg"}
    assert all(kinds.index("failed") < first_done for _ in failed)
    assert "several inputs" in failed[0]["error"]
    assert (tmp_path / "out" / "b.png").exists() and not (tmp_path / "out" / "a.png").exists()


def test_symlink_loop_and_escape_and_out_dir_inside(tmp_path, small_unet):
    src = tmp_path / "in"
    art(src / "x" / "a.png")
    os.symlink(src, src / "x" / "loop")  # loop back to the root
    outside = tmp_path / "outside"
    art(outside / "secret.png")
    os.symlink(outside, src / "escape")
    os.symlink(src / "x", src / "alias")  # a second way into x: visited once
    out = src / "colored"  # out_dir inside in_dir
    r = run(src, out, small_unet, timeout=60)
    assert r.returncode == 0, r.stderr
    assert summary_of(r.stderr)["total"] == 1
    r2 = run(src, out, small_unet, timeout=60)
    assert summary_of(r2.stderr)["total"] == 1, "outputs inside in_dir must not become inputs"


def test_incremental_runs(tmp_path, small_unet, pointwise_rgb):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(5):
        art(src / f"f{i}.png", seed=i)
    r1 = run(src, out, small_unet)
    assert summary_of(r1.stderr)["done"] == 5
    r2 = run(src, out, small_unet)
    s2 = summary_of(r2.stderr)
    assert (s2["done"], s2["skipped"]) == (0, 5), "a second run does no inference"
    art(src / "f3.png", seed=99)  # changed content
    os.utime(src / "f1.png")  # touched: redone like make would
    r3 = run(src, out, small_unet)
    assert sorted(e["input"] for e in events(r3.stderr) if e["event"] == "done") == ["f1.png", "f3.png"]
    r4 = run(src, out, small_unet, "--overlap", "8")
    assert summary_of(r4.stderr)["done"] == 5, "another overlap redoes all"
    r5 = run(src, out, pointwise_rgb)
    assert summary_of(r5.stderr)["done"] == 5, "another model redoes all"
    (out / "f0.png").unlink()
    r6 = run(src, out, pointwise_rgb)
    assert [e["input"] for e in events(r6.stderr) if e["event"] == "done"] == ["f0.png"], "a lost output is redone"
    r7 = run(src, out, pointwise_rgb, "--force")
    assert summary_of(r7.stderr)["done"] == 5


def test_dry_run_and_prune(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    art(src / "a.png")
    art(src / "b.png", seed=1)
    r = run(src, out, small_unet, "--dry-run")
    assert r.returncode == 0 and not (out / "a.png").exists()
    assert {e["input"] for e in events(r.stderr) if e["event"] == "would_do"} == {"a.png", "b.png"}
    run(src, out, small_unet)
    (src / "b.png").unlink()
    r = run(src, out, small_unet)
    assert (out / "b.png").exists(), "prune is off by default"
    r = run(src, out, small_unet, "--prune")
    assert not (out / "b.png").exists() and (out / "a.png").exists()
    assert "b.png" not in Manifest(out).load().entries


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def build_corpus(src: Path) -> tuple[dict[str, str], list[str]]:
    """Bad files (name -> expected words in the error) and good ones (names)."""
    src.mkdir(parents=True)
    good_png = cv2.imencode(".png", synthetic.line_art(64, 64, seed=1))[1].tobytes()
    good_jpg = cv2.imencode(".jpg", synthetic.line_art(64, 64, seed=2))[1].tobytes()
    (src / "zero.png").write_bytes(b"")
    (src / "trunc.png").write_bytes(good_png[: len(good_png) // 2])
    (src / "trunc_jpeg.jpg").write_bytes(good_jpg[: len(good_jpg) // 2])
    (src / "text.png").write_text("hello, I am not a picture")
    (src / "huge.png").write_bytes(_png_header_only(100000, 100000))
    os.mkfifo(src / "fifo.png")
    bad = {"zero.png": "empty", "trunc.png": "truncated", "trunc_jpeg.jpg": "truncated", "text.png": "not an image",
           "huge.png": "max-pixels", "fifo.png": "not a regular file"}
    cv2.imwrite(str(src / "deep16.png"), (synthetic.line_art(50, 70).astype(np.uint16) * 257))
    buf = io.BytesIO()
    Image.fromarray(synthetic.line_art(40, 60)).convert("RGB").convert("CMYK").save(buf, "JPEG")
    (src / "cmyk.jpg").write_bytes(buf.getvalue())
    pal = Image.fromarray(synthetic.line_art(40, 60)).convert("P")
    pal.save(src / "palette_trns.png", transparency=255)
    cv2.imwrite(str(src / "one.png"), np.zeros((1, 1), np.uint8))
    cv2.imwrite(str(src / "strip.png"), synthetic.line_art(1, 5000))
    art(src / "with space.png")
    art(src / "ünïcødé 画.png")
    good = ["deep16.png", "cmyk.jpg", "palette_trns.png", "one.png", "strip.png", "with space.png", "ünïcødé 画.png"]
    return bad, good


def test_bad_input_corpus(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    bad, good = build_corpus(src)
    r = run(src, out, small_unet, timeout=120)
    assert r.returncode == 3, r.stderr
    failed = {e["input"]: e["error"] for e in events(r.stderr) if e["event"] == "failed"}
    assert set(failed) == set(bad)
    for name, words in bad.items():
        assert words in failed[name], (name, failed[name])
    for name in good:
        produced = cv2.imread(str(out / Path(name).with_suffix(".png")), cv2.IMREAD_UNCHANGED)
        assert produced is not None, name
        assert produced.dtype == np.uint8
    assert cv2.imread(str(out / "palette_trns.png"), cv2.IMREAD_UNCHANGED).shape[2] == 4
    assert cv2.imread(str(out / "strip.png")).shape == (1, 5000, 3)
    report = json.loads((out / ".batchcolor" / "errors.json").read_text())
    assert {f["input"] for f in report["failed"]} == set(bad)
    text = run_cli("run", src, tmp_path / "out2", "--model", small_unet, "--no-cache", timeout=120)
    for name in bad:
        assert sum(name in line and "FAILED" in line for line in text.stderr.splitlines()) == 1


def test_fail_fast(tmp_path, small_unet):
    src = tmp_path / "in"
    (src).mkdir()
    (src / "a_bad.png").write_text("x")
    for i in range(3):
        art(src / f"b{i}.png", seed=i)
    r = run(src, tmp_path / "out", small_unet, "--fail-fast")
    assert r.returncode == 3
    assert summary_of(r.stderr)["done"] == 0


def test_lock_held_exits_11_and_wait(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    art(src / "a.png")
    lock = RunLock(out / ".batchcolor").acquire()
    try:
        r = run(src, out, small_unet)
        assert r.returncode == 11 and "another batchcolor run" in r.stderr
        r = run(src, out, small_unet, "--wait", "0.5")
        assert r.returncode == 11
    finally:
        lock.release()
    assert run(src, out, small_unet).returncode == 0


def test_pipeline_precedence(tmp_path, small_unet):
    src, out = tmp_path / "in", tmp_path / "out"
    art(src / "a.png")
    preset = tmp_path / "p.toml"
    preset.write_text(f'model = "{small_unet}"\ntile = 64\noverlap = 32\nformat = "jpg"\n')
    r = run_cli("run", src, out, "--pipeline", preset, "--log-format", "json", "--no-cache", "--dry-run")
    start = events(r.stderr)[0]
    assert (start["tile"], start["overlap"]) == (64, 32)
    r = run_cli("run", src, out, "--pipeline", preset, "--log-format", "json", "--no-cache", "--dry-run",
                env={"BATCHCOLOR_OVERLAP": "16"})
    assert events(r.stderr)[0]["overlap"] == 16
    r = run_cli("run", src, out, "--pipeline", preset, "--log-format", "json", "--no-cache", "--overlap", "8",
                env={"BATCHCOLOR_OVERLAP": "16"})
    assert events(r.stderr)[0]["overlap"] == 8
    assert (out / "a.jpg").exists(), "format from the preset"
    bad = tmp_path / "bad.toml"
    bad.write_text("tiles = 3\n")
    r = run_cli("run", src, out, "--pipeline", bad)
    assert r.returncode == 2 and "unknown setting 'tiles'" in r.stderr



def test_cli_runner_run(tmp_path, small_unet):
    src = tmp_path / "in"
    art(src / "a.png")
    r = CliRunner().invoke(main, ["run", str(src), str(tmp_path / "out"), "-m", str(small_unet), "--no-cache"])
    assert r.exit_code == 0, r.output
    assert "summary: 1 done" in r.output


def test_missing_model_is_fatal(tmp_path):
    src = tmp_path / "in"
    art(src / "a.png")
    r = run_cli("run", src, tmp_path / "out", "--model", tmp_path / "nope")
    assert r.returncode == 1 and "model not found" in r.stderr


def test_outputs_get_the_umask_mode_not_mkstemps_0600(tmp_path, pointwise_gray):
    folder = pointwise_gray
    art(tmp_path / "in" / "a.png")
    r = run(tmp_path / "in", tmp_path / "out", folder, preexec_fn=lambda: os.umask(0o027))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "a.png").stat().st_mode & 0o777 == 0o640


def test_gif_inputs_plain_transparent_and_animated(tmp_path, small_unet):
    """GIF line art (old web comics, scans saved small) is read: a transparent one keeps its
    paper transparent, an animated one is coloured from its first frame and says so; ``--format
    same`` cannot write GIF and refuses those inputs before any work, naming the way out."""
    src = tmp_path / "in"
    src.mkdir()
    drawing = synthetic.line_art(60, 80, seed=4, strokes=6)
    Image.fromarray(drawing).convert("P").save(src / "plain.gif")
    rgba = np.zeros((60, 80, 4), np.uint8)
    rgba[drawing < 128] = (0, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(src / "layer.gif")
    Image.fromarray(drawing).convert("P").save(src / "anim.gif", save_all=True,
                                               append_images=[Image.fromarray(255 - drawing).convert("P")], duration=100)
    out = tmp_path / "out"
    r = run(src, out, small_unet)
    assert r.returncode == 0, r.stderr
    done = {e["input"]: e for e in events(r.stderr) if e["event"] == "done"}
    assert set(done) == {"plain.gif", "layer.gif", "anim.gif"}
    assert done["anim.gif"]["pages"] == 2 and done["plain.gif"]["pages"] == 1
    assert cv2.imread(str(out / "plain.png")).shape == (60, 80, 3)
    layer = cv2.imread(str(out / "layer.png"), cv2.IMREAD_UNCHANGED)
    assert layer.shape == (60, 80, 4) and layer[0, 0, 3] == 0 and (layer[drawing < 128][:, 3] == 255).all()
    assert np.array_equal(cv2.imread(str(out / "anim.png")), cv2.imread(str(out / "plain.png")))  # its first frame

    r = run(src, tmp_path / "same", small_unet, "--format", "same")
    assert r.returncode == 3
    failed = [e for e in events(r.stderr) if e["event"] == "failed"]
    assert len(failed) == 3 and all("--format png" in e["error"] for e in failed)
    assert not any(e["event"] == "done" for e in events(r.stderr))


def test_heic_photos_are_read_like_the_same_pixels_as_png(tmp_path, small_unet):
    """A phone's HEIC (OpenCV does not read it; Pillow with pillow-heif does) takes the same
    path from file to output as a PNG of the same pixels; a truncated one fails with one line
    and the run goes on."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    src = tmp_path / "in"
    src.mkdir()
    drawing = cv2.cvtColor(synthetic.line_art(64, 96, seed=5, strokes=6), cv2.COLOR_GRAY2RGB)
    Image.fromarray(drawing).save(src / "IMG_0001.HEIC", quality=95)
    decoded = np.asarray(Image.open(src / "IMG_0001.HEIC").convert("RGB"))  # (lossy: compare against what it holds)
    cv2.imwrite(str(tmp_path / "same.png"), decoded[:, :, ::-1])
    (src / "IMG_0002.heic").write_bytes((src / "IMG_0001.HEIC").read_bytes()[:200])  # cut short
    out = tmp_path / "out"
    r = run(src, out, small_unet)
    assert r.returncode == 3, r.stderr  # one file failed, the other was done
    failed = [e for e in events(r.stderr) if e["event"] == "failed"]
    assert [e["input"] for e in failed] == ["IMG_0002.heic"] and "\n" not in failed[0]["error"]
    r = run_cli("tile", tmp_path / "same.png", "-o", tmp_path / "png.png", "--model", small_unet, "--no-cache")
    assert r.returncode == 0, r.stderr
    r = run_cli("tile", src / "IMG_0001.HEIC", "-o", tmp_path / "heic.png", "--model", small_unet, "--no-cache")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / "heic.png")), cv2.imread(str(tmp_path / "png.png")))
    assert cv2.imread(str(out / "IMG_0001.png")).shape == (64, 96, 3)


def test_pillow_heif_is_imported_for_heif_files_only(tmp_path):
    """Its import takes about 50 ms: a run of PNGs must not pay it at the first probe."""
    import subprocess
    import sys

    png = art(tmp_path / "a.png")
    code = ("import sys; from pathlib import Path; from batchcolor.imageio import images; "
            f"images.probe(Path({str(png)!r})); images.decode(Path({str(png)!r})); "
            "print('pillow_heif' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
