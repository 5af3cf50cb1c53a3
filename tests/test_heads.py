"""Head-specific checks of the trainable attention heads (the shared contract is in test_models)."""

import math
from pathlib import Path

import pytest
import torch
import yaml
from test_layers import backward_after_one_step, tensor_attributes
from token_models import backbone_for

from wsol.config import load_config
from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError, RegistryError
from wsol.models import build_model
from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads.glimpse import filterbank
from wsol.models.heads.inserted import ALIASES
from wsol.models.layers import ATTENTION

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


def test_stn_window_starts_centred_and_stays_inside_the_image_above_its_minimum_scale():
    model = make({"name": "stn", "transform": "window", "min_scale": 0.3, "map_size": 40})
    start = model.head(model.backbone(images())).boxes
    torch.testing.assert_close(start, torch.tensor([[0.025, 0.025, 0.975, 0.975]] * 2))
    # Extreme localisation outputs: the window is still inside the image, each side >= 0.3.
    for bias in ([-50.0, -50.0, 50.0, -50.0], [50.0, -50.0, 0.3, 2.0], [0.0, 0.0, -9.0, 9.0]):
        set_bias(model.head.localisation.out, bias)
        out = model(images())
        x0, y0, x1, y1 = out.boxes[0].tolist()
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert min(x1 - x0, y1 - y0) >= 0.3 - 1e-6
        assert out.attention.sum() > 0  # never an empty window
    with pytest.raises(ConfigError, match="min_scale"):
        make({"name": "stn", "transform": "window", "min_scale": 0.0})


def test_stn_centroid_window_sits_on_the_soft_argmax_of_its_saliency():
    model = make({"name": "stn", "transform": "window", "centre": "centroid", "min_scale": 0.25})
    head = model.head
    feats = model.backbone(images())
    # Zero saliency at the start: a uniform softmax, so the 95 % window is centred.
    torch.testing.assert_close(head(feats).boxes, torch.tensor([[0.025, 0.025, 0.975, 0.975]] * 2))
    f = torch.zeros(2, feats[-1].shape[1], 4, 5)
    f[0, 0, 3, 4] = 1.0  # image 0: one salient cell, bottom right; image 1: nothing salient
    with torch.no_grad():
        head.saliency.weight.zero_()
        head.saliency.weight[0, 0] = 2.0
    # By hand: softmax over the 20 cells, weight e^2 on cell (3, 4), 1 elsewhere; cell centres
    # at (2j + 1) / w - 1 (align_corners=False).
    w = torch.ones(4, 5)
    w[3, 4] = math.e**2
    w /= w.sum()
    xs, ys = (2 * torch.arange(5) + 1) / 5 - 1, (2 * torch.arange(4) + 1) / 4 - 1
    cx, cy = head.centroid(f)
    torch.testing.assert_close(torch.stack([cx[0], cy[0]]), torch.stack([(w * xs).sum(), (w.T * ys).sum()]))
    torch.testing.assert_close(torch.stack([cx[1], cy[1]]), torch.zeros(2), atol=1e-6, rtol=0)
    # Gradients reach the saliency convolution through the window's position.
    head.theta(feats[-1].detach())[:, :, 2].sum().backward()
    assert head.saliency.weight.grad.abs().sum() > 0
    # The window contains its centroid and stays inside the image, for any saliency.
    set_bias(head.localisation.out, [-50.0, -50.0])  # the smallest window
    with torch.no_grad():
        head.saliency.weight[0, 0] = 500.0  # all the mass on the salient cell
    theta = head.theta(f)
    sx, tx, ty = theta[0, 0, 0], theta[0, 0, 2], theta[0, 1, 2]
    torch.testing.assert_close(sx, torch.tensor(0.25))
    torch.testing.assert_close(torch.stack([tx, ty]), 0.75 * torch.tensor([xs[4], ys[3]]))
    assert (tx - sx <= xs[4] <= tx + sx) and (tx + sx <= 1)
    with pytest.raises(ConfigError, match=r"model\.head\.centre: 'centroid' needs transform 'window'"):
        make({"name": "stn", "transform": "crop", "centre": "centroid"})


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
def test_inserted_layers_belong_to_the_head_once(name):
    model = make({"name": name, "stages": [-3, -1]})
    assert set(model.head.layers) == {"2", "4"} and not hasattr(model.backbone, "inserted")
    names = list(model.state_dict())
    assert len(names) == len(set(names))
    layer_keys = {n.split(".")[2] for n in names if n.startswith("head.layers.")}
    assert layer_keys == {"2", "4"} and not any(n.startswith("backbone.inserted") for n in names)


NON_DEFAULT_OPTION = {
    "se": {"reduction": 8},
    "cbam": {"kernel_size": 3},
    "bam": {"dilation": 2},
    "sk": {"branches": 3},
    "residual_attention": {"depth": 1},
}


