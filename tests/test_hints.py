"""Colour hints end to end: the simulation, the planes, the card, the engine, the tiler, the CLI."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from batchcolor.drawing import hints as H
from batchcolor.tools import synthetic
from batchcolor.colorize.image import colorize_image
from batchcolor.colorize.guidance import Guidance, guidance
from batchcolor.colorize.settings import InferenceSettings
from batchcolor.inference.engine import Engine, EngineConfig
from batchcolor.errors import ModelError
from batchcolor.inference.modelcard import load_card, resolve_model
from batchcolor.tools.seams import whole_image
from batchcolor.tiling.tiler import TileSettings, colorize_array

from conftest import rng_image, run_cli


@pytest.fixture(scope="session")
def hinted_pointwise(tmp_path_factory):
    """1 drawing channel + 8 hint planes into a 1x1 conv: every output pixel sees its own hints."""
    folder = tmp_path_factory.mktemp("models") / "hinted_pointwise"
    synthetic.save_with_card(synthetic.pointwise(9, seed=4), folder,
                             synthetic.test_card("hinted", 1, 16, tile=64, overlap=16, hints=True))
    return folder


@pytest.fixture(scope="session")
def hinted_unet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "hinted_unet"
    synthetic.save_with_card(synthetic.random_unet(9, 4, 3, seed=5), folder,
                             synthetic.test_card("hinted-unet", 1, 8, tile=64, overlap=16, hints=True))
    return folder


_OPEN: list[Engine] = []


@pytest.fixture(autouse=True, scope="module")
def _close_engines():
    """Close every engine the tests opened: OpenVINO queues left to interpreter exit can abort it."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def engine_for(folder, tile=64) -> Engine:
    ref = resolve_model(folder)
    engine = Engine(ref.model_path, ref.card, EngineConfig(tile=tile, precision="f32"))
    _OPEN.append(engine)
    return engine


def write_layer(path, rgba_rgb_order: np.ndarray) -> None:
    cv2.imwrite(str(path), rgba_rgb_order[:, :, [2, 1, 0, 3]])


# --- definitions -------------------------------------------------------------------------

def test_parse_color():
    assert H.parse_color("#ff8000") == (255, 128, 0)
    assert H.parse_color("00FF7f") == (0, 255, 127)
    for bad in ("red", "#ff80", "#gg0000", "", "#ff000000"):
        with pytest.raises(ValueError, match="--color"):
            H.parse_color(bad)


def test_global_color_is_median_of_object_pixels():
    img = np.full((40, 40, 3), 255, np.uint8)
    img[10:30, 10:30] = (200, 30, 40)
    img[10:12, 10:30] = (0, 0, 0)  # a few dark outline pixels do not move the median
    assert H.global_color(img) == (200, 30, 40)
    assert H.global_color(np.full((8, 8, 3), 250, np.uint8)) is None  # paper only


def test_simulated_hints_follow_protocol():
    rng = np.random.default_rng(0)
    target = np.full((64, 64, 3), 255, np.uint8)
    target[8:56, 8:56] = (30, 90, 200)
    counts, globals_ = [], 0
    for _ in range(400):
        h = H.simulate(rng, target)
        counts.append(h.mask.any())
        globals_ += h.global_rgb is not None
        if h.mask.any():  # hints sit on the object and carry its colour
            assert not h.mask[:8].any() and not h.mask[:, :8].any()
            assert np.abs(h.color[h.mask].astype(int) - (30, 90, 200)).max() <= 1
    none = 1 - np.mean(counts)
    assert 0.07 < none < 0.19  # geometric p = 1/8: about one sample in eight gets no local hint
    assert 0.4 < globals_ / 400 < 0.6


def test_eval_points_are_seeded_patches():
    t = rng_image(64, 64, 3)
    a, b = H.eval_points(3, t, 10), H.eval_points(3, t, 10)
    assert np.array_equal(a.mask, b.mask) and np.array_equal(a.color, b.color)
    assert 25 <= a.mask.sum() <= 250  # ten 5x5 patches, some overlapping


