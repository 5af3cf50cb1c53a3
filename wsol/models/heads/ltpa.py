"""Learn To Pay Attention: trainable attention estimators on intermediate stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.models.heads import HEADS
from wsol.models.heads._multiscale import RESIZE_MODES, stack_maps
from wsol.models.heads._options import check_choice, resolve_stages
from wsol.models.output import ModelOutput

COMPATIBILITIES = ("pc", "dp")
NORMALISATIONS = ("softmax", "sigmoid")
CLASSIFIERS = ("concat", "indep")


@HEADS.register("ltpa")
class LTPAHead(nn.Module):
    """Attention-weighted local features of several stages, steered by a global feature.

    For each stage ``s`` in ``stages`` with local features ``l_i`` (positions ``i``) and the
    global feature ``g = ReLU(W_g GAP(f_last) + b_g)`` of width ``global_dim`` (default: the
    last stage's channels):

    * compatibility ``c_i = u_s . (l_i + g_s)`` (``pc``, learned ``u_s``) or ``c_i = l_i . g_s``
      (``dp``), where ``g_s = P_s g`` is ``g`` linearly projected to the stage's channels
      when they differ from ``global_dim`` (the paper projects g to the lower-dimensional
      space of l, as the reference code does);
    * attention ``a = softmax_i(c)`` and ``g_a = sum_i a_i l_i`` (``softmax``, the paper), or
      ``a = sigmoid(c)`` and ``g_a = mean_i a_i l_i`` (``sigmoid``, as in the widely used
      re-implementation github.com/SaoYan/LearnToPayAttention);
    * classification from the ``g_a`` of all stages: one linear layer on their concatenation
      (``concat``) or one linear layer per stage with the logits averaged (``indep``).

    Jetley et al., "Learn To Pay Attention", ICLR 2018; reference code (Lua Torch)
    github.com/saumya-jetley/cd_ICLR18_LearnToPayAttention. The paper's ``g`` is the output
    of the network's fully connected layers; wsol's global pooling plus one FC layer works
    for any input size. Note that with ``pc`` and ``softmax`` the term ``u_s . g_s`` is the
    same at every position and cancels in the softmax: g then does not steer the attention
    (true of the paper's formula and of the reference code alike).

    Maps (``map_kind="attention"``): the attentions ``a`` of the stages resized to the finest
    (default) or coarsest of their resolutions and stacked ``(B, len(stages), h, w)``;
    softmax maps are rescaled by the ratio of the areas so that each still sums to about 1.
    """

    map_kind: ClassVar[str] = "attention"

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        stages: Sequence[int] = (-3, -2),
        compatibility: str = "pc",
        normalisation: str = "softmax",
        classifier: str = "concat",
        global_dim: int | None = None,
        resize: str = "finest",
    ) -> None:
        super().__init__()
        self.compatibility = check_choice(compatibility, COMPATIBILITIES, "compatibility")
        self.normalisation = check_choice(normalisation, NORMALISATIONS, "normalisation")
        self.classification = check_choice(classifier, CLASSIFIERS, "classifier")
        self.resize = check_choice(resize, RESIZE_MODES, "resize")
        self.stages = resolve_stages(stages, len(in_channels))
        dims = [in_channels[s] for s in self.stages]
        global_dim = global_dim or in_channels[-1]
        self.global_fc = nn.Sequential(nn.Linear(in_channels[-1], global_dim), nn.ReLU())
        self.project = nn.ModuleList(
            nn.Identity() if c == global_dim else nn.Linear(global_dim, c, bias=False) for c in dims
        )
        if self.compatibility == "pc":
            self.u = nn.ModuleList(nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in dims)
        widths = [sum(dims)] if self.classification == "concat" else dims
        self.classifiers = nn.ModuleList(nn.Linear(c, num_classes) for c in widths)

    def attend(self, features: list[Tensor]) -> list[tuple[Tensor, Tensor]]:
        """Per stage: the attention ``a (B, 1, h_s, w_s)`` and the attended vector ``g_a (B, C_s)``."""
        g = self.global_fc(features[-1].mean(dim=(2, 3)))
        attended = []
        for k, stage in enumerate(self.stages):
            local = features[stage]
            g_s = self.project[k](g)[:, :, None, None]
            if self.compatibility == "pc":
                scores = self.u[k](local + g_s)
            else:
                scores = (local * g_s).sum(dim=1, keepdim=True)
            if self.normalisation == "softmax":
                a = scores.flatten(2).softmax(dim=2).view_as(scores)
                attended.append((a, (a * local).sum(dim=(2, 3))))
            else:
                a = torch.sigmoid(scores)
                attended.append((a, (a * local).mean(dim=(2, 3))))
        return attended

    def forward(self, features: list[Tensor]) -> ModelOutput:
        attended = self.attend(features)
        vectors = [g_a for _, g_a in attended]
        if self.classification == "concat":
            logits = self.classifiers[0](torch.cat(vectors, dim=1))
        else:
            logits = torch.stack([fc(v) for fc, v in zip(self.classifiers, vectors, strict=True)]).mean(dim=0)
        softmax = self.normalisation == "softmax"
        maps = stack_maps([a for a, _ in attended], self.resize, preserve_mass=softmax)
        return ModelOutput(logits=logits, attention=maps)
