"""Generator weights as plain arrays, in and out of Paddle checkpoints.

A network trained elsewhere (``models/gpu_train.py``: the same UNet on an accelerator, with
the same parameter names) comes back as ``NAME.npz`` + ``NAME.json``. Turning it into a
``.pdckpt`` lets it take the one road every model takes: ``batchcolor export`` (Paddle ->
ONNX -> OpenVINO IR, parity-checked), ``eval``, ``train --init-from``. The checkpoint holds no
optimizer state, so it starts runs and exports; it does not ``--resume``.

    python -m batchcolor.train.weights OUT/NAME.json RUN_DIR [DATA_DIR ...]   # writes RUN_DIR/last.pdckpt

:func:`average_checkpoints` (``batchcolor average``) writes the same kind of checkpoint from
several fine-tunes of one network: their weights averaged.

DATA_DIR: where the training folders are on this machine (the recipe records the
accelerator's paths). Export finds its validation drawings there: the seam sheets that set
the card's overlap, and the real inputs of the parity check.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from batchcolor.imageio.images import atomic_output


def generator_arrays(gen) -> dict[str, np.ndarray]:
    """A Paddle generator's state dict as float32 arrays (what ``models/gpu_train.py`` reads
    with ``--model NAME=BASE:LR:INIT.npz``)."""
    return {k: np.asarray(v.numpy(), np.float32) for k, v in gen.state_dict().items()}


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """``NAME.npz``, or its ``NAME.partK.npz`` pieces (large networks come back split)."""
    path = Path(path)
    parts = [path] if path.exists() else sorted(path.parent.glob(path.stem + ".part*.npz"))
    if not parts:
        raise FileNotFoundError(f"{path}: no weights (nor {path.stem}.partK.npz)")
    out: dict[str, np.ndarray] = {}
    for p in parts:
        with np.load(p) as z:
            out.update({k: z[k] for k in z.files})
    return out


def checkpoint_from_arrays(arrays: dict[str, np.ndarray], unet: dict[str, Any], config: dict[str, Any],
                           state: dict[str, Any], target: Path) -> Path:
    """Write a generator checkpoint; every parameter must be present with its exact shape, so
    a renamed or resized layer fails here rather than exporting a half-random network."""
    import paddle

    from batchcolor.train.models import UNet, UNetConfig

    gen = UNet(UNetConfig(**unet))
    own = gen.state_dict()
    missing = sorted(set(own) - set(arrays))
    extra = sorted(set(arrays) - set(own))
    if missing or extra:
        raise ValueError(f"weights do not match UNet{unet}: missing {missing[:3]}, unexpected {extra[:3]}")
    for k, v in own.items():
        if tuple(arrays[k].shape) != tuple(v.shape):
            raise ValueError(f"{k}: shape {tuple(arrays[k].shape)}, the network has {tuple(v.shape)}")
    gen.set_state_dict({k: paddle.to_tensor(np.asarray(arrays[k], np.float32)) for k in own})
    ckpt = {"config": config, "unet": UNetConfig(**unet).to_dict(), "gen": gen.state_dict(),
            "state": {"epoch": 0, "step": int(state.get("step", 0)), "seconds": float(state.get("seconds", 0.0)),
                      "best_val": float("inf"), "history": list(state.get("history", []))}}
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as tmp:
        paddle.save(ckpt, str(tmp))
    return target


def checkpoint_file(path: Path) -> Path:
    """A checkpoint file, or a run folder's (best if there is one, as ``export`` and ``eval`` take it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pdckpt" if (path / "best.pdckpt").exists() else path / "last.pdckpt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint")
    return path


