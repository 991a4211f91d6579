"""``python -m batchcolor.train.recover MODEL_DIR OUT.npz DATA_DIR...``: the start of an
accelerator run (``models/gpu_train.py --model NAME=BASE:LR:OUT.npz``) from a shipped model.

Its own module because it builds the run's config and data (:mod:`batchcolor.train.trainer`),
which itself uses :mod:`batchcolor.train.from_ir`: the imports go one way.
"""
from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from batchcolor.drawing.hints import HINT_PLANES
from batchcolor.imageio.images import atomic_output
from batchcolor.train.from_ir import is_model_folder, recover_from_model
from batchcolor.train.trainer import TrainConfig, load_data


def network_inputs(card: dict) -> dict[str, bool]:
    """The recipe fields that shape the network's input, read from the input planes the card's
    architecture declares. A card's recipe may omit them (the shipped default's lists only some
    of its last run's options), and calibrating a 9-plane network on 1-plane drawings fails."""
    planes = int((card.get("architecture") or {}).get("in_channels", 0))
    for gray in (True, False):
        for hints in (False, True):
            if planes == (1 if gray else 3) + (HINT_PLANES if hints else 0):
                return {"gray_edges": gray, "hints": hints}
    raise ValueError(f"the card declares {planes} input planes: neither a gray nor an RGB drawing, with or without hints")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        print("usage: python -m batchcolor.train.recover MODEL_DIR OUT.npz DATA_DIR [DATA_DIR ...]", file=sys.stderr)
        return 2
    model_dir, out, data = Path(args[0]), Path(args[1]), args[2:]
    try:
        if not is_model_folder(model_dir):
            raise FileNotFoundError(f"{model_dir}: not a model folder (card.json + model.xml)")
        card = json.loads((model_dir / "card.json").read_text())
        recipe = card.get("training", {}).get("recipe", {})
        known = {f.name for f in fields(TrainConfig)}
        config = TrainConfig(**{**{k: v for k, v in recipe.items() if k in known and k not in ("data", "run_dir", "val_dirs")},
                                **network_inputs(card),
                                "data": tuple(data), "run_dir": str(out.parent), "val_dirs": ()})
        train_set, _ = load_data(config)
        arrays, _ = recover_from_model(model_dir, train_set, config)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
