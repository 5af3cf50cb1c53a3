"""The 2020-2024 methods (BAS, BridgeGap, PC1, PSOL): their formulas on hand-built inputs, PC1
against an independent numpy SVD, and every method's training step on a tiny ViT.

The generic contract on a CNN runs in tests/test_methods.py for every registered method.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from token_models import TOKENS

from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.errors import ConfigError, WSOLError
from wsol.methods import METHODS
from wsol.methods.bas import BAS
from wsol.methods.bridgegap import BridgeGap
from wsol.methods.pc1 import PC1, PrincipalComponent
from wsol.methods.psol import PSOL, box_maps, pseudo_boxes
from wsol.models import build_model

IMAGES = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
CNN_IMAGES = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))  # resnet10t: 3 x 3
LABELS = torch.tensor([0, 2])


def model_for(backbone: BackboneConfig = TOKENS, head: str = "cam"):
    torch.manual_seed(0)
    return build_model(ModelConfig(backbone=backbone, head={"name": head}), 3)


@pytest.mark.parametrize("name", METHODS.list())
def test_every_method_trains_a_vision_transformer(name: str) -> None:
    """One training step and the evaluation maps of every method on a tiny random-init DeiT."""
    model, method = model_for(), METHODS.build(name, key="method")
    if method.is_cascade:
        pytest.skip("a cascade trains through the engine (tests/test_methods.py)")
    method.setup(model)
    model.train()
    loss, output = method.training_step(model, IMAGES, LABELS)
    loss.backward()
    assert torch.isfinite(loss) and output.logits.shape == (2, 3)
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        logits, maps = method.localization_map(model, IMAGES, LABELS)
    assert logits.shape == (2, 3) and maps.shape[0] == 2 and torch.isfinite(maps).all()


# --- PC1 ---------------------------------------------------------------------------------


def feature_batches(seed: int, sizes: list[int]) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    offset = torch.randn(1, 6, 1, 1, generator=generator) * 3  # a non-zero mean to subtract
    return [torch.randn(b, 6, 3, 4, generator=generator).relu() + offset for b in sizes]


def numpy_pc1(batches: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and signed first right-singular vector of the centred (locations, channels) matrix."""
    channels = batches[0].shape[1]
    rows = np.concatenate([b.double().numpy().transpose(0, 2, 3, 1).reshape(-1, channels) for b in batches])
    mean = rows.mean(0)
    v = np.linalg.svd(rows - mean, full_matrices=False)[2][0]
    norms = np.linalg.norm(rows, axis=1)
    if np.mean((norms - norms.mean()) * ((rows - mean) @ v)) < 0:  # sign: grows with |f|
        v = -v
    return mean, v


def test_pc1_equals_numpy_svd() -> None:
    batches = feature_batches(0, [2, 3])
    component = PrincipalComponent(6)
    component.fit(batches)
    mean, v = numpy_pc1(batches)
    expected = np.einsum("c,bchw->bhw", v, batches[1].double().numpy() - mean[:, None, None])
    np.testing.assert_allclose(component(batches[1].double()).numpy(), expected, rtol=1e-7, atol=1e-9)
    assert int(component.count) == 5 * 12


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(1, 3), min_size=1, max_size=4), seed=st.integers(0, 100))
def test_cumulative_running_statistics_equal_the_exact_fit(sizes: list[int], seed: int) -> None:
    batches = feature_batches(seed, sizes)
    running, exact = PrincipalComponent(6, momentum=None), PrincipalComponent(6)
    for batch in batches:
        running.update(batch)
    exact.fit(batches)
    for a, b in zip(running.buffers(), exact.buffers(), strict=True):
        torch.testing.assert_close(a, b)


def test_exponential_running_statistics() -> None:
    first, second = feature_batches(1, [2, 2])
    component = PrincipalComponent(6, momentum=0.25)
    component.update(first)  # the first batch is taken as is
    component.update(second)
    means = [b.double().mean(dim=(0, 2, 3)) for b in (first, second)]
    torch.testing.assert_close(component.mean, 0.75 * means[0] + 0.25 * means[1])


