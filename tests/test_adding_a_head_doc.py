"""docs/adding_a_head.md runs: its example head and attention layer register and keep their contracts."""

import re
from pathlib import Path

import pytest
import torch
import yaml
from test_layers import check_layer_contract
from test_models import test_every_head_keeps_the_forward_contract as check_contract

import wsol.models.heads
import wsol.models.heads.inserted
import wsol.models.layers
import wsol.models.wsol_model
from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.models import build_model
from wsol.registry import Registry

GLOBAL_HEADS = wsol.models.heads.HEADS
GLOBAL_ATTENTION = wsol.models.layers.ATTENTION
DOC = Path(__file__).resolve().parents[1] / "docs" / "adding_a_head.md"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture
def example_head(monkeypatch):
    """Execute the python example against a fresh registry, leaving the global HEADS untouched."""
    fresh = Registry("head")
    monkeypatch.setattr(wsol.models.heads, "HEADS", fresh)
    monkeypatch.setattr(wsol.models.wsol_model, "HEADS", fresh)
    head_source, _ = code_blocks("python")
    exec(compile(head_source, str(DOC), "exec"), {"__name__": "attention_pool_example"})
    return fresh


@pytest.fixture
def example_layer(monkeypatch):
    """Execute the attention-layer example against a fresh registry, leaving ATTENTION untouched."""
    fresh = Registry("attention layer")
    monkeypatch.setattr(wsol.models.layers, "ATTENTION", fresh)
    monkeypatch.setattr(wsol.models.heads.inserted, "ATTENTION", fresh)
    _, layer_source = code_blocks("python")
    exec(compile(layer_source, str(DOC), "exec"), {"__name__": "eca_example"})
    return fresh


def test_doc_example_registers_and_keeps_the_contract(example_head):
    assert example_head.list() == ["attention_pool"]
    check_contract("attention_pool")
    assert "attention_pool" not in GLOBAL_HEADS.list()


def test_doc_example_attention_sums_to_one_and_config_options_apply(example_head):
    config, _ = code_blocks("yaml")
    spec = yaml.safe_load(config)["model"]["head"]
    head = example_head.build(spec, key="model.head", in_channels=[16, 32], num_classes=3)
    assert head.temperature == spec["temperature"]
    out = head([torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)])
    torch.testing.assert_close(out.attention.sum(dim=(2, 3)), torch.ones(2, 1))


def test_doc_layer_example_registers_and_keeps_the_layer_contract(example_layer):
    assert example_layer.list() == ["eca"]
    check_layer_contract("eca")
    assert "eca" not in GLOBAL_ATTENTION.list()


def test_doc_layer_config_places_the_layer_after_its_stages(example_layer):
    _, config = code_blocks("yaml")
    spec = yaml.safe_load(config)["model"]["head"]
    tiny = BackboneConfig(name="convnet", options={"width": 8, "blocks": 1})
    model = build_model(ModelConfig(backbone=tiny, head=spec), num_classes=3)
    assert sorted(model.head.layers) == ["2", "3"]
    kernel = (spec["layer"]["kernel_size"],)
    assert all(layer.conv.kernel_size == kernel for layer in model.head.layers.values())
    out = model(torch.randn(2, 3, 32, 32))
    assert out.logits.shape == (2, 3) and out.class_maps.shape[:2] == (2, 3)
