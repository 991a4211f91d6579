"""The ``batchcolor`` command: a thin Click layer over the library.

Every command imports its implementation inside the function, so ``batchcolor --help`` loads
neither OpenVINO nor OpenCV, and nothing but ``train``/``export`` ever loads Paddle.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import BatchcolorError, EXIT_FATAL, EXIT_USAGE


def _report_errors(fn: Callable) -> Callable:
    """Library errors become one clear line on stderr and their documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BatchcolorError as exc:
            click.echo(f"batchcolor: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except ValueError as exc:
            click.echo(f"batchcolor: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


def inference_options(fn: Callable) -> Callable:
    """Options shared by ``tile`` and ``run``; defaults of None mean 'from the model card'."""
    options = [
        click.option("--model", "-m", default=None, help="Model folder, .xml IR or .onnx (default: the installed default model)."),
        click.option("--tile", type=click.IntRange(16, 4096), default=None, help="Tile size in px, a multiple of the model's stride (default: from the model card)."),
        click.option("--overlap", type=click.IntRange(0, 4095), default=None, help="Pixels two neighbouring tiles share: 3/8 of it is a discarded context margin on each side, the middle 1/4 a raised-cosine cross-fade (default: from the model card)."),
        click.option("--device", default="CPU", show_default=True, help="OpenVINO device: CPU, GPU, NPU, AUTO, ..."),
        click.option("--precision", type=click.Choice(["auto", "bf16", "f16", "f32"]), default="auto", show_default=True, help="INFERENCE_PRECISION_HINT; auto is the device's default (bf16 on CPUs with AVX-512 BF16 or AMX)."),
        click.option("--scale", default="none", show_default=True, help="'none', 'auto' (resize the drawing to the model's training scale and back) or a resize factor."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Compiled-model cache (default: ~/.cache/batchcolor/openvino)."),
        click.option("--no-cache", is_flag=True, help="Do not use the compiled-model cache."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(model, tile, overlap, device, precision, scale, cache_dir, no_cache, **extra):
    from .colorize import InferenceSettings, default_cache_dir

    return InferenceSettings(
        model=model, tile=tile, overlap=overlap, device=device, precision=precision, scale=scale,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()), **extra,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@inference_options
@click.option("--save-tiles", type=click.Path(file_okay=False, path_type=Path), default=None, help="Write input tiles, output tiles and a picture of the tile grid here (for debugging seams).")
@_report_errors
def tile(image: Path, output: Path | None, save_tiles: Path | None, **opts: Any) -> None:
    """Colorize one (huge) IMAGE with overlapping tiles."""
    from .single import colorize_one

    out = output or image.with_name(f"{image.stem}_color.png")
    report = colorize_one(image, out, _settings(**opts), save_tiles=save_tiles)
    click.echo(report, err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