def test_pc1_method_fits_over_a_dataset_and_maps_are_class_agnostic() -> None:
    model, method = model_for(BackboneConfig(name="resnet10t")), PC1(stage=-2)
    method.setup(model)
    with pytest.raises(WSOLError, match="no statistics yet"):
        model.eval()(IMAGES)
    batches = [IMAGES, IMAGES.flip(-1)]
    method.fit(model, batches)
    with torch.no_grad():
        features = [model.backbone(x)[-2] for x in batches]
    mean, v = numpy_pc1(features)
    _, maps = method.localization_map(model, IMAGES, LABELS)
    _, other = method.localization_map(model, IMAGES, LABELS.flip(0))
    expected = np.einsum("c,bchw->bhw", v, features[0].double().numpy() - mean[:, None, None])
    np.testing.assert_allclose(maps.detach().numpy(), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    torch.testing.assert_close(maps, other)
    with pytest.raises(ConfigError, match="momentum"):
        PC1(momentum=0.0).setup(model_for(BackboneConfig(name="resnet10t")))


# --- BAS, BridgeGap ------------------------------------------------------------------------


@pytest.mark.parametrize(("bias", "suppression", "area"), [(40.0, 0.0, 1.0), (-40.0, 1.0, 0.0)])
def test_bas_loss_at_all_foreground_and_all_background(bias: float, suppression: float, area: float) -> None:
    """``M = 1`` everywhere: no background activation, area 1; ``M = 0``: ratio 1, area 0."""
    model, method = model_for(BackboneConfig(name="resnet10t")), BAS(bas_weight=2.0, area_weight=3.0)
    method.setup(model)
    with torch.no_grad():
        model.head.generator.weight.zero_()
        model.head.generator.bias.fill_(bias)
    model.eval()
    loss, output = method.training_step(model, IMAGES, LABELS)
    expected = F.cross_entropy(output.logits, LABELS) + 2.0 * suppression + 3.0 * area
    torch.testing.assert_close(loss, expected)


def test_bridgegap_loss_written_out() -> None:
    model, method = model_for(BackboneConfig(name="resnet10t")), BridgeGap()
    method.setup(model)
    model.eval()
    loss, output = method.training_step(model, CNN_IMAGES, LABELS)
    with torch.no_grad():
        fmap = model.backbone(CNN_IMAGES)[-1].double().numpy()
    weight = model.head.classifier.weight.detach().double().numpy()
    sim, norm = [], []
    for b, c in enumerate(LABELS.tolist()):
        cam = np.einsum("k,khw->hw", weight[c], fmap[b])
        cam = (cam - cam.min()) / (cam.max() - cam.min())
        for i, j in np.ndindex(cam.shape):
            f = fmap[b, :, i, j]
            if cam[i, j] >= 0.4:
                sim.append(1 - f @ weight[c] / (np.linalg.norm(f) * np.linalg.norm(weight[c])))
            if cam[i, j] <= 0.2:
                norm.append(np.linalg.norm(f))
    expected = F.cross_entropy(output.logits, LABELS).item() + 0.5 * np.mean(sim) + 0.05 * np.mean(norm)
    assert sim and norm
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["bas", "bridgegap"])
def test_cam_methods_need_a_linear_classifier(name: str) -> None:
    with pytest.raises(ConfigError, match=f"method {name} needs a head with a linear classifier"):
        METHODS.build(name).setup(model_for(head="tscam"))


# --- PSOL ------------------------------------------------------------------------------------


def test_pseudo_box_is_the_largest_8_connected_positive_region() -> None:
    maps = torch.full((2, 4, 5), -1.0)
    maps[0, 0, 0] = maps[0, 1, 1] = maps[0, 2, 2] = 1.0  # diagonal chain: one 8-connected region
    maps[0, 3, 4] = maps[0, 0, 4] = 1.0  # two single cells
    boxes = pseudo_boxes(maps)
    torch.testing.assert_close(boxes, torch.tensor([[0.0, 0.0, 3 / 5, 3 / 4], [0.0, 0.0, 1.0, 1.0]]))


def test_box_maps_and_psol_maps_are_the_localizers_boxes() -> None:
    maps = box_maps(torch.tensor([[0.25, 0.0, 0.75, 0.5], [0.0, 0.0, 1.0, 1.0]]), (4, 4))
    assert (maps[0] > 0).int().tolist() == [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert ((maps[maps > 0] >= 1) & (maps[maps > 0] <= 2)).all()
    whole = maps[1]  # the whole image: not constant; depth 1/8 at the border, 3/8 at the centre
    assert (whole > 0).all() and whole.max() == 2 == whole[1:3, 1:3].min()
    torch.testing.assert_close(whole[0], torch.full((4,), 1 + 1 / 3))
    model, method = model_for(BackboneConfig(name="resnet10t")), PSOL()
    method.setup(model)
    assert model.localizer.backbone is not model.backbone
    method.training_step(model.train(), IMAGES, LABELS)
    model.eval()
    with torch.no_grad():
        logits, maps = method.localization_map(model, IMAGES, LABELS)
        boxes = model.localizer(IMAGES)
    torch.testing.assert_close(maps, box_maps(boxes, (32, 32)))
    torch.testing.assert_close(logits, model(IMAGES).logits)
    assert (boxes[:, :2] <= boxes[:, 2:]).all()


def test_psol_localizer_learns_its_pseudo_boxes_only() -> None:
    """The box loss moves the localizer, never the classifier (decoupled)."""
    model, method = model_for(BackboneConfig(name="resnet10t")), PSOL(box_weight=1.0)
    method.setup(model)
    before = copy.deepcopy(model.state_dict())
    model.train()
    loss, output = method.training_step(model, IMAGES, LABELS)
    box_only = loss - method.loss(output, LABELS)
    box_only.backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.backbone.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.localizer.parameters())
    assert before.keys() == model.state_dict().keys()
