"""The ``batchcolor`` command: a thin Click layer over the library.

Every command imports its implementation inside the function, so ``batchcolor --help`` loads
neither OpenVINO nor OpenCV, and nothing but ``train``/``export`` ever loads Paddle.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from batchcolor import __version__
from batchcolor.errors import EXIT_FATAL, EXIT_SIGINT, EXIT_USAGE, BatchcolorError


def _json_logs() -> bool:
    """``--log-format json`` (or its variable) was asked for: then usage and fatal errors are
    JSON lines too, and a log shipper sees every outcome in one format."""
    argv = sys.argv[1:]
    asked = any(a == "--log-format=json" or (a == "--log-format" and argv[i + 1 : i + 2] == ["json"])
                for i, a in enumerate(argv))
    return asked or os.environ.get("BATCHCOLOR_LOG_FORMAT") == "json"


def _error_line(kind: str, message: str, code: int) -> None:
    """One line on stderr (JSON with --log-format json), then exit ``code``."""
    if _json_logs():
        click.echo(json.dumps({"event": "error", "kind": kind, "error": message, "exit_code": code,
                               "time": round(time.time(), 3)}), err=True)
    else:
        click.echo(f"batchcolor: error: {message}" if kind != "interrupted" else "batchcolor: interrupted", err=True)
    sys.exit(code)


def _report_errors(fn: Callable) -> Callable:
    """Library errors become one clear line on stderr and their documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BatchcolorError as exc:
            _error_line("usage" if exc.exit_code == EXIT_USAGE else "fatal", str(exc), exc.exit_code)
        except ValueError as exc:
            _error_line("usage", str(exc), EXIT_USAGE)
        except OSError as exc:  # a read-only or full disk, OUT_DIR below a file: the path and the cause
            where = exc.filename if exc.filename is not None else ""
            _error_line("fatal", f"{where}{': ' if where else ''}{exc.strerror or exc}", EXIT_FATAL)

    return wrapper


MAX_PIXELS = 400_000_000  # run and tile refuse bigger images from the header, before decoding
# What ``run`` and ``tile`` do when neither the command line nor a pipeline names a scale: a
# drawing is coloured at the size the model learned, whichever command was asked.
DEFAULT_SCALE = "auto"


@contextlib.contextmanager
def _terminate_as_exit() -> Any:
    """SIGTERM raises SystemExit(143) in the main thread, so ``finally``/``except`` blocks
    (the atomic writer's temp-file cleanup) run instead of the process vanishing."""
    import signal

    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(143)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _env(name: str) -> str:
    return f"BATCHCOLOR_{name.upper()}"