def test_layer_resizing_is_nearest_neighbour():
    layer = np.zeros((10, 10, 4), np.uint8)
    layer[2, 3] = (255, 0, 0, 255)
    layer[7, 7] = (0, 255, 0, 100)  # alpha < 128: not a hint
    hints = H.from_layer(layer)
    planes = H.PlaneMap(hints, 100, 100).tile(np.arange(100), np.arange(100))
    mask = planes[:, :, 3] == 255
    ys, xs = np.nonzero(mask)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (20, 29, 30, 39)  # one layer px -> a 10x10 block
    assert (planes[mask][:, :3] == (255, 0, 0)).all()
    assert (planes[~mask][:, :3] == 128).all() and (planes[:, :, 7] == 0).all()
    # tiles cut the same planes as the whole image
    whole = H.hint_planes_u8(hints, 100, 100).transpose(1, 2, 0)
    np.testing.assert_array_equal(planes, whole)


def test_shrinking_a_layer_loses_no_hint():
    layer = np.zeros((10, 10, 4), np.uint8)
    layer[2, 3] = (255, 0, 0, 255)  # nearest sampling at 5x5 would miss this dot
    layer[8, 8] = (0, 0, 250, 255)
    fitted = H.fit_layer(H.from_layer(layer), 5, 5)
    assert fitted.mask.shape == (5, 5) and fitted.mask.sum() == 2
    assert tuple(fitted.color[1, 1]) == (255, 0, 0) and tuple(fitted.color[4, 4]) == (0, 0, 250)
    small = H.from_layer(layer[:4, :4])
    assert H.fit_layer(small, 50, 50) is small  # enlarging is left to nearest sampling


def test_padding_carries_no_local_hint_but_the_global_colour():
    hints = H.Hints(np.full((4, 4, 3), 9, np.uint8), np.ones((4, 4), bool), (1, 2, 3))
    rows = np.array([0, 1, 2, 3, 3, 2])
    pad = np.array([False] * 4 + [True] * 2)
    t = H.PlaneMap(hints, 4, 4).tile(rows, rows, pad, pad)
    assert (t[:4, :4, 3] == 255).all() and (t[4:, :, 3] == 0).all() and (t[:, 4:, 3] == 0).all()
    assert (t[:, :, 4:7] == (1, 2, 3)).all() and (t[:, :, 7] == 255).all()


# --- cards ----------------------------------------------------------------------------------

def test_card_hint_block_round_trips(hinted_pointwise, tmp_path):
    card = load_card(hinted_pointwise / "card.json")
    assert card.hint_planes == 8 and card.network_channels == 9
    doc = json.loads((hinted_pointwise / "card.json").read_text())
    assert doc["input"]["hints"]["planes"][3] == "hint_mask"
    bad = json.loads(json.dumps(doc))
    bad["input"]["hints"]["mean"] = bad["input"]["hints"]["mean"][:5]
    (tmp_path / "card.json").write_text(json.dumps(bad))
    with pytest.raises(ModelError, match="input.hints"):
        load_card(tmp_path / "card.json")


def test_engine_refuses_card_that_forgets_the_hint_planes(tmp_path):
    folder = tmp_path / "m"
    synthetic.save_with_card(synthetic.pointwise(9), folder, synthetic.test_card("x", 1, 16, tile=64, overlap=16))
    with pytest.raises(ModelError, match="9 input channels"):
        engine_for(folder)


def test_plain_cards_have_no_hints_and_keep_their_settings_key(pointwise_gray):
    from batchcolor.batch.runner import model_identity

    card = load_card(pointwise_gray / "card.json")
    assert card.hint_planes == 0 and card.network_channels == 1 and card.lines == "none"
    settings, key = model_identity(InferenceSettings(model=str(pointwise_gray)))
    from batchcolor.batch.manifest import hash_files, settings_key

    from batchcolor.inference.precision import machine_auto_precision

    ref = resolve_model(pointwise_gray)
    precision = machine_auto_precision("CPU") or "auto"  # (keyed by what auto resolves to, session 15)
    before = settings_key(hash_files([ref.model_path, ref.card_path, ref.model_path.with_suffix(".bin")]),
                          {"tile": 64, "overlap": 16, "precision": precision, "device": "CPU", "scale": "none"})
    assert key == before  # plain models' outputs stay up to date across the hint change


