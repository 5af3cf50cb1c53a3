"""BACKBONES registry and ``create_backbone``.

A backbone turns images into a list of feature maps, one per stage, finest first.

Contract of a member: a callable ``(cfg: BackboneConfig) -> Backbone`` (see
:class:`wsol.models.backbones.base.Backbone`): an ``nn.Module`` whose forward maps
``(B, 3, H, W)`` images to a list of ``(B, C_i, H_i, W_i)`` tensors ending with the stage
chosen by ``cfg.feature_stage``, exposing ``channels`` (one per returned stage) and
``stage_modules`` (the module producing each stage, so training methods can insert
blocks after them with :meth:`~wsol.models.backbones.base.Backbone.insert_after`) and,
where it can, :meth:`~wsol.models.backbones.base.Backbone.run_stage` (one stage at a
time, for heads that place attention layers between stages).

Any timm model name that is not a registered member is built by
:class:`wsol.models.backbones.timm_backbone.TimmBackbone`, except timm's vision
transformers (ViT, DeiT), built by :class:`wsol.models.backbones.tokens.TokenBackbone`:
their stages are blocks, whose patch tokens become maps on the token grid.
"""

from __future__ import annotations

from wsol.config.schema import BackboneConfig
from wsol.registry import Registry

BACKBONES = Registry("backbone", __name__)


def create_backbone(cfg: BackboneConfig):
    """Build the registered backbone ``cfg.name``, or a timm model (CNN or ViT) of that name."""
    if cfg.name in BACKBONES:
        return BACKBONES.get(cfg.name)(cfg)
    from wsol.models.backbones.timm_backbone import TimmBackbone
    from wsol.models.backbones.tokens import TokenBackbone, is_token_model

    if is_token_model(cfg.name):
        return TokenBackbone(cfg)

    return TimmBackbone(cfg)


def list_backbones(pattern: str = "*", include_timm: bool = False) -> list[str]:
    """Registered backbones (and, optionally, every timm model) matching ``pattern``."""
    names = set(BACKBONES.list(pattern))
    if include_timm:
        import timm

        names.update(timm.list_models(pattern))
    return sorted(names)
