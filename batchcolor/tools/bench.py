"""``batchcolor bench``: what this box does, against the runtime's own ceiling, in one run.

Every workload uses the same IR, tile shape, THROUGHPUT hint and precision:

* ``benchmark_app`` (shipped with the openvino wheel) on the IR: the runtime's ceiling;
* ``batchcolor run`` on many small drawings and ``batchcolor tile`` on one big sheet, as real
  subprocesses (decode, tiling, blending, encode, atomic writes, manifest: everything);
* the seed's way: the same network in Paddle's dynamic graph, one tile at a time (needs the
  ``train`` extra, else reported as null);
* peak RSS of ``tile`` on a huge sheet, read from ``getrusage`` of the child;
* tile overhead at the default settings, ``--help`` wall time, compiled-model cache cold vs warm.

``--quick`` shrinks the workloads (CI runs it), not the method.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.inference.modelcard import ModelRef


@dataclass(frozen=True)
class BenchSizes:
    small_count: int
    small_range: tuple[int, int]
    sheet: int
    huge: int  # width of the huge drawing (streamed memory grows with the width only)
    huge_height: int
    seconds: int
    naive_tiles: int
    # Each side of a ratio is measured this many times, the best kept (the least disturbed run):
    # one pass each gave the small-drawings ratio anywhere from 0.86 to 0.91 on the same code.
    repeats: int = 2

    @classmethod
    def pick(cls, quick: bool) -> "BenchSizes":
        if quick:  # still long enough that start-up (about 1 s) is not most of each timed command
            return cls(small_count=24, small_range=(256, 512), sheet=3072, huge=3000, huge_height=3000, seconds=3, naive_tiles=2,
                       repeats=1)
        # 20000 px wide, 2048 rows: a streamed run holds a few tile-tall bands of the width, so its peak
        # memory is that of 20000 x 20000 (tested flat in the height, test_streamread) at a tenth of
        # the time: two full 20000^2 passes took over 35 minutes on a 2-core box with the base-12
        # model, and the base-24 default costs 2-3x that per tile. 100 drawings and a 6144^2 sheet:
        # the whole bench takes about 15 minutes here with the default model.
        return cls(small_count=100, small_range=(256, 512), sheet=6144, huge=20000, huge_height=2048, seconds=15,
                   naive_tiles=6)


def _child(cmd: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run`` in a process group of its own, killed as a group when the bench stops.

    ``subprocess.run`` kills only its direct child on an exception: the peak-RSS wrapper's
    own child (the measured ``batchcolor run``) survived a SIGTERM and went on writing into
    the work folder after the bench had removed it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=None if env is None else {**os.environ, **env})
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _cli(*args: str, env: dict | None = None, timeout: float = 3600) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = _child([sys.executable, "-m", "batchcolor", *args], timeout, env)
    return proc, time.perf_counter() - t0


def _timed_ok(*args: str) -> float:
    """Seconds of one ``batchcolor`` command that must succeed."""
    proc, secs = _cli(*args)
    if proc.returncode != 0:
        raise RuntimeError(f"batchcolor {args[0]} failed: {proc.stderr[-2000:]}")
    return secs


def find_benchmark_app() -> str:
    """OpenVINO's ``benchmark_app``: beside this Python first (a venv's ``bin/``, where cron's
    PATH does not look), then on PATH. The ceiling every ratio is measured against: no guessing."""
    beside = Path(sys.executable).parent / "benchmark_app"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("benchmark_app")
    if found is None:
        raise RuntimeError(f"benchmark_app not found beside {sys.executable} or on PATH: it comes with the openvino "
                           "wheel; without it the ceiling cannot be measured")
    return found


def resolved_precision(xml: Path, precision: str) -> str:
    """``auto`` as batchcolor's engine resolves it on this CPU (on AVX-512 BF16 without AMX:
    f32 on Intel, bf16 on AMD), so that benchmark_app measures what users get; ``auto`` where the
    runtime's own default stands. (``xml``: the rule is the same for every model since session 11.)"""
    if precision != "auto":
        return precision
    from batchcolor.inference.precision import machine_auto_precision

    return machine_auto_precision("CPU") or "auto"


