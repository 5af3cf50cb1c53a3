"""A small VGG-style convolutional backbone for fast CPU experiments."""

from __future__ import annotations

from torch import Tensor, nn

from wsol.config.schema import BackboneConfig
from wsol.errors import ConfigError, did_you_mean
from wsol.models.backbones import BACKBONES
from wsol.models.backbones.base import Backbone

DEFAULTS = {"width": 32, "strides": (2, 2, 2, 1), "blocks": 2}


@BACKBONES.register("convnet")
def convnet(cfg: BackboneConfig) -> ConvNet:
    """Build :class:`ConvNet` from ``cfg.options`` (``width``, ``strides``, ``blocks``)."""
    unknown = set(cfg.options) - set(DEFAULTS)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"model.backbone.options: unknown option {key!r} for convnet{did_you_mean(key, DEFAULTS)}"
        )
    if cfg.weights != "none":
        raise ConfigError("model.backbone.weights: convnet has no pretrained weights; use 'none'")
    options = {**DEFAULTS, **cfg.options}
    num_stages = len(options["strides"])
    if not -num_stages <= cfg.feature_stage < num_stages:
        raise ConfigError(f"model.backbone.feature_stage: {cfg.feature_stage} out of range for convnet")
    kept = cfg.feature_stage % num_stages + 1
    for stage in cfg.stride_one_stages:  # indices into the returned stages, as for timm backbones
        if not -kept <= stage < kept:
            raise ConfigError(f"model.backbone.stride_one_stages: no stage {stage} in convnet ({kept} kept)")
    stride_one = {stage % kept for stage in cfg.stride_one_stages}
    strides = [1 if i in stride_one else s for i, s in enumerate(options["strides"])]
    net = ConvNet(int(options["width"]), strides, int(options["blocks"]))
    net.truncate(kept)
    return net


class ConvNet(Backbone):
    """Stages of ``blocks`` (3x3 conv, BatchNorm, ReLU) layers; stage i has ``width * 2**i``
    channels and starts with a convolution of stride ``strides[i]``.

    With the default strides (2, 2, 2, 1) the last map has stride 8 (16 x 16 cells for
    128-pixel images), fine enough for CAMs without dilation. Randomly initialised
    (Kaiming); wsol's default for SynthParts, where a 2-core CPU trains it in minutes.
    """

    def __init__(self, width: int, strides: list[int], blocks: int) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        channels_in = 3
        for i, stride in enumerate(strides):
            out = width * 2**i
            layers: list[nn.Module] = []
            for b in range(blocks):
                layers += [
                    nn.Conv2d(channels_in if b == 0 else out, out, 3, stride if b == 0 else 1, 1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                ]
            self.stages.append(nn.Sequential(*layers))
            channels_in = out
        self.channels = [width * 2**i for i in range(len(strides))]
        self.stage_modules = list(self.stages)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def truncate(self, num_stages: int) -> None:
        """Keep the first ``num_stages`` stages."""
        self.stages = self.stages[:num_stages]
        self.channels = self.channels[:num_stages]
        self.stage_modules = list(self.stages)

    @property
    def runs_stagewise(self) -> bool:
        return True

    def run_stage(self, index: int, x: Tensor) -> Tensor:
        return self.stages[index](x)

    def forward(self, images: Tensor) -> list[Tensor]:
        features, x = [], images
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features
