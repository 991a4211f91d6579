"""Model cards: good ones load, bad ones are refused naming the file and the field."""
from __future__ import annotations

import json
import shutil

import pytest

from batchcolor.inference.engine import Engine, EngineConfig
from batchcolor.errors import ModelError
from batchcolor.inference.modelcard import resolve_model


@pytest.fixture
def model_copy(pointwise_rgb, tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(pointwise_rgb, dst)
    return dst


def edit_card(folder, fn):
    doc = json.loads((folder / "card.json").read_text())
    fn(doc)
    (folder / "card.json").write_text(json.dumps(doc))


def test_resolve_folder_xml_and_card(model_copy):
    ref = resolve_model(model_copy)
    assert ref.model_path.name == "model.xml" and ref.card.input_channels == 3
    assert resolve_model(model_copy / "model.xml").card == ref.card


def test_missing_card(model_copy):
    (model_copy / "card.json").unlink()
    with pytest.raises(ModelError, match="card.json.*model card missing"):
        resolve_model(model_copy)


def test_missing_weights(model_copy):
    (model_copy / "model.bin").unlink()
    with pytest.raises(ModelError, match="model.bin"):
        resolve_model(model_copy)


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda d: d["input"].pop("channels"), "input.channels"),
        (lambda d: d.__setitem__("stride", 12), "stride"),
        (lambda d: d["tile"].__setitem__("recommended", 100), "tile.recommended"),
        (lambda d: d["output"].__setitem__("range", [1, -1]), "output.range"),
        (lambda d: d["input"].__setitem__("channels", "3"), "input.channels"),
        (lambda d: d.__setitem__("format", "something-else"), "format"),
        (lambda d: d["tile"].__setitem__("border", -1), "tile.border"),
        (lambda d: d["tile"].__setitem__("border", "16"), "tile.border"),
        (lambda d: d["tile"].__setitem__("border", 10_000), "tile.border"),
        (lambda d: d["tile"].__setitem__("border", True), "tile.border"),
        (lambda d: d.__setitem__("chroma_target", {"chroma": 15}), "chroma_target"),
        (lambda d: d.__setitem__("chroma_target", {"chroma": 15, "gains": [4, 2]}), "chroma_target"),
        (lambda d: d.__setitem__("chroma_target", {"chroma": -1, "gains": [2, 4]}), "chroma_target"),
        (lambda d: d.__setitem__("chroma_target", 15), "chroma_target"),
    ],
)
def test_bad_fields_are_named(model_copy, mutate, field):
    edit_card(model_copy, mutate)
    with pytest.raises(ModelError) as err:
        resolve_model(model_copy)
    assert field in str(err.value) and "card.json" in str(err.value)


def test_invalid_json(model_copy):
    (model_copy / "card.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        resolve_model(model_copy)


def test_card_disagreeing_with_network_is_refused(model_copy):
    edit_card(model_copy, lambda d: d["input"].__setitem__("channels", 1))
    ref = resolve_model(model_copy)
    with pytest.raises(ModelError, match="3 input channels but the card"):
        Engine(ref.model_path, ref.card, EngineConfig(tile=64))


def test_tile_not_multiple_of_stride(model_copy):
    ref = resolve_model(model_copy)
    with pytest.raises(ModelError, match="multiple of the model's stride"):
        Engine(ref.model_path, ref.card, EngineConfig(tile=72))


def test_a_card_border_round_trips(model_copy):
    edit_card(model_copy, lambda d: d["tile"].__setitem__("border", 16))
    card = resolve_model(model_copy).card
    assert card.border == 16 and card.to_json()["tile"]["border"] == 16
    edit_card(model_copy, lambda d: d["tile"].pop("border"))
    card = resolve_model(model_copy).card
    assert card.border is None and "border" not in card.to_json()["tile"]  # older cards: the seam margin