def benchmark_app(xml: Path, channels: int, tile: int | tuple[int, int], precision: str, seconds: int) -> float:
    """Tiles/s of OpenVINO's own tool on one tile shape (a side, or (rows, columns))."""
    exe = find_benchmark_app()
    rows, cols = (tile, tile) if isinstance(tile, int) else tile
    cmd = [exe, "-m", str(xml), "-d", "CPU", "-hint", "throughput", "-shape", f"[1,{channels},{rows},{cols}]",
           "-t", str(seconds)]
    precision = resolved_precision(xml, precision)
    if precision != "auto":
        cmd += ["-infer_precision", precision]
    proc = _child(cmd, timeout=seconds * 10 + 120)
    m = re.search(r"Throughput:\s+([\d.]+)\s+FPS", proc.stdout)
    if not m:
        raise RuntimeError(f"benchmark_app gave no throughput (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-500:]}")
    return float(m.group(1))


def write_drawings(folder: Path, count: int, lo: int, hi: int, seed: int = 0) -> list[tuple[int, int]]:
    import cv2

    from batchcolor.tools.synthetic import line_art

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = []
    for i in range(count):
        h, w = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
        cv2.imwrite(str(folder / f"d{i:04d}.png"), line_art(h, w, seed=i))
        sizes.append((h, w))
    return sizes


def write_hint_layers(folder: Path, sizes: list[tuple[int, int]], every: int = 1, names: list[str] | None = None,
                      layer_side: int | None = None) -> int:
    """``NAME.hints.png`` beside drawings: a dozen colour dots each, at ``layer_side`` px (or the
    drawing's size); returns how many were written."""
    import cv2

    rng = np.random.default_rng(7)
    written = 0
    for i, (h, w) in enumerate(sizes):
        if i % every:
            continue
        lh, lw = (layer_side, layer_side) if layer_side else (h, w)
        layer = np.zeros((lh, lw, 4), np.uint8)
        for _ in range(12):
            y, x = int(rng.integers(0, lh - 5)), int(rng.integers(0, lw - 5))
            layer[y : y + 5, x : x + 5] = (*(int(v) for v in rng.integers(0, 256, 3)), 255)
        name = names[i] if names else f"d{i:04d}"
        cv2.imwrite(str(folder / f"{name}.hints.png"), layer)
        written += 1
    return written


def naive_paddle(ref: ModelRef, tile: int, count: int) -> float | None:
    """Tiles/s of the seed's way: Paddle dygraph, one tile at a time, synchronous."""
    code = f"""
import time, json, numpy as np
try:
    import paddle
except ImportError:
    print("null"); raise SystemExit
from batchcolor.train.models import UNet, UNetConfig
arch = json.loads({json.dumps(json.dumps(ref.card.extra.get('architecture', {})))})
cfg = UNetConfig(in_channels={ref.card.network_channels}, base=arch.get('base', 16), depth=arch.get('depth', 4), up=arch.get('up', 'resize'))
net = UNet(cfg); net.eval()
x = paddle.to_tensor(np.random.rand(1, cfg.in_channels, {tile}, {tile}).astype('float32'))
with paddle.no_grad():
    net(x)
    t = time.perf_counter()
    for _ in range({count}):
        net(x).numpy()
print({count} / (time.perf_counter() - t))
"""
    out = _child([sys.executable, "-c", code], timeout=3600).stdout.strip()
    try:
        return None if out.splitlines()[-1] == "null" else float(out.splitlines()[-1])
    except (ValueError, IndexError):
        return None


def peak_rss_of_tile(image: Path, out: Path, args: list[str]) -> tuple[float, float]:
    """(peak RSS MiB, seconds) of one ``batchcolor tile`` child, measured by the kernel."""
    return _peak_rss(["tile", str(image), "-o", str(out), *args])


