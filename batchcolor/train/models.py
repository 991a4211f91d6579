"""Paddle networks: the UNet generator and the pix2pix PatchGAN discriminator.

Generator choices, each made for the inference side:
* BatchNorm, never InstanceNorm: per-image statistics change with the tile's content, so an
  InstanceNorm network gives each tile a different colour cast and tiling shows seams.
* ReLU in the generator, not LeakyReLU: paddle2onnx 2.1 writes a garbage ``alpha`` for
  LeakyReLU and the exported model comes out silently wrong (see the facts notes).
* Up-sampling by nearest resize + 3x3 conv by default: no checkerboard artefacts, and under
  OpenVINO's bf16 hint transposed convolutions stay in f32 and dominate the run time.
  ``bilinear`` adds a fixed [1 2 1] blur after the nearest x2, which makes it exactly bilinear
  (half-pixel centres): a trained nearest network enlarges its bottom features in 2x2 blocks,
  and a drawing brought up to the card's scale shows them as faint bands in flat areas. The
  blur has no weights, so a ``resize`` checkpoint fine-tunes into a ``bilinear`` one.
* Total stride is ``2 ** depth``; tiles must be multiples of it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import paddle
import paddle.nn as nn
import paddle.nn.functional as F


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 3
    out_channels: int = 3
    base: int = 16
    depth: int = 4
    up: str = "resize"  # "resize" (nearest x2 + 3x3 conv), "bilinear" (resize + fixed blur) or "transpose"

    @property
    def stride(self) -> int:
        return 2**self.depth

    def to_dict(self) -> dict:
        return asdict(self)


def _init(module: nn.Layer) -> None:
    """pix2pix init: conv weights N(0, 0.02), BatchNorm gamma N(1, 0.02), biases 0."""
    for layer in module.sublayers(include_self=True):
        if isinstance(layer, (nn.Conv2D, nn.Conv2DTranspose)):
            layer.weight.set_value(paddle.normal(0.0, 0.02, layer.weight.shape))
            if layer.bias is not None:
                layer.bias.set_value(paddle.zeros(layer.bias.shape))
        elif isinstance(layer, nn.BatchNorm2D):
            layer.weight.set_value(paddle.normal(1.0, 0.02, layer.weight.shape))
            layer.bias.set_value(paddle.zeros(layer.bias.shape))


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2D(cin, cout, 3, padding=1, bias_attr=False), nn.BatchNorm2D(cout), nn.ReLU(),
            nn.Conv2D(cout, cout, 3, padding=1, bias_attr=False), nn.BatchNorm2D(cout), nn.ReLU(),
        )


def upsample_nearest2x(x: paddle.Tensor) -> paddle.Tensor:
    """Nearest-neighbour x2, written as tile + reshape.

    Identical to ``F.interpolate(x, scale_factor=2, mode='nearest')``, which paddle2onnx 2.1
    cannot convert from PIR ("the 0th elementwise MUST be ir::FloatAttribute"); the
    ``repeat_interleave`` + ``pixel_shuffle`` spelling converts but loses the tensor rank,
    which OpenVINO's ONNX reader then refuses.
    """
    y = paddle.tile(x.unsqueeze([3, 5]), [1, 1, 1, 2, 1, 2])
    return paddle.reshape(y, [0, 0, -1, paddle.shape(x)[3] * 2])


UP_MODES = ("resize", "bilinear", "transpose")
RESIZE_MODES = ("resize", "bilinear")  # same weights: a checkpoint of one initialises the other


BLUR121 = [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]


def blur121(x: paddle.Tensor, weight: paddle.Tensor | None = None) -> paddle.Tensor:
    """The separable [1 2 1]/4 blur that turns a nearest x2 into bilinear x2.

    Edge padding, as bilinear resizing clamps at the border. A depthwise convolution with a
    constant kernel (``weight``, C x 1 x 3 x 3; built here when not given), which every
    exporter and OpenVINO take as it is.
    """
    if weight is None:
        weight = paddle.to_tensor([[BLUR121]] * x.shape[1], dtype=x.dtype) / 16.0
    return F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), weight, groups=weight.shape[0])


class Up(nn.Layer):
    def __init__(self, cin: int, cout: int, mode: str):
        super().__init__()
        self.mode = mode
        if mode == "transpose":
            self.up = nn.Conv2DTranspose(cin, cout, 2, stride=2)
        elif mode in RESIZE_MODES:
            self.up = nn.Sequential(nn.Conv2D(cin, cout, 3, padding=1, bias_attr=False), nn.BatchNorm2D(cout), nn.ReLU())
        else:
            raise ValueError(f"up-sampling must be one of {UP_MODES}, got {mode!r}")
        self.conv = DoubleConv(2 * cout, cout)
        if mode == "bilinear":  # a constant of the graph, not a weight: never trained, never saved
            self.register_buffer("blur", paddle.to_tensor([[BLUR121]] * cin, dtype="float32") / 16.0, persistable=False)

    def forward(self, x: paddle.Tensor, skip: paddle.Tensor) -> paddle.Tensor:
        if self.mode == "bilinear" and self.training:
            # Paddle's own bilinear kernel trains 20% faster than the blur spelling (measured,
            # base-12 UNet, 128 px); the two agree to 1e-6 and only the blur exports.
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        elif self.mode in RESIZE_MODES:
            x = upsample_nearest2x(x)
            if self.mode == "bilinear":
                x = blur121(x, self.blur)
        return self.conv(paddle.concat([self.up(x), skip], axis=1))


class UNet(nn.Layer):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        widths = [config.base * 2**i for i in range(config.depth + 1)]
        self.downs = nn.LayerList()
        cin = config.in_channels
        for w in widths[:-1]:
            self.downs.append(DoubleConv(cin, w))
            cin = w
        self.bottom = DoubleConv(widths[-2], widths[-1])
        self.ups = nn.LayerList([Up(widths[i + 1], widths[i], config.up) for i in reversed(range(config.depth))])
        self.head = nn.Conv2D(widths[0], config.out_channels, 1)
        _init(self)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, skip in zip(self.ups, reversed(skips)):
            x = up(x, skip)
        return paddle.tanh(self.head(x))


class PatchDiscriminator(nn.Layer):
    """pix2pix 70x70 PatchGAN (n_layers=3), conditioned on the input: D(concat(A, B)).

    Outputs logits (the loss applies the sigmoid). It is never exported, so LeakyReLU is fine.
    """

    def __init__(self, in_channels: int, base: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Layer] = [nn.Conv2D(in_channels, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2D(base * prev, base * mult, 4, stride=stride, padding=1, bias_attr=False),
                nn.BatchNorm2D(base * mult),
                nn.LeakyReLU(0.2),
            ]
        layers.append(nn.Conv2D(base * mult, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        _init(self)

    def forward(self, a: paddle.Tensor, b: paddle.Tensor) -> paddle.Tensor:
        return self.net(paddle.concat([a, b], axis=1))


def count_parameters(model: nn.Layer) -> int:
    return int(sum(p.numel().item() for p in model.parameters()))


def unet_macs_per_tile(config: UNetConfig, tile: int) -> float:
    """Multiply-accumulates for one ``tile`` x ``tile`` input (convolutions only)."""
    macs = 0.0
    widths = [config.base * 2**i for i in range(config.depth + 1)]
    size, cin = tile, config.in_channels
    for w in widths[:-1]:
        macs += size * size * 9 * (cin * w + w * w)
        cin, size = w, size // 2
    macs += size * size * 9 * (widths[-2] * widths[-1] + widths[-1] * widths[-1])
    for i in reversed(range(config.depth)):
        cout = widths[i]
        size *= 2
        if config.up in RESIZE_MODES:
            macs += size * size * 9 * widths[i + 1] * cout
        else:
            macs += size * size * 4 * widths[i + 1] * cout / 4
        macs += size * size * 9 * (2 * cout * cout + cout * cout)
    macs += tile * tile * widths[0] * config.out_channels
    return macs
