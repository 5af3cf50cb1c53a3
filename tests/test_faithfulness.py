"""Faithfulness and sanity metrics: hand-computed values, oracles (Quantus, pytorch-grad-cam), streaming."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from wsol.data.sample import Sample
from wsol.errors import ConfigError, WSOLError
from wsol.explainers import create_explainer
from wsol.metrics import METRICS
from wsol.metrics.deletion_insertion import baseline_images, curve_auc, perturbation_curves, pixel_ranks
from wsol.metrics.pointing_game import energy_share, pointing_hit
from wsol.metrics.probe import FaithfulnessBatch, ModelProbe
from wsol.metrics.road import linear_imputation, removal_masks

MODEL_METRICS = ("deletion_insertion", "road", "average_drop", "randomisation")
SMALL = {"deletion_insertion": {"step": 32}}


class SumModel(nn.Module):
    """Logits ``[sum(x), -sum(x)]``: the class-0 logit is the sum of all input values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.flatten(1).sum(1)
        return torch.stack([total, -total], 1)


def tiny_convnet(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 2),
    )


def gradcam(model: nn.Module, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    return create_explainer("gradcam", model, "2")(images, classes)


def targets(n: int, size: int = 16, boxes: tuple[float, ...] = (2, 2, 8, 8)) -> list[Sample]:
    box = np.array([boxes], dtype=np.float64)
    mask = np.zeros((size, size), np.uint8)
    mask[int(boxes[1]) : int(boxes[3]) + 1, int(boxes[0]) : int(boxes[2]) + 1] = 1
    return [Sample(f"img{i}", None, 0, size=(size, size), boxes=box, mask=mask) for i in range(n)]


def distinct_maps(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Maps with all-distinct values (no ties: every reference ranks them the same way)."""
    rng = np.random.default_rng(seed)
    ranks = np.stack([rng.permutation(size * size).reshape(size, size) for _ in range(n)])
    return torch.from_numpy(ranks / size**2)


def square_images(n: int, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images with a bright square on the left (class 0) or right (class 1) half."""
    gen = torch.Generator().manual_seed(seed)
    images = 0.3 * torch.randn(n, 3, size, size, generator=gen)
    labels = torch.arange(n) % 2
    for i, label in enumerate(labels):
        row = int(torch.randint(0, size - 5, (1,), generator=gen))
        col = int(torch.randint(0, size // 2 - 5, (1,), generator=gen)) + (size // 2 if label else 0)
        images[i, :, row : row + 5, col : col + 5] += 2.0
    return images, labels


@pytest.fixture(scope="module")
def trained() -> nn.Module:
    """A tiny convnet trained for a few seconds to tell left from right squares."""
    model = tiny_convnet(1)
    images, labels = square_images(256, seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    test_images, test_labels = square_images(32, seed=2)
    assert (model(test_images).argmax(1) == test_labels).float().mean() > 0.9
    return model


def context(model: nn.Module, images: torch.Tensor, classes: torch.Tensor | None = None) -> FaithfulnessBatch:
    classes = model(images).argmax(1) if classes is None else classes
    return FaithfulnessBatch(ModelProbe(model, explain=gradcam, batch_size=7), images, classes)


# ---------------------------------------------------------------- deletion / insertion


def test_deletion_insertion_hand_computed():
    image = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    heatmap = torch.tensor([[[0.1, 0.4], [0.3, 0.2]]])  # order: 2, 3, 4, 1
    ctx = FaithfulnessBatch(ModelProbe(SumModel()), image, torch.tensor([0]))
    deletion = perturbation_curves(ctx, heatmap, "deletion", "zero", 1, "logit")
    insertion = perturbation_curves(ctx, heatmap, "insertion", "zero", 1, "logit")
    np.testing.assert_allclose(deletion, [[10, 8, 5, 1, 0]])
    np.testing.assert_allclose(insertion, [[0, 2, 5, 9, 10]])
    np.testing.assert_allclose(curve_auc(deletion), [(10 + 8 + 5 + 1 + 0 - 5) / 4])
    np.testing.assert_allclose(curve_auc(insertion), [(0 + 2 + 5 + 9 + 10 - 5) / 4])
    coarse = perturbation_curves(ctx, heatmap, "deletion", "zero", 3, "logit")
    np.testing.assert_allclose(coarse, [[10, 1, 0]])
    spec = {"name": "deletion_insertion", "step": 1, "score": "logit", "insertion_baseline": "zero"}
    metric = METRICS.build(spec)
    metric.update([heatmap[0]], targets(1, 2, (0, 0, 1, 1)), context=ctx)
    assert metric.compute()["deletion_insertion/deletion_auc"] == pytest.approx(4.75)
    assert metric.compute()["deletion_insertion/insertion_auc"] == pytest.approx(5.25)


def test_pixel_ranks_break_ties_by_index():
    ranks = pixel_ranks(torch.tensor([[[0.0, 1.0, 0.0], [1.0, 0.0, 0.5]]]))
    assert ranks[0].tolist() == [3, 0, 4, 1, 5, 2]


def test_blur_baseline_keeps_a_constant_interior_and_zero_is_zero():
    images = torch.full((1, 3, 32, 32), 2.0)
    blurred = baseline_images(images, "blur")
    torch.testing.assert_close(blurred[..., 10:22, 10:22], images[..., 10:22, 10:22])
    assert blurred[0, 0, 0, 0] < 2.0  # zero padding darkens the border, as RISE's conv2d
    assert baseline_images(images, "zero").abs().sum() == 0


def test_deletion_matches_quantus_pixel_flipping():
    quantus = pytest.importorskip("quantus")
    model = tiny_convnet().eval()
    images = torch.randn(3, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    maps = distinct_maps(3, 6)  # Quantus flattens (C, H, W): 12 features = 4 pixels of 3 channels
    ctx = context(model, images)
    ours = perturbation_curves(ctx, maps, "deletion", "zero", 4, "probability")
    theirs = quantus.PixelFlipping(
        features_in_step=12, perturb_baseline=0.0, normalise=False, abs=False, disable_warnings=True
    )(
        model=model,
        x_batch=images.numpy(),
        y_batch=ctx.classes.numpy(),
        a_batch=maps[:, None].numpy(),
        softmax=True,
        device="cpu",
    )
    np.testing.assert_allclose(ours[:, 1:], np.array(theirs), rtol=1e-5, atol=1e-6)
    trapezoid = np.trapezoid(theirs, axis=1)
    np.testing.assert_allclose(curve_auc(ours[:, 1:], normalized=False), trapezoid, rtol=1e-5)


# ---------------------------------------------------------------- ROAD


def test_linear_imputation_hand_computed():
    image = np.arange(9, dtype=np.float64).reshape(1, 3, 3)
    centre = np.zeros((3, 3), bool)
    centre[1, 1] = True
    expected = (1 + 3 + 5 + 7) / 6 + (0 + 2 + 6 + 8) / 12
    assert linear_imputation(image, centre)[0, 1, 1] == pytest.approx(expected)
    corner = np.zeros((3, 3), bool)
    corner[0, 0] = True  # neighbours 1 and 3 (1/6 each) and 4 (1/12), renormalised
    assert linear_imputation(image, corner)[0, 0, 0] == pytest.approx((1 / 6 + 3 / 6 + 4 / 12) / (5 / 12))


def test_removal_masks_follow_the_percentile_rule():
    heatmap = np.arange(10, dtype=np.float32).reshape(2, 5) / 9
    morf, lerf = removal_masks(heatmap, [30], "morf")[0], removal_masks(heatmap, [30], "lerf")[0]
    assert sorted(heatmap[morf] * 9) == pytest.approx([7, 8, 9])
    assert sorted(heatmap[lerf] * 9) == pytest.approx([0, 1, 2])


def test_road_matches_pytorch_grad_cam():
    from pytorch_grad_cam.metrics.perturbation_confidence import (
        PerturbationConfidenceMetric,
        RemoveLeastRelevantFirst,
        RemoveMostRelevantFirst,
    )
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    model = tiny_convnet()
    images = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    maps = distinct_maps(2, 12, seed=1)
    ctx = context(model, images)
    metric = METRICS.build({"name": "road", "percentages": [20, 70], "noise": 0.0})
    metric.update(list(maps), targets(2, 12), context=ctx)
    result = metric.compute()
    goals = [ClassifierOutputSoftmaxTarget(int(c)) for c in ctx.classes]
    cams = maps.numpy().astype(np.float32)
    for key, removal in (("morf", RemoveMostRelevantFirst), ("lerf", RemoveLeastRelevantFirst)):
        theirs = [
            PerturbationConfidenceMetric(removal(100 - q, NoisyLinearImputer(noise=0)))(
                images, cams, goals, model, return_diff=False
            ).mean()
            for q in (20, 70)
        ]
        np.testing.assert_allclose(result[f"road/{key}_curve"], theirs, rtol=1e-5)


# ---------------------------------------------------------------- pointing games


def test_pointing_game_hand_computed():
    region = np.zeros((20, 20), bool)
    region[10:13, 10:13] = True
    heatmap = np.zeros((20, 20))
    heatmap[0, 0] = 1  # distance to (10, 10): sqrt(200) = 14.14
    assert pointing_hit(heatmap, region, 15) and not pointing_hit(heatmap, region, 14)
    heatmap[0, 0], heatmap[0, 19] = 0, 1  # distance to (10, 12): sqrt(149) = 12.2
    assert pointing_hit(heatmap, region, 12.3) and not pointing_hit(heatmap, region, 12.2)
    energy = np.zeros((20, 20))
    energy[11, 11], energy[0, 0], energy[5, 5] = 3, 1, -4
    assert energy_share(energy, region) == pytest.approx(0.75)
    assert np.isnan(energy_share(np.zeros((20, 20)), region))


@pytest.mark.parametrize("name", ["pointing_game", "pointing_game_mask"])
def test_pointing_game_metric_counts_hits(name):
    maps = [np.zeros((16, 16)) for _ in range(4)]
    for heatmap, (y, x) in zip(maps, [(3, 3), (15, 15), (8, 8), (0, 15)], strict=True):
        heatmap[y, x] = 1
    metric = METRICS.build({"name": name, "tolerance": 1})
    metric.update(maps, targets(4))
    assert metric.compute()[f"{name}/accuracy"] == pytest.approx(50.0)  # (3, 3) and (8, 8) are in the box


def test_localisation_matches_quantus():
    quantus = pytest.importorskip("quantus")
    rng = np.random.default_rng(0)
    maps = rng.random((6, 16, 16))
    tgts = targets(6)
    masks = np.stack([t.mask for t in tgts])[:, None].astype(float)
    x = np.zeros((6, 3, 16, 16), np.float32)
    kwargs = {"model": None, "x_batch": x, "y_batch": np.zeros(6, int), "a_batch": maps[:, None]}
    kwargs["s_batch"] = masks
    common = {"disable_warnings": True, "normalise": False, "abs": False}
    pointing = METRICS.build({"name": "pointing_game_mask", "tolerance": 1})
    pointing.update(list(maps), tgts)
    hits = quantus.PointingGame(**common)(**kwargs)
    np.testing.assert_array_equal(pointing.rows("hit"), hits)
    energy = METRICS.build("energy_pointing_game_mask")
    energy.update(list(maps), tgts)
    shares = quantus.AttributionLocalisation(**common)(**kwargs)
    np.testing.assert_allclose(energy.rows("energy"), shares, rtol=1e-6)


# ---------------------------------------------------------------- average drop


def test_average_drop_hand_computed():
    images = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).expand(2, 1, 2, 2)
    maps = torch.tensor([[[0.0, 1.0], [1.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    ctx = FaithfulnessBatch(ModelProbe(SumModel()), images.contiguous(), torch.tensor([0, 0]))
    metric = METRICS.build({"name": "average_drop", "score": "logit", "normalize": False})
    metric.update(list(maps), targets(2, 2, (0, 0, 1, 1)), context=ctx)
    out = metric.compute()
    assert out["average_drop/average_drop"] == pytest.approx(100 * (5 / 10 + 0) / 2)
    assert out["average_drop/increase_in_confidence"] == 0.0
    assert out["average_drop/drop"] == pytest.approx(2.5)


def test_average_drop_matches_pytorch_grad_cam():
    from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence, IncreaseInConfidence
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    model = tiny_convnet()
    images = torch.randn(5, 3, 12, 12, generator=torch.Generator().manual_seed(4))
    maps = distinct_maps(5, 12)  # in [0, 1) with minimum 0: min-max normalisation changes little
    ctx = context(model, images)
    metric = METRICS.build({"name": "average_drop", "normalize": False})
    metric.update(list(maps), targets(5, 12), context=ctx)
    goals = [ClassifierOutputSoftmaxTarget(int(c)) for c in ctx.classes]
    cams = maps.numpy().astype(np.float32)
    out = metric.compute()
    drop = float(DropInConfidence()(images, cams, goals, model).mean())
    assert out["average_drop/drop"] == pytest.approx(drop)
    increase = 100 * float(IncreaseInConfidence()(images, cams, goals, model).mean())
    assert out["average_drop/increase_in_confidence"] == pytest.approx(increase)


# ---------------------------------------------------------------- randomisation


def edge_detector(model: nn.Module, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """An input-only "explainer": the image's gradient magnitude (ignores the model)."""
    gray = images.mean(1)
    return gray.diff(dim=-1, prepend=gray[..., :1]).abs() + gray.diff(dim=-2, prepend=gray[..., :1, :]).abs()


def constant(model: nn.Module, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    return torch.ones(images.shape[0], *images.shape[-2:])


@pytest.mark.parametrize("order", ["cascading", "independent"])
def test_randomisation_flags_input_only_maps_and_passes_gradcam(trained, order):
    images, _ = square_images(6, seed=5)
    classes = trained(images).argmax(1)
    results = {}
    for name, explain in (("gradcam", gradcam), ("edges", edge_detector), ("constant", constant)):
        ctx = FaithfulnessBatch(ModelProbe(trained, explain=explain), images, classes)
        metric = METRICS.build({"name": "randomisation", "order": order})
        metric.update(list(explain(trained, images, classes)), targets(6), context=ctx)
        results[name] = metric.compute()
        assert metric.layer_names == ["6", "2", "0"]
    for name in ("edges", "constant"):
        assert results[name]["randomisation/fails"] == 1.0
        np.testing.assert_allclose(results[name]["randomisation/spearman_curve"], 1.0)
        np.testing.assert_allclose(results[name]["randomisation/ssim_curve"], 1.0)
    if order == "cascading":
        assert results["gradcam"]["randomisation/fails"] == 0.0
        assert results["gradcam"]["randomisation/spearman_last"] < 0.5
        assert results["gradcam"]["randomisation/hog_last"] < results["edges"]["randomisation/hog_last"]


def test_randomisation_matches_quantus_mprt(trained):
    quantus = pytest.importorskip("quantus")
    images, _ = square_images(4, seed=6)
    classes = trained(images).argmax(1)
    metric = METRICS.build({"name": "randomisation", "measures": ["spearman"], "seed": 43})
    ctx = FaithfulnessBatch(ModelProbe(trained, explain=gradcam), images, classes)
    maps = gradcam(trained, images, classes)
    metric.update(list(maps), targets(4), context=ctx)

    def explain(model, inputs, targets, **kwargs):  # Quantus' explain_func protocol, 16 x 16 maps
        upsampled = ctx_maps(model, torch.as_tensor(inputs), torch.as_tensor(targets))
        return upsampled[:, None].numpy()

    def ctx_maps(model, x, y):
        return nn.functional.interpolate(gradcam(model, x, y)[:, None], size=(16, 16), mode="bilinear")[:, 0]

    scores = quantus.MPRT(seed=42, disable_warnings=True, normalise=False, abs=False)(
        model=trained,
        x_batch=images.numpy(),
        y_batch=classes.numpy(),
        a_batch=ctx_maps(trained, images, classes)[:, None].numpy(),
        explain_func=explain,
        device="cpu",
    )
    theirs = np.array([scores[layer] for layer in ("6", "2", "0")])
    # A constant map's rank correlation is undefined: wsol scores it 0; Quantus gives 0 or NaN
    # depending on the scipy version it runs on.
    theirs = np.nan_to_num(theirs, nan=0.0)
    np.testing.assert_allclose(metric.curve("spearman_curve").T, theirs, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- streaming contract


@pytest.mark.parametrize("name", MODEL_METRICS)
def test_model_metrics_merge_to_the_single_pass_numbers(name):
    model = tiny_convnet()
    images = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    ctx = context(model, images)
    maps = gradcam(model, images, ctx.classes)
    spec = {"name": name, **SMALL.get(name, {})}
    whole = METRICS.build(spec)
    whole.update(list(maps), targets(4), context=ctx)
    first, second = METRICS.build(spec), METRICS.build(spec)
    tgts = targets(4)
    first.update(list(maps[:2]), tgts[:2], context=context(model, images[:2]))
    second.update(list(maps[2:]), tgts[2:], context=context(model, images[2:]))
    merged = METRICS.build(spec)
    merged.merge_state(first.state())
    merged.merge_state(second.state())
    expected, got = whole.compute(), merged.compute()
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-6, err_msg=key)
    merged.reset()
    assert merged.compute()[f"{name}/num_images"] == 0.0


@pytest.mark.parametrize("name", MODEL_METRICS)
def test_model_metrics_need_a_context_and_are_opt_in(name):
    metric = METRICS.build({"name": name})
    assert "faithfulness" in metric.requires
    with pytest.raises(WSOLError, match="context=FaithfulnessBatch"):
        metric.update([np.zeros((4, 4))], targets(1, 4))


def test_bad_options_are_one_line_config_errors():
    for spec in (
        {"name": "deletion_insertion", "step": 0},
        {"name": "deletion_insertion", "deletion_baseline": "grey"},
        {"name": "road", "percentages": [0, 50]},
        {"name": "average_drop", "score": "margin"},
        {"name": "randomisation", "order": "bottom_up"},
        {"name": "pointing_game", "tolerance": -1},
    ):
        with pytest.raises(ConfigError):
            METRICS.build(spec)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 40), st.integers(0, 10_000))
def test_deletion_and_insertion_curves_end_where_the_other_starts(step, seed):
    model = tiny_convnet()
    images = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(seed))
    maps = distinct_maps(2, 6, seed)
    ctx = context(model, images)
    deletion = perturbation_curves(ctx, maps, "deletion", "zero", step, "probability")
    insertion = perturbation_curves(ctx, maps, "insertion", "zero", step, "probability")
    assert deletion.shape[1] == -(-36 // step) + 1
    np.testing.assert_allclose(deletion[:, 0], insertion[:, -1], rtol=1e-5)
    np.testing.assert_allclose(deletion[:, -1], insertion[:, 0], rtol=1e-5)


# ---------------------------------------------------------------- evaluation of a checkpoint


def test_faithfulness_metrics_are_built_only_when_asked():
    from wsol.config.schema import EvalConfig
    from wsol.metrics import create_metrics

    ground_truth = frozenset({"boxes", "masks"})
    plain = {type(m).__name__ for m in create_metrics(EvalConfig(), ground_truth)}
    asked = {type(m).__name__ for m in create_metrics(EvalConfig(), ground_truth | {"faithfulness"})}
    added = {"DeletionInsertion", "ROAD", "AverageDrop", "ParameterRandomisation", "PointingGame"}
    assert not plain & added and added <= asked


@pytest.mark.slow
def test_eval_loc_faithfulness_scores_a_checkpoint(tmp_path):
    import json

    from tests.test_faults import write_untrained_checkpoint
    from tests.test_methods import eval_cli

    checkpoint = write_untrained_checkpoint(tmp_path)
    out = tmp_path / "eval"
    args = ["checkpoint", str(checkpoint), "--overlays", "0", "--no-progress", "--out", str(out)]
    assert eval_cli([*args, "--explainer", "gradcam", "--faithfulness"]) == 0
    results = json.loads((out / "metrics.json").read_text())
    for key in (
        "deletion_insertion/deletion_auc",
        "deletion_insertion/insertion_auc",
        "road/combined",
        "average_drop/average_drop",
        "pointing_game/accuracy",
        "energy_pointing_game/energy",
        "randomisation/spearman_last",
    ):
        for split in ("val", "test"):
            assert np.isfinite(results[f"{split}/{key}"]), f"{split}/{key}"
    assert results["test/road/num_images"] == 6
    assert len(results["test/randomisation/spearman_curve"]) > 1


def test_batched_spearman_equals_scipy_and_handles_constant_maps():
    import scipy.stats

    from wsol.metrics.randomisation import spearman

    rng = np.random.default_rng(0)
    a = np.round(rng.random((4, 5, 6)), 1)  # many ties
    b = np.round(a + rng.normal(0, 0.3, a.shape), 1)
    expected = [scipy.stats.spearmanr(x.ravel(), y.ravel())[0] for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(spearman(a, b), expected, rtol=1e-12)
    flat = np.ones((2, 3, 3))
    np.testing.assert_array_equal(spearman(flat, np.stack([flat[0], a[0, :3, :3]])), [1.0, 0.0])
