"""TS-CAM: the map is its formula on a hand-built attention tensor; the head trains on labels only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from token_models import TOKENS

from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError
from wsol.models import build_model
from wsol.models.backbones.tokens import TokenLayout
from wsol.models.heads.tscam import tscam_maps


def softmax_rows(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).softmax(-1)


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_map_is_class_attention_times_relu_semantic(layers: int) -> None:
    """``M_c(i, j) = mean_{l in last layers, heads} A_l[cls -> patch(i, j)] * max(S_c(i, j), 0)``,
    with the class token first, a distillation token second, and a 2 x 3 patch grid."""
    layout = TokenLayout(("cls", "dist"), (2, 3))
    attentions = [softmax_rows((2, 4, 8, 8), seed) for seed in range(3)]  # 3 blocks, 4 heads, N = 2 + 6
    semantic = torch.randn(2, 5, 2, 3, generator=torch.Generator().manual_seed(9))
    chosen = attentions[-layers:] if layers else attentions
    expected = np.zeros((2, 5, 2, 3))
    for b in range(2):
        for c in range(5):
            for i in range(2):
                for j in range(3):
                    patch = 2 + 3 * i + j
                    agnostic = np.mean([a[b, h, 0, patch].item() for a in chosen for h in range(4)])
                    expected[b, c, i, j] = agnostic * max(semantic[b, c, i, j].item(), 0.0)
    ours = tscam_maps(attentions, layout, semantic, layers)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_head_trains_with_labels_only_and_its_maps_use_the_recorded_attention() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=TOKENS, head={"name": "tscam", "attention_layers": 1}), 3)
    x, labels = torch.randn(2, 3, 32, 40), torch.tensor([0, 2])
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out.logits, labels)
    loss.backward()
    assert model.head.semantic.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad(), model.backbone.recording_attention() as attentions:
        features = model.backbone(x)
        out = model.head(features)
    semantic = model.head.semantic(features[-1])
    torch.testing.assert_close(out.logits, semantic.mean((2, 3)))
    expected = tscam_maps(attentions[-1:], features.layout, semantic, 0)
    torch.testing.assert_close(out.class_maps, expected)
    assert out.class_maps.shape == (2, 3, 4, 5)


def test_needs_a_transformer_with_a_class_token() -> None:
    with pytest.raises(ConfigError, match="tscam needs a vision transformer backbone with a class token"):
        build_model(ModelConfig(backbone=BackboneConfig(name="resnet10t"), head={"name": "tscam"}), 3)
    no_cls = BackboneConfig(
        name=TOKENS.name, options={**TOKENS.options, "class_token": False, "global_pool": "avg"}
    )
    with pytest.raises(ConfigError, match="with a class token"):
        build_model(ModelConfig(backbone=no_cls, head={"name": "tscam"}), 3)
    with pytest.raises(ConfigError, match=r"attention_layers: 3 is not in 0\.\.2"):
        build_model(ModelConfig(backbone=TOKENS, head={"name": "tscam", "attention_layers": 3}), 3)