def inference_options(with_env: bool = False) -> Callable[[Callable], Callable]:
    """Options shared by ``tile`` and ``run``; defaults of None mean 'from the model card'.

    ``run`` also reads them from ``BATCHCOLOR_*`` variables (cron jobs configure by
    environment); ``tile`` is interactive and takes only what is typed.
    """

    def env(name: str) -> dict[str, str]:
        return {"envvar": _env(name)} if with_env else {}

    options = [
        click.option("--model", "-m", default=None, **env("model"), help="Model folder, .xml IR, .onnx or installed model name (default: the installed default model)."),
        click.option("--tile", type=click.IntRange(16, 4096), default=None, **env("tile"), help="Largest tile side in px, a multiple of the model's stride (default: from the model card); each axis of a drawing gets the smallest size that holds it, or that as many tiles still cover."),
        click.option("--overlap", type=click.IntRange(0, 4095), default=None, **env("overlap"), help="Pixels two neighbouring tiles share: 3/8 of it is a discarded context margin on each side, the middle 1/4 a raised-cosine cross-fade (default: from the model card)."),
        click.option("--device", default="CPU", show_default=True, **env("device"), help="OpenVINO device: CPU, GPU, NPU, AUTO, ..."),
        click.option("--precision", type=click.Choice(["auto", "bf16", "f16", "f32"]), default="auto", show_default=True, **env("precision"), help="INFERENCE_PRECISION_HINT; auto: on a CPU with AVX-512 BF16 but no AMX, f32 on Intel (faster and exact there) and bf16 on AMD (2x f32 on Zen 4); else the device's default (bf16 with AMX)."),
        click.option("--scale", default=None, **env("scale"), help="'none' (1:1), 'auto' (resize the drawing so its drawn objects match the model's training scale, and back) or a resize factor (default: auto)."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None, **env("cache_dir"), help="Compiled-model cache (default: ~/.cache/batchcolor/openvino)."),
        click.option("--no-cache", is_flag=True, help="Do not use the compiled-model cache."),
        click.option("--color", default=None, **env("color"), help="'#RRGGBB': the main colour of the drawn object (models trained with hints). A hint layer's points win where they are."),
        click.option("--lines", type=click.Choice(["keep", "none", "auto"]), default=None, **env("lines"), help="keep: lay the drawing's own lines over the colour (multiply); none: the network's output as it is; auto: keep them where the colouring was enlarged 2x or more (a big drawing coloured at the model's scale) and on comic pages (panels or screentone found), and at 35% where the ink is heavy (strokes wider than an edge map's at the model's scale; not on streamed huge images) (default: from the model card)."),
        click.option("--saturation", type=click.FloatRange(0.0, 4.0), default=None, **env("saturation"), help="Chroma gain of automatic colours (no hints, no --color), the same for every object: 1 is the network's own, 0 gray (default: the model card's: each object's chroma aimed at its measured level where the card has one, else its measured gain)."),
        click.option("--levels", type=click.Choice(["auto", "off"]), default=None, **env("levels"), help="auto: a drawing on gray, uneven or grainy paper (a scan, a photo of a page) has its paper made white before colouring, as the model was trained, and a negative (light lines on dark paper: a blueprint, chalk on a board) is turned over first; drawings on clean white are left as they are. off: the pixels as they come (default: auto)."),
        click.option("--construction", type=click.Choice(["drop", "keep"]), default=None, **env("construction"), help="drop: a colour drawing's light coloured pencil lines (non-photo blue, red construction lines) beside its black ink are made paper before colouring, as a colourist drops them (a drawing with no black ink keeps its coloured lines), and so are a notebook page's printed ruled lines, squares or dot grid (under 16 MP). keep: the pixels as they come (default: drop)."),
        click.option("--hue", type=click.Choice(["object", "pixel"]), default=None, **env("hue"), help="Automatic colours (no hints, no --color): object: one hue per drawn object, with the network's light and shade (not on streamed huge images); pixel: the network's hue at each pixel (default: the model card's)."),
    ]

    def decorate(fn: Callable) -> Callable:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _settings(model, tile, overlap, device, precision, scale, cache_dir, no_cache, color=None, lines=None, saturation=None,
              hue=None, levels=None, construction=None, **extra):
    from batchcolor.colorize.settings import InferenceSettings, default_cache_dir
    from batchcolor.drawing.hints import parse_color

    if color is not None:
        try:
            parse_color(color)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--color") from None
    return InferenceSettings(
        model=model, tile=tile, overlap=overlap, device=device, precision=precision, scale=scale or DEFAULT_SCALE,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()), color=color, lines=lines,
        saturation=saturation, hue=hue, levels=levels, construction=construction, **extra,
    )


