"""Weights in wsolevaluation's or torchvision's naming, mapped onto the ``wsoleval_*`` networks.

Two sources use those names: the ImageNet files wsolevaluation starts from (torchvision's
``vgg16``, ``resnet50``, ``inception_v3_google``) and the checkpoints its ``main.py``
saves (``{"state_dict": ..., "architecture": ..., ...}``, keys possibly prefixed with
``module.``). Both are first brought to one *canonical* naming, torchvision's for the
trunks, undoing the renames wsolevaluation applies per method (its ``adjust_pretrained_model``,
``align_layer`` and ``batch_replace_layer``):

* VGG16: the k-th convolution of ``features`` (or of ``SPG_A_1`` / ``SPG_A_2`` for SPG) is
  torchvision's ``features.<i>`` of the k-th convolution, whatever pools and ADL blocks
  sit between them;
* ResNet50 with ADL: blocks after the first of layer3 and layer4 move down one index;
  with SPG: ``SPG_A1.0`` is ``layer3.0`` and ``SPG_A2.<k>`` is ``layer3.<k+1>``;
* InceptionV3: unchanged.

Canonical names then map onto wsol's modules through the backbone's
``reference_prefixes`` and, for the classifier, the table of the method's head
(:data:`HEAD_PREFIXES`). Any key left over on either side is an error that lists it.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor, nn

from wsol.errors import CheckpointError, ConfigError
from wsol.models.pretrained import load_weights_file

HUB_URLS = {  # the files wsolevaluation's model_urls name
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-19c8e357.pth",
    "inception_v3": "https://download.pytorch.org/models/inception_v3_google-1a9a5a14.pth",
}
TV_VGG_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # torchvision features.<i> of conv k
ARCHS = {"wsoleval_vgg16": "vgg16", "wsoleval_resnet50": "resnet50", "wsoleval_inception_v3": "inception_v3"}
# wsol methods -> the reference network they train (its ``architecture_type``)
METHOD_NETWORKS = {
    "vanilla": "cam",
    "has": "cam",
    "cutmix": "cam",
    "adl": "cam",
    "acol": "acol",
    "spg": "spg",
}
_ACOL = {
    "classifier_A.4.": "head.branch_a.classifier.",
    "classifier_A.": "head.branch_a.convs.",
    "classifier_B.4.": "head.branch_b.classifier.",
    "classifier_B.": "head.branch_b.convs.",
}
_SPG = {
    "SPG_B_1a.": "head.b1.",
    "SPG_B_2a.": "head.b2.",
    "SPG_B_shared.": "head.shared.",
    "SPG_C.": "head.c.",
}
HEAD_PREFIXES: dict[tuple[str, str], dict[str, str]] = {
    ("vgg16", "cam"): {"conv6.": "head.convs.0.", "fc.": "head.classifier."},
    ("resnet50", "cam"): {"fc.": "head.classifier."},
    ("inception_v3", "cam"): {"SPG_A4.": "head.classifier."},
    **{(arch, "acol"): _ACOL for arch in ("vgg16", "resnet50", "inception_v3")},
    ("vgg16", "spg"): {"SPG_A_4.": "head.base.classifier.", **_SPG},
    ("resnet50", "spg"): {"SPG_A4.": "head.base.classifier.", **_SPG},
    ("inception_v3", "spg"): {"SPG_A4.": "head.base.classifier.", **_SPG},
}
_NOT_IN_TRUNK = {  # torchvision keys wsolevaluation drops before loading ImageNet weights
    "vgg16": ("classifier.",),
    "resnet50": ("fc.",),
    "inception_v3": ("fc.", "AuxLogits.", "Mixed_7"),
}
_NEW_LAYERS = ("SPG_",)  # trunk layers the reference does not take from ImageNet


def canonical_keys(state: dict[str, Tensor], arch: str, method: str) -> dict[str, Tensor]:
    """``state`` (a wsolevaluation or torchvision state dict) in canonical naming (module docstring)."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if arch == "vgg16":
        return _canonical_vgg(state)
    if arch == "resnet50" and method == "adl":
        return {re.sub(r"^(layer[34])\.(\d+)\.", _adl_shift, k): v for k, v in state.items()}
    if arch == "resnet50" and method == "spg":
        return {re.sub(r"^SPG_A([12])\.(\d+)\.", _spg_resnet, k): v for k, v in state.items()}
    return state


def _adl_shift(match: re.Match) -> str:
    index = int(match[2])
    return f"{match[1]}.{index - 1 if index >= 2 else index}."


def _spg_resnet(match: re.Match) -> str:
    return f"layer3.{int(match[2]) + (0 if match[1] == '1' else 1)}."


