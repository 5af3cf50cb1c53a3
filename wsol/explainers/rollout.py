"""Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020,
https://arxiv.org/abs/2005.00928; reference code: github.com/samiraabnar/attention_flow and,
for ViTs, github.com/jacobgil/vit-explain).

With ``A_l`` block ``l``'s attention probabilities fused over heads (mean, as in the paper;
``head_fusion`` ``max`` or ``min`` as in vit-explain), the residual connection is accounted
for by ``Â_l = (A_l + I) / 2`` (rows re-normalised to sum to 1) and the attention flows through
the blocks as ``R = Â_L ... Â_2 Â_1``. The map is the row of ``R`` of the class token (the
first prefix token; the mean of the patch tokens' rows for models without prefix tokens)
at the patch tokens, on the backbone's token grid. Class-agnostic: ``targets`` are ignored.

The blocks are those of the token backbone enclosing ``target_layer`` (by default the one
token backbone of the model), up to its last block. vit-explain's ``discard_ratio`` (zeroing
the weakest attentions) is not in the paper and not implemented.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.explainers import EXPLAINERS
from wsol.explainers.base import Explainer

FUSIONS = {"mean": lambda a: a.mean(1), "max": lambda a: a.amax(1), "min": lambda a: a.amin(1)}


@EXPLAINERS.register("rollout")
class AttentionRollout(Explainer):
    needs_tokens = True

    def __init__(
        self,
        model: nn.Module,
        target_layer: nn.Module | str | None = None,
        head_fusion: str = "mean",
        *,
        differentiable: bool = False,
    ) -> None:
        if head_fusion not in FUSIONS:
            raise ConfigError(f"rollout head_fusion must be one of {sorted(FUSIONS)}, got {head_fusion!r}")
        if target_layer is None:
            sources = [m for m in model.modules() if hasattr(m, "recording_attention")]
            if len(sources) != 1:
                raise ConfigError(f"rollout needs target_layer: the model has {len(sources)} token backbones")
            target_layer = sources[0]
        super().__init__(model, target_layer, differentiable=differentiable)
        if not hasattr(self.tokens, "recording_attention"):
            raise ConfigError(f"rollout: target layer {self.layer_name!r} is not in a token backbone")
        self.fuse = FUSIONS[head_fusion]

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        with self.tokens.recording_attention() as attentions:
            self.forward(images)
        layout = self.tokens.token_layout
        flow = None
        for attention in attentions:
            fused = self.fuse(attention)
            fused = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
            fused = fused / fused.sum(-1, keepdim=True)
            flow = fused if flow is None else fused @ flow
        rows = flow[:, 0] if layout.num_prefix else flow[:, layout.num_prefix :].mean(1)
        return layout.to_map(rows[..., None])[:, 0]