class _Group(click.Group):
    """Ctrl-C anywhere (start-up included: imports, compiling, walking) exits 130, as the
    shell convention and ``run``'s own handler say, not click's 'Aborted!' and 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _error_line("interrupted", "interrupted", EXIT_SIGINT)
        except click.exceptions.Exit:
            raise
        except click.ClickException as exc:
            if not _json_logs():
                raise
            _error_line("usage", exc.format_message(), exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batchcolor")
def main() -> None:
    """Batch line-art-to-color on OpenVINO.

    \b
    Exit codes: 0 all done, 1 fatal (e.g. model missing), 2 usage,
    3 some files failed, 11 another run holds the lock, 130/143 interrupted.
    """


@main.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Output file (default: IMAGE_color.png beside the input).")
@inference_options()
@click.option("--save-tiles", type=click.Path(file_okay=False, path_type=Path), default=None, help="Write input tiles, output tiles and a picture of the tile grid here (for debugging seams).")
@click.option("--hints", "hints_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Hint layer: an RGBA PNG of any size; pixels with alpha >= 128 are colour hints (default: IMAGE's NAME.hints.png if there is one).")
@click.option("--max-pixels", type=click.IntRange(1), default=MAX_PIXELS, show_default=True, help="Refuse larger images (checked from the header), as run does.")
@click.option("--pipeline", "-p", default=None, help="Preset name in pipelines/ or a .toml path, as run takes it (default: run's default preset, so one image comes out as run makes it); its run-only settings (format, workers, inflight_megapixels) are not used.")
@click.pass_context
@_report_errors
def tile(ctx: click.Context, image: Path, output: Path | None, save_tiles: Path | None, hints_path: Path | None,
         pipeline: str | None, **opts: Any) -> None:
    """Colorize one (huge) IMAGE with overlapping tiles, with run's settings."""
    from batchcolor.colorize.single import colorize_one

    opts = _with_pipeline(ctx, opts, pipeline)
    max_pixels = opts.pop("max_pixels")
    out = output or image.with_name(f"{image.stem}_color.png")
    with _terminate_as_exit():  # SIGTERM unwinds like Ctrl-C: the temp output is removed
        report = colorize_one(image, out, _settings(**opts), save_tiles=save_tiles, hints=hints_path,
                              max_pixels=max_pixels)
    click.echo(report, err=True)


def _layered(ctx: click.Context, values: dict[str, Any], preset: dict[str, Any]) -> dict[str, Any]:
    """Command line > environment > pipeline file > defaults. Settings the command has no
    option for (``tile`` writes one file: no format, workers or in-flight budget) are left out."""
    from click.core import ParameterSource

    out = dict(values)
    for name, value in preset.items():
        source = ctx.get_parameter_source(name)
        if name in values and source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            out[name] = value
    return out


def _with_pipeline(ctx: click.Context, opts: dict[str, Any], pipeline: str | None) -> dict[str, Any]:
    """``opts`` with the named preset (or the installed ``default`` one) layered under them:
    ``run`` and ``tile`` read the same defaults, so one drawing comes out the same from both."""
    from batchcolor.batch.pipelines import find_pipeline, load_pipeline

    if pipeline is None:
        try:
            pipeline = str(find_pipeline("default"))
        except BatchcolorError:
            return opts  # no default preset installed: built-in defaults
    return _layered(ctx, opts, load_pipeline(pipeline))


