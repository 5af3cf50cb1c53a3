"""Tests of :mod:`wsol.explainers`.

* The contract, on every name in ``EXPLAINERS.list()`` (a newly registered explainer is
  tested without editing this file; give it small options in ``OPTIONS`` if its
  defaults are slow): shapes, finite and (where declared) non-negative maps, hooks
  removed and train/eval flags restored also when the forward raises, no parameter
  ``.grad`` written, eval mode used, batch independence, differentiable mode.
* Equality with pytorch-grad-cam 1.5.7 (dev-only oracle) for the gradient CAMs, and with
  definitions written out in the test for the others.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn
from torch.nn import functional as F

from wsol.errors import ConfigError, RegistryError, WSOLError
from wsol.explainers import EXPLAINERS, create_explainer, list_explainers
from wsol.models.output import ModelOutput

TARGET = "features.3"
OPTIONS = {
    "cam": {"classifier": "head"},
    "scorecam": {"batch_size": 5},
    "faster_scorecam": {"n_channels": 3, "batch_size": 4},
    "smoothgrad": {"samples": 3, "batch_size": 4},
    "occlusion": {"window": 6, "stride": 4, "batch_size": 7},
}
ALL = [n for n in EXPLAINERS.list() if not EXPLAINERS.get(n).needs_tokens]  # those: tests/test_tokens.py


class Tiny(nn.Module):
    """Small CNN with a GAP-linear head; BatchNorm and Dropout make train and eval differ.

    The target layer (``features.3``, a conv) is followed by an in-place ReLU, which must
    not alter the recorded activations.
    """

    def __init__(self, as_output: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 6, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))
        self.as_output = as_output
        self.fail = False
        with torch.no_grad():
            self.features[1].running_mean.uniform_(-0.5, 0.5)
            self.features[1].running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor | ModelOutput:
        feats = self.features(x)
        if self.fail:
            raise RuntimeError("forward failed")
        logits = self.head(self.dropout(feats))
        return ModelOutput(logits) if self.as_output else logits


def tiny(as_output: bool = False) -> Tiny:
    torch.manual_seed(0)
    return Tiny(as_output)


def images(n: int = 3, size: int = 16) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def build(name: str, model: nn.Module, **extra: object):
    return create_explainer({"name": name, **OPTIONS.get(name, {}), **extra}, model, TARGET)


def expected_hw(name: str, x: torch.Tensor) -> tuple[int, int]:
    return (x.shape[-2] // 2, x.shape[-1] // 2) if EXPLAINERS.get(name).space == "layer" else x.shape[-2:]


def hooks_left(model: nn.Module) -> int:
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return sum(len(getattr(m, h)) for m in model.modules() for h in hooks)


def test_registered_names() -> None:
    assert set(list_explainers()) >= {
        "cam",
        "gradcam",
        "gradcampp",
        "hirescam",
        "xgradcam",
        "layercam",
        "eigencam",
        "scorecam",
        "faster_scorecam",
        "saliency",
        "smoothgrad",
        "occlusion",
    }
    assert list_explainers("*gradcam*") == ["gradcam", "gradcampp", "xgradcam"]


@pytest.mark.parametrize("name", ALL)
def test_maps_shape_and_values(name: str) -> None:
    x = images()
    maps = build(name, tiny())(x, torch.tensor([0, 4, 2]))
    assert maps.shape == (3, *expected_hw(name, x))
    assert maps.dtype == torch.float32 and not maps.requires_grad
    assert torch.isfinite(maps).all() and maps.abs().sum() > 0
    if EXPLAINERS.get(name).non_negative:
        assert (maps >= 0).all()


@pytest.mark.parametrize("name", ALL)
def test_no_side_effects_also_on_error(name: str) -> None:
    model = tiny().train()
    model.features[1].eval()  # a mixed-mode model: every flag must come back as it was
    modes = [m.training for m in model.modules()]
    explainer = build(name, model)
    for fail in (False, True):
        model.fail = fail
        if fail:
            with pytest.raises(RuntimeError, match="forward failed"):
                explainer(images())
        else:
            explainer(images())
        assert hooks_left(model) == 0
        assert [m.training for m in model.modules()] == modes
        assert all(p.grad is None for p in model.parameters())
        assert torch.is_grad_enabled()


@pytest.mark.parametrize("name", ALL)
def test_explains_in_eval_mode(name: str) -> None:
    model, x = tiny(), images()
    in_train = build(name, model.train())(x)
    in_eval = build(name, model.eval())(x)
    torch.testing.assert_close(in_train, in_eval)


@pytest.mark.parametrize("name", ALL)
def test_model_output_and_default_targets(name: str) -> None:
    x = images()
    plain = build(name, tiny().eval())
    predicted = tiny().eval()(x).argmax(1)
    maps = plain(x, predicted)
    torch.testing.assert_close(plain(x), maps)
    torch.testing.assert_close(build(name, tiny(as_output=True))(x, predicted), maps)


@pytest.mark.parametrize("name", [n for n in ALL if n != "smoothgrad"])  # smoothgrad: noise drawn per batch
def test_batch_independent(name: str) -> None:
    explainer, x, t = build(name, tiny()), images(), torch.tensor([1, 1, 3])
    one_by_one = torch.cat([explainer(x[i : i + 1], t[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(explainer(x, t), one_by_one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_differentiable(name: str) -> None:
    model = tiny().eval()
    maps = build(name, model, differentiable=True)(images())
    assert maps.requires_grad and all(p.grad is None for p in model.parameters())
    maps.sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", ["gradcam", "scorecam", "saliency", "occlusion"])
def test_bad_targets_and_images(name: str) -> None:
    explainer = build(name, tiny())
    with pytest.raises(WSOLError, match="target class 5 of image 1 is out of range for 5 classes"):
        explainer(images(), torch.tensor([0, 5, 1]))
    with pytest.raises(WSOLError, match="3 integer class indices"):
        explainer(images(), torch.tensor([0, 1]))
    with pytest.raises(WSOLError, match=r"\(B, C, H, W\) float image batch"):
        explainer(images()[0])


def test_bad_layers_and_specs() -> None:
    model = tiny()
    with pytest.raises(ConfigError, match=r"did you mean 'features\.3'"):
        create_explainer("gradcam", model, "features.33")
    with pytest.raises(ConfigError, match="not a submodule"):
        create_explainer("gradcam", model, nn.Conv2d(3, 3, 1))
    with pytest.raises(ConfigError, match="needs a target layer"):
        create_explainer("gradcam", model)
    with pytest.raises(ConfigError, match="both in the config and by the caller"):
        create_explainer({"name": "gradcam", "target_layer": TARGET}, model, TARGET)
    with pytest.raises(RegistryError, match="did you mean 'gradcam'"):
        create_explainer("gradcan", model, TARGET)
    with pytest.raises(ConfigError, match="unknown option 'window'"):
        create_explainer({"name": "gradcam", "window": 3}, model, TARGET)
    with pytest.raises(ConfigError, match="needs classifier="):
        create_explainer("cam", model, TARGET)
    with pytest.raises(WSOLError, match=r"takes 6 features but target layer 'features\.0' has 8 channels"):
        create_explainer({"name": "cam", "classifier": "head.2"}, model, "features.0")(images())
    with pytest.raises(ConfigError, match=r"exactly one nn\.Linear or 1x1 nn\.Conv2d, found 0"):
        create_explainer({"name": "cam", "classifier": "features"}, model, TARGET)
    with pytest.raises(WSOLError, match=r"returned \(3, 6\)"):
        create_explainer("gradcam", model, "head.1")(images())
    maps = create_explainer({"name": "gradcam", "target_layer": TARGET}, model)(images())
    torch.testing.assert_close(maps, create_explainer("gradcam", model, model.features[3])(images()))


def test_layer_running_twice_and_bad_output() -> None:
    shared = nn.Conv2d(3, 3, 1)
    twice = nn.Sequential(shared, shared, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(WSOLError, match="ran twice"):
        create_explainer("gradcam", twice, shared)(images())
    assert hooks_left(twice) == 0
    as_dict = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    as_dict.register_forward_hook(lambda m, i, o: {"logits": o})
    with pytest.raises(WSOLError, match="returned dict"):
        create_explainer("saliency", as_dict)(images())


# --- pytorch-grad-cam as oracle --------------------------------------------------------

ORACLE = {
    "gradcam": GradCAM,
    "hirescam": HiResCAM,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "gradcampp": GradCAMPlusPlus,
}


@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    """Random-init resnet18 with its classifier scaled by 1e4.

    The scaling multiplies every gradient by 1e4, which only rescales Grad-CAM, HiResCAM,
    XGrad-CAM and Layer-CAM, but matters for Grad-CAM++: pytorch-grad-cam adds 1e-6 to
    its ``alpha`` denominator ``2 g^2 + sum(A) g^3``, and at random init ``g^2`` is about
    1e-6 (layer4: g = w/(h*w) ~ 1e-3), so that epsilon, not the formula, would dominate
    the difference (up to ~10%). With gradients of order 10, the epsilon's effect falls
    below 1e-5 and the comparison tests eq. 19 itself; ``test_gradcampp_is_eq19``
    checks the unscaled network against eq. 19 written out in float64.
    """
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    with torch.no_grad():
        model.fc.weight.mul_(1e4)
    return model


def their_maps(cls: type, model: nn.Module, layer: str, x: torch.Tensor, targets: torch.Tensor):
    """pytorch-grad-cam's end-to-end maps and its raw per-layer maps (before ReLU/resizing)."""
    module = model.get_submodule(layer)
    with cls(model, [module]) as cam:
        final = cam(x, [ClassifierOutputTarget(int(c)) for c in targets])
        acts = cam.activations_and_grads.activations[0].numpy()
        grads = cam.activations_and_grads.gradients[0].numpy()
        raw = cam.get_cam_image(x, module, None, acts, grads, False)
    model.zero_grad(set_to_none=True)
    return final, np.maximum(raw, 0)


