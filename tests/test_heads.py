"""Head-specific checks of the trainable attention heads (the shared contract is in test_models)."""

import math
from pathlib import Path

import pytest
import torch
import yaml
from token_models import backbone_for

from wsol.config import load_config
from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError
from wsol.models import build_model
from wsol.models.heads import HEADS
from wsol.models.heads.glimpse import filterbank

TINY = BackboneConfig(name="resnet10t")
INSERTING = ["se", "cbam", "bam", "sk", "residual_attention"]
SPATIAL = ["cbam", "bam", "residual_attention"]
ATTENTION_HEADS = [*INSERTING, "ltpa", "stn", "glimpse"]
CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "synthparts"


def make(head: dict, num_classes: int = 4, backbone: BackboneConfig = TINY, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(backbone=backbone, head=head), num_classes)


def images(batch: int = 2, size: tuple[int, int] = (64, 64)) -> torch.Tensor:
    return torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(1))


def set_bias(layer: torch.nn.Linear, values: list[float]) -> None:
    with torch.no_grad():
        layer.bias.copy_(torch.tensor(values))


# ---------------------------------------------------------------- Learn To Pay Attention


@pytest.mark.parametrize("compatibility", ["pc", "dp"])
def test_ltpa_softmax_attention_is_a_distribution_per_stage(compatibility):
    model = make({"name": "ltpa", "compatibility": compatibility, "stages": [-3, -2]})
    feats = model.backbone(images())
    for (a, g_a), stage in zip(model.head.attend(feats), [-3, -2], strict=True):
        assert a.shape[1] == 1 and a.shape[-2:] == feats[stage].shape[-2:]
        assert (a >= 0).all()
        torch.testing.assert_close(a.sum(dim=(2, 3)), torch.ones(2, 1))
        torch.testing.assert_close(g_a, (a * feats[stage]).sum(dim=(2, 3)))
    # Stacked at the finest resolution, each map keeps its unit mass.
    out = model.head(feats)
    assert out.attention.shape == (2, 2, *feats[-3].shape[-2:])
    torch.testing.assert_close(out.attention.sum(dim=(2, 3)), torch.ones(2, 2), rtol=0, atol=0.03)


def test_ltpa_sigmoid_attention_is_in_unit_interval_and_mean_pooled():
    model = make({"name": "ltpa", "normalisation": "sigmoid"})
    feats = model.backbone(images())
    for (a, g_a), stage in zip(model.head.attend(feats), [-3, -2], strict=True):
        assert ((a > 0) & (a < 1)).all()
        torch.testing.assert_close(g_a, (a * feats[stage]).mean(dim=(2, 3)))


@pytest.mark.parametrize(
    ("compatibility", "normalisation", "steers"),
    [("pc", "softmax", False), ("dp", "softmax", True), ("pc", "sigmoid", True), ("dp", "sigmoid", True)],
)
def test_ltpa_global_feature_steers_attention_except_pc_softmax(compatibility, normalisation, steers):
    model = make({"name": "ltpa", "compatibility": compatibility, "normalisation": normalisation})
    feats = model.backbone(images())
    before = [a for a, _ in model.head.attend(feats)]
    with torch.no_grad():
        model.head.global_fc[0].bias += 1.0  # shifts g (after the ReLU every entry grows)
    after = [a for a, _ in model.head.attend(feats)]
    changed = any(not torch.allclose(x, y, atol=1e-6) for x, y in zip(before, after, strict=True))
    assert changed == steers


def test_ltpa_dp_compatibility_is_dot_product_with_projected_global():
    model = make({"name": "ltpa", "compatibility": "dp", "stages": [-2]})
    feats = model.backbone(images())
    head = model.head
    g = torch.relu(head.global_fc[0](feats[-1].mean(dim=(2, 3))))
    g_s = g @ head.project[0].weight.T  # 512 -> 256 channels
    scores = torch.einsum("bchw,bc->bhw", feats[-2], g_s).flatten(1)
    [(a, _)] = head.attend(feats)
    torch.testing.assert_close(a.flatten(1), scores.softmax(dim=1))


def test_ltpa_indep_averages_stage_logits_and_concat_uses_all_stages():
    model = make({"name": "ltpa", "classifier": "indep", "stages": [-4, -3, -2]})
    feats = model.backbone(images())
    head = model.head
    vectors = [g_a for _, g_a in head.attend(feats)]
    expected = sum(fc(v) for fc, v in zip(head.classifiers, vectors, strict=True)) / 3
    torch.testing.assert_close(head(feats).logits, expected)
    concat = make({"name": "ltpa", "stages": [-4, -3, -2]}).head
    assert len(concat.classifiers) == 1 and concat.classifiers[0].in_features == 64 + 128 + 256