@main.command()
@click.argument("in_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--pipeline", "-p", envvar=_env("pipeline"), default=None, help="Preset name in pipelines/ or a .toml path.")
@inference_options(with_env=True)
@click.option("--format", "format", envvar=_env("format"), type=click.Choice(["png", "jpg", "webp", "same"]), default="png", show_default=True)
@click.option("--max-pixels", envvar=_env("max_pixels"), type=click.IntRange(1), default=MAX_PIXELS, show_default=True, help="Refuse larger images (checked from the header).")
@click.option("--inflight-megapixels", envvar=_env("inflight_megapixels"), type=click.FloatRange(0.1), default=64.0, show_default=True, help="Pixel budget of files decoded and in flight at once.")
@click.option("--workers", envvar=_env("workers"), type=click.IntRange(1, 64), default=None, help="Files in flight (default: 2x the infer requests, at least 4).")
@click.option("--force", is_flag=True, help="Redo every file, even up-to-date ones.")
@click.option("--prune", is_flag=True, help="Delete outputs whose input is gone.")
@click.option("--checksum", is_flag=True, help="Compare content hashes, not just size and mtime.")
@click.option("--dry-run", is_flag=True, help="List what would be done, change nothing.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing file.")
@click.option("--wait", "wait_seconds", type=click.FloatRange(0), default=0.0, help="Wait up to SECONDS for another run's lock instead of exiting 11.")
@click.option("--log-format", envvar=_env("log_format"), type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also list up-to-date files (the summary always counts them).")
@click.option("--scheduler", envvar=_env("scheduler"), default=None, help="Dask scheduler address (tcp://host:8786): run the files on a cluster. Needs the dask extra and a shared mount.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True, help="Extra attempts per file on a Dask cluster.")
@click.pass_context
@_report_errors
def run(ctx: click.Context, in_dir: Path, out_dir: Path, pipeline: str | None, **opts: Any) -> None:
    """Colorize every image under IN_DIR into a mirrored tree in OUT_DIR.

    \b
    Incremental: files already done with the same model and settings are skipped.
    Exit codes: 0 all done, 1 fatal, 2 usage, 3 some files failed,
    11 another run holds OUT_DIR's lock, 130 SIGINT, 143 SIGTERM.
    """
    from batchcolor.batch.report import Reporter
    from batchcolor.batch.runner import RunOptions, run_batch

    opts = _with_pipeline(ctx, opts, pipeline)
    settings = _settings(opts.pop("model"), opts.pop("tile"), opts.pop("overlap"), opts.pop("device"),
                         opts.pop("precision"), opts.pop("scale"), opts.pop("cache_dir"), opts.pop("no_cache"),
                         opts.pop("color"), opts.pop("lines"), opts.pop("saturation"), opts.pop("hue"), opts.pop("levels"),
                         opts.pop("construction"))
    reporter = Reporter(opts.pop("log_format"), verbose=opts.pop("verbose"))
    options = RunOptions(in_dir=in_dir, out_dir=out_dir, inference=settings, fmt=opts.pop("format"), **opts)
    sys.exit(run_batch(options, reporter).exit_code)


@main.command()
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--run-dir", required=True, type=click.Path(file_okay=False), help="Run folder (checkpoints, previews, logs).")
@click.option("--arch", type=click.Choice(["unet", "pix2pix"]), default="unet", show_default=True)
@click.option("--size", type=click.Choice(["64", "128", "192", "256"]), default="128", show_default=True,
              help="Training crop, px. 192 fits a whole object with paper round it at the size `--scale auto` gives it.")
@click.option("--gray-edges", is_flag=True, help="1-channel edge input (memory-saving variant).")
@click.option("--width", type=click.IntRange(4, 128), default=16, show_default=True, help="UNet base width.")
@click.option("--depth", type=click.IntRange(2, 6), default=4, show_default=True, help="UNet levels; stride is 2**depth.")
@click.option("--up", type=click.Choice(["resize", "bilinear", "transpose"]), default="resize", show_default=True,
              help="Decoder up-sampling: nearest x2 + conv, the same made bilinear by a fixed blur (no 2x2 banding; "
                   "a resize checkpoint initialises it), or 2x2 transposed convolutions.")
@click.option("--epochs", type=click.IntRange(1), default=None)
@click.option("--time-budget", "time_budget", type=click.FloatRange(0.1), default=None, help="Minutes of training (instead of --epochs).")
@click.option("--max-steps", type=click.IntRange(1), default=None, help="Stop after this many steps (smoke runs).")
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True)
@click.option("--lr", type=float, default=2e-4, show_default=True)
@click.option("--l1-weight", type=float, default=100.0, show_default=True, help="Weight of the reconstruction term (the pix2pix paper's lambda).")
@click.option("--recon", type=click.Choice(["l1", "mse"]), default="l1", show_default=True,
              help="Reconstruction loss: L1 (the per-pixel median: crisper, the pix2pix default) or squared error "
                   "(the per-pixel mean: what PSNR rewards; greyer where the colour is ambiguous). best.pdckpt follows it: "
                   "lowest validation L1, or highest validation PSNR.")
@click.option("--gan-mode", type=click.Choice(["vanilla", "lsgan"]), default="vanilla", show_default=True)
@click.option("--no-flip", is_flag=True, help="Disable random horizontal flips.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--val-last", type=click.IntRange(0), default=0, help="Hold out the last N pairs (natural order) of each data folder.")
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=0.05, show_default=True, help="Seeded random hold-out when --val-last/--val-dir are not given.")
@click.option("--val-dir", "val_dirs", multiple=True, type=click.Path(exists=True, file_okay=False), help="Validation folder(s) instead of a hold-out.")
@click.option("--hints", is_flag=True, help="Train a hint-following model: 8 more input planes with simulated colour hints (points, strokes, a global colour; see README).")
@click.option("--augment", is_flag=True, help="Re-draw each pair in a random line style (1-3 px, breaks, ink/pencil) at a random scale.")
@click.option("--scale-min", type=click.FloatRange(0.1, 1.0), default=0.5, show_default=True, help="Smallest object scale of --augment.")
@click.option("--scale-max", type=click.FloatRange(1.0, 4.0), default=2.0, show_default=True, help="Largest object scale of --augment.")
@click.option("--line-max", type=click.IntRange(1, 9), default=3, show_default=True, help="Thickest line of --augment, px at the 256 px source (1-3 is pencil and pen; 5 covers markers and XDoG-style edges).")
@click.option("--restyle", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Share of --augment samples whose edges are drawn again from the photo by Canny or ink (random settings), so the model is not tied to one edge extractor.")
@click.option("--recolour", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Share of hinted samples trained on a recoloured photo (hue rotated, chroma scaled or tinted), so hints of any colour are followed.")
@click.option("--hint-weight", type=click.FloatRange(0, 100), default=0.0, show_default=True, help="Extra L1 weight on hinted pixels (with --hints).")
@click.option("--gradient-weight", type=click.FloatRange(0, 100), default=0.0, show_default=True, help="Extra L1 weight on the image's x/y differences, so edges and lines stay where the photo has them instead of blurring into the median colour.")
@click.option("--line-weight", type=click.FloatRange(0, 100), default=0.0, show_default=True, help="Extra L1 weight (values and x/y differences) on the drawing's line pixels, so the output keeps an edge where the user drew one.")
@click.option("--threads", default=None, metavar="N|auto", help="Paddle's CPU threads. auto: the first steps are timed at 1, 2, 4 ... up to the core count and the fastest is kept (which wins depends on the recipe and the box). Default: OMP_NUM_THREADS, else Paddle's own.")
@click.option("--init-from", type=click.Path(exists=True), default=None, help="Start the generator from this run, checkpoint, or model folder (e.g. models/product-sketch: fine-tune the shipped model on your pairs; give its --width, --depth, --up).")
@click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR from last.pdckpt.")
@_report_errors
def train(data_dirs, run_dir, size, time_budget, no_flip, resume, **opts):
    """Train a UNet (L1) or pix2pix generator on paired line art (PaddlePaddle)."""
    import shlex

    from batchcolor.train.threads import parse_threads
    from batchcolor.train.trainer import TrainConfig, train as run_training

    try:
        opts["threads"] = parse_threads(opts["threads"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--threads")
    if resume and (Path(run_dir) / "config.json").exists():
        config = TrainConfig.for_resume(run_dir, opts["epochs"], time_budget, opts["max_steps"], opts["threads"])
    else:
        if opts["epochs"] is None and time_budget is None and opts["max_steps"] is None:
            raise click.UsageError("give --epochs N or --time-budget MINUTES")
        if opts["restyle"] and not opts["augment"]:  # the re-drawing is part of --augment's sampling
            raise click.UsageError("--restyle re-draws --augment samples: give --augment too")
        config = TrainConfig(
            data=tuple(str(d) for d in data_dirs), run_dir=str(run_dir), size=int(size), time_budget_min=time_budget,
            flip=not no_flip, command="batchcolor " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            **{**opts, "val_dirs": tuple(opts["val_dirs"])},
        )
    try:
        state = run_training(config, resume=resume, log=lambda m: click.echo(m, err=True))
    except (FileExistsError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(f"done: {state.step} steps, {state.epoch} epochs, {state.seconds / 60:.1f} min; best val {'-PSNR' if config.recon == 'mse' else 'L1'} {state.best_val:.4f}", err=True)


@main.command()
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint to write (.pdckpt).")
@click.option("--weight", "weights", multiple=True, type=click.FloatRange(0), help="One per checkpoint, in order (default: equal).")
@_report_errors
def average(checkpoints: tuple[Path, ...], output: Path, weights: tuple[float, ...]) -> None:
    """Average the generators of several fine-tunes of one network (a "model soup").

    CHECKPOINTS are .pdckpt files or run folders, all fine-tuned from the same weights. The
    result exports, evaluates and starts runs like a trained checkpoint; judge it on your
    hold-outs as any other (models/ship.py does).
    """
    import shlex

    from batchcolor.train.weights import average_checkpoints

    if weights and len(weights) != len(checkpoints):
        raise click.UsageError(f"{len(weights)} --weight for {len(checkpoints)} checkpoints: give one each, or none")
    try:
        target = average_checkpoints(list(checkpoints), output, list(weights) or None,
                                     command="batchcolor " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    except (ValueError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc))
    click.echo(f"wrote {target}: the mean of {len(checkpoints)} generators", err=True)


@main.command()
@click.option("--model", "-m", default=None, help="Model to measure (default: the installed default).")
@click.option("--quick", is_flag=True, help="Small workloads, same method (CI runs this).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "f16", "f32"]), default="auto", show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the results here.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Keep the generated inputs and outputs here.")
@_report_errors
def bench(model: str | None, quick: bool, precision: str, json_path: Path | None, workdir: Path | None) -> None:
    """Measure this box: pipeline vs benchmark_app, vs the seed's Paddle way, memory, start-up."""

    from batchcolor.tools.bench import format_table, run_bench

    with _terminate_as_exit():  # SIGTERM unwinds: the child run is killed and the temp inputs removed
        result = run_bench(model, quick, precision, workdir, log=lambda m: click.echo(m, err=True))
    click.echo(format_table(result))
    if json_path:
        json_path.write_text(json.dumps(result, indent=2) + "\n")


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_models(as_json: bool) -> None:
    """List installed models (BATCHCOLOR_MODELS, the source tree's models/, the install prefix)."""

    from batchcolor.inference.registry import describe, installed_rows, search_path

    rows = installed_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no models installed; looked in: " + ", ".join(str(p) for p in search_path()))
        return
    for r in rows:
        click.echo(describe(r))


@main.command()
@click.argument("photos_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--size", type=click.IntRange(16, 2048), default=256, show_default=True, help="Side of each half of the AB pair.")
@click.option("--method", type=click.Choice(["canny", "xdog", "ink", "sobel"]), default="canny", show_default=True, help="Edge extractor: Canny (thin contours, like the shared data), XDoG (sketchy, about 4 px), ink (adaptive threshold: thick lines on each edge's dark side, dark texture inked), sobel (strongest gradients thinned to 1 px).")
@click.option("--min-component", type=click.IntRange(0), default=12, show_default=True, help="Drop edge fragments smaller than this (px).")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg"]), default="png", show_default=True)
@_report_errors
def prepare(photos_dir: Path, out_dir: Path, size: int, method: str, min_component: int, fmt: str) -> None:
    """Make pix2pix AB training pairs (edges | photo) from colour photos."""
    from batchcolor.tools.prepare import EdgeSettings, prepare_folder

    written, failures = prepare_folder(photos_dir, out_dir, size, EdgeSettings(method=method, min_component=min_component), fmt)
    for path, reason in failures:
        click.echo(f"FAILED {path}: {reason}", err=True)
    click.echo(f"wrote {written} AB pairs to {out_dir}", err=True)
    sys.exit(3 if failures else 0)


@main.command()
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "model_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model folder to write (IR + card.json).")
@click.option("--name", default=None, help="Model name for the card (default: the folder name).")
@click.option("--tile", type=click.IntRange(16, 4096), default=512, show_default=True, help="Recommended tile for the card.")
@click.option("--overlap", type=click.IntRange(0, 4095), default=None, help="Recommended overlap for the card (default: the smallest that meets the seam bar, measured on the exported model; 128 if it cannot be measured).")
@click.option("--lines", type=click.Choice(["keep", "none", "auto"]), default="none", show_default=True, help="The card's default for --lines.")
@click.option("--color-transfer", type=click.Choice(["chroma", "none"]), default="none", show_default=True, help="How --color finishes the network's output: chroma lays the colour's hue on the object, keeping the network's light and shade (see batchcolor/drawing/chroma.py).")
@click.option("--hint-transfer", type=click.Choice(["regions", "distance"]), default="regions", show_default=True, help="With --color-transfer chroma, how a hint layer's colours spread: regions (the drawing's line-bounded areas, hue only) or distance (from the nearest hints, hue and lightness; lines kept).")
@click.option("--paper", type=click.Choice(["keep", "model"]), default="model", show_default=True, help="keep: outside the drawn objects the output shows the drawing's own paper (see batchcolor/drawing/paper.py); model: the network's output everywhere.")
@click.option("--hint-input", type=click.Choice(["points", "mean"]), default="points", show_default=True, help="With --color-transfer chroma, what the network sees of a hint layer: its points, or only their median colour as a global colour (the finishing step lays the points; no blob under each dot).")
@click.option("--saturation", type=click.FloatRange(1.0, 4.0), default=1.0, show_default=True, help="The card's chroma gain for automatic colours (measure it: models/ship.py picks it on the hold-outs).")
@click.option("--automatic-hue", type=click.Choice(["object", "pixel"]), default="pixel", show_default=True, help="The card's default for run's --hue: automatic colours with one hue per drawn object, or the network's per pixel.")
@click.option("--object-px", type=click.IntRange(16, 4096), default=None, help="The card's scale: the object size --scale auto brings drawings to (default: the training size times the geometric mean of the run's scale augmentation).")
@click.option("--fp32", is_flag=True, help="Keep fp32 weights (default: fp16-compressed IR, half the size).")
@click.option("--default", "make_default", is_flag=True, help="Mark the model as the default in its card.")
@click.option("--int8", is_flag=True, help="Also write an INT8 variant (NNCF post-training quantization) to OUTPUT-int8; if RUN is a model folder, only quantize it into OUTPUT.")
@click.option("--calibration", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="Line art (or AB pairs) for INT8 calibration.")
@click.option("--calibration-count", type=click.IntRange(1, 10000), default=64, show_default=True)
@_report_errors
def export(run: Path, model_dir: Path, name: str | None, tile: int, overlap: int | None, lines: str, color_transfer: str,
           hint_transfer: str, hint_input: str, paper: str, saturation: float, automatic_hue: str, object_px: int | None, fp32: bool, make_default: bool, int8: bool,
           calibration: Path | None, calibration_count: int) -> None:
    """Export a training run (or checkpoint) to an OpenVINO model folder, parity-checked.

    With --int8, also quantize it (or, given a model folder, only quantize that).
    """
    if int8 and calibration is None:
        raise click.UsageError("--int8 needs --calibration DIR")
    from batchcolor.inference.modelcard import is_model_folder

    if is_model_folder(run):
        if not int8:
            raise click.UsageError(f"{run} is already a model folder; pass --int8 --calibration DIR to quantize it")
        from batchcolor.inference.quantize import quantize_folder

        quantize_folder(run, calibration, model_dir, calibration_count)
        click.echo(f"wrote INT8 model {model_dir}", err=True)
        return
    from batchcolor.train.export import export_run

    result = export_run(run, model_dir, name=name, tile=tile, overlap=overlap, fp16=not fp32, lines=lines,
                        color_transfer=color_transfer, hint_transfer=hint_transfer, hint_input=hint_input,
                        paper=paper, saturation=saturation, automatic_hue=automatic_hue, object_px=object_px,
                        make_default=make_default)
    click.echo(f"exported {result.model_dir}: {result.parameters:,} parameters, {result.gmac_per_tile:.2f} GMAC per 256 tile; "
               f"parity (OpenVINO f32 vs Paddle) max abs {result.parity_random:.2e} random, "
               f"{result.parity_real if result.parity_real is not None else float('nan'):.2e} real", err=True)
    if int8:
        from batchcolor.inference.quantize import quantize_folder

        target = model_dir.with_name(model_dir.name + "-int8")
        quantize_folder(model_dir, calibration, target, calibration_count)
        click.echo(f"wrote INT8 model {target}", err=True)


@main.command("eval")
@click.argument("model", type=str)
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Write report.json and contact_sheet.png here.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Evaluate at most N pairs.")
@click.option("--last", type=click.IntRange(1), default=None, help="Evaluate the last N pairs (natural order), e.g. a hold-out.")
@click.option("--size", type=click.IntRange(16, 4096), default=None, help="Evaluation size (default: the card's training scale).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "f16", "f32"]), default="f32", show_default=True)
@click.option("--scale", default="none", show_default=True, help="As run's --scale ('auto' is run's default; use it with --size 256 to measure what users get).")
@click.option("--lines", type=click.Choice(["keep", "none", "auto"]), default=None, help="As run's --lines (default: the card's).")
@click.option("--saturation", type=click.FloatRange(0.0, 4.0), default=None, help="As run's --saturation (default: the card's).")
@click.option("--hue", type=click.Choice(["object", "pixel"]), default=None, help="As run's --hue (default: the card's).")
@click.option("--levels", type=click.Choice(["auto", "off"]), default=None, help="As run's --levels (default: auto).")
@click.option("--hints", "points", type=click.IntRange(0, 1000), default=0, show_default=True, help="Also evaluate with N seeded 5x5 point hints sampled from each target (hinted models).")
@click.option("--global-color", is_flag=True, help="Also evaluate with each target's median object colour as --color (hinted models).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the point hints.")
@_report_errors
def evaluate(model: str, data_dir: Path, report_dir: Path | None, limit: int | None, last: int | None, size: int | None,
             precision: str, scale: str, lines: str | None, saturation: float | None, hue: str | None,
             levels: str | None, points: int, global_color: bool, seed: int) -> None:
    """Score MODEL on paired DATA_DIR: PSNR, SSIM, CIEDE2000, L1, colorfulness, line recall and
    hint fidelity, automatic and hinted, vs a flat baseline."""

    from batchcolor.colorize.settings import InferenceSettings
    from batchcolor.tools.evaluate import evaluate as run_eval

    settings = InferenceSettings(model=model, precision=precision, cache_dir=None, scale=scale, lines=lines,
                                 saturation=saturation, hue=hue, levels=levels)
    report = run_eval(settings, data_dir, report_dir, limit, last, size, points, global_color, seed)
    click.echo(json.dumps(report, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