@pytest.mark.parametrize("layer", ["layer4", "layer3"])
@pytest.mark.parametrize("name", sorted(ORACLE))
def test_matches_pytorch_grad_cam(resnet: nn.Module, name: str, layer: str) -> None:
    """Equal to pytorch-grad-cam, per image target, at two levels.

    1. Raw maps at the layer's resolution: theirs from their own ``get_cam_image`` on the
       activations and gradients their hooks recorded during their call (plus the ReLU
       their pipeline applies next). Values, not just shapes, must match (1e-5 relative
       to the largest value), so a wrong scale would fail too.
    2. Their final output, which min-max normalises, resizes to the input with cv2 and
       normalises again: we pass our raw maps through that same post-processing, using
       their ``scale_cam_image`` itself rather than a re-implementation, and compare to
       1e-5 absolute on [0, 1] maps.

    layer4 is the usual target; at layer4 of a resnet the gradient of a GAP-linear head
    is constant over space, which makes HiResCAM, XGrad-CAM and Grad-CAM coincide, so
    layer3 (spatially varying gradients) is tested as well.
    """
    x = torch.randn(3, 3, 72, 64, generator=torch.Generator().manual_seed(2))  # layer4: 3x2, layer3: 5x4
    targets = torch.tensor([3, 7, 1])
    final, raw = their_maps(ORACLE[name], resnet, layer, x, targets)
    ours = create_explainer(name, resnet, layer)(x, targets)
    assert all(p.grad is None for p in resnet.parameters())
    np.testing.assert_allclose(ours.numpy(), raw, rtol=0, atol=1e-5 * np.abs(raw).max())
    processed = scale_cam_image(scale_cam_image(ours.numpy(), (64, 72)))
    np.testing.assert_allclose(processed, final, rtol=0, atol=1e-5)


