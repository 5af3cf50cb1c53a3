"""TS-CAM: token semantic coupled attention maps for vision transformers."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.models.backbones.tokens import TokenBackbone, TokenFeatures, TokenLayout, class_attention
from wsol.models.heads import HEADS
from wsol.models.output import ModelOutput


def tscam_maps(attentions: list[Tensor], layout: TokenLayout, semantic: Tensor, layers: int) -> Tensor:
    """``(B, K, h, w)`` TS-CAM maps ``M_c = A* ⊙ ReLU(S_c)``.

    ``A*`` (semantic-agnostic, :func:`~wsol.models.backbones.tokens.class_attention`): the
    class token's attention to each patch, averaged over heads and over the last ``layers``
    blocks' ``(B, heads, N, N)`` attentions (0: all); ``S (B, K, h, w)``: the semantic-aware maps.
    """
    chosen = attentions[-layers:] if layers else attentions
    return class_attention(chosen, layout)[:, None] * torch.relu(semantic)


@HEADS.register("tscam")
class TSCAMHead(nn.Module):
    """TS-CAM (Gao et al., "TS-CAM: Token Semantic Coupled Attention Map for Weakly Supervised
    Object Localization", ICCV 2021; reference code github.com/vasgaowei/TS-CAM).

    Semantic-aware maps ``S = conv(F)``: a ``kernel_size`` convolution from the last block's
    patch-token map ``F (B, C, h, w)`` to ``K`` class maps ("semantic re-allocation": the
    patch tokens, not the class token, carry the class semantics); the logits are their
    means, ``s_c = GAP(S_c)``, trained with image labels only (cross-entropy). The class
    token is not classified. Maps: ``M_c = A* ⊙ ReLU(S_c)`` (:func:`tscam_maps`), with ``A*`` the
    class token's attention to the patches averaged over heads and the last
    ``attention_layers`` blocks (0: all, as the paper).

    Needs a :class:`~wsol.models.backbones.tokens.TokenBackbone` with a class token; the head
    switches its ``keep_attention`` on. Differs from the reference code: ``A*`` averages the
    layers where it sums them (a constant factor), and the ReLU on ``S`` is part of the map
    in training too (the reference applies it at test time only; the loss never sees maps).
    """

    map_kind: ClassVar[str] = "class"
    needs_tokens: ClassVar[bool] = True

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: nn.Module | None = None,
        attention_layers: int = 0,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        if not isinstance(backbone, TokenBackbone) or "cls" not in backbone.prefix_names[:1]:
            raise ConfigError("model.head: tscam needs a vision transformer backbone with a class token")
        if not 0 <= attention_layers <= len(backbone.stage_modules):
            raise ConfigError(
                f"model.head.attention_layers: {attention_layers} is not in 0..{len(backbone.stage_modules)}"
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"model.head.kernel_size: {kernel_size} is not a positive odd number")
        backbone.keep_attention = True
        self.attention_layers = attention_layers
        self.semantic = nn.Conv2d(in_channels[-1], num_classes, kernel_size, padding=kernel_size // 2)

    def forward(self, features: TokenFeatures) -> ModelOutput:
        semantic = self.semantic(features[-1])
        maps = tscam_maps(features.attentions, features.layout, semantic, self.attention_layers)
        return ModelOutput(logits=semantic.mean(dim=(2, 3)), class_maps=maps)