def test_auto_precision_is_keyed_by_what_it_resolves_to(pointwise_gray, monkeypatch):
    """An output made at ``--precision bf16`` is the one ``auto`` makes where auto means bf16,
    and an output made at auto on another CPU (f32 there) is not."""
    from batchcolor.batch import runner

    def key(precision: str) -> str:
        return runner.model_identity(InferenceSettings(model=str(pointwise_gray), precision=precision))[1]

    monkeypatch.setattr(runner, "machine_auto_precision", lambda device: "bf16")
    assert key("auto") == key("bf16") != key("f32")
    monkeypatch.setattr(runner, "machine_auto_precision", lambda device: "f32")
    assert key("auto") == key("f32") != key("bf16")
    monkeypatch.setattr(runner, "machine_auto_precision", lambda device: None)  # the device's default
    assert key("auto") not in (key("bf16"), key("f32"))


# --- the engine and the tiler -------------------------------------------------------------------

def _reference(image_gray: np.ndarray, hints: H.Hints) -> np.ndarray:
    """The hinted pointwise network on the whole image at once, planes built for the whole image."""
    h, w = image_gray.shape[:2]
    planes = H.hint_planes_u8(hints, h, w).transpose(1, 2, 0)
    x = np.concatenate([image_gray.reshape(h, w, 1), planes], axis=2).astype(np.float32)
    mean, std = np.array([127.5] + H.plane_normalisation()[0]), np.array([127.5] + H.plane_normalisation()[1])
    return whole_image(synthetic.pointwise(9, seed=4), x, stride=1, pad=0, mean=mean, std=std)


@pytest.mark.parametrize("shape", [(37, 91), (130, 201), (64, 64)])
def test_tiled_equals_whole_image_with_hints(hinted_pointwise, shape):
    rng = np.random.default_rng(sum(shape))
    image = rng_image(*shape, 1, seed=1)
    layer_rgb, mask = H.sample_points(rng, rng_image(25, 31, 3, seed=2), 6)  # a layer of another size
    hints = H.Hints(layer_rgb, mask, (10, 200, 30))
    tiled = colorize_array(image, engine_for(hinted_pointwise), TileSettings(64, 16), as_uint8=False,
                           planes=H.PlaneMap(hints, *shape))
    np.testing.assert_allclose(tiled, _reference(image, hints), atol=1e-5)


def test_dynamic_and_static_paths_agree_with_hints(hinted_pointwise):
    """A small drawing goes to the dynamic model (NumPy normalisation), a big one to the static
    model (normalisation compiled in): per-plane means and stds must match."""
    image = rng_image(200, 200, 1, seed=3)
    hints = H.Hints(*H.sample_points(np.random.default_rng(0), rng_image(200, 200, 3), 8), (250, 5, 5))
    engine = engine_for(hinted_pointwise)
    big = colorize_array(image, engine, TileSettings(64, 16), as_uint8=False, planes=H.PlaneMap(hints, 200, 200))
    small = colorize_array(image[:40, :40], engine, TileSettings(64, 16), as_uint8=False,
                           planes=H.PlaneMap(H.Hints(hints.color[:40, :40], hints.mask[:40, :40], hints.global_rgb), 40, 40))
    np.testing.assert_allclose(small, big[:40, :40], atol=1e-5)


