"""The three CAM networks of clovaai/wsolevaluation as wsol backbones.

wsolevaluation (Choe et al., "Evaluating Weakly Supervised Object Localization Methods
Right", CVPR 2020 / TPAMI 2022; reference code ``wsol/vgg.py``, ``wsol/resnet.py``,
``wsol/inception.py``) modifies VGG16, ResNet50 and InceptionV3 so that their last
feature map is 14 x 14 (or 28 x 28 with ``large_feature_map``) for 224-pixel inputs. The
backbones here rebuild those trunks; the classifiers are wsol heads (``cam`` with
``conv_channels`` for VGG16's conv6 and ACoL's branches) and the method-specific parts
are wsol methods (``adl`` blocks inserted after stages, ``acol`` branches, ``spg``
branches). Given the same weights, a wsol network computes the reference's logits and,
after per-image min-max normalisation, its CAMs (tests/test_wsoleval_networks.py).

Every stage is split where a method of the reference reads or changes the features, so
that ADL's blocks (``method.stages``) and SPG's branches (``method.*_stage``) attach to
stage outputs:

* ``wsoleval_vgg16`` (option ``variant``: ``cam`` for CAM/HaS/CutMix/ADL, ``acol``,
  ``spg``): stage 0 = conv1_1..pool3; stage 1 = conv4_1..conv4_3; stage 2 = [pool4]
  conv5_1..conv5_3. ``acol`` replaces the 2x2 pools by 3x3 ones (stride 2; pool4 of the
  large map and a pool after conv5_3 have stride 1) and ends with a 3x3 average pool;
  ``spg`` ends stage 1 with a 3x3 stride-2 pool (unless ``large_feature_map``) instead of
  pool4 and adds stage 3 = two 3x3 512-channel convolutions (SPG_A_3). The 14 x 14 map has
  pool4, the 28 x 28 one not; there is never a pool5. ADL: stages (0, 1, 2).
* ``wsoleval_resnet50``: stages stem+layer1, layer2, layer3 block 0, layer3 blocks 1-5,
  layer4 block 0, layer4 blocks 1-2; layer4 has stride 1, layer3 stride 2 (1 with
  ``large_feature_map``). ADL: stages (2, 4, 5); SPG: branches after stages 2, 3 and 5.
* ``wsoleval_inception_v3`` (option ``dropout``, 0.5; ADL's network has none): stage 0 =
  stem..Mixed_5d, with Conv2d_1a padded by 1 and the stem pools 3x3 stride 2 padded by 1
  (ceil mode); stage 1 = the 3x3 stride-2 pool (identity with ``large_feature_map``);
  stage 2 = Mixed_6a..6d, Mixed_6a with stride 1; stage 3 = Mixed_6e; stage 4 =
  dropout, conv 3x3 768->1024 (SPG_A3_1b), dropout, conv 1024->1024 (SPG_A3_2b), dropout.
  ACoL reads stage 3 (``feature_stage: 3``). ADL: stages (0, 3, 4); SPG: 1, 2 and 4.

``stride_one_stages`` (the BACKBONES contract) makes the listed stages keep their input's
size (:func:`keep_size`); for ResNet50 stage 2, VGG16 stage 2 (``cam``, ``acol``) and
InceptionV3 stage 1 that is exactly ``large_feature_map``. Every stage also runs alone
(:meth:`WsolEvalBackbone.run_stage`), so the attention heads work on these trunks.

Learning rates: parameters under ``backbone.body`` train at ``optim.lr``, the others
(``backbone.top``, the head, method branches) at ``optim.lr * optim.head_lr_mult``. The
split follows the reference's ``_FEATURE_PARAM_LAYER_PATTERNS``: ImageNet-initialised
layers in ``body`` except ResNet50's layer4 and VGG16-SPG's conv4/conv5, which the
reference trains at the classifier's rate. One reference quirk is not reproduced: for
ResNet50 ACoL and SPG it trains the new classifier branches at the backbone's rate.

Weights (``model.backbone.pretrained``): ``false``; ``torchvision`` (the ImageNet files
the reference downloads, through ``torch.hub``; for users online); or the path of a
local file in torchvision's naming (the reference's ``pretrained_path``). Layers the
reference initialises from ImageNet are the ones mapped; the others (VGG16-SPG's SPG_A_3,
InceptionV3's SPG_A3 convolutions) are initialised as the reference does (Xavier, zero bias).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torchvision.models.inception import BasicConv2d, InceptionA, InceptionC
from torchvision.models.resnet import Bottleneck

from wsol.config.schema import BackboneConfig
from wsol.errors import ConfigError, did_you_mean
from wsol.models.backbones import BACKBONES
from wsol.models.backbones.base import Backbone
from wsol.models.wsoleval_weights import TV_VGG_CONVS, load_imagenet_weights

VGG_VARIANTS = ("cam", "acol", "spg")


class WsolEvalBackbone(Backbone):
    """Stages in ``body`` (backbone learning rate) then ``top`` (head learning rate).

    ``reference_prefixes`` maps a prefix of this module's state-dict keys to the prefix of
    the same weights in torchvision's naming (for VGG16, ``features.<torchvision index>``),
    which :mod:`wsol.models.wsoleval_weights` uses to load ImageNet weights and
    wsolevaluation checkpoints.
    """

    def __init__(self, stages: list[tuple[nn.Module, int, str]], num_body: int) -> None:
        super().__init__()
        self.body = nn.ModuleList(m for m, _, _ in stages[:num_body])
        self.top = nn.ModuleList(m for m, _, _ in stages[num_body:])
        self.channels = [c for _, c, _ in stages]
        self.stage_modules = [*self.body, *self.top]
        where = [f"body.{i}." for i in range(num_body)] + [f"top.{i}." for i in range(len(self.top))]
        self.reference_prefixes = [(w, p) for w, (_, _, p) in zip(where, stages, strict=True)]

    @property
    def runs_stagewise(self) -> bool:
        return True

    def run_stage(self, index: int, x: Tensor) -> Tensor:
        return self.stage_modules[index](x)

    def forward(self, images: Tensor) -> list[Tensor]:
        features, x = [], images
        for stage in self.stage_modules:
            x = stage(x)
            features.append(x)
        return features

    def truncate(self, num_stages: int) -> None:
        """Keep the first ``num_stages`` stages."""
        if num_stages <= len(self.body):
            self.top = nn.ModuleList()
            self.body = self.body[:num_stages]
        else:
            self.top = self.top[: num_stages - len(self.body)]
        self.channels = self.channels[:num_stages]
        self.stage_modules = [*self.body, *self.top]
        self.reference_prefixes = self.reference_prefixes[:num_stages]


def _options(cfg: BackboneConfig, defaults: dict[str, object]) -> dict[str, object]:
    unknown = sorted(set(cfg.options) - set(defaults))
    if unknown:
        hint = did_you_mean(unknown[0], defaults)
        raise ConfigError(f"model.backbone.options: unknown option {unknown[0]!r} for {cfg.name}{hint}")
    return {**defaults, **cfg.options}


def _finish(net: WsolEvalBackbone, cfg: BackboneConfig, arch: str) -> WsolEvalBackbone:
    count = len(net.stage_modules)
    if not -count <= cfg.feature_stage < count:
        raise ConfigError(f"model.backbone.feature_stage: {cfg.feature_stage} out of range for {cfg.name}")
    net.truncate(cfg.feature_stage % count + 1)
    for stage in cfg.stride_one_stages:
        if not -len(net.stage_modules) <= stage < len(net.stage_modules):
            raise ConfigError(f"model.backbone.stride_one_stages: no stage {stage} in {cfg.name}")
        keep_size(net.stage_modules[stage])
    load_imagenet_weights(net, arch, _weights_source(cfg), cfg.name)
    return net


def _weights_source(cfg: BackboneConfig) -> str:
    """``none``; ``torchvision`` for ``weights: timm`` (the reference's own ImageNet files, fetched
    through torch.hub); or the ``checkpoint`` file."""
    if cfg.weights == "checkpoint":
        return str(cfg.checkpoint)
    if cfg.weights == "efficientnet_lite0_package":
        raise ConfigError(f"model.backbone.weights: efficientnet_lite0_package holds no {cfg.name} weights")
    return "torchvision" if cfg.weights == "timm" else "none"


def keep_size(stage: nn.Module) -> None:
    """Make ``stage`` keep its input's size (``stride_one_stages``; weights are unchanged).

    Strided convolutions get stride 1 and unpadded ones padding ``k // 2`` (InceptionV3's
    stem); a strided pool whose padding is ``(k - 1) / 2`` gets stride 1, any other becomes
    the identity (as wsolevaluation's ``large_feature_map`` drops VGG16's pool4 and
    InceptionV3's pool after Mixed_5d). ``large_feature_map`` itself is the reference's
    switch: for VGG16-SPG it drops the pool after conv4_3, where this keeps a 3x3 stride-1 pool.
    """
    for name, module in list(stage.named_modules()):
        if isinstance(module, nn.Conv2d):
            module.stride = (1, 1)
            if module.padding == (0, 0):
                module.padding = (module.kernel_size[0] // 2, module.kernel_size[1] // 2)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) and module.stride not in (1, (1, 1)):
            if module.kernel_size % 2 == 1 and module.padding == (module.kernel_size - 1) // 2:
                module.stride = 1
            else:
                parent, _, leaf = name.rpartition(".")
                setattr(stage.get_submodule(parent) if parent else stage, leaf, nn.Identity())


def _init(modules: nn.Module, conv_init: Callable[[Tensor], object]) -> None:
    """wsolevaluation's ``initialize_weights``: convolutions ``conv_init``, zero biases, unit BatchNorm."""
    for m in modules.modules():
        if isinstance(m, nn.Conv2d):
            conv_init(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _xavier(weight: Tensor) -> None:
    nn.init.xavier_uniform_(weight)


def _he(weight: Tensor) -> None:
    nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu")


# -- VGG16 ---------------------------------------------------------------------------------


def _vgg_convs(layers: OrderedDict, specs: list[tuple[int, int, str]]) -> None:
    """Append ``conv 3x3 (in -> out) + ReLU`` for each ``(in, out, name)``."""
    for c_in, c_out, name in specs:
        layers[name] = nn.Conv2d(c_in, c_out, 3, padding=1)
        layers[f"relu{name}"] = nn.ReLU(inplace=True)


def _vgg_block(first: int, c_in: int, c_out: int, n: int) -> list[tuple[int, int, str]]:
    """``n`` convolutions named by torchvision index, starting at conv ``first``."""
    return [(c_in if i == 0 else c_out, c_out, str(TV_VGG_CONVS[first + i])) for i in range(n)]


@BACKBONES.register("wsoleval_vgg16")
def wsoleval_vgg16(cfg: BackboneConfig) -> WsolEvalBackbone:
    """wsolevaluation's VGG16 trunk (see the module docstring); options ``large_feature_map``, ``variant``."""
    opts = _options(cfg, {"large_feature_map": False, "variant": "cam"})
    variant, large = str(opts["variant"]), bool(opts["large_feature_map"])
    if variant not in VGG_VARIANTS:
        raise ConfigError(f"model.backbone.options.variant: {variant!r} is not one of {VGG_VARIANTS}")
    acol = variant == "acol"

    def pool(name: str, stride: int = 2) -> tuple[str, nn.Module]:
        if acol:
            return name, nn.MaxPool2d(3, stride, 1)
        return name, nn.MaxPool2d(2, 2)

    s0: OrderedDict = OrderedDict()
    for first, c_in, c_out, n, name in (
        (0, 3, 64, 2, "pool1"),
        (2, 64, 128, 2, "pool2"),
        (4, 128, 256, 3, "pool3"),
    ):
        _vgg_convs(s0, _vgg_block(first, c_in, c_out, n))
        s0.update([pool(name)])
    s1: OrderedDict = OrderedDict()
    _vgg_convs(s1, _vgg_block(7, 256, 512, 3))
    s2: OrderedDict = OrderedDict()
    if variant == "spg":
        if not large:
            s1["pool4"] = nn.MaxPool2d(3, 2, 1)
        _vgg_convs(s2, _vgg_block(10, 512, 512, 3))
        s3 = nn.Sequential(
            nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(True), nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(True)
        )
        stages = [(nn.Sequential(s0), 256, "features."), (nn.Sequential(s1), 512, "features.")]
        stages += [(nn.Sequential(s2), 512, "features."), (s3, 512, "SPG_A_3.")]
        net = WsolEvalBackbone(stages, num_body=1)
        _init(net, _xavier)
        return _finish(net, cfg, "vgg16")
    if not large or acol:
        s2.update([pool("pool4", 1 if large else 2)])
    _vgg_convs(s2, _vgg_block(10, 512, 512, 3))
    if acol:
        s2["pool5"] = nn.MaxPool2d(3, 1, 1)
        s2["acol_avgpool"] = nn.AvgPool2d(3, 1, 1)
    stages = [(nn.Sequential(s0), 256, "features."), (nn.Sequential(s1), 512, "features.")]
    stages.append((nn.Sequential(s2), 512, "features."))
    net = WsolEvalBackbone(stages, num_body=3)
    _init(net, _xavier if acol else _he)
    return _finish(net, cfg, "vgg16")


# -- ResNet50 ------------------------------------------------------------------------------


def _bottlenecks(c_in: int, planes: int, count: int, stride: int) -> list[Bottleneck]:
    c_out = planes * Bottleneck.expansion
    down = None
    if stride != 1 or c_in != c_out:
        down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
    return [Bottleneck(c_in, planes, stride, down)] + [Bottleneck(c_out, planes) for _ in range(count - 1)]


def _numbered(blocks: list[nn.Module], start: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict((str(start + i), b) for i, b in enumerate(blocks)))


@BACKBONES.register("wsoleval_resnet50")
def wsoleval_resnet50(cfg: BackboneConfig) -> WsolEvalBackbone:
    """wsolevaluation's ResNet50 trunk (see the module docstring); option ``large_feature_map``."""
    opts = _options(cfg, {"large_feature_map": False})
    stem = OrderedDict(
        conv1=nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        bn1=nn.BatchNorm2d(64),
        relu=nn.ReLU(inplace=True),
        maxpool=nn.MaxPool2d(3, 2, 1),
        layer1=nn.Sequential(*_bottlenecks(64, 64, 3, 1)),
    )
    layer3 = _bottlenecks(512, 256, 6, 1 if opts["large_feature_map"] else 2)
    layer4 = _bottlenecks(1024, 512, 3, 1)
    stages = [
        (nn.Sequential(stem), 256, ""),
        (nn.Sequential(OrderedDict(layer2=nn.Sequential(*_bottlenecks(256, 128, 4, 2)))), 512, ""),
        (_numbered(layer3[:1], 0), 1024, "layer3."),
        (_numbered(layer3[1:], 1), 1024, "layer3."),
        (_numbered(layer4[:1], 0), 2048, "layer4."),
        (_numbered(layer4[1:], 1), 2048, "layer4."),
    ]
    net = WsolEvalBackbone(stages, num_body=4)
    _init(net, _xavier)
    return _finish(net, cfg, "resnet50")


# -- InceptionV3 ---------------------------------------------------------------------------


class InceptionBStride1(nn.Module):
    """Mixed_6a as wsolevaluation builds it: torchvision's InceptionB with stride 1 and padding 1.

    ``concat(conv3x3(x), conv3x3(conv3x3(conv1x1(x))), maxpool3x3(x))``, every 3x3
    operation with stride 1 and padding 1, so the map keeps its size.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), double, self.pool(x)], 1)


def _conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


@BACKBONES.register("wsoleval_inception_v3")
def wsoleval_inception_v3(cfg: BackboneConfig) -> WsolEvalBackbone:
    """wsolevaluation's InceptionV3 trunk (module docstring); options ``large_feature_map``, ``dropout``."""
    opts = _options(cfg, {"large_feature_map": False, "dropout": 0.5})
    p = float(opts["dropout"])
    stem = OrderedDict(
        Conv2d_1a_3x3=BasicConv2d(3, 32, kernel_size=3, stride=2, padding=1),
        Conv2d_2a_3x3=BasicConv2d(32, 32, kernel_size=3),
        Conv2d_2b_3x3=BasicConv2d(32, 64, kernel_size=3, padding=1),
        pool1=nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        Conv2d_3b_1x1=BasicConv2d(64, 80, kernel_size=1),
        Conv2d_4a_3x3=BasicConv2d(80, 192, kernel_size=3),
        pool2=nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        Mixed_5b=InceptionA(192, pool_features=32),
        Mixed_5c=InceptionA(256, pool_features=64),
        Mixed_5d=InceptionA(288, pool_features=64),
    )
    pool = nn.Identity() if opts["large_feature_map"] else nn.MaxPool2d(3, 2, ceil_mode=True)
    mixed6 = OrderedDict(
        Mixed_6a=InceptionBStride1(288),
        Mixed_6b=InceptionC(768, channels_7x7=128),
        Mixed_6c=InceptionC(768, channels_7x7=160),
        Mixed_6d=InceptionC(768, channels_7x7=160),
    )
    extra = OrderedDict(
        drop1=nn.Dropout(p),
        SPG_A3_1b=_conv_relu(768, 1024),
        drop2=nn.Dropout(p),
        SPG_A3_2b=_conv_relu(1024, 1024),
        drop3=nn.Dropout(p),
    )
    stages = [
        (nn.Sequential(stem), 288, ""),
        (nn.Sequential(OrderedDict(pool3=pool)), 288, ""),
        (nn.Sequential(mixed6), 768, ""),
        (nn.Sequential(OrderedDict(Mixed_6e=InceptionC(768, channels_7x7=192))), 768, ""),
        (nn.Sequential(extra), 1024, ""),
    ]
    net = WsolEvalBackbone(stages, num_body=4)
    _init(net, _xavier)
    return _finish(net, cfg, "inception_v3")
