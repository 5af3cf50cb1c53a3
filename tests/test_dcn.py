"""Dynamic Capacity Network head: saliency, patch selection, patches, maps and boxes."""

from pathlib import Path

import numpy as np
import pytest
import torch

from wsol.config import load_config
from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError
from wsol.models import build_model
from wsol.models.heads.dcn import Selection

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "synthparts" / "dcn.yaml"
COARSE = BackboneConfig(name="convnet", options={"width": 4, "strides": [2, 2], "blocks": 1})
HEAD = {"name": "dcn", "k": 2, "patch_size": 8, "fine_width": 3, "fine_strides": [2], "fine_blocks": 1}


def tiny(seed: int = 0, **options):
    torch.manual_seed(seed)
    return build_model(ModelConfig(backbone=COARSE, head={**HEAD, **options}), num_classes=3)


def hand_saliency(head, coarse: torch.Tensor) -> np.ndarray:
    """``|| dH / dc_ij ||`` for ``g = linear(GAP(relu(W1 c + b1)))``, by the chain rule in numpy."""
    w1 = head.top[0].weight[:, :, 0, 0].detach().double().numpy()
    b1 = head.top[0].bias.detach().double().numpy()
    w2 = head.cam.classifier.weight.detach().double().numpy()
    b2 = head.cam.classifier.bias.detach().double().numpy()
    c = coarse.double().numpy()  # (B, D, h, w)
    a = np.einsum("ed,bdhw->behw", w1, c) + b1[None, :, None, None]
    z = np.maximum(a, 0).mean(axis=(2, 3)) @ w2.T + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    h_entropy = -(p * np.log(p)).sum(axis=1, keepdims=True)
    dh_dz = -p * (np.log(p) + h_entropy)  # dH/dz_m = -p_m (log p_m + H)
    dh_dr = (dh_dz @ w2) / (c.shape[2] * c.shape[3])  # (B, E), the same at every position
    dh_da = (a > 0) * dh_dr[:, :, None, None]
    dh_dc = np.einsum("ed,behw->bdhw", w1, dh_da)
    return np.linalg.norm(dh_dc, axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saliency_is_the_hand_computed_entropy_gradient_and_selects_its_top_k(seed):
    head = tiny(seed).head
    coarse = torch.randn(2, head.project.out_channels, 4, 4, generator=torch.Generator().manual_seed(seed))
    expected = hand_saliency(head, coarse)
    with torch.no_grad():  # as in evaluation: the head turns gradients back on for the saliency
        got = head.saliency(coarse)
        sel = head.select(coarse, (16, 16))
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=1e-4, atol=1e-9)
    assert expected.std() > 0  # position-dependent, thanks to the ReLU in g
    flat = expected.reshape(2, -1)
    # The chosen cells hold the two largest hand-computed saliencies (ties may pick either cell).
    top2 = -np.sort(-flat, axis=1)[:, :2]
    np.testing.assert_allclose(np.take_along_axis(flat, sel.index.numpy(), 1), top2, rtol=1e-4)
    np.testing.assert_allclose(sel.saliency.numpy(), top2, rtol=1e-4)
    assert len(set(sel.index[0].tolist())) == 2


def test_k_is_capped_at_a_quarter_of_the_grid():
    head = tiny(k=50).head
    sel = head.select(torch.randn(1, head.project.out_channels, 4, 4), (16, 16))
    assert sel.index.shape == (1, 4) and len(set(sel.index[0].tolist())) == 4


def test_patches_are_centred_on_the_selected_cells_and_zero_padded():
    head = tiny().head
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    image = torch.stack([xs + 1, ys + 1, torch.ones(16, 16)])[None]  # coordinates + 1, 0 = padding
    sel = Selection(torch.tensor([[0, 6]]), torch.ones(1, 2), grid=(4, 4), size=(16, 16))
    patches = head.patches(image, sel)  # cells (0, 0) and (1, 2): centres (2, 2) and (10, 6)
    assert patches.shape == (2, 3, 8, 8)
    # Patch of cell (1, 2) covers x 6..13, y 2..9; patch of cell (0, 0) covers x, y -2..5.
    assert patches[1, 0, 0].tolist() == [x + 1.0 for x in range(6, 14)]
    assert patches[1, 1, :, 0].tolist() == [y + 1.0 for y in range(2, 10)]
    assert (patches[0, :, :2] == 0).all() and (patches[0, :, :, :2] == 0).all()
    assert patches[0, 0, 2, 2] == 1 and patches[0, 2, 2:, 2:].eq(1).all()


def test_heatmap_and_box_cover_the_selected_patches_by_rank():
    head = tiny(map_size=16).head
    sel = Selection(torch.tensor([[5, 0]]), torch.tensor([[2.0, 1.0]]), grid=(4, 4), size=(16, 16))
    heat = head.heatmap(sel)[0, 0]
    # Cell 5 = (1, 1), centre (6, 6): patch 2..10; cell 0, centre (2, 2): patch -2..6 (clipped).
    expected = torch.zeros(16, 16)
    expected[2:10, 2:10] += 1.0
    expected[0:6, 0:6] += 0.5
    torch.testing.assert_close(heat, expected)
    torch.testing.assert_close(head.boxes(sel), torch.tensor([[0.0, 0.0, 10 / 16, 10 / 16]]))


@pytest.mark.parametrize("pooling", ["gap", "gmp"])
def test_hybrid_replaces_only_the_selected_cells(pooling):
    model = tiny(pooling=pooling).eval()
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = model(images)
        coarse = model.head.project(model.backbone(images)[-1])
        sel = model.head.select(coarse, (16, 16))
        fine = model.head.fine(model.head.patches(images, sel))[-1].mean(dim=(2, 3)).view(2, 2, -1)
        hybrid = coarse.flatten(2).clone()
        for b in range(2):
            hybrid[b][:, sel.index[b]] = fine[b].T
        expected = model.head.top_logits(hybrid.view_as(coarse))
    torch.testing.assert_close(out.logits, expected)
    assert out.attention.shape == (2, 1, 56, 56) and out.boxes.shape == (2, 4)


def test_training_adds_hint_and_coarse_losses_that_reach_the_coarse_net():
    model = tiny().train()
    out = model(torch.randn(2, 3, 16, 16))
    assert set(out.aux_losses) == {"dcn_hint", "dcn_coarse"}
    out.aux_losses["dcn_hint"].backward()
    assert model.head.project.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.head.fine.parameters())  # the hint trains the coarse net only


def test_bad_options_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"model\.head: dcn needs k >= 1"):
        tiny(k=0)


def test_config_builds_a_dcn_model():
    cfg = load_config(CONFIG)
    model = build_model(cfg.model, num_classes=10)
    assert cfg.model.head["name"] == "dcn" and model.map_kind == "attention"
    assert model(torch.randn(1, 3, 128, 128)).attention.shape == (1, 1, 56, 56)