def test_ltpa_resize_modes_and_stage_order():
    fine = make({"name": "ltpa", "stages": [-2, -4]})
    coarse = make({"name": "ltpa", "stages": [-4, -2], "resize": "coarsest"})
    feats = fine.backbone(images(size=(96, 96)))
    assert fine.head.stages == [1, 3]
    assert fine.head(feats).attention.shape == (2, 2, 24, 24)
    assert coarse.head(feats).attention.shape == (2, 2, 6, 6)


# ---------------------------------------------------------------- spatial transformer


@pytest.mark.parametrize("transform", ["affine", "crop"])
def test_stn_starts_as_the_identity_window(transform):
    model = make({"name": "stn", "transform": transform, "map_size": 20})
    feats = model.backbone(images())
    out = model.head(feats)
    torch.testing.assert_close(out.boxes, torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 2))
    assert out.attention.shape == (2, 1, 20, 20) and (out.attention == 1).all()
    # Sampling the identity window reproduces the features, so the logits are CAM's on them.
    torch.testing.assert_close(out.logits, model.head.cam(feats).logits, rtol=1e-4, atol=1e-5)


def test_stn_crop_window_maps_to_its_box():
    model = make({"name": "stn", "transform": "crop", "map_size": 80})
    sx, sy, tx, ty = 0.5, 0.25, 0.2, -0.3
    set_bias(model.head.localisation.out, [sx, sy, tx, ty])
    out = model(images())
    box = torch.tensor([(tx - sx + 1) / 2, (ty - sy + 1) / 2, (tx + sx + 1) / 2, (ty + sy + 1) / 2])
    torch.testing.assert_close(out.boxes, box.expand(2, 4))
    heat = out.attention[0, 0]
    ys, xs = torch.nonzero(heat, as_tuple=True)
    # The rasterised window is the box, to within one cell of the 80 x 80 grid.
    span = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]) / 80
    assert (span - box).abs().max() <= 1 / 80


def test_stn_rotated_window_area_and_bounding_box():
    model = make({"name": "stn", "map_size": 100})
    angle, scale = 0.5, 0.4
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    set_bias(model.head.localisation.out, [c, -s, 0.1, s, c, -0.1])
    out = model(images())
    half = (c + s) / 2  # half-extent of the rotated square in [0, 1] units
    expected = torch.tensor([0.55 - half, 0.45 - half, 0.55 + half, 0.45 + half])
    torch.testing.assert_close(out.boxes[0], expected)
    # The window covers |det A| of the image (area 4 |det A| of [-1, 1]^2's 4).
    assert out.attention.mean().item() == pytest.approx(scale**2, abs=0.01)


# ---------------------------------------------------------------- Gaussian glimpse


def test_glimpse_box_and_heatmap_follow_its_parameters():
    model = make({"name": "glimpse", "glimpse_size": 4, "map_size": 64})
    set_bias(model.head.localisation.out, [0.2, -0.4, 2 * math.log(0.02), math.log(0.5), math.log(2.0)])
    feats = model.backbone(images())
    win = model.head.window(feats[-1])
    torch.testing.assert_close(win.centre, torch.tensor([[0.6, 0.3]] * 2))
    torch.testing.assert_close(win.stride, torch.full((2,), 0.5 / 4))
    torch.testing.assert_close(win.sigma, torch.full((2,), 0.02))
    out = model.head(feats)
    torch.testing.assert_close(out.boxes, torch.tensor([[0.35, 0.05, 0.85, 0.55]] * 2))
    heat = out.attention[0, 0]
    # Every filter sums to 1 over the grid: the map holds gamma * N^2.
    assert heat.sum().item() == pytest.approx(2.0 * 16, rel=1e-5)
    x0, y0, x1, y1 = (out.boxes[0] * 64).round().int().tolist()
    assert heat[y0:y1, x0:x1].sum() / heat.sum() > 0.99