def average_checkpoints(paths: list[Path], target: Path, weights: list[float] | None = None,
                        command: str = "") -> Path:
    """One generator whose every weight (BatchNorm statistics too) is the weighted mean of
    ``paths``' generators: a "model soup" (Wortsman et al., 2022).

    Why: fine-tunes of one network with different loss terms (or a GAN) each traded one
    figure for another by about 0.1 dB. Runs that start from the same weights at a small
    learning rate stay in one basin of the loss, so their mean is a network too, usually
    better than each of them, and it costs no training. Networks trained from different
    starts do not average (their channels are not aligned): the caller picks the runs, and the
    hold-outs judge the result like any candidate's. The checkpoint takes the first
    ingredient's recipe, and lists every ingredient (path, weight, steps, command) under
    ``averaged_from``; it exports, evaluates and starts runs like any other. Beside it goes
    that recipe as ``config.json`` (where export finds its validation drawings), unless the
    folder has one already."""
    import paddle

    if not paths:
        raise ValueError("no checkpoints to average")
    weights = [1.0] * len(paths) if weights is None else [float(w) for w in weights]
    if len(weights) != len(paths):
        raise ValueError(f"{len(weights)} weights for {len(paths)} checkpoints")
    if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be >= 0 with a positive sum, got {weights}")
    files = [checkpoint_file(p) for p in paths]
    ckpts = [paddle.load(str(f)) for f in files]
    first = ckpts[0]
    for f, c in zip(files[1:], ckpts[1:]):
        if c["unet"] != first["unet"]:
            raise ValueError(f"{f}: a different network ({c['unet']}) from {files[0]} ({first['unet']}); "
                             "only fine-tunes of one network average")
        if set(c["gen"]) != set(first["gen"]):
            raise ValueError(f"{f}: its weights are not named as {files[0]}'s")
    total = sum(weights)
    arrays = {k: (sum(w / total * np.asarray(c["gen"][k].numpy(), np.float64) for w, c in zip(weights, ckpts))
                  ).astype(np.float32) for k in first["gen"]}
    ingredients = [{"checkpoint": str(f), "weight": w / total, "steps": int(c["state"]["step"]),
                    "command": c.get("config", {}).get("command", "")} for f, w, c in zip(files, weights, ckpts)]
    config = dict(first.get("config", {}), averaged_from=ingredients)
    if command:
        config["command"] = command
    state = {"step": max(i["steps"] for i in ingredients),
             "seconds": sum(float(c["state"].get("seconds", 0.0)) for c in ckpts), "history": []}
    target = checkpoint_from_arrays(arrays, first["unet"], config, state, Path(target))
    recipe = target.parent / "config.json"
    if not recipe.exists():
        with atomic_output(recipe) as tmp:  # a TrainConfig, as a run folder's (no averaged_from)
            tmp.write_text(json.dumps({k: v for k, v in config.items() if k != "averaged_from"}
                                      | {"run_dir": str(target.parent)}, indent=2))
    return target


def import_run(meta_path: Path, run_dir: Path, data: list[str] | None = None) -> Path:
    """``NAME.json`` + its weights -> ``run_dir/last.pdckpt`` (and ``config.json``); ``data``
    replaces the recipe's training folders (given as the accelerator saw them)."""
    meta_path = Path(meta_path)
    meta = json.loads(meta_path.read_text())
    arrays = read_arrays(meta_path.with_suffix(".npz"))
    run_dir = Path(run_dir)
    config = dict(meta["config"], run_dir=str(run_dir))
    if data:
        missing = [d for d in data if not Path(d).is_dir()]
        if missing:
            raise FileNotFoundError(f"not a folder: {', '.join(missing)}")
        config["data"] = [str(Path(d).resolve()) for d in data]
    elif not all(Path(d).is_dir() for d in config.get("data", [])):
        # export would find no validation drawings and silently keep a default overlap
        # (session 9: 128 px where the model needs 320), so ask for this machine's folders
        raise FileNotFoundError(f"the recipe's data folders {config.get('data')} are not on this machine: "
                                "give them as DATA_DIR arguments")
    target = checkpoint_from_arrays(arrays, meta["unet"], config, meta["state"], run_dir / "last.pdckpt")
    with atomic_output(run_dir / "config.json") as tmp:
        tmp.write_text(json.dumps(config, indent=2))  # a TrainConfig: export and eval read it back
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m batchcolor.train.weights OUT/NAME.json RUN_DIR [DATA_DIR ...]", file=sys.stderr)
        return 2
    try:
        print(import_run(Path(args[0]), Path(args[1]), args[2:]))
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
