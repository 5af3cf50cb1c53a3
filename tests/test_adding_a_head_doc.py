"""docs/adding_a_head.md runs: its example head registers and keeps the HEADS contract."""

import re
from pathlib import Path

import pytest
import torch
import yaml
from test_models import test_every_head_keeps_the_forward_contract as check_contract

import wsol.models.heads
import wsol.models.wsol_model
from wsol.registry import Registry

GLOBAL_HEADS = wsol.models.heads.HEADS
DOC = Path(__file__).resolve().parents[1] / "docs" / "adding_a_head.md"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture
def example_head(monkeypatch):
    """Execute the python example against a fresh registry, leaving the global HEADS untouched."""
    fresh = Registry("head")
    monkeypatch.setattr(wsol.models.heads, "HEADS", fresh)
    monkeypatch.setattr(wsol.models.wsol_model, "HEADS", fresh)
    [source] = code_blocks("python")
    exec(compile(source, str(DOC), "exec"), {"__name__": "attention_pool_example"})
    return fresh


def test_doc_example_registers_and_keeps_the_contract(example_head):
    assert example_head.list() == ["attention_pool"]
    check_contract("attention_pool")
    assert "attention_pool" not in GLOBAL_HEADS.list()


def test_doc_example_attention_sums_to_one_and_config_options_apply(example_head):
    [config] = code_blocks("yaml")
    spec = yaml.safe_load(config)["model"]["head"]
    head = example_head.build(spec, key="model.head", in_channels=[16, 32], num_classes=3)
    assert head.temperature == spec["temperature"]
    out = head([torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)])
    torch.testing.assert_close(out.attention.sum(dim=(2, 3)), torch.ones(2, 1))
