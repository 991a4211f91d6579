"""How the shipped default model is made from a training run: export, evaluate, measure, card.

    python models/ship.py RUN_DIR models/NAME [--data ../shared/data/edges2shoes-handbags]
                          [--int8 ../shared/data/edges2shoes-handbags/handbags-train]

1. ``batchcolor export RUN_DIR -o models/NAME --default`` (fp16 IR, parity-gated);
2. ``batchcolor eval`` on the shoes hold-out (last 100 of shoes-train) and on handbags-val;
3. ``benchmark_app`` tiles/s at 256x256, THROUGHPUT hint, default precision (bf16 here);
4. metrics, speed and the data licence caveat go into ``card.json``; the shoes contact
   sheet is copied to ``models/NAME/contact_sheet.png``.
5. With ``--int8 CALIB``: ``batchcolor export models/NAME --int8 --calibration CALIB -o
   models/NAME-int8`` (NNCF), then steps 2-4 for it (calibrate on images the evaluation
   does not use: handbags-train, whose hold-out is not one of the reported sets).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

LICENCE = ("Trained on the pix2pix edges2shoes (UT Zappos50K photos) and edges2handbags (iGAN project photos) "
           "datasets, which are for academic, non-commercial research use only. The weights inherit that "
           "restriction: research and evaluation use, not commercial use.")


def sh(*args: str) -> str:
    print("+", " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def model_readme(card: dict) -> str:
    r = card["training"]["recipe"]
    m = card["metrics"]

    def row(name: str, key: str) -> str:
        a, b = m[key], m[f"{key}_flat_baseline"]
        return (f"| {name} | {a['psnr']:.2f} ({b['psnr']:.2f}) | {a['ssim']:.3f} ({b['ssim']:.3f}) | "
                f"{a['ciede2000']:.2f} ({b['ciede2000']:.2f}) | {a['l1']:.3f} ({b['l1']:.3f}) | "
                f"{a['colorfulness_ratio']:.2f} ({b['colorfulness_ratio']:.2f}) |")

    quant = card.get("quantization")
    if quant:
        title = f"{card['name']} v{card['version']} (INT8 variant of {quant['source_model']}; preset `pipelines/fast-int8.toml`)"
        weights = (f"INT8 weights and activations ({quant['tool']} post-training quantization, {quant['calibration_images']} "
                   f"calibration drawings at {quant['calibration_size']} px; first and last convolutions kept in float)")
        precision = "INT8 (its float layers bf16)"
    else:
        title = f"{card['name']} v{card['version']} (the default model)"
        weights = "fp16 weights in an OpenVINO IR"
        precision = "bf16"
    return f"""# {title}

A {card['architecture']['depth']}-level UNet, base width {card['architecture']['base']}, 1-channel (gray) edge input,
resize + 3x3 conv up-sampling, BatchNorm, tanh output; {card['parameters']:,} parameters,
{card['gmac_per_256_tile']} GMAC ({card.get('gflops_per_256_tile', 2 * card['gmac_per_256_tile']):.2f} GFLOPs) per 256x256 tile; {weights}.

* Recipe: {r['arch']} (L1), {r['size']} px, batch {r['batch_size']}, Adam lr {r['lr']} beta1 {r['beta1']},
  pix2pix LR schedule (flat, then linear to 0), {r['time_budget_min']} min of training on 2 CPU cores, seed {r['seed']}.
* Exact command: `{card['training']['command']}`
* Data: {card['training']['data_description']}.
* Licence caveat: {card['training']['licence']}
* Scale: objects about {card['scale']} px across (use `--scale auto`, the default pipeline does).
* Padding: constant white (paper) around drawings, see the card.
* Speed here (benchmark_app, 256x256, THROUGHPUT): {card['speed']['tiles_per_second_256']} tiles/s at the default
  precision ({precision}), {card['speed']['tiles_per_second_256_f32']} tiles/s with an f32 hint ({card['speed']['measured_with']}).

Metrics, OpenVINO, f32 hint, at {card['scale']} px (flat mean-colour baseline in brackets):

| set | PSNR dB | SSIM | CIEDE2000 | L1 | colorfulness ratio |
|---|---|---|---|---|---|
{row('shoes hold-out (last 100)', 'shoes_holdout')}
{row('handbags-val (200)', 'handbags_val')}

![contact sheet: input, output, target](contact_sheet.png)
"""


def measure(model_dir: Path, data: Path, reports: Path, precision_note: str) -> dict:
    """Evaluate on both validation sets and time it; write metrics, speed, README, sheet."""
    bc = [sys.executable, "-m", "batchcolor"]
    shoes = json.loads(sh(*bc, "eval", str(model_dir), str(data / "shoes-train"), "--last", "100",
                          "-o", str(reports / "shoes-holdout")))
    bags = json.loads(sh(*bc, "eval", str(model_dir), str(data / "handbags-val"), "-o", str(reports / "handbags-val")))
    from batchcolor.bench import benchmark_app
    from batchcolor.modelcard import resolve_model

    ref = resolve_model(model_dir)
    speed = benchmark_app(ref.model_path, ref.card.input_channels, 256, "auto", 15)
    speed_f32 = benchmark_app(ref.model_path, ref.card.input_channels, 256, "f32", 10)
    card_path = model_dir / "card.json"
    card = json.loads(card_path.read_text())
    card["training"]["licence"] = LICENCE
    card["training"]["data_description"] = ("edges2shoes (files 1-900 of shoes-train) + edges2handbags (900 of "
                                            "handbags-train); hold-out: last 100 of each folder")
    card["metrics"] = {
        "shoes_holdout": shoes["model_metrics"], "shoes_holdout_flat_baseline": shoes["flat_baseline"],
        "handbags_val": bags["model_metrics"], "handbags_val_flat_baseline": bags["flat_baseline"],
        "evaluated_at": f"{shoes['size']} px, f32 hint",
    }
    card["speed"] = {"tiles_per_second_256": speed, "tiles_per_second_256_f32": speed_f32,
                     "measured_with": f"benchmark_app -hint throughput, 2-core AMD EPYC (AVX-512 BF16), {precision_note}"}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    shutil.copy(reports / "shoes-holdout" / "contact_sheet.png", model_dir / "contact_sheet.png")
    (model_dir / "contact_sheet.png").chmod(0o644)
    (model_dir / "README.md").write_text(model_readme(card))
    return {"shoes": shoes["model_metrics"], "bags": bags["model_metrics"], "speed": speed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "edges2shoes-handbags")
    ap.add_argument("--tile", type=int, default=640)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--reports", type=Path, default=Path("reports"))
    ap.add_argument("--int8", type=Path, metavar="CALIBRATION_DIR", help="also ship NAME-int8, calibrated on this folder")
    args = ap.parse_args()
    bc = [sys.executable, "-m", "batchcolor"]
    sh(*bc, "export", str(args.run), "-o", str(args.model_dir), "--default", "--tile", str(args.tile),
       "--overlap", str(args.overlap))
    summary = {"float": measure(args.model_dir, args.data, args.reports, "default precision bf16")}
    if args.int8:
        int8_dir = args.model_dir.with_name(args.model_dir.name + "-int8")
        sh(*bc, "export", str(args.model_dir), "--int8", "--calibration", str(args.int8), "--calibration-count", "128",
           "-o", str(int8_dir))
        summary["int8"] = measure(int8_dir, args.data, args.reports / "int8", "INT8, float layers bf16")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