def test_glimpse_with_sharp_filters_on_cell_centres_reads_the_cells():
    head = HEADS.build({"name": "glimpse", "glimpse_size": 4}, in_channels=[8], num_classes=3)
    set_bias(head.localisation.out, [0.0, 0.0, 2 * math.log(0.01), 0.0, math.log(1.5)])
    feats = torch.randn(2, 8, 4, 4)  # filter means fall on the 4 cell centres
    win = head.window(feats)
    bank = filterbank(win.centre[:, 0], win, 4, 4)
    torch.testing.assert_close(bank, torch.eye(4).expand(2, 4, 4))
    torch.testing.assert_close(head([feats]).logits, head.cam([1.5 * feats]).logits)


def test_initial_glimpse_covers_the_image():
    model = make({"name": "glimpse"})
    out = model(images())
    torch.testing.assert_close(out.boxes, torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 2))


# ---------------------------------------------------------------- inserted blocks


@pytest.mark.parametrize("name", INSERTING)
def test_inserted_blocks_belong_to_the_backbone_once(name):
    model = make({"name": name, "stages": [-3, -1]})
    blocks = model.head.blocks
    assert len(blocks) == 2
    owned = {id(p): n for n, p in model.named_parameters()}
    head_params = {id(p) for p in model.head.parameters()}
    for block in blocks:
        for p in block.parameters():
            assert owned[id(p)].startswith("backbone.inserted.") and id(p) not in head_params
    names = list(model.state_dict())
    assert len(names) == len(set(names))
    assert {n.split(".")[2] for n in names if n.startswith("backbone.inserted.")} == {"2_0", "4_1"}


def attention_parameters(head: torch.nn.Module, spec: dict) -> list[torch.nn.Parameter]:
    """The parameters that shape each head's attention."""
    if spec["name"] in INSERTING:
        return [p for block in head.blocks for p in block.parameters()]
    if spec["name"] == "ltpa" and spec.get("compatibility") == "dp":
        return [*head.global_fc.parameters(), *head.project.parameters()]
    if spec["name"] == "ltpa":  # pc + softmax: g cancels (see LTPAHead), u shapes the attention
        return list(head.u.parameters())
    return [head.localisation.out.weight, head.localisation.out.bias]


ATTENTION_SPECS = [
    *({"name": n} for n in INSERTING),
    {"name": "ltpa"},
    {"name": "ltpa", "compatibility": "dp"},
    {"name": "stn"},
    {"name": "glimpse"},
]


@pytest.mark.parametrize("spec", ATTENTION_SPECS, ids=lambda spec: "-".join(map(str, spec.values())))
def test_gradients_reach_the_attention_parameters(spec):
    model = make(spec)
    out = model(images())
    torch.nn.functional.cross_entropy(out.logits, torch.tensor([1, 3])).backward()
    params = attention_parameters(model.head, spec)
    assert params
    for p in params:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.parametrize("name", SPATIAL)
def test_spatial_maps_option(name):
    as_attention = make({"name": name, "stages": [-3, -2], "maps": "attention"})
    assert as_attention.map_kind == "attention"
    out = as_attention(images())
    assert out.class_maps is None and out.attention.shape == (2, 2, 8, 8)
    assert ((out.attention >= 0) & (out.attention <= 1)).all()
    coarse = make({"name": name, "stages": [-3, -2], "maps": "attention", "resize": "coarsest"})
    assert coarse(images()).attention.shape == (2, 2, 4, 4)
    as_cam = make({"name": name, "stages": [-3, -2], "maps": "cam"})
    assert as_cam.map_kind == "class" and as_cam(images()).class_maps.shape == (2, 4, 2, 2)


def positive_input(channels: int) -> torch.Tensor:
    return torch.rand(2, channels, 6, 5, generator=torch.Generator().manual_seed(2)) + 0.1


def test_se_scales_each_channel_by_a_gate():
    block = make({"name": "se", "stages": [-2]}).head.blocks[0].eval()
    x = positive_input(256)
    ratio = block(x) / x
    assert ((ratio > 0) & (ratio < 1)).all()
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))


def test_cbam_attention_factorises_into_channel_and_spatial():
    block = make({"name": "cbam", "stages": [-2]}).head.blocks[0].eval()
    x = positive_input(256)
    ratio = block(x) / x  # M_c[c] * M_s[y, x]
    spatial = block.spatial_map[:, 0]
    channel = ratio / spatial[:, None]
    torch.testing.assert_close(channel, channel[:, :, :1, :1].expand_as(channel))
    assert ((channel > 0) & (channel < 1)).all()


