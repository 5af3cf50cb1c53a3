"""tools/show_features.py and wsol.models.feature_views: channel weights, ordering, the grid it writes."""

import importlib.util
from pathlib import Path

import cv2
import pytest
import torch

from wsol.config import load_config, to_dict
from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError
from wsol.models import build_model
from wsol.models.feature_views import view_features

ROOT = Path(__file__).resolve().parents[1]
BACKBONE = BackboneConfig(name="convnet", options={"width": 4, "strides": [2, 2], "blocks": 1})


def tool():
    spec = importlib.util.spec_from_file_location("show_features_tool", ROOT / "tools" / "show_features.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_model(num_classes: int = 3):
    torch.manual_seed(0)
    return build_model(ModelConfig(backbone=BACKBONE, head={"name": "cam"}), num_classes).eval()


def test_cam_weights_order_the_last_layer_and_make_the_cam():
    model = tiny_model()
    images, classes = torch.randn(2, 3, 32, 32), torch.tensor([2, 0])
    view = view_features(model, "backbone.stages.1", images, classes)
    weights = model.head.classifier.weight.detach()
    assert view.source == "CAM w[c]" and view.maps.shape == (2, 8, 8, 8)
    torch.testing.assert_close(view.weights, weights[classes])
    assert (view.weights.gather(1, view.order()).diff(dim=1) <= 0).all()  # largest weight first
    torch.testing.assert_close(view.cam, torch.einsum("bc,bchw->bhw", weights[classes], view.maps))
    torch.testing.assert_close(view.attention, view.cam)  # a CAM model's own map is its CAM


@pytest.mark.parametrize("name", ["se", "cbam"])
def test_an_attention_layers_channel_gates_order_its_output(name):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=BACKBONE, head={"name": name, "stages": [0, 1]}), 3).eval()
    images = torch.randn(2, 3, 32, 32)
    view = view_features(model, "head.layers.0", images, torch.tensor([0, 1]))
    with torch.no_grad():  # the first layer's output, by hand
        attended = model.head.layers["0"](model.backbone.run_stage(0, images))
    assert view.source == "channel attention" and view.maps.shape == (2, 4, 16, 16)
    torch.testing.assert_close(view.maps, attended.output)
    torch.testing.assert_close(view.weights, attended.channel.flatten(1))
    assert view.cam.shape == (2, 8, 8)  # the CAM of the last stage, beside the layer's channels


def test_a_layer_without_weights_or_a_bad_name_is_a_one_line_error():
    model = tiny_model()
    with pytest.raises(ConfigError, match="has no channel attention and is not the layer the CAM"):
        view_features(model, "backbone.stages.0", torch.randn(1, 3, 32, 32), torch.tensor([0]))
    with pytest.raises(ConfigError, match=r"--layer: no module 'backbone\.stage\.1'.*did you mean"):
        view_features(model, "backbone.stage.1", torch.randn(1, 3, 32, 32), torch.tensor([0]))


def test_tool_writes_one_row_per_image_and_a_column_per_panel(tmp_path):
    cfg = load_config(
        None,
        [
            f"data.dataset.root={tmp_path / 'data'}",
            "data.image_size=64",
            "model.backbone.name=convnet",
            "model.backbone.options={width: 4, strides: [2, 2], blocks: 1}",
        ],
        base={"data": {"dataset": {"name": "synthparts", "num_train": 0, "num_val": 0, "num_test": 3}}},
    )
    cfg.data.dataset.update(image_size=64, num_classes=3)
    checkpoint = tmp_path / "run" / "checkpoints" / "epoch_0001.pth"
    checkpoint.parent.mkdir(parents=True)
    model = build_model(cfg.model, 3)
    torch.save({"model": model.state_dict(), "config": to_dict(cfg), "num_classes": 3}, checkpoint)
    args = [str(checkpoint), "--layer", "backbone.stages.1", "--images", "0", "2", "--channels", "3"]
    assert tool().main([*args, "--lowest", "2", "--class", "predicted"]) == 0
    figure = cv2.imread(str(tmp_path / "run" / "features" / "backbone.stages.1.png"))
    tile, caption = 128, 14
    assert figure.shape == (caption + 2 * (tile + caption), (3 + 3 + 2) * tile, 3)
    with pytest.raises(ConfigError, match="--class: '7' is not target, predicted or a class index < 3"):
        tool().main([*args, "--class", "7"])
