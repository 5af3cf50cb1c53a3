"""Token backbones (timm ViT / DeiT) and every explainer on a token layer.

* :class:`TokenBackbone`: the grid follows the input, prefix tokens (class, distillation,
  registers) are named and kept out of the maps, the last map is timm's own
  ``forward_features``, recorded attention does not change the output.
* Explainers on a ``(B, N, C)`` block output: equal to pytorch-grad-cam 1.5.7 given its
  ``reshape_transform`` (Grad-CAM and its family), and the explainer contract for every
  registered name (random-init tiny distilled DeiT: two prefix tokens to drop).
* Attention rollout equal to its definition written out.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError, WSOLError
from wsol.explainers import EXPLAINERS, create_explainer
from wsol.models import build_model
from wsol.models.backbones import create_backbone
from wsol.models.backbones.timm_backbone import TimmBackbone
from wsol.models.backbones.tokens import TokenBackbone, TokenLayout

DEIT = "deit_tiny_distilled_patch16_224"
TINY = {"patch_size": 8, "depth": 2, "embed_dim": 32, "num_heads": 2, "img_size": 32}
LAYERS = ["backbone.body.blocks.1", "backbone.body.blocks.0"]
OPTIONS = {
    "cam": {"classifier": "m.head.classifier"},
    "scorecam": {"batch_size": 8},
    "smoothgrad": {"samples": 2, "batch_size": 4},
    "occlusion": {"window": 8, "stride": 8, "batch_size": 8},
}


def backbone(name: str = DEIT, feature_stage: int = -1, **options: object) -> TokenBackbone:
    torch.manual_seed(0)
    cfg = BackboneConfig(name=name, feature_stage=feature_stage, options={**TINY, **options})
    return create_backbone(cfg)


class Logits(nn.Module):
    """A WSOLModel returning its logits only (pytorch-grad-cam's model interface)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        cfg = ModelConfig(backbone=BackboneConfig(name=DEIT, options=TINY), head={"name": "cam"})
        self.m = build_model(cfg, num_classes=5)
        with torch.no_grad():  # gradients of order 1: pytorch-grad-cam's epsilons stay negligible
            self.m.head.classifier.weight.mul_(1e4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x).logits


def images(n: int = 3) -> torch.Tensor:
    return torch.randn(n, 3, 40, 24, generator=torch.Generator().manual_seed(1))  # 5 x 3 patches


def hooks_left(model: nn.Module) -> int:
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return sum(len(getattr(m, h)) for m in model.modules() for h in hooks)


# --- the backbone ------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(prefix=st.integers(0, 3), rows=st.integers(1, 4), cols=st.integers(1, 4), copies=st.integers(1, 3))
def test_layout_round_trip(prefix: int, rows: int, cols: int, copies: int) -> None:
    """``to_tokens(t, to_map(t)) == t``; maps of ``k`` stacked batches get the prefix ``k`` times."""
    layout = TokenLayout(tuple(f"p{i}" for i in range(prefix)), (rows, cols))
    tokens = torch.randn(2, prefix + rows * cols, 5)
    maps = layout.to_map(tokens)
    assert maps.shape == (2, 5, rows, cols)
    torch.testing.assert_close(layout.to_tokens(tokens, maps), tokens)
    stacked = layout.to_tokens(tokens, torch.cat([maps] * copies))
    torch.testing.assert_close(stacked, torch.cat([tokens] * copies))
    with pytest.raises(WSOLError, match="do not fit"):
        layout.to_map(tokens[:, 1:] if prefix + rows * cols > 1 else torch.randn(2, 5, 5))


def test_timm_names_route_by_kind() -> None:
    assert isinstance(backbone(), TokenBackbone)
    assert isinstance(create_backbone(BackboneConfig(name="resnet18")), TimmBackbone)


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 6))
def test_grid_follows_input(rows: int, cols: int) -> None:
    net = backbone().eval()
    features = net(torch.randn(2, 3, 8 * rows, 8 * cols))
    grid = (rows, cols)
    assert features.layout == TokenLayout(("cls", "dist"), grid) == net.token_layout
    assert len(features) == 2 and net.channels == [32, 32]
    assert all(f.shape == (2, 32, *grid) for f in features)