def test_gradcampp_is_eq19() -> None:
    """Unscaled random init (tiny gradients): eq. 19 in float64 without any epsilon."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    x, targets = torch.randn(2, 3, 64, 64), torch.tensor([4, 9])
    with GradCAM(model, [model.layer3]) as cam:  # only for the A and g that their hooks record
        cam(x, [ClassifierOutputTarget(int(c)) for c in targets])
        acts = cam.activations_and_grads.activations[0].double()
        grads = cam.activations_and_grads.gradients[0].double()
    model.zero_grad(set_to_none=True)
    denom = 2 * grads**2 + acts.sum((2, 3), keepdim=True) * grads**3
    alpha = torch.where(denom != 0, grads**2 / torch.where(denom != 0, denom, 1), 0)
    weights = (alpha * grads.clamp(min=0)).sum((2, 3), keepdim=True)
    expected = (weights * acts).sum(1).clamp(min=0)
    ours = create_explainer("gradcampp", model, "layer3")(x, targets).double()
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5 * float(expected.max()))


# --- definitions written out ------------------------------------------------------------


def test_cam_equals_gradcam_up_to_scale(resnet: nn.Module) -> None:
    """With a GAP-linear head dS_c/dA = w_c / (h*w) everywhere, so Grad-CAM = ReLU(CAM) / (h*w)."""
    x = torch.randn(2, 3, 64, 64)
    for model, layer, head in [(resnet, "layer4", "fc"), (tiny().eval(), "features.4", "head")]:
        with torch.no_grad():
            logits = model(x)
        targets = torch.stack([logits[0].argmax(), logits[1].argmin()])  # mixed-sign CAMs
        cam = create_explainer({"name": "cam", "classifier": head}, model, layer)(x, targets)
        gradcam = create_explainer("gradcam", model, layer)(x, targets)
        scale = cam.shape[-1] * cam.shape[-2]
        assert (cam > 0).any() and (cam < 0).any()
        tol = 1e-5 * float(cam.abs().max())
        torch.testing.assert_close(gradcam * scale, cam.clamp(min=0), rtol=1e-5, atol=tol)


def test_scorecam_definition() -> None:
    model, x, targets = tiny().eval(), images(2), torch.tensor([2, 0])
    with torch.no_grad():
        acts = model.features[:4](x)
        weights = []
        for b in range(len(x)):
            scores = []
            for k in range(acts.shape[1]):
                up = F.interpolate(acts[b : b + 1, k : k + 1], size=x.shape[-2:], mode="bilinear")
                span = up.max() - up.min()
                mask = (up - up.min()) / span if span > 0 else torch.zeros_like(up)
                scores.append(model(x[b : b + 1] * mask)[0, targets[b]])
            weights.append(torch.stack(scores).softmax(0))
        expected = torch.einsum("bk,bkhw->bhw", torch.stack(weights), acts).clamp(min=0)
    torch.testing.assert_close(build("scorecam", model)(x, targets), expected)


def test_scorecam_constant_channels() -> None:
    """Constant channels share the blank image's score (computed once) without changing the result."""
    model = tiny().eval()
    with torch.no_grad():
        model.features[3].weight[:3] = 0  # channels 0-2 become constant (their bias)
    x, targets = images(2), torch.tensor([1, 3])
    maps = build("scorecam", model)(x, targets)
    with torch.no_grad():
        acts = model.features[:4](x)
        blank = model(torch.zeros_like(x[:1]))[0]
    assert (acts[:, :3].flatten(2).std(2) == 0).all()
    scores = []
    for b in range(2):
        row = [blank[targets[b]]] * 3
        for k in range(3, 6):
            up = F.interpolate(acts[b : b + 1, k : k + 1], size=x.shape[-2:], mode="bilinear")
            with torch.no_grad():
                row.append(model(x[b : b + 1] * (up - up.min()) / (up.max() - up.min()))[0, targets[b]])
        scores.append(torch.stack(row).softmax(0))
    expected = torch.einsum("bk,bkhw->bhw", torch.stack(scores), acts).clamp(min=0)
    torch.testing.assert_close(maps, expected)