def test_bam_attention_adds_channel_and_spatial_logits():
    block = make({"name": "bam", "stages": [-2]}).head.blocks[0].eval()
    x = positive_input(256)
    gate = block(x) / x - 1  # sigmoid(M_c[c] + M_s[y, x])
    channel = torch.logit(gate, eps=1e-7) - torch.logit(block.spatial_map, eps=1e-7)
    torch.testing.assert_close(channel, channel[:, :, :1, :1].expand_as(channel), rtol=1e-3, atol=1e-3)


def test_sk_branch_weights_sum_to_one():
    block = make({"name": "sk", "stages": [-2]}).head.blocks[0].eval()
    first, second = block.branches
    second[0].dilation, second[0].padding = first[0].dilation, first[0].padding
    second.load_state_dict(first.state_dict())  # identical branches: any convex mix is U_0
    x = positive_input(256)
    torch.testing.assert_close(block(x), x + first(x))


def test_residual_attention_is_trunk_times_one_plus_mask():
    block = make({"name": "residual_attention"}).head.blocks[0].eval()
    x = positive_input(256)
    mask = block(x) / x - 1
    assert ((mask > 0) & (mask < 1)).all()
    torch.testing.assert_close(block.spatial_map, mask.mean(dim=1, keepdim=True))


# ---------------------------------------------------------------- every head


@pytest.mark.parametrize("name", HEADS.list())
def test_state_dict_round_trip_reproduces_outputs(name):
    source = make({"name": name}, seed=0, backbone=backbone_for(name, TINY)).eval()
    target = make({"name": name}, seed=1, backbone=backbone_for(name, TINY)).eval()
    target.load_state_dict(source.state_dict())
    x = images()
    with torch.no_grad():
        a, b = source(x), target(x)
    for field in ("logits", "class_maps", "attention", "boxes"):
        if getattr(a, field) is not None:
            torch.testing.assert_close(getattr(b, field), getattr(a, field))


@pytest.mark.parametrize("name", HEADS.list())
def test_any_channels_and_input_size(name):
    backbone = backbone_for(name, BackboneConfig(name="efficientnet_lite0"))
    model = make({"name": name}, num_classes=3, backbone=backbone)
    out = model(images(size=(72, 56)))
    assert out.logits.shape == (2, 3) and torch.isfinite(out.localization_map(torch.tensor([0, 2]))).all()
    if out.boxes is not None:
        assert out.boxes.shape == (2, 4) and ((out.boxes >= 0) & (out.boxes <= 1)).all()


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ({"name": "cbam", "stages": [9]}, r"model\.head\.stages: no stage 9 in a backbone with 5 stages"),
        ({"name": "ltpa", "stages": [-2, 3]}, r"model\.head\.stages: \[-2, 3\] names a stage twice"),
        ({"name": "se", "stages": []}, r"model\.head\.stages: give at least one stage"),
        ({"name": "bam", "maps": "grad"}, r"model\.head\.maps: 'grad' is not one of"),
        ({"name": "ltpa", "compatibility": "cos"}, r"model\.head\.compatibility: 'cos'"),
        ({"name": "stn", "transform": "tps"}, r"model\.head\.transform: 'tps'"),
        ({"name": "residual_attention", "resize": "middle"}, r"model\.head\.resize: 'middle'"),
    ],
)
def test_bad_options_raise_one_line_config_errors(head, message):
    with pytest.raises(ConfigError, match=message):
        make(head)


def test_inserting_head_without_backbone_is_a_config_error():
    with pytest.raises(ConfigError, match="SEHead inserts blocks into a backbone"):
        HEADS.build("se", in_channels=[64, 128], num_classes=2)


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize("name", ATTENTION_HEADS)
def test_head_config_loads_and_builds(name, tmp_path):
    path = CONFIGS / f"{name}.yaml"
    text = path.read_text()
    assert yaml.safe_load(text)["base"] == "cam.yaml"
    # A minimal stand-in for the main config, so the override is checked on its own.
    (tmp_path / "cam.yaml").write_text("model:\n  backbone:\n    name: resnet10t\n  head:\n    name: cam\n")
    (tmp_path / path.name).write_text(text)
    cfg = load_config(tmp_path / path.name)
    assert cfg.model.head["name"] == name and cfg.name == f"synthparts_{name}"
    model = build_model(cfg.model, num_classes=3)
    assert model(images()).logits.shape == (2, 3)
    assert load_config(path).model.head == cfg.model.head  # the same head on top of the real cam.yaml