@pytest.mark.parametrize(
    ("name", "options", "prefix"),
    [
        ("deit_tiny_patch16_224", {}, ("cls",)),
        (DEIT, {}, ("cls", "dist")),
        ("vit_tiny_patch16_224", {"reg_tokens": 2}, ("cls", "reg0", "reg1")),
        ("vit_tiny_patch16_224", {"reg_tokens": 1, "class_token": False, "global_pool": "avg"}, ("reg0",)),
    ],
)
def test_last_map_and_prefix_tokens_are_timms(name: str, options: dict, prefix: tuple[str, ...]) -> None:
    """The last map and the prefix tokens are ``forward_features``' tokens, split by position."""
    net = backbone(name, **options).eval()
    x = torch.randn(2, 3, 24, 32)
    with torch.no_grad():
        features, tokens = net(x), net.body.forward_features(x)
    assert net.prefix_names == prefix and tuple(features.prefix) == prefix
    for i, key in enumerate(prefix):
        torch.testing.assert_close(features.prefix[key], tokens[:, i])
    expected = tokens[:, len(prefix) :].reshape(2, 3, 4, 32).permute(0, 3, 1, 2)
    torch.testing.assert_close(features[-1], expected)


def test_feature_stage_and_bad_configs() -> None:
    net = backbone(feature_stage=0, depth=3)
    assert len(net.body.blocks) == 1 and len(net(images())) == 1
    with pytest.raises(ConfigError, match=r"feature_stage: 3 out of range for .* \(3 blocks\)"):
        backbone(feature_stage=3, depth=3)
    with pytest.raises(WSOLError, match="input of 20x16 pixels is not a multiple of the 8x8 patch size"):
        net(torch.randn(1, 3, 20, 16))
    padded = backbone(dynamic_img_pad=True)
    assert padded(torch.randn(1, 3, 20, 16))[-1].shape == (1, 32, 3, 2)
    with pytest.raises(ConfigError, match="no strides to remove"):
        create_backbone(BackboneConfig(name=DEIT, stride_one_stages=[0], options=TINY))


def test_recorded_attention() -> None:
    net = backbone().eval()
    fused = [block.attn.fused_attn for block in net.body.blocks]
    x = images(2)
    with torch.no_grad():
        plain = net(x)
        net.keep_attention = True
        recorded = net(x)
    assert plain.attentions == [] and len(recorded.attentions) == 2
    n = 2 + 15
    for attention in recorded.attentions:
        assert attention.shape == (2, 2, n, n)
        torch.testing.assert_close(attention.sum(-1), torch.ones(2, 2, n))
    torch.testing.assert_close(recorded[-1], plain[-1], rtol=1e-4, atol=1e-5)
    assert [block.attn.fused_attn for block in net.body.blocks] == fused
    assert hooks_left(net) == 0


def test_inserted_blocks_see_the_patch_map() -> None:
    net = backbone().eval()
    seen: list[tuple[int, ...]] = []

    class Zero(nn.Module):
        def forward(self, maps: torch.Tensor) -> torch.Tensor:
            seen.append(tuple(maps.shape))
            return torch.zeros_like(maps)

    net.insert_after(0, Zero())
    inputs: list[torch.Tensor] = []
    net.body.blocks[1].register_forward_pre_hook(lambda _m, args: inputs.append(args[0]))
    net(images(2))
    assert seen == [(2, 32, 5, 3)]
    assert (inputs[0][:, 2:] == 0).all() and (inputs[0][:, :2] != 0).any()


# --- explainers on token layers ----------------------------------------------------------

ORACLE = {
    "gradcam": GradCAM,
    "hirescam": HiResCAM,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "gradcampp": GradCAMPlusPlus,
}


@pytest.fixture(scope="module")
def model() -> Logits:
    return Logits().eval()


def reshape_transform(tokens: torch.Tensor) -> torch.Tensor:
    """The user-written reshape pytorch-grad-cam needs: drop class and distillation tokens."""
    return tokens[:, 2:].reshape(tokens.shape[0], 5, 3, tokens.shape[2]).permute(0, 3, 1, 2)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(ORACLE))