@settings(max_examples=6, deadline=None)
@given(
    height=st.integers(6, 10),
    width=st.integers(6, 10),
    window=st.integers(2, 6),
    stride=st.integers(1, 6),
    baseline=st.floats(-1, 1),
)
def test_occlusion_definition(height: int, width: int, window: int, stride: int, baseline: float) -> None:
    stride = min(stride, window)
    model, x = tiny().eval(), torch.randn(2, 3, height, width)
    targets = torch.tensor([4, 1])
    spec = {"name": "occlusion", "window": window, "stride": stride, "baseline": baseline, "batch_size": 5}
    explainer = create_explainer(spec, model)
    total, count = torch.zeros(2, height, width), torch.zeros(height, width)
    with torch.no_grad():
        clean = model(x)[[0, 1], targets]
        ys = sorted({*range(0, height - window + 1, stride), height - window})
        xs = sorted({*range(0, width - window + 1, stride), width - window})
        for y0 in ys:
            for x0 in xs:
                occluded = x.clone()
                occluded[:, :, y0 : y0 + window, x0 : x0 + window] = baseline
                drop = clean - model(occluded)[[0, 1], targets]
                total[:, y0 : y0 + window, x0 : x0 + window] += drop[:, None, None]
                count[y0 : y0 + window, x0 : x0 + window] += 1
    torch.testing.assert_close(explainer(x, targets), total / count, rtol=1e-4, atol=1e-5)


def test_occlusion_bad_windows() -> None:
    with pytest.raises(WSOLError, match="window 32 is larger than the 16-pixel image side"):
        create_explainer("occlusion", tiny())(images())
    with pytest.raises(ConfigError, match="stride <= window"):
        create_explainer({"name": "occlusion", "window": 4, "stride": 5}, tiny())


