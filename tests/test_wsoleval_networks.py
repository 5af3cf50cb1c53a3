"""wsolevaluation's networks rebuilt from wsol's registries give the reference's logits, CAMs and losses.

The reference is re-stated independently in tests/wsoleval_reference.py; the wsol side is
built from the protocol configs (configs/cub/<method>_<arch>.yaml), with random weights
copied from the reference through :func:`wsol.models.wsoleval_weights.reference_to_wsol`,
in float64 on small inputs.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
import torch
from wsoleval_reference import NETWORKS, K, acol_loss, spg_loss

import wsol
from wsol.config import load_config
from wsol.errors import CheckpointError, ConfigError, WSOLError
from wsol.methods import METHODS
from wsol.models import build_model
from wsol.models.wsoleval_weights import canonical_keys, reference_to_wsol

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
WSOL_METHOD = {"cam": "vanilla", "acol": "acol", "spg": "spg", "adl": "adl"}
SIDE = 96

CASES = [(arch, kind, False) for arch in NETWORKS for kind in ("cam", "acol", "spg", "adl")]
CASES += [(arch, "cam", True) for arch in NETWORKS] + [("vgg16", "acol", True), ("vgg16", "spg", True)]


def weights_file(path) -> tuple[str, str]:
    return "model.backbone.weights=checkpoint", f"model.backbone.checkpoint={path}"


def wsol_network(arch: str, kind: str, large: bool, *overrides: str):
    cfg = load_config(
        CONFIGS / "cub" / f"{kind}_{arch}.yaml",
        [
            "model.backbone.weights=none",
            f"model.backbone.options.large_feature_map={str(large).lower()}",
            *overrides,
        ],
    )
    model = build_model(cfg.model, K)
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    return model, method


def paired(arch: str, kind: str, large: bool, adl_rate: float = 0.75, *overrides: str):
    torch.manual_seed(0)
    reference = NETWORKS[arch](kind, large, adl=(adl_rate, 0.9))
    model, method = wsol_network(arch, kind, large, *overrides)
    model.load_state_dict(reference_to_wsol(reference.state_dict(), model, arch, WSOL_METHOD[kind]))
    return reference.double(), model.double(), method


def minmax(maps: torch.Tensor) -> torch.Tensor:
    flat = maps.flatten(1)
    low, high = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
    return ((flat - low) / (high - low)).view_as(maps)


@pytest.mark.parametrize(("arch", "kind", "large"), CASES)
def test_logits_and_cams_equal_the_reference(arch, kind, large):
    reference, model, method = paired(arch, kind, large)
    reference.eval(), model.eval()
    images = torch.randn(2, 3, SIDE, SIDE, dtype=torch.float64)
    labels = torch.tensor([1, 3])
    with torch.no_grad():
        expected_logits = reference(images)["logits"]
        expected_cams = reference(images, labels, return_cam=True)
        logits, maps = method.localization_map(model, images, labels)
    assert maps.shape == expected_cams.shape
    if arch != "inception_v3":  # 224 -> 14 x 14 (28 x 28 with the large map)
        assert maps.shape[-1] == (SIDE // 8 if large else SIDE // 16)
    torch.testing.assert_close(logits, expected_logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(minmax(maps), minmax(expected_cams), rtol=0, atol=1e-5)


@pytest.mark.parametrize(("arch", "kind"), [("vgg16", "acol"), ("vgg16", "spg"), ("resnet50", "spg")])
def test_training_losses_equal_the_reference(arch, kind):
    reference, model, method = paired(arch, kind, False)
    reference.train(), model.train()
    images = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    labels = torch.tensor([1, 3])
    out = reference(images, labels)
    expected = acol_loss(out, labels) if kind == "acol" else spg_loss(out, labels)
    loss, _ = method.training_step(model, images, labels)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_adl_blocks_sit_where_the_reference_puts_them(arch):
    """In training mode with drop rate 1 every ADL block applies its drop mask: same logits."""
    reference, model, _ = paired(arch, "adl", False, 1.0, "method.drop_rate=1.0")
    reference.train(), model.train()
    images = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(model(images).logits, reference(images)["logits"], rtol=1e-6, atol=1e-6)


def test_module_prefix_and_unmatched_keys():
    reference = NETWORKS["resnet50"]("cam", False)
    model, _ = wsol_network("resnet50", "cam", False)
    state = {f"module.{k}": v for k, v in reference.state_dict().items()}
    assert set(reference_to_wsol(state, model, "resnet50", "vanilla")) == set(model.state_dict())
    state["module.extra.weight"] = torch.zeros(1)
    del state["module.fc.bias"]
    with pytest.raises(
        CheckpointError, match=r"unmatched reference keys \[extra.weight\].*head.classifier.bias"
    ):
        reference_to_wsol(state, model, "resnet50", "vanilla")


def test_vgg_keys_follow_the_convolution_order():
    """ADL's and the large map's layer lists renumber ``features``; the k-th convolution stays the k-th."""
    adl = NETWORKS["vgg16"]("adl", True).state_dict()
    canonical = canonical_keys(adl, "vgg16", "adl")
    assert [k for k in canonical if k.endswith(".weight")][:13] == [
        f"features.{i}.weight" for i in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
    ]


def test_imagenet_weights_offline_is_one_line_error():
    offline = mock.patch("torch.hub.load_state_dict_from_url", side_effect=OSError("network unreachable"))
    with offline, pytest.raises(ConfigError) as err:
        wsol_network("resnet50", "cam", False, "model.backbone.weights=timm")
    message = str(err.value)
    assert "\n" not in message and "resnet50-19c8e357.pth" in message and isinstance(err.value, WSOLError)


def test_imagenet_weights_from_a_torchvision_file(tmp_path):
    """A torchvision-format file (the reference's pretrained_path) loads into the trunk, SPG's conv4/5 too."""
    torch.manual_seed(1)
    source = NETWORKS["vgg16"]("cam", False).state_dict()
    source = {k: v for k, v in source.items() if k.startswith("features.")}
    torch.save(source, tmp_path / "vgg16.pth")
    model, _ = wsol_network(
        "vgg16",
        "spg",
        False,
        "model.backbone.weights=checkpoint",
        f"model.backbone.checkpoint={tmp_path / 'vgg16.pth'}",
    )
    torch.testing.assert_close(model.backbone.body[0][0].weight, source["features.0.weight"])
    torch.testing.assert_close(model.backbone.top[1][0].weight, source["features.24.weight"])
    del source["features.28.bias"]
    torch.save(source, tmp_path / "vgg16.pth")
    with pytest.raises(CheckpointError, match=r"features\.28\.bias"):
        wsol_network(
            "vgg16",
            "cam",
            False,
            "model.backbone.weights=checkpoint",
            f"model.backbone.checkpoint={tmp_path / 'vgg16.pth'}",
        )


@pytest.mark.parametrize(("arch", "kind"), [("inception_v3", "spg"), ("vgg16", "acol")])
def test_converted_checkpoint_round_trip(tmp_path, arch, kind):
    """Reference-shaped checkpoint -> tools/convert_checkpoint.py -> wsol.load_model -> same outputs."""
    from tools.convert_checkpoint import main as convert

    torch.manual_seed(2)
    reference = NETWORKS[arch](kind, False).eval()
    saved = {
        "architecture": arch,
        "epoch": 7,
        "optimizer": {},
        "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()},
    }
    torch.save(saved, tmp_path / "last_checkpoint.pth.tar")
    config = CONFIGS / "ilsvrc" / f"{kind}_{arch}.yaml"
    out = tmp_path / "converted.pth"
    assert (
        convert(
            [
                str(tmp_path / "last_checkpoint.pth.tar"),
                "--config",
                str(config),
                "--out",
                str(out),
                f"data.dataset.num_classes={K}",
            ]
        )
        == 0
    )
    localizer = wsol.load_model(out)
    assert localizer.num_classes == K and torch.load(out, weights_only=False)["epoch"] == 7
    images, labels = torch.randn(2, 3, 64, 64), torch.tensor([0, 4])
    with torch.no_grad():
        logits, maps = localizer(images, labels)
        torch.testing.assert_close(logits, reference(images)["logits"], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(
            minmax(maps), minmax(reference(images, labels, return_cam=True)), rtol=0, atol=1e-4
        )


def test_converting_a_mismatched_checkpoint_lists_the_keys(tmp_path, capsys):
    from tools.convert_checkpoint import main as convert
    from wsol.cli import run_cli

    torch.save({"state_dict": NETWORKS["resnet50"]("cam", False).state_dict()}, tmp_path / "ckpt.pth")
    argv = [
        str(tmp_path / "ckpt.pth"),
        "--config",
        str(CONFIGS / "cub" / "acol_resnet50.yaml"),
        "--out",
        str(tmp_path / "out.pth"),
        f"data.dataset.num_classes={K}",
    ]
    assert run_cli(convert, argv) == 2
    message = capsys.readouterr().err.strip()
    assert "fc.weight" in message and "head.branch_b.convs.0.weight" in message and "\n" not in message
    assert not (tmp_path / "out.pth").exists()


@pytest.mark.parametrize(
    ("name", "options", "stage"),
    [
        ("wsoleval_vgg16", {}, 2),
        ("wsoleval_vgg16", {"variant": "acol"}, 2),
        ("wsoleval_resnet50", {}, 2),
        ("wsoleval_inception_v3", {}, 1),
    ],
)
def test_large_feature_map_is_a_stride_one_stage(name, options, stage):
    """Where the reference's large map removes one stage's downsampling, stride_one_stages does the same."""
    from wsol.config.schema import BackboneConfig
    from wsol.models.backbones import create_backbone

    large = create_backbone(BackboneConfig(name=name, options={**options, "large_feature_map": True})).eval()
    strided = create_backbone(BackboneConfig(name=name, options=options, stride_one_stages=[stage])).eval()
    strided.load_state_dict(large.state_dict())
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(large(images), strided(images), strict=True):
            torch.testing.assert_close(a, b)


def test_head_conv_channels_must_be_positive():
    with pytest.raises(ConfigError, match=r"model\.head\.conv_channels"):
        wsol_network("resnet50", "cam", False, "model.head.conv_channels=[0]")
