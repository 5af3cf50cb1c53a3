"""Any timm model as a WSOL backbone, with wsolevaluation's architecture options."""

from __future__ import annotations

import timm
from timm.models._features import FeatureDictNet
from timm.models.efficientnet import EfficientNetFeatures
from timm.models.mobilenetv3 import MobileNetV3Features
from torch import Tensor, nn

from wsol.config.schema import BackboneConfig
from wsol.errors import ConfigError, did_you_mean
from wsol.models.backbones.base import Backbone
from wsol.models.pretrained import timm_pretrained_kwargs


class TimmBackbone(Backbone):
    """``timm.create_model(name, features_only=True)`` up to ``cfg.feature_stage``.

    ``cfg.stride_one_stages`` removes the downsampling of the listed stages, the WSOL
    modification that keeps CAMs at a higher resolution: wsolevaluation trains ResNet50
    with the last stage at stride 1 and VGG16 without pool5 (here: stride-2 convolutions
    of the stage get stride 1, and pooling layers whose kernel equals their stride
    become identities). Changed stages keep their weights, so pretrained weights still load.

    :meth:`run_stage` works for the feature wrappers that run their modules in sequence
    (timm's ``FeatureListNet``, used by ResNet, VGG, ConvNeXt, DenseNet, ..., and the
    EfficientNet / MobileNet feature classes); ``forward`` is always timm's own.
    """

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        if not timm.is_model(cfg.name):
            hint = did_you_mean(cfg.name, timm.list_models()) or ""
            raise ConfigError(f"model.backbone.name: unknown backbone {cfg.name!r}{hint}")
        probe = timm.create_model(cfg.name, features_only=True, pretrained=False, **cfg.options)
        num_stages = len(probe.feature_info)
        last = cfg.feature_stage % num_stages if -num_stages <= cfg.feature_stage < num_stages else None
        if last is None:
            raise ConfigError(
                f"model.backbone.feature_stage: {cfg.feature_stage} out of range for {cfg.name} "
                f"({num_stages} stages)"
            )
        self.body = timm.create_model(
            cfg.name,
            features_only=True,
            out_indices=tuple(range(last + 1)),
            **timm_pretrained_kwargs(cfg),
            **cfg.options,
        )
        self.channels = list(self.body.feature_info.channels())
        modules = dict(self.body.named_modules())
        names = [n if n in modules else n.replace(".", "_") for n in self.body.feature_info.module_name()]
        for stage in cfg.stride_one_stages:
            if not -len(names) <= stage < len(names):
                raise ConfigError(f"model.backbone.stride_one_stages: no stage {stage} in {cfg.name}")
            _remove_downsampling(self.body, _stage_span(list(modules), names, stage % len(names)))
        self.stage_modules = [self.body.get_submodule(n) for n in names]
        self.stage_runs = _stage_runs(self.body)

    @property
    def runs_stagewise(self) -> bool:
        return self.stage_runs is not None

    def run_stage(self, index: int, x: Tensor) -> Tensor:
        if self.stage_runs is None:
            return super().run_stage(index, x)
        for module in self.stage_runs[index]:
            x = module(x)
        return x

    def forward(self, images: Tensor) -> list[Tensor]:
        return self.body(images)


def _stage_runs(body: nn.Module) -> list[list[nn.Module]] | None:
    """The modules each stage runs, in order, for the sequential feature wrappers; else None."""
    if isinstance(body, FeatureDictNet):
        runs, run = [], []
        for name, module in body.items():
            run.append(module)
            if name in body.return_layers:
                runs.append(run)
                run = []
        return runs
    if isinstance(body, (EfficientNetFeatures, MobileNetV3Features)) and body.feature_hooks is None:
        stem = [body.conv_stem, body.bn1, *([body.act1] if isinstance(body, MobileNetV3Features) else [])]
        ends = sorted(body._stage_out_idx)  # stage i's output follows the first ends[i] blocks
        runs = [list(body.blocks[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        runs[0] = [*stem, *runs[0]]
        return runs
    return None


def _stage_span(order: list[str], stage_names: list[str], stage: int) -> list[str]:
    """Names of the modules (in definition order) that run between stage-1's and stage's outputs."""

    def subtree_end(name: str) -> int:
        return max(i for i, n in enumerate(order) if n == name or n.startswith(name + "."))

    start = subtree_end(stage_names[stage - 1]) + 1 if stage else 1
    return order[start : subtree_end(stage_names[stage]) + 1]


def _remove_downsampling(body: nn.Module, span: list[str]) -> None:
    """Give stride 1 to every stride-2 convolution or pooling among the ``span`` modules."""
    for name in span:
        module = body.get_submodule(name)
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (1, 1)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) and _pair(module.stride) == (2, 2):
            if _pair(module.kernel_size) == (2, 2):
                parent, _, leaf = name.rpartition(".")
                setattr(body.get_submodule(parent), leaf, nn.Identity())
            else:
                module.stride = 1


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)