@pytest.mark.parametrize("name", INSERTING)
def test_alias_is_the_inserted_head_with_its_layer(name):
    alias = ALIASES[name]
    option = NON_DEFAULT_OPTION[name]
    short = make({"name": name, **option}).eval()
    layer = {"name": name, **option}
    long = make({"name": "inserted", "layer": layer, "stages": list(alias.stages), "maps": alias.maps}).eval()
    assert short.map_kind == long.map_kind == ("class" if alias.maps == "cam" else "attention")
    assert all(type(layer) is ATTENTION.get(name) for layer in short.head.layers.values())
    with torch.no_grad():
        a, b = short(images()), long(images())
    for field in ("logits", "class_maps", "attention"):
        assert (getattr(a, field) is None) == (getattr(b, field) is None)
        if getattr(a, field) is not None:
            assert torch.equal(getattr(a, field), getattr(b, field))


def test_layers_transform_the_stages_they_follow():
    """Stage s + 1 sees the output of the layer after stage s (not the raw stage output)."""
    model = make({"name": "cbam", "stages": [-2]}).eval()
    x = images()
    with torch.no_grad():
        raw = model.backbone(x)
        attended = model.head.layers["3"](raw[3]).output
        expected = model.head.cam([model.backbone.run_stage(4, attended)])
        out = model(x)
    torch.testing.assert_close(out.logits, expected.logits)
    assert not torch.allclose(out.logits, model.head.cam(raw).logits)


class ZeroBlock(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def test_blocks_a_method_inserts_still_apply_under_the_inserted_head():
    model = make({"name": "se", "stages": [-2]})
    model.backbone.insert_after(-1, ZeroBlock())  # ADL and EIL insert their blocks this way
    assert (model(images()).class_maps == 0).all()


def attention_parameters(head: torch.nn.Module, spec: dict) -> list[torch.nn.Parameter]:
    """The parameters that shape each head's attention."""
    if spec["name"] in INSERTING:
        return list(head.layers.parameters())
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
    {"name": "stn", "transform": "window", "centre": "centroid"},
    {"name": "glimpse"},
]


@pytest.mark.parametrize("spec", ATTENTION_SPECS, ids=lambda spec: "-".join(map(str, spec.values())))
def test_gradients_reach_the_attention_parameters(spec):
    model = make(spec)
    backward_after_one_step(
        model, lambda: torch.nn.functional.cross_entropy(model(images()).logits, torch.tensor([1, 3]))
    )
    params = attention_parameters(model.head, spec)
    assert params
    for p in params:
        # A bias followed by BatchNorm (BAM's convolutions) gets no gradient; every weight does.
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert all(p.grad.abs().sum() > 0 for p in params if p.ndim > 1)


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


def test_attention_maps_are_the_layers_spatial_maps():
    model = make({"name": "residual_attention", "stages": [-3]}).eval()
    x = images()
    with torch.no_grad():
        stage = model.backbone(x)[2]
        expected = model.head.layers["2"](stage).spatial
        torch.testing.assert_close(model(x).attention, expected)


def test_unknown_layer_of_the_inserted_head_is_a_registry_error():
    with pytest.raises(RegistryError, match=r"unknown attention layer 'cbma' \(did you mean 'cbam'"):
        make({"name": "inserted", "layer": "cbma"})


def test_backbone_that_cannot_run_stagewise_is_a_config_error():
    class Opaque(Backbone):  # runs_stagewise is False unless a backbone implements run_stage
        pass

    with pytest.raises(ConfigError, match=r"model\.head: attention layers need a backbone that runs stage"):
        HEADS.build("se", in_channels=[8, 16], num_classes=2, backbone=Opaque())


def test_inserted_model_compiles_as_one_graph():
    dynamo = pytest.importorskip("torch._dynamo", reason="torch.compile needs torch._dynamo")
    if not dynamo.is_dynamo_supported():
        pytest.skip("torch.compile is not supported on this platform")
    tiny = BackboneConfig(name="convnet", options={"width": 8, "blocks": 1})
    model = make({"name": "cbam", "maps": "attention"}, backbone=tiny).eval()
    x = images(size=(32, 32))
    compiled = torch.compile(model, fullgraph=True, backend="eager")  # tracing is the test, not codegen
    with torch.no_grad():
        out, expected = compiled(x), model(x)
    torch.testing.assert_close(out.attention, expected.attention)
    torch.testing.assert_close(out.logits, expected.logits)


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
def test_no_hooks_on_the_backbone_and_no_tensors_kept_after_forward(name):
    model = make({"name": name}, backbone=backbone_for(name, TINY))
    model(images()).logits.sum().backward()
    hooked = [n for n, m in model.backbone.named_modules() if m._forward_hooks or m._forward_pre_hooks]
    assert hooked == [] and tensor_attributes(model) == []


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
        ({"name": "se", "maps": "attention"}, r"model\.head\.maps: 'attention' needs spatial maps; 'se'"),
        ({"name": "cbam", "reduciton": 4}, r"model\.head: unknown option 'reduciton' .*'reduction'"),
        ({"name": "inserted", "layer": {"name": "sk", "branch": 3}}, r"model\.head\.layer: unknown option"),
    ],
)
def test_bad_options_raise_one_line_config_errors(head, message):
    with pytest.raises(ConfigError, match=message):
        make(head)


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