def test_saliency_definition_and_smoothgrad_without_noise() -> None:
    model, x, targets = tiny().eval(), images(), torch.tensor([0, 1, 2])
    leaf = x.clone().requires_grad_()
    model(leaf)[[0, 1, 2], targets].sum().backward()
    expected = leaf.grad.abs().amax(1)
    torch.testing.assert_close(create_explainer("saliency", model)(x, targets), expected)
    noiseless = create_explainer({"name": "smoothgrad", "noise_level": 0.0, "samples": 2}, model)
    torch.testing.assert_close(noiseless(x, targets), expected)
    noisy = create_explainer({"name": "smoothgrad", "samples": 4, "batch_size": 5}, model)
    torch.testing.assert_close(noisy(x, targets), noisy(x, targets))  # seeded: reproducible
    assert not torch.allclose(noisy(x, targets), expected)


@pytest.mark.parametrize("size", [16, 4])  # h*w > C and h*w <= C take different Gram matrices
def test_eigencam_definition(size: int) -> None:
    """The first principal direction of the uncentred activations, signed to sum >= 0."""
    model, x = tiny().eval(), images(size=size)
    with torch.no_grad():
        acts = model.features[:4](x).double()
    maps = create_explainer("eigencam", model, TARGET)(x).double()
    for b in range(len(x)):
        matrix = acts[b].flatten(1).T.numpy()  # (h*w, C)
        u, s, _ = np.linalg.svd(matrix, full_matrices=False)
        expected = torch.from_numpy(u[:, 0] * s[0]).view(maps.shape[1:])
        expected = expected if expected.sum() >= 0 else -expected
        torch.testing.assert_close(maps[b], expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))


def test_gradient_cams_definition() -> None:
    """Signed activations followed by an in-place ReLU; gradients from a plain autograd call."""
    model, x, targets = tiny().eval(), images(), torch.tensor([3, 3, 0])
    feats = model.features[:4](x).detach().requires_grad_()
    logits = model.head(F.relu(feats))
    (grads,) = torch.autograd.grad(logits[[0, 1, 2], targets].sum(), feats)
    feats = feats.detach()
    expected = {
        "hirescam": (grads * feats).sum(1).clamp(min=0),
        "layercam": (grads.clamp(min=0) * feats).sum(1).clamp(min=0),
        "gradcam": (grads.mean((2, 3), keepdim=True) * feats).sum(1).clamp(min=0),
    }
    for name, want in expected.items():
        torch.testing.assert_close(create_explainer(name, model, TARGET)(x, targets), want)


def test_faster_scorecam_definition() -> None:
    """Score-CAM restricted to each image's top-N channels by spatial variance."""
    model, x, targets = tiny().eval(), images(2), torch.tensor([2, 0])
    with torch.no_grad():
        acts = model.features[:4](x)
        expected = []
        for b in range(len(x)):
            top = acts[b].flatten(1).var(1).topk(3).indices
            scores = []
            for k in top.tolist():
                up = F.interpolate(acts[b : b + 1, k : k + 1], size=x.shape[-2:], mode="bilinear")
                scores.append(model(x[b : b + 1] * (up - up.min()) / (up.max() - up.min()))[0, targets[b]])
            weights = torch.stack(scores).softmax(0)
            expected.append(torch.einsum("k,khw->hw", weights, acts[b, top]).clamp(min=0))
    torch.testing.assert_close(build("faster_scorecam", model)(x, targets), torch.stack(expected))


def test_faster_scorecam_with_every_channel_is_scorecam() -> None:
    model, x, targets = tiny().eval(), images(3), torch.tensor([2, 0, 4])
    exact = build("scorecam", model)(x, targets)
    assert torch.equal(build("faster_scorecam", model, n_channels=6)(x, targets), exact)
    assert not torch.equal(build("faster_scorecam", model, n_channels=2)(x, targets), exact)


@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_scorecam_maps_do_not_depend_on_how_masked_copies_are_batched(batch_size) -> None:
    """Masked copies are batched across images and channels in chunks; the chunking changes nothing."""
    model, x, targets = tiny().eval(), images(3), torch.tensor([1, 2, 3])
    reference = build("scorecam", model, batch_size=18)(x, targets)  # all 3 x 6 copies in one pass
    torch.testing.assert_close(build("scorecam", model, batch_size=batch_size)(x, targets), reference)


def test_faster_scorecam_rejects_zero_channels() -> None:
    with pytest.raises(ConfigError, match="n_channels must be positive"):
        build("faster_scorecam", tiny(), n_channels=0)
