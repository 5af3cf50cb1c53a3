"""Post-hoc explainers and the EXPLAINERS registry.

An explainer turns a trained classifier into per-image heatmaps for one class each::

    explainer = create_explainer({"name": "gradcam"}, model, "layer4")
    maps = explainer(images)                 # (B, h, w), for the predicted classes
    maps = explainer(images, labels)         # for given (B,) class indices

Contract of a member (a subclass of :class:`wsol.explainers.base.Explainer`, registered
with ``@EXPLAINERS.register(name)`` in its own module of this package):

* built as ``cls(model, target_layer, **options, differentiable=False)``. ``model`` is
  any ``nn.Module`` whose forward returns ``(B, K)`` logits or an object with a
  ``.logits`` attribute (:class:`wsol.models.output.ModelOutput`); ``target_layer`` is a
  module of ``model`` (or its dotted name) whose output is a ``(B, C, h, w)`` map, or
  ``(B, N, C)`` tokens inside a module declaring its token grid (``token_layout``, e.g.
  a ViT block of :class:`wsol.models.backbones.tokens.TokenBackbone`: explainers see the
  patch tokens as a ``(B, C, h, w)`` map, prefix tokens excluded), and runs once per
  forward pass. Input-space methods (``space = "input"``) ignore it.
  Every option has a default except CAM's ``classifier``.
* called as ``explainer(images, targets=None)`` on a ``(B, C, H, W)`` float batch; the
  score explained is each image's target-class logit (``targets``: ``(B,)`` integer
  tensor; default: the predicted class). Images are explained in one batched pass
  (perturbation methods batch their perturbed copies across images).
* returns a ``(B, h, w)`` float tensor at the target layer's resolution (``space =
  "layer"``) or the input's (``space = "input"``), on the images' device. Maps are
  raw: no normalisation or resizing (evaluation min-max normalises and resizes them);
  they are non-negative when the class declares ``non_negative = True`` (a final ReLU,
  or absolute values). Methods that read a transformer's attention (``rollout``) declare
  ``needs_tokens = True`` and explain token backbones only.
* runs the model in eval mode for the call and restores every submodule's own
  train/eval flag afterwards; takes gradients with ``torch.autograd.grad`` only down to
  what it differentiates (the target layer, or the input for pixel methods), so
  parameters' ``.grad`` are never written; registers hooks only inside context
  managers, so none is left behind, also when the forward raises. Everything stays in
  torch on the images' device.
* with ``differentiable=True`` the maps keep their autograd graph (gradients are taken
  with ``create_graph=True``) and the model's mode is left as the caller set it, e.g.
  to train with a loss on the maps.
* documents its definition (formula, paper, reference code) and where it deliberately
  differs from the reference code (pytorch-grad-cam or the authors').

Add a method by writing one module in this package; it is imported automatically, and
``tests/test_explainers.py`` runs its contract tests on every registered name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from wsol.errors import ConfigError
from wsol.explainers.base import Explainer
from wsol.registry import Registry

EXPLAINERS = Registry("explainer", __name__)


def create_explainer(
    spec: Mapping[str, Any] | str, model: nn.Module, target_layer: nn.Module | str | None = None
) -> Explainer:
    """Build the explainer ``spec`` (``{"name": ..., **options}`` or a name) for ``model``.

    ``target_layer`` may instead be given in ``spec`` as a dotted module name.
    """
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    if target_layer is not None:
        if "target_layer" in spec:
            raise ConfigError("eval.explainer: target_layer is given both in the config and by the caller")
        spec["target_layer"] = target_layer
    return EXPLAINERS.build(spec, key="eval.explainer", model=model)


def list_explainers(pattern: str | list[str] = "*") -> list[str]:
    """Registered explainer names matching a shell-style wildcard (or any of several)."""
    return EXPLAINERS.list(pattern)