def peak_rss_of_run(in_dir: Path, out_dir: Path, args: list[str]) -> tuple[float, float]:
    """(peak RSS MiB, seconds) of one ``batchcolor run`` child at the defaults users get
    (its default pipeline: ``--scale auto``), measured by the kernel."""
    return _peak_rss(["run", str(in_dir), str(out_dir), *args])


def _peak_rss(batchcolor_args: list[str]) -> tuple[float, float]:
    code = ("import resource, subprocess, sys, time; t=time.perf_counter(); "
            "r=subprocess.run(sys.argv[1:]); dt=time.perf_counter()-t; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, dt, r.returncode)")
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "batchcolor", *batchcolor_args]
    res = _child(cmd, timeout=7200).stdout.split()
    if len(res) != 3 or res[2] != "0":
        raise RuntimeError(f"batchcolor {' '.join(batchcolor_args[:2])} failed")
    return int(res[0]) / 1024.0, float(res[1])


def run_bench(model: str | None, quick: bool, precision: str, workdir: Path | None = None, log=print) -> dict[str, Any]:
    import cv2

    from batchcolor.colorize.settings import InferenceSettings, resolve, tile_settings
    from batchcolor.tools.synthetic import line_art

    sizes = BenchSizes.pick(quick)
    started, raw_log = time.perf_counter(), log

    def log(message: str) -> None:  # each step with the time it started: where a slow bench spends it
        raw_log(f"[{time.perf_counter() - started:5.0f} s] {message}")

    ref, settings = resolve(InferenceSettings(model=model))
    card = ref.card
    tile, overlap = settings.tile, settings.overlap
    assert tile is not None and overlap is not None
    tmp = Path(workdir or tempfile.mkdtemp(prefix="batchcolor-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:  # a stopped bench (Ctrl-C, SIGTERM) removes its inputs too: they are hundreds of MiB
        common = ["--model", str(ref.model_path.parent), "--precision", precision, "--cache-dir", str(tmp / "cache")]
        result: dict[str, Any] = {"model": str(ref.model_path.parent), "tile": tile, "overlap": overlap,
                                  "precision": precision, "resolved_precision": resolved_precision(ref.model_path, precision),
                                  "quick": quick, "cpu": _cpu_name(), "cores": os.cpu_count(), "repeats": sizes.repeats}

        log("benchmark_app ...")
        ceiling = max(benchmark_app(ref.model_path, card.network_channels, tile, precision, sizes.seconds)
                      for _ in range(sizes.repeats))
        result["benchmark_app_tiles_per_second"] = ceiling

        log(f"run on {sizes.small_count} drawings ...")
        drawings = write_drawings(tmp / "small", sizes.small_count, *sizes.small_range)
        if card.hint_planes:  # a hinted model: every other drawing carries a hint layer
            result["small_hint_layers"] = write_hint_layers(tmp / "small", drawings, every=2)
        # Drawings that fit get smaller tiles than the card's, each axis its own size
        # (geometry.fit_axis). OpenVINO's throughput in megapixels/s is nearly constant across
        # tile sizes (5.03-5.17 MP/s from 640 down to 288 px here), so compare tile-megapixels
        # per second against benchmark_app at the workload's median tile (by area).
        plans = [tile_settings(card, settings).plan(h, w, card.stride) for h, w in drawings]
        shapes = sorted((p.tile_shape for p in plans), key=lambda s: (s[0] * s[1], s))
        median_tile = shapes[(len(shapes) - 1) // 2]
        small_ceiling = max(benchmark_app(ref.model_path, card.network_channels, median_tile, precision, sizes.seconds)
                            for _ in range(sizes.repeats))
        result["small_median_tile"] = f"{median_tile[0]}x{median_tile[1]}"
        result["benchmark_app_small_tiles_per_second"] = small_ceiling
        small_tiles = sum(p.count for p in plans)
        small_tile_mp = sum(p.network_pixels() for p in plans) / 1e6
        small_mp = sum(h * w for h, w in drawings) / 1e6
        _cli("tile", str(tmp / "small" / "d0000.png"), "-o", str(tmp / "warm.png"), *common)  # compile once into the cache
        secs = min(_timed_ok("run", str(tmp / "small"), str(tmp / f"small_out{i}"), *common, "--scale", "none")
                   for i in range(sizes.repeats))  # a fresh OUT_DIR each time: nothing is skipped
        result["small_tiles_per_second"] = small_tiles / secs
        result["small_tile_megapixels_per_second"] = small_tile_mp / secs
        result["small_megapixels_per_second"] = small_mp / secs
        # the same drawings at run's defaults (its pipeline's --scale auto resizes each drawing):
        # what a user's nightly job gets, beside the ratio above, which needs a known tile plan
        secs = _timed_ok("run", str(tmp / "small"), str(tmp / "small_out_defaults"), *common)
        result["small_megapixels_per_second_defaults"] = small_mp / secs

        log(f"tile on a {sizes.sheet}x{sizes.sheet} sheet ...")
        sheet = tmp / "sheet.png"
        cv2.imwrite(str(sheet), line_art(sizes.sheet, sizes.sheet, seed=1))
        plan = tile_settings(card, settings).plan(sizes.sheet, sizes.sheet, card.stride)
        secs = min(_timed_ok("tile", str(sheet), "-o", str(tmp / "sheet_out.png"), *common) for _ in range(sizes.repeats))
        result["sheet_tiles_per_second"] = plan.count / secs
        result["sheet_megapixels_per_second"] = sizes.sheet**2 / 1e6 / secs
        result["overlap_overhead"] = plan.overhead()
        if ceiling:
            result["benchmark_app_tile_megapixels_per_second"] = ceiling * tile * tile / 1e6
            result["ratio_vs_benchmark_app_sheet"] = result["sheet_tiles_per_second"] / ceiling
        if small_ceiling:
            result["benchmark_app_small_tile_megapixels_per_second"] = small_ceiling * median_tile[0] * median_tile[1] / 1e6
            result["ratio_vs_benchmark_app_small"] = (result["small_tile_megapixels_per_second"]
                                                      / result["benchmark_app_small_tile_megapixels_per_second"])

        log("seed's way (Paddle dygraph, one tile at a time) ...")
        naive = naive_paddle(ref, tile, sizes.naive_tiles)
        result["naive_paddle_tiles_per_second"] = naive
        result["speedup_vs_naive"] = result["sheet_tiles_per_second"] / naive if naive else None

        log(f"peak RSS of run, 1:1 streamed, on {sizes.huge}x{sizes.huge_height} ...")
        (tmp / "huge").mkdir(exist_ok=True)
        huge = tmp / "huge" / "huge.png"
        cv2.imwrite(str(huge), line_art(sizes.huge_height, sizes.huge, seed=2, strokes=sizes.huge_height * sizes.huge // 10000))
        # --scale none: the 1:1 streamed route of posters, whose memory must not grow with the
        # image (at the defaults, this sheet's strokes join into one 20000 px "object", which
        # takes the reduced-copy route of pages drawn big: measured below)
        one_to_one = [*common, "--scale", "none"]
        rss, secs = peak_rss_of_run(huge.parent, tmp / "huge_out", one_to_one)
        result["huge_shape"] = [sizes.huge_height, sizes.huge]  # rows x columns; --quick: a smaller sheet
        result["peak_rss_mib_huge"] = rss
        result["huge_seconds"] = secs
        rss, secs = peak_rss_of_run(huge.parent, tmp / "huge_out_defaults", common)
        result["peak_rss_mib_huge_defaults"] = rss
        result["huge_defaults_seconds"] = secs
        if card.hint_planes:  # the same sheet with a hint layer, a global colour and kept lines
            write_hint_layers(huge.parent, [(sizes.huge_height, sizes.huge)], names=["huge"], layer_side=2000)
            rss, secs = peak_rss_of_run(huge.parent, tmp / "huge_out_hinted", [*one_to_one, "--color", "#3060c0", "--lines", "keep"])
            result["peak_rss_mib_huge_hinted"] = rss
            result["huge_hinted_seconds"] = secs

        log("--help and compiled-model cache ...")
        result["help_seconds"] = statistics.median(_cli("--help")[1] for _ in range(5))
        one = tmp / "one"
        write_drawings(one, 1, 300, 300, seed=5)
        cold_cache = ["--model", str(ref.model_path.parent), "--precision", precision, "--cache-dir", str(tmp / "fresh_cache")]
        result["one_file_cold_seconds"] = _cli("run", str(one), str(tmp / "one_out_a"), *cold_cache)[1]
        result["one_file_warm_seconds"] = _cli("run", str(one), str(tmp / "one_out_b"), *cold_cache)[1]
        return result
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def format_table(r: dict[str, Any]) -> str:
    def f(v: Any, spec: str = ".1f") -> str:
        return "n/a" if v is None else format(v, spec)

    rows = [
        (f"benchmark_app at {r['tile']} px (ceiling), tiles/s", f(r.get("benchmark_app_tiles_per_second")), f"{f(r.get('benchmark_app_tile_megapixels_per_second'), '.2f')} MP/s"),
        (f"benchmark_app at {r.get('small_median_tile')} (median small tile), tiles/s", f(r.get("benchmark_app_small_tiles_per_second")), f"{f(r.get('benchmark_app_small_tile_megapixels_per_second'), '.2f')} MP/s"),
        ("run, small drawings, tiles/s (adaptive sizes)", f(r.get("small_tiles_per_second")), ""),
        ("run, small drawings, tile MP/s", f(r.get("small_tile_megapixels_per_second"), ".2f"), f"ratio {f(r.get('ratio_vs_benchmark_app_small'), '.2f')}"),
        ("run, small drawings, MP/s", f(r.get("small_megapixels_per_second"), ".2f"), ""),
        ("tile, sheet, tiles/s", f(r.get("sheet_tiles_per_second")), f"ratio {f(r.get('ratio_vs_benchmark_app_sheet'), '.2f')}"),
        ("tile, sheet, MP/s", f(r.get("sheet_megapixels_per_second"), ".2f"), ""),
        ("seed's way (Paddle dygraph), tiles/s", f(r.get("naive_paddle_tiles_per_second"), ".2f"), f"speed-up {f(r.get('speedup_vs_naive'), '.1f')}x"),
        ("run at its defaults (scale auto), small drawings, MP/s", f(r.get("small_megapixels_per_second_defaults"), ".2f"), ""),
        ("peak RSS of run, 1:1 streamed, on {} x {}, MiB".format(*(r.get("huge_shape") or ["?", "?"])[::-1]),
         f(r.get("peak_rss_mib_huge"), ".0f"), ""),
        ("  same with a hint layer, --color, --lines keep, MiB", f(r.get("peak_rss_mib_huge_hinted"), ".0f"), ""),
        ("  at the defaults (one object drawn big: reduced copy), MiB", f(r.get("peak_rss_mib_huge_defaults"), ".0f"),
         f"{f(r.get('huge_defaults_seconds'), '.1f')} s"),
        ("overlap overhead (tiles x T^2 / pixels)", f(r.get("overlap_overhead"), ".3f"), ""),
        ("batchcolor --help, s", f(r.get("help_seconds"), ".3f"), ""),
        ("1-file run, cache cold / warm, s", f"{f(r.get('one_file_cold_seconds'), '.2f')} / {f(r.get('one_file_warm_seconds'), '.2f')}", ""),
    ]
    precision = r["precision"] if r.get("resolved_precision", r["precision"]) == r["precision"] else \
        f"{r['precision']} (= {r['resolved_precision']} here)"
    head = (f"batchcolor bench: {r['model']}, tile {r['tile']} overlap {r['overlap']}, precision {precision}, "
            f"THROUGHPUT hint, {r['cpu']} x{r['cores']}{' (quick)' if r['quick'] else ''}"
            f"{'; ratios: best of ' + str(r['repeats']) + ' each side' if r.get('repeats', 1) > 1 else ''}")
    width = max(len(a) for a, _, _ in rows)
    return "\n".join([head] + [f"  {a:<{width}}  {b:>10}  {c}" for a, b, c in rows])
