"""INT8 vs bf16 vs fp32 for one model: throughput (benchmark_app) and quality, in one run.

    python benchmarks/int8.py models/product-sketch models/product-sketch-int8 \
        --data ../shared/data/edges2shoes-handbags [--json int8.json]

Quality is measured two ways on the validation pairs (shoes hold-out: last 100 of
shoes-train; handbags-val): against the targets (what users care about), and against the
fp32 output of the float model (how far quantization moved the pixels). Throughput is
``benchmark_app`` at 256x256 and at the card's tile, THROUGHPUT hint, default precision for
the float model (bf16 on AVX-512 BF16 / AMX CPUs) and for the INT8 model.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batchcolor.tools import metrics  # noqa: E402
from batchcolor.tools.bench import benchmark_app  # noqa: E402
from batchcolor.colorize.settings import InferenceSettings  # noqa: E402
from batchcolor.tools.evaluate import load_eval_pairs, predict  # noqa: E402
from batchcolor.inference.modelcard import resolve_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("float_model", type=Path)
    ap.add_argument("int8_model", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    ref = resolve_model(args.float_model)
    card = ref.card
    size = card.scale or 256
    sets = {"shoes hold-out": load_eval_pairs(args.data / "shoes-train", size, last=100),
            "handbags-val": load_eval_pairs(args.data / "handbags-val", size)}
    variants = {"fp32": (args.float_model, "f32"), "bf16": (args.float_model, "bf16"), "int8": (args.int8_model, "auto")}
    result: dict = {"float_model": str(args.float_model), "int8_model": str(args.int8_model), "quality": {}, "speed": {}}
    for set_name, data in sets.items():
        outs = {name: predict(InferenceSettings(model=str(m), precision=p), data.edges)[0] for name, (m, p) in variants.items()}
        rows = {}
        for name, out in outs.items():
            vs_target = metrics.all_metrics(out, data.targets)
            rows[name] = {"psnr_vs_target": vs_target["psnr"], "ssim_vs_target": vs_target["ssim"],
                          "ciede2000_vs_target": vs_target["ciede2000"],
                          "psnr_vs_fp32": metrics.psnr(out, outs["fp32"]) if name != "fp32" else None,
                          "ssim_vs_fp32": metrics.ssim(out, outs["fp32"]) if name != "fp32" else None}
        result["quality"][set_name] = rows
    for tile in (256, card.tile):
        result["speed"][str(tile)] = {
            "fp32": benchmark_app(ref.model_path, card.input_channels, tile, "f32", args.seconds),
            "bf16": benchmark_app(ref.model_path, card.input_channels, tile, "bf16", args.seconds),
            "int8": benchmark_app(resolve_model(args.int8_model).model_path, card.input_channels, tile, "auto", args.seconds),
        }
    print(format_table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def format_table(r: dict) -> str:
    def f(v, spec=".2f"):
        return "-" if v is None else format(v, spec)

    lines = ["throughput, tiles/s (benchmark_app, THROUGHPUT hint):"]
    for tile, s in r["speed"].items():
        lines.append(f"  {tile}x{tile}: fp32 {f(s['fp32'], '.1f')}  bf16 {f(s['bf16'], '.1f')}  int8 {f(s['int8'], '.1f')}"
                     f"  -> int8/bf16 {f(s['int8'] / s['bf16'] if s['int8'] and s['bf16'] else None)}x")
    lines.append("quality (PSNR dB / SSIM / CIEDE2000 vs targets; PSNR dB / SSIM vs the fp32 output):")
    for set_name, rows in r["quality"].items():
        for name, q in rows.items():
            lines.append(f"  {set_name:<15} {name:<5} {q['psnr_vs_target']:.2f} / {q['ssim_vs_target']:.4f} / "
                         f"{q['ciede2000_vs_target']:.2f}   vs fp32: {f(q['psnr_vs_fp32'])} / {f(q['ssim_vs_fp32'], '.4f')}")
        delta = rows["int8"]["psnr_vs_target"] - rows["fp32"]["psnr_vs_target"]
        lines.append(f"  {set_name:<15} int8 PSNR change vs targets: {delta:+.3f} dB")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