def _canonical_vgg(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Number the trunk's convolutions in order and give each torchvision's index."""
    spg = {
        f"SPG_A_{block}.{i}.": 7 + 3 * (block - 1) + j for block in (1, 2) for j, i in enumerate((0, 2, 4))
    }
    features = sorted({int(k.split(".")[1]) for k in state if re.match(r"features\.\d+\.", k)})
    ordinal = {f"features.{i}.": k for k, i in enumerate(features)} | spg
    out = {}
    for key, value in state.items():
        prefix = re.match(r"^(features\.\d+\.|SPG_A_[12]\.\d+\.)", key)
        if prefix and prefix[1] in ordinal:
            if ordinal[prefix[1]] >= len(TV_VGG_CONVS):
                raise CheckpointError(f"VGG16 has 13 convolutions, the weights have more ({key})")
            key = f"features.{TV_VGG_CONVS[ordinal[prefix[1]]]}." + key[len(prefix[1]) :]
        out[key] = value
    return out


def backbone_names(backbone: nn.Module, prefix: str = "") -> dict[str, str]:
    """canonical name -> ``prefix`` + the backbone's state-dict key, for every backbone tensor."""
    names = {}
    for key in backbone.state_dict():
        for mine, theirs in backbone.reference_prefixes:
            if key.startswith(mine):
                names[theirs + key[len(mine) :]] = prefix + key
                break
    return names


def _fit(value: Tensor, target: Tensor, key: str) -> Tensor:
    """``value`` shaped as ``target``: a 1x1 convolution's weight may become a linear layer's."""
    if value.shape != target.shape and value.dim() == 4 and value.shape[2:] == (1, 1):
        value = value.flatten(1)
    if value.shape != target.shape:
        raise CheckpointError(f"{key}: shape {tuple(value.shape)} does not fit {tuple(target.shape)}")
    return value.to(target.dtype)


def reference_to_wsol(
    state: dict[str, Tensor], model: nn.Module, arch: str, method: str
) -> dict[str, Tensor]:
    """A wsolevaluation ``main.py`` state dict as the state dict of the wsol ``model`` (built and set up).

    Raises :class:`CheckpointError` listing the reference keys that map nowhere and the
    model keys that nothing maps to.
    """
    network = METHOD_NETWORKS.get(method)
    if network is None:
        raise ConfigError(f"method: wsolevaluation trains no {method!r} (known: {sorted(METHOD_NETWORKS)})")
    names = backbone_names(model.backbone, "backbone.")
    head = HEAD_PREFIXES[(arch, network)]
    target = model.state_dict()
    out, unmatched = {}, []
    for key, value in canonical_keys(state, arch, method).items():
        mapped = names.get(key) or next(
            (w + key[len(r) :] for r, w in head.items() if key.startswith(r)), None
        )
        if mapped is None or mapped not in target:
            unmatched.append(key)
            continue
        out[mapped] = _fit(value, target[mapped], key)
    missing = sorted(set(target) - set(out))
    if unmatched or missing:
        raise CheckpointError(
            f"wsolevaluation {arch}/{network} weights do not map onto the wsol model: "
            f"unmatched reference keys {_short(unmatched)}; wsol keys left without weights {_short(missing)}"
        )
    return out


def _short(keys: list[str], n: int = 12) -> str:
    more = f" ... (+{len(keys) - n} more)" if len(keys) > n else ""
    return "[" + ", ".join(keys[:n]) + more + "]" if keys else "none"


def load_imagenet_weights(backbone: nn.Module, arch: str, choice: str, name: str) -> None:
    """Load initial weights (``none``, ``torchvision`` for ``weights: timm``, or a file) into ``backbone``."""
    if choice.lower() in ("false", "none", ""):
        return
    state = fetch_hub_weights(arch, name) if choice == "torchvision" else read_state_dict(Path(choice))
    trunk = {
        k: v for k, v in canonical_keys(state, arch, "cam").items() if not k.startswith(_NOT_IN_TRUNK[arch])
    }
    names = backbone_names(backbone)
    wanted = {k for k in names if not k.startswith(_NEW_LAYERS)}
    missing = sorted(wanted - set(trunk))
    if missing:
        raise CheckpointError(f"model.backbone.weights: {choice} lacks {name} weights {_short(missing)}")
    target = backbone.state_dict()
    loaded = {names[k]: _fit(trunk[k], target[names[k]], k) for k in wanted}
    backbone.load_state_dict(loaded, strict=False)


def fetch_hub_weights(arch: str, name: str) -> dict[str, Tensor]:
    """The ImageNet file of ``arch`` through ``torch.hub`` (cached; downloaded if online)."""
    url = HUB_URLS[arch]
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, check_hash=False)
    except Exception as err:  # URLError, HTTPError, OSError, ...
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise ConfigError(
            f"model.backbone.weights: cannot get the ImageNet weights of {name} ({url}: "
            f"{type(err).__name__}); offline, put that file in {cache} or set model.backbone.weights "
            "to its path"
        ) from None


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """A torchvision-format state dict from a local file (one-line error if unreadable)."""
    state = load_weights_file(path)
    return state.get("state_dict", state) if isinstance(state, dict) else state
