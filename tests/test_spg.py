"""SPG's self-produced masks and guidance losses on hand-made inputs."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from wsoleval_reference import spg_mask as reference_mask

from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.spg import IGNORE, guidance_loss, spg_mask
from wsol.models import build_model

X = IGNORE


def test_mask_marks_object_background_and_ignored_pixels():
    attention = torch.tensor([[[0.9, 0.6, 0.3], [0.05, 0.005, 0.8], [0.2, 0.71, 0.0]]])
    mask = spg_mask(attention, high=0.7, low=0.01, min_foreground=2)
    assert mask.tolist() == [[[1, X, X], [X, 0, 1], [X, 1, 0]]]


def test_mask_falls_back_to_a_share_of_the_maximum_per_image():
    few = [[0.9, 0.65, 0.3], [0.05, 0.005, 0.5], [0.2, 0.6, 0.0]]  # one pixel > 0.7: use > 0.63
    many = [[0.9, 0.65, 0.8], [0.05, 0.005, 0.5], [0.2, 0.6, 0.0]]  # two pixels > 0.7: keep them
    mask = spg_mask(torch.tensor([few, many]), high=0.7, low=0.01, min_foreground=2)
    assert mask[0].tolist() == [[1, 1, X], [X, 0, X], [X, X, 0]]
    assert mask[1].tolist() == [[1, X, 1], [X, 0, X], [X, X, 0]]


def test_background_wins_over_object():
    attention = torch.tensor([[[0.9, 0.8], [0.75, 0.1]]])
    assert spg_mask(attention, high=0.7, low=0.85, min_foreground=1).tolist() == [[[1, 0], [0, 0]]]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("high", "low"), [(0.7, 0.01), (0.5, 0.05), (0.99, 0.1)])
def test_mask_equals_the_reference_on_224_maps(seed, high, low):
    gen = torch.Generator().manual_seed(seed)
    attention = torch.rand(3, 224, 224, generator=gen) ** 3
    expected = reference_mask(attention[:, None], high, low)[:, 0]
    assert torch.equal(spg_mask(attention, high, low).float(), expected)


def test_guidance_loss_on_kept_pixels_only():
    logits = torch.tensor([[[0.0, 2.0], [-1.0, 5.0]]], requires_grad=True)
    mask = torch.tensor([[[1, 0], [X, X]]], dtype=torch.uint8)
    expected = (math.log(2.0) + math.log(1 + math.exp(2.0))) / 2
    assert guidance_loss(logits, mask).item() == pytest.approx(expected)
    empty = guidance_loss(logits, torch.full_like(mask, X))
    empty.backward()
    assert empty.item() == 0.0 and torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "spg", "thresholds": [[0.7, 0.01], [0.5, 0.05]]},
        {"name": "spg", "thresholds": [[0.7, 0.8], [0.5, 0.05], [0.7, 0.1]]},
        {"name": "spg", "thresholds": [[1.5, 0.1], [0.5, 0.05], [0.7, 0.1]]},
    ],
)
def test_bad_thresholds_raise(spec):
    with pytest.raises(ConfigError, match=r"method\.thresholds"):
        METHODS.build(spec, key="method")


def test_branches_read_the_configured_stages_and_add_three_losses():
    torch.manual_seed(0)
    backbone = BackboneConfig(name="convnet", options={"width": 8})
    model = build_model(ModelConfig(backbone=backbone), 3)
    with pytest.raises(ConfigError, match=r"method\.c_stage"):
        METHODS.build({"name": "spg", "c_stage": 9}).setup(model)
    se = build_model(ModelConfig(backbone=backbone, head={"name": "se"}), 3)
    with pytest.raises(ConfigError, match="runs the backbone"):
        METHODS.build({"name": "spg"}).setup(se)
    method = METHODS.build(
        {"name": "spg", "b1_stage": 0, "b2_stage": 1, "branch_channels": 16, "mask_size": 32}
    )
    method.setup(model)
    assert model.head.b1[0].in_channels == 8 and model.head.b2[0].in_channels == 16
    assert model.head.c[0].in_channels == 64
    images, labels = torch.randn(2, 3, 32, 32), torch.tensor([0, 2])
    model.train()
    loss, output = method.training_step(model, images, labels)
    assert set(output.aux_losses) == {"spg_b1", "spg_b2", "spg_c"}
    assert loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(output.logits, labels).item()
        + sum(v.item() for v in output.aux_losses.values())
    )
    model.eval()
    assert model(images).aux_losses == {}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0, width=32), min_size=12, max_size=12),
    st.floats(0.05, 1.0),
    st.floats(0.0, 0.05),
    st.integers(1, 12),
)
def test_mask_invariants(values, high, low, min_foreground):
    attention = torch.tensor(values).view(1, 3, 4)
    mask = spg_mask(attention, high, low, min_foreground)
    assert set(mask.unique().tolist()) <= {0, 1, X}
    assert torch.equal(mask == 0, attention < low)  # background exactly below ``low``
    floor = min(high, 0.7 * attention.max().item())
    assert (attention[mask == 1] > floor).all()
    assert (attention[mask == X] >= low).all()
    if (attention > high).sum() >= min_foreground:  # enough object pixels: no fallback
        assert torch.equal(mask == 1, (attention > high) & (attention >= low))