def test_matches_pytorch_grad_cam_on_tokens(model: Logits, name: str, layer: str) -> None:
    """Raw maps equal pytorch-grad-cam's ``get_cam_image`` (plus its ReLU) on the activations
    and gradients its hooks recorded through ``reshape_transform``; wsol needs no reshape.
    Tolerance: 1e-5 of the largest ``sum_k |g A|`` (HiResCAM's sum cancels to small values)
    plus 1e-4 relative (XGrad-CAM divides by ``sum_ij A``, which signed token activations can
    bring near 0, amplifying float32 rounding)."""
    x, targets = images(), torch.tensor([1, 4, 2])
    module = model.get_submodule("m." + layer)
    with ORACLE[name](model, [module], reshape_transform=reshape_transform) as cam:
        cam(x, [ClassifierOutputTarget(int(c)) for c in targets])
        acts = cam.activations_and_grads.activations[0].numpy()
        grads = cam.activations_and_grads.gradients[0].numpy()
        raw = np.maximum(cam.get_cam_image(x, module, None, acts, grads, False), 0)
    model.zero_grad(set_to_none=True)
    ours = create_explainer(name, model, "m." + layer)(x, targets)
    assert ours.shape == (3, 5, 3) and raw.max() > 0
    scale = np.abs(acts * grads).sum(1).max()
    np.testing.assert_allclose(ours.numpy(), raw, rtol=1e-4, atol=1e-5 * scale)


def build(name: str, net: nn.Module, **extra: object):
    return create_explainer({"name": name, **OPTIONS.get(name, {}), **extra}, net, "m." + LAYERS[0])


@pytest.mark.parametrize("name", EXPLAINERS.list())
def test_every_explainer_on_a_token_layer(name: str) -> None:
    """Shape on the token grid, values, no side effects, batch independence, differentiability."""
    net = Logits().train()
    modes = [m.training for m in net.modules()]
    x, targets = images(), torch.tensor([0, 4, 2])
    explainer = build(name, net)
    maps = explainer(x, targets)
    hw = (5, 3) if EXPLAINERS.get(name).space == "layer" else (40, 24)
    assert maps.shape == (3, *hw) and torch.isfinite(maps).all() and maps.abs().sum() > 0
    if EXPLAINERS.get(name).non_negative:
        assert (maps >= 0).all()
    assert hooks_left(net) == 0 and [m.training for m in net.modules()] == modes
    assert all(p.grad is None for p in net.parameters())
    if name != "smoothgrad":  # noise drawn per batch
        one_by_one = torch.cat([explainer(x[i : i + 1], targets[i : i + 1]) for i in range(3)])
        torch.testing.assert_close(maps, one_by_one, rtol=1e-4, atol=1e-5 * float(maps.abs().max()))
    net.m.backbone.keep_attention = True  # explicit attention: the CPU fused kernel has no double backward
    differentiable = build(name, net.eval(), differentiable=True)(x[:1], targets[:1])
    differentiable.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_token_layer_without_a_grid() -> None:
    class Tokens(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(2).transpose(1, 2)

    net = nn.Sequential(Tokens(), nn.Flatten(), nn.LazyLinear(3))
    with pytest.raises(WSOLError, match=r"returned \(2, 16, 3\).*no enclosing module declares its token"):
        create_explainer("gradcam", net, "0")(torch.randn(2, 3, 4, 4))
    with pytest.raises(ConfigError, match="not in a token backbone"):
        create_explainer("rollout", net, "0")
    with pytest.raises(ConfigError, match="0 token backbones"):
        create_explainer("rollout", net)


@pytest.mark.parametrize("fusion", ["mean", "max"])
def test_rollout_definition(fusion: str) -> None:
    """``R = Â_L ... Â_1`` with ``Â = normalise(fuse_heads(A) + I)``; the class token's row at the patches."""
    net = Logits().eval()
    backbone_ = net.m.backbone
    x = images(2)
    with torch.no_grad(), backbone_.recording_attention() as attentions:
        net(x)
    expected = []
    for b in range(2):
        flow = np.eye(17)
        for attention in attentions:
            heads = attention[b].double().numpy()
            fused = heads.mean(0) if fusion == "mean" else heads.max(0)
            step = fused + np.eye(17)
            flow = (step / step.sum(1, keepdims=True)) @ flow
        expected.append(flow[0, 2:].reshape(5, 3))
    ours = create_explainer({"name": "rollout", "head_fusion": fusion}, net)(x)
    np.testing.assert_allclose(ours.numpy(), np.stack(expected), rtol=1e-5)


def test_cam_at_the_last_stage_module_is_the_heads_map(model: Logits) -> None:
    """The last stage module is the final norm: CAM there reproduces the CAM head's own maps."""
    x, targets = images(), torch.tensor([3, 0, 1])
    layer = model.m.backbone.stage_modules[-1]
    ours = create_explainer({"name": "cam", "classifier": "m.head.classifier"}, model, layer)(x, targets)
    with torch.no_grad():
        expected = model.m(x).localization_map(targets)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))