def test_keep_lines_multiplies_by_the_drawing_and_tiles_exactly(hinted_unet):
    art = synthetic.line_art(150, 170, seed=4)[:, :, None]
    engine = engine_for(hinted_unet)
    planes = H.PlaneMap(H.Hints(), 150, 170)
    plain = colorize_array(art, engine, TileSettings(64, 16), as_uint8=False, planes=planes)
    kept = colorize_array(art, engine, TileSettings(64, 16), as_uint8=False, planes=planes, keep_lines=True)
    light = art.astype(np.float32) / 255
    np.testing.assert_allclose(kept, -1 + (plain + 1) * light, atol=1e-5)
    np.testing.assert_allclose(kept[art[:, :, 0] == 0], -1, atol=1e-5)  # black lines are black
    # heavy ink's part-way layer (Guidance.for_heavy_ink) on the tiled route: the same product, lighter
    part = colorize_array(art, engine, TileSettings(64, 16), as_uint8=False, planes=planes, keep_lines=True,
                          line_opacity=0.35)
    np.testing.assert_allclose(part, -1 + (plain + 1) * (1 - 0.35 * (1 - light)), atol=1e-5)


def test_guidance_global_colour_and_layer(hinted_pointwise):
    card = resolve_model(hinted_pointwise).card
    layer = H.from_layer(np.zeros((4, 4, 4), np.uint8))
    g = guidance(InferenceSettings(color="#102030", lines="keep"), card, layer)
    assert g.hints.global_rgb == (16, 32, 48) and g.keep_lines
    assert guidance(InferenceSettings(), card).hints is None  # automatic


def test_color_moves_output_of_hinted_model(hinted_unet):
    engine = engine_for(hinted_unet)
    bgr = cv2.cvtColor(synthetic.line_art(64, 64, seed=1), cv2.COLOR_GRAY2BGR)
    from batchcolor.inference.modelcard import resolve_model as rm

    card = rm(hinted_unet).card
    auto = colorize_image(bgr, engine, TileSettings(64, 16))
    red = colorize_image(bgr, engine, TileSettings(64, 16), guide=guidance(InferenceSettings(color="#ff0000"), card))
    assert np.abs(auto.astype(int) - red.astype(int)).mean() > 1


# --- the CLI ---------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["option", "env", "pipeline"])
def test_bad_color_is_a_usage_error(hinted_pointwise, tmp_path, where):
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), synthetic.line_art(40, 40))
    args, env = ["run", tmp_path / "in", tmp_path / "out", "--model", hinted_pointwise], {}
    if where == "option":
        args += ["--color", "reddish"]
    elif where == "env":
        env["BATCHCOLOR_COLOR"] = "#12345"
    else:
        (tmp_path / "p.toml").write_text('color = "#xyzxyz"\n')
        args += ["--pipeline", tmp_path / "p.toml"]
    r = run_cli(*args, env=env)
    assert r.returncode == 2, r.stderr
    assert "color" in r.stderr and "#RRGGBB" in r.stderr
    assert not (tmp_path / "out" / "a.png").exists()


def test_color_on_a_plain_model_is_a_usage_error(pointwise_gray, tmp_path):
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), synthetic.line_art(40, 40))
    r = run_cli("run", tmp_path / "in", tmp_path / "out", "--model", pointwise_gray, "--color", "#ff0000")
    assert r.returncode == 2 and "trained with hints" in r.stderr


