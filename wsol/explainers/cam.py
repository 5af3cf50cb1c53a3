"""CAM (Zhou et al., CVPR 2016, https://arxiv.org/abs/1512.04150).

``M_c = sum_k w_c,k A_k``: the target layer's channels weighted by the classifier's
weights of class ``c``, for networks whose head is global pooling followed by a linear
layer on that layer's output. No ReLU and no bias, as in the paper and in
wsolevaluation's CAM (which averages over channels instead of summing: a constant
factor that its min-max normalisation removes), so maps may be negative.

The classifier is given explicitly (``classifier=``): the final ``nn.Linear``, a 1x1
``nn.Conv2d``, or a head module containing exactly one of them (e.g. a
``Sequential(AdaptiveAvgPool2d(1), Flatten(), Linear)`` GAP-linear head), as a module or
its dotted name in the model. Its input width must equal the target layer's channels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, WSOLError
from wsol.explainers import EXPLAINERS
from wsol.explainers.base import Explainer, resolve_layer


def find_linear(name: str, head: nn.Module) -> nn.Module:
    """``head``'s single ``nn.Linear`` or 1x1 ``nn.Conv2d`` (``head`` itself if it is one)."""
    linear = [m for m in head.modules() if isinstance(m, nn.Linear) or _is_pointwise_conv(m)]
    if len(linear) != 1:
        raise ConfigError(
            f"CAM classifier {name!r} must be or contain exactly one nn.Linear or 1x1 nn.Conv2d, "
            f"found {len(linear)}"
        )
    return linear[0]


def _is_pointwise_conv(module: nn.Module) -> bool:
    return isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1) and module.groups == 1


@EXPLAINERS.register("cam")
class CAM(Explainer):
    non_negative = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: nn.Module | str | None = None,
        classifier: nn.Module | str | None = None,
        *,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layer, differentiable=differentiable)
        if classifier is None:
            raise ConfigError("explainer cam needs classifier= (the final linear layer or GAP-linear head)")
        self.classifier_name, head = resolve_layer(model, classifier)
        self.linear = find_linear(self.classifier_name, head)

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        logits, acts = self.capture(images)
        targets = self.resolve_targets(logits, targets)
        weight = self.linear.weight.flatten(1)
        if weight.shape[1] != acts.shape[1]:
            raise WSOLError(
                f"CAM classifier {self.classifier_name!r} takes {weight.shape[1]} features but target layer "
                f"{self.layer_name!r} has {acts.shape[1]} channels"
            )
        return torch.einsum("bk,bkhw->bhw", weight[targets], acts)
