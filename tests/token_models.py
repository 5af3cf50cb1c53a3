"""A tiny random-init DeiT for tests of heads and methods that need a token backbone."""

from __future__ import annotations

from wsol.config.schema import BackboneConfig
from wsol.models import heads

TOKENS = BackboneConfig(
    name="deit_tiny_patch16_224", options={"patch_size": 8, "depth": 2, "embed_dim": 32, "num_heads": 2}
)


def backbone_for(head: str, default: BackboneConfig) -> BackboneConfig:
    """Heads that read a transformer's attention (``needs_tokens``, e.g. TS-CAM) get :data:`TOKENS`."""
    return TOKENS if getattr(heads.HEADS.get(head), "needs_tokens", False) else default  # as patched
