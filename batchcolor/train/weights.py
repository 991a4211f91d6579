"""Generator weights as plain arrays, in and out of Paddle checkpoints.

A network trained elsewhere (``models/gpu_train.py``: the same UNet on an accelerator, with
the same parameter names) comes back as ``NAME.npz`` + ``NAME.json``. Turning it into a
``.pdckpt`` lets it take the one road every model takes: ``batchcolor export`` (Paddle ->
ONNX -> OpenVINO IR, parity-checked), ``eval``, ``train --init-from``. The checkpoint holds no
optimizer state, so it starts runs and exports; it does not ``--resume``.

    python -m batchcolor.train.weights OUT/NAME.json RUN_DIR [DATA_DIR ...]   # writes RUN_DIR/last.pdckpt

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
