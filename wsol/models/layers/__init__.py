"""ATTENTION registry: attention layers that reweight a feature map and return their maps.

Contract of a member: an ``nn.Module`` class built as ``create_attention(name, channels,
**options)`` (or ``ATTENTION.build(spec, channels=...)``) where ``channels`` is ``C`` of
the feature maps it will see and every other argument of ``__init__`` is an option with a
default. Its ``forward(x (B, C, h, w)) -> AttentionOutput`` returns

* ``output``: the reweighted features, ``(B, C, h, w)`` like ``x``;
* the attention maps the layer computed, in the fields of :class:`AttentionOutput` that
  its class attribute ``maps`` names (the other fields are None):

  - ``spatial``: ``(B, 1, h, w)`` in [0, 1], where the layer attends (class-agnostic);
  - ``channel``: ``(B, C, 1, 1)`` in [0, 1], how much each channel is kept;
  - ``branch_weights``: ``(B, M, C, 1, 1)`` in [0, 1], summing to 1 over the ``M`` branches.

A layer keeps nothing of a forward on ``self`` (so no graph outlives its step and
``torch.compile(fullgraph=True)`` traces it). The docstring of a member gives the formula,
the paper, the reference code and where wsol differs. Layers are placed after backbone
stages by the ``inserted`` head (:mod:`wsol.models.heads.inserted`); add one by writing a
module in this package with an ``@ATTENTION.register("name")`` decorated class (see
docs/adding_a_head.md). In the spirit of timm's ``create_attn``
(``timm/layers/create_attn.py``), which picks the attention module of a block by name.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from torch import Tensor, nn

from wsol.registry import Registry

ATTENTION = Registry("attention layer", __name__)

MapName = Literal["spatial", "channel", "branch_weights"]


class AttentionOutput(NamedTuple):
    """What an attention layer returns: its output and the maps it computed (see the contract)."""

    output: Tensor
    spatial: Tensor | None = None
    channel: Tensor | None = None
    branch_weights: Tensor | None = None


def create_attention(name: str, channels: int, **options: Any) -> nn.Module:
    """Build the attention layer ``name`` for ``channels`` channels with its ``options``."""
    return ATTENTION.build({"name": name, **options}, channels=channels)


def list_attention(pattern: str | list[str] = "*") -> list[str]:
    """Registered attention layers matching a shell-style wildcard (or any of several)."""
    return ATTENTION.list(pattern)
