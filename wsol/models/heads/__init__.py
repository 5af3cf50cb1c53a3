"""HEADS registry: what turns backbone features into logits and localization maps.

Contract of a member: an ``nn.Module`` class built as
``HEADS.build(spec, in_channels=..., num_classes=..., backbone=...)`` where

* ``in_channels``: channels of every backbone stage returned (the last is the deepest);
* ``num_classes``: number of classes;
* ``backbone`` (optional to accept): the :class:`~wsol.models.backbones.base.Backbone`,
  for heads that check it when they are built;

whose ``forward(features: list[Tensor]) -> ModelOutput`` returns ``logits (B, K)`` and
the maps it yields, and which declares them in the attribute ``map_kind`` (a class
attribute, or set in ``__init__`` when an option chooses the maps). A head that places
layers between backbone stages sets the class attribute ``runs_backbone = True``; its
forward is then ``forward(backbone, images) -> ModelOutput`` and runs the stages itself
(``backbone.run_stage``, see :mod:`wsol.models.heads.inserted`). No head hooks into the
backbone or keeps a tensor of its last forward on ``self``.

* ``"class"``: per-class maps ``ModelOutput.class_maps (B, K, h, w)`` (CAM-style);
* ``"attention"``: class-agnostic maps ``ModelOutput.attention (B, A, h, w)``; heads whose
  attention is a window also return ``ModelOutput.boxes`` (STN, glimpse).

Training, ``tools/eval_loc.py`` and W&B logging use ``ModelOutput.localization_map``,
so they treat every head alike. The docstring of a member gives the formula, the paper
and the reference code. Add a head by writing one module in this package with a
``@HEADS.register("name")`` decorated class (see docs/adding_a_head.md).
"""

from wsol.registry import Registry

HEADS = Registry("head", __name__)


def list_heads(pattern: str = "*") -> list[str]:
    return HEADS.list(pattern)