def _tree(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for i, rel in enumerate(["a.png", "b.png", "sub/c.png"]):
        cv2.imwrite(str(src / rel), synthetic.line_art(48, 48, seed=i))
    return src


def _events(stderr: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "input" in rec:
            out.setdefault(rec["event"], []).append(rec["input"])
    return out


def test_hint_layers_are_part_of_the_manifest_key(hinted_pointwise, tmp_path):
    src, out = _tree(tmp_path), tmp_path / "out"
    layer = np.zeros((24, 24, 4), np.uint8)
    layer[5:10, 5:10] = (255, 0, 0, 255)
    write_layer(src / "a.hints.png", layer)
    run = lambda: run_cli("run", src, out, "--model", hinted_pointwise, "--log-format", "json")  # noqa: E731
    r = run()
    assert r.returncode == 0, r.stderr
    assert sorted(_events(r.stderr)["done"]) == ["a.png", "b.png", "sub/c.png"]  # the layer is not a drawing
    assert not (out / "a.hints.png").exists()
    first_a = cv2.imread(str(out / "a.png"))
    assert _events(run().stderr).get("done") is None  # nothing changed: nothing redone
    layer[5:10, 5:10] = (0, 0, 255, 255)
    write_layer(src / "a.hints.png", layer)  # a changed layer redoes only its drawing
    r = run()
    assert _events(r.stderr)["done"] == ["a.png"]
    assert np.abs(cv2.imread(str(out / "a.png")).astype(int) - first_a.astype(int)).max() > 0
    write_layer(src / "sub" / "c.hints.png", layer)  # an added layer
    assert _events(run().stderr)["done"] == ["sub/c.png"]
    (src / "a.hints.png").unlink()  # a deleted layer
    assert _events(run().stderr)["done"] == ["a.png"]


def test_bad_hint_layer_fails_its_drawing_only(hinted_pointwise, tmp_path):
    src, out = _tree(tmp_path), tmp_path / "out"
    cv2.imwrite(str(src / "a.hints.png"), np.zeros((10, 10, 3), np.uint8))  # no alpha
    (src / "b.hints.png").write_bytes(b"not a png at all")
    r = run_cli("run", src, out, "--model", hinted_pointwise)
    assert r.returncode == 3
    assert "a.hints.png" in r.stderr and "RGBA" in r.stderr
    assert "b.hints.png" in r.stderr
    assert (out / "sub" / "c.png").exists() and not (out / "a.png").exists()
    report = json.loads((out / ".batchcolor" / "errors.json").read_text())
    assert sorted(f["input"] for f in report["failed"]) == ["a.png", "b.png"]


def test_tile_takes_hints_and_color(hinted_unet, tmp_path):
    art = tmp_path / "d.png"
    cv2.imwrite(str(art), synthetic.line_art(100, 90, seed=2))
    layer = np.zeros((10, 9, 4), np.uint8)
    layer[3:6, 3:6] = (0, 255, 0, 255)
    write_layer(tmp_path / "layer.png", layer)
    outs = {}
    for name, extra in {"auto": [], "layer": ["--hints", tmp_path / "layer.png"], "color": ["--color", "#0000ff"],
                        "keep": ["--lines", "keep"]}.items():
        r = run_cli("tile", art, "-o", tmp_path / f"{name}.png", "--model", hinted_unet, "--precision", "f32", *extra)
        assert r.returncode == 0, r.stderr
        outs[name] = cv2.imread(str(tmp_path / f"{name}.png")).astype(int)
    for name in ("layer", "color", "keep"):
        assert np.abs(outs[name] - outs["auto"]).max() > 0, name
    r = run_cli("tile", art, "--model", hinted_unet, "--hints", art)  # a drawing is not an RGBA layer
    assert r.returncode == 1 and "RGBA" in r.stderr and "hint layer" in r.stderr


def test_huge_sheet_with_hint_layer_streams_in_the_same_memory(tmp_path):
    """A 20 MP sheet is read, coloured and written band by band; a hint layer, a global
    colour and kept lines must not bring back an image-sized plane."""
    from batchcolor.tools.bench import peak_rss_of_tile, write_hint_layers

    folder = tmp_path / "m"
    synthetic.save_with_card(synthetic.pointwise(9, seed=4), folder,
                             synthetic.test_card("hinted", 1, 16, tile=512, overlap=64, hints=True))
    sheet = tmp_path / "sheet.png"
    cv2.imwrite(str(sheet), synthetic.line_art(4000, 5000, seed=3, strokes=400))
    common = ["--model", str(folder), "--no-cache"]
    plain, _ = peak_rss_of_tile(sheet, tmp_path / "plain.png", common)
    write_hint_layers(tmp_path, [(4000, 5000)], names=["sheet"], layer_side=1000)
    hinted, _ = peak_rss_of_tile(sheet, tmp_path / "hinted.png", [*common, "--color", "#20a040", "--lines", "keep"])
    # a full-size float plane would be 80 MB per channel; a uint8 one 20 MB
    print(f"peak RSS plain {plain:.0f} MiB, hinted {hinted:.0f} MiB")
    assert hinted < plain + 30, (plain, hinted)
    a, b = cv2.imread(str(tmp_path / "plain.png")), cv2.imread(str(tmp_path / "hinted.png"))
    assert a.shape == b.shape == (4000, 5000, 3) and np.abs(a.astype(int) - b.astype(int)).mean() > 1


def test_chroma_transfer_lays_the_asked_hue_on_the_object_only():
    from batchcolor.drawing.chroma import transfer_chroma
    from batchcolor.tools.metrics import rgb_to_lab

    img = np.full((40, 60, 3), 255, np.uint8)
    img[10:30, 10:50] = (90, 80, 75)  # a grey-brown object on paper
    img[18:22, 28:32] = (20, 20, 20)  # a dark detail
    keep = np.zeros((40, 60), bool)
    keep[12:14, 12:14] = True
    img[12:14, 12:14] = (0, 200, 0)  # a local hint's colour, which wins there
    out = transfer_chroma(img, (220, 30, 30), keep)
    assert (out[:5] == 255).all()  # paper untouched
    lab_in, lab_out = rgb_to_lab(img[25:28, 35:45]), rgb_to_lab(out[25:28, 35:45])
    assert np.allclose(lab_out[:, 0], lab_in[:, 0], atol=3)  # the network's lightness stays
    assert lab_out[:, 1].mean() > 30 and abs(lab_out[:, 2].mean()) < lab_out[:, 1].mean()  # red: a* large
    assert (out[12:14, 12:14] == (0, 200, 0)).all()


def test_color_transfer_card_streams_like_it_renders(hinted_unet, tmp_path):
    """A card with color_transfer = chroma: tile's streamed rows and the in-memory
    path give the same pixels, and the object takes the asked hue."""
    card = json.loads((hinted_unet / "card.json").read_text())
    card["color_transfer"] = "chroma"
    folder = tmp_path / "m"
    folder.mkdir()
    for f in ("model.xml", "model.bin"):
        (folder / f).write_bytes((hinted_unet / f).read_bytes())
    (folder / "card.json").write_text(json.dumps(card))
    art = tmp_path / "d.png"
    cv2.imwrite(str(art), synthetic.line_art(90, 120, seed=3))
    r = run_cli("tile", art, "-o", tmp_path / "o.png", "--model", folder, "--color", "#1040e0", "--precision", "f32")
    assert r.returncode == 0, r.stderr
    streamed = cv2.imread(str(tmp_path / "o.png"))
    engine = engine_for(folder)
    g = guidance(InferenceSettings(color="#1040e0"), engine.card)
    assert g.chroma == (16, 64, 224)
    in_memory = colorize_image(cv2.imread(str(art)), engine, TileSettings(64, 16, pad_value=None), guide=g)
    assert np.abs(streamed.astype(int) - in_memory.astype(int)).max() <= 1


def test_region_transfer_fills_the_hinted_region_only():
    from batchcolor.drawing.chroma import transfer_regions
    from batchcolor.tools.metrics import rgb_to_lab

    drawing = np.full((60, 90), 255, np.uint8)
    cv2.rectangle(drawing, (5, 5), (40, 55), 0, 1)  # two closed regions
    cv2.rectangle(drawing, (50, 5), (85, 55), 0, 1)
    rgb = np.full((60, 90, 3), 255, np.uint8)
    rgb[6:55, 6:40] = (100, 90, 85)
    rgb[6:55, 51:85] = (100, 90, 85)
    color = np.zeros((60, 90, 3), np.uint8)
    mask = np.zeros((60, 90), bool)
    mask[28:31, 20:23] = True
    color[mask] = (30, 60, 200)  # one blue dot in the left region
    out = transfer_regions(rgb, drawing, color, mask)
    left, right = rgb_to_lab(out[10:50, 10:35]), rgb_to_lab(out[10:50, 55:80])
    assert left[:, 2].mean() < -25  # the whole left region turned blue (b* strongly negative)
    assert (out[10:50, 55:80] == rgb[10:50, 55:80]).all()  # the right region is untouched
    assert np.allclose(left[:, 0], rgb_to_lab(rgb[10:50, 10:35])[:, 0], atol=3)  # lightness kept
    assert (out[:4] == 255).all()  # paper stays paper
