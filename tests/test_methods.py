"""Training methods: the generic contract, exact erasing masks, and the adversarial-erasing cascade."""

import copy
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from method_inputs import IMAGES, LABELS, NUM_CLASSES
from torch import nn

import wsol
from wsol.checkpoints.loading import load_stage
from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.data.dataset import WSOLDataset
from wsol.data.datasets import DATASETS
from wsol.data.loaders import build_dataset
from wsol.data.sample import Sample
from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.acol import ACoL
from wsol.methods.adl import ADL, AttentionDropout
from wsol.methods.adversarial_erasing import AdversarialErasing
from wsol.methods.cutmix import CutMix, cut_box, paste_box
from wsol.methods.eil import EIL, ErasedBranch
from wsol.methods.erasing import keep_below_max_ratio, keep_below_normalized, normalize_maps
from wsol.methods.has import HideAndSeek, hide_patches
from wsol.models import WSOLModel, build_model
from wsol.models.heads.cam import CAMHead
from wsol.report.compare import load_run
from wsol.run_files import RunDir

ROOT = Path(__file__).resolve().parents[1]


def set_up(name_or_method, base_model: WSOLModel, seed: int = 1):
    """A fresh copy of the base model with the method set up on it."""
    torch.manual_seed(seed)
    model = copy.deepcopy(base_model)
    method = METHODS.build(name_or_method) if isinstance(name_or_method, (str, dict)) else name_or_method
    method.setup(model)
    return model, method


# --- the generic contract -------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS.list())
def test_training_step_and_localization_map_keep_the_contract_and_repeat(name, base_model):
    def step():
        model, method = set_up(name, base_model)
        model.train()
        torch.manual_seed(2)
        loss, output = method.training_step(model, IMAGES, LABELS)
        loss.backward()
        return model, method, loss.detach(), output, {n: p.grad for n, p in model.named_parameters()}

    model, method, loss, output, grads = step()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert output.logits.shape == (2, NUM_CLASSES)
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), name
    assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("backbone."))
    _, _, again, _, grads_again = step()
    assert torch.equal(again, loss)
    assert all(torch.equal(grads[n], grads_again[n]) for n in grads)
    model.eval()
    with torch.no_grad():
        logits, maps = method.localization_map(model, IMAGES, LABELS)
    assert logits.shape == (2, NUM_CLASSES) and maps.ndim == 3 and maps.shape[0] == 2
    assert torch.isfinite(maps).all()


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"name": "acol", "threshold": 1.5}, "method.threshold"),
        ({"name": "acol", "eval_erase_class": "gt"}, "method.eval_erase_class"),
        ({"name": "adl", "drop_rate": -0.1}, "method.drop_rate"),
        ({"name": "has", "hide_prob": 2}, "method.hide_prob"),
        ({"name": "cutmix", "beta": 0}, "method.beta"),
        ({"name": "adversarial_erasing", "num_stages": 0}, "method.num_stages"),
    ],
)
def test_bad_options_raise_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        METHODS.build(spec, key="method")


def test_shipped_synthparts_configs_build_their_method(tmp_path):
    from wsol.config import load_config

    configs = sorted(p for p in (ROOT / "configs" / "synthparts").glob("*.yaml") if p.name != "cam.yaml")
    assert {p.stem for p in configs} >= {"acol", "adl", "ae", "cutmix", "eil", "has"}
    (tmp_path / "cam.yaml").write_text("name: cam\n")  # the lead's cam.yaml stands behind `base:`
    for path in configs:
        (tmp_path / path.name).write_text(path.read_text())
        cfg = load_config(tmp_path / path.name)
        assert cfg.name == f"synthparts_{path.stem}"
        METHODS.build(cfg.method, key="method")


# --- erasing masks --------------------------------------------------------------------


def test_masks_on_hand_built_maps():
    maps = torch.tensor([[[0.0, 1.0], [2.0, 4.0]]])  # normalised: 0, .25, .5, 1
    assert keep_below_normalized(maps, 0.5).tolist() == [[[True, True], [False, False]]]
    assert keep_below_normalized(maps, 0.25).tolist() == [[[True, False], [False, False]]]
    assert keep_below_max_ratio(maps, 0.5).tolist() == [[[True, True], [False, False]]]  # < 2
    assert keep_below_max_ratio(maps, 0.2).tolist() == [[[True, False], [False, False]]]  # < 0.8
    assert torch.equal(normalize_maps(torch.full((1, 2, 2), 3.0)), torch.zeros(1, 2, 2))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False), min_size=6, max_size=6),
    st.floats(0.01, 100),
    st.floats(-100, 100),
)
def test_normalize_maps_is_min_max_and_affine_invariant(values, scale, shift):
    maps = torch.tensor(values, dtype=torch.float64).view(1, 2, 3)
    out = normalize_maps(maps)
    assert out.min() >= 0 and out.max() <= 1
    if maps.max() > maps.min():
        assert out.min() == 0 and out.max() == 1
    if maps.max() - maps.min() > 1e-3:
        torch.testing.assert_close(normalize_maps(maps * scale + shift), out)


def identity_cam(channels: int) -> CAMHead:
    """A CAM head whose class k map is input channel k (no bias)."""
    head = CAMHead([channels], channels)
    with torch.no_grad():
        head.classifier.weight.copy_(torch.eye(channels))
        head.classifier.bias.zero_()
    return head


class ListBackbone(nn.Module):
    """Images are the features: ``x -> [x]``."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x]


def acol_model() -> tuple[WSOLModel, ACoL, torch.Tensor]:
    model = WSOLModel(ListBackbone(), identity_cam(2))
    method = ACoL(threshold=0.7)
    method.setup(model)
    with torch.no_grad():  # branch B: class 0 reads channel 0, class 1 twice channel 1
        model.head.branch_b.classifier.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        model.head.branch_b.classifier.bias.zero_()
    features = torch.tensor([[[[0.0, 1.0], [2.0, 10.0]], [[5.0, 1.0], [0.0, 3.0]]]])
    return model, method, features


def test_acol_erases_the_high_attention_of_branch_a_and_fuses_maps():
    model, _, x = acol_model()
    model.eval()
    out = model(x)  # A predicts class 0 (GAP 3.25 vs 2.25); its normalised map 0, .1, .2, 1
    torch.testing.assert_close(out.logits, torch.tensor([[3.25, 2.25]]))
    # B sees x with location (1, 1) zeroed: B0 = [[0, 1], [2, 0]], B1 = [[10, 2], [0, 0]].
    expected0 = torch.maximum(torch.tensor([[0.0, 0.1], [0.2, 1.0]]), torch.tensor([[0.0, 0.5], [1.0, 0.0]]))
    expected1 = torch.maximum(torch.tensor([[1.0, 0.2], [0.0, 0.6]]), torch.tensor([[1.0, 0.2], [0.0, 0.0]]))
    torch.testing.assert_close(out.class_maps[0], torch.stack([expected0, expected1]))
    assert "acol_branch_b" not in out.aux_losses  # no cross-entropy outside training


def test_acol_training_adds_branch_b_cross_entropy_on_gt_erasing():
    model, method, x = acol_model()
    model.train()
    loss, out = method.training_step(model, x, torch.tensor([1]))
    # Erasing with class 1 (normalised A1 = 1, .2, 0, .6) zeroes (0, 0): B logits = GAP(B maps).
    b_logits = torch.tensor([[13.0 / 4, 8.0 / 4]])  # B0 = channel 0, B1 = 2 * [[0, 1], [0, 3]]
    label = torch.tensor([1])
    torch.testing.assert_close(out.aux_losses["acol_branch_b"], F.cross_entropy(b_logits, label))
    torch.testing.assert_close(loss, F.cross_entropy(out.logits, label) + out.aux_losses["acol_branch_b"])


def test_acol_eval_erasing_class_predicted_or_target():
    model, predicted, x = acol_model()
    model.eval()
    target = torch.tensor([1])
    _, by_prediction = predicted.localization_map(model, x, target)
    torch.testing.assert_close(by_prediction[0], torch.tensor([[1.0, 0.2], [0.0, 0.6]]))
    by_target = ACoL(threshold=0.7, eval_erase_class="target")
    by_target.head = model.head  # bind to the already wrapped head
    _, maps = by_target.localization_map(model, x, target)
    torch.testing.assert_close(maps[0], torch.tensor([[1.0, 1 / 3], [0.0, 1.0]]))


ATTENTION_FEATURES = torch.tensor([[[[0.0, 2.0], [4.0, 19.0]], [[2.0, 2.0], [2.0, 1.0]]]])  # mean 1, 2, 3, 10


def test_adl_block_drop_mask_importance_map_and_eval_identity():
    x = ATTENTION_FEATURES
    dropped = x.clone()
    dropped[..., 1, 1] = 0  # 10 >= 0.9 * 10
    torch.testing.assert_close(AttentionDropout(drop_rate=1.0, gamma=0.9)(x), dropped)
    mean = torch.tensor([[1.0, 2.0], [3.0, 10.0]])
    torch.testing.assert_close(AttentionDropout(drop_rate=0.0)(x), x * torch.sigmoid(mean))
    assert torch.equal(AttentionDropout(drop_rate=1.0).eval()(x), x)


def test_adl_model_differs_in_training_and_is_the_plain_model_in_eval(base_model):
    model, _ = set_up(ADL(drop_rate=1.0), base_model)
    plain = copy.deepcopy(base_model)
    assert len(model.backbone.inserted) == 2
    model.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(IMAGES).logits, plain(IMAGES).logits)
        model.train()
        plain.train()
        assert not torch.allclose(model(IMAGES).logits, plain(IMAGES).logits)


def test_eil_branch_doubles_the_batch_with_the_erased_copy():
    branch = ErasedBranch(ratio=0.7)
    x = ATTENTION_FEATURES
    assert torch.equal(branch(x), x)  # inactive
    branch.active = True
    erased = x.clone()
    erased[..., 1, 1] = 0  # only 10 >= 7
    assert torch.equal(branch(x), torch.cat([x, erased]))


def test_eil_trains_both_branches_and_is_the_plain_model_in_eval(base_model):
    model, method = set_up(EIL(), base_model)
    plain = copy.deepcopy(base_model)
    model.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(IMAGES).logits, plain(IMAGES).logits)
        loss, out = method.training_step(model, IMAGES, LABELS)
        with method._erasing():
            doubled = model(IMAGES)
    assert doubled.logits.shape[0] == 4 and doubled.class_maps.shape[0] == 4
    torch.testing.assert_close(out.logits, doubled.logits[:2])
    expected = F.cross_entropy(doubled.logits[:2], LABELS) + F.cross_entropy(doubled.logits[2:], LABELS)
    torch.testing.assert_close(loss, expected)
    assert not torch.allclose(doubled.logits[:2], doubled.logits[2:])


class Recorder(nn.Module):
    """Wraps a model and keeps the last input it saw."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.seen = model, None

    def forward(self, x):
        self.seen = x
        return self.model(x)


def test_hide_patches_exact():
    images = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5) + 1
    assert torch.equal(hide_patches(images, [2, 2], hide_prob=1.0, fill=0.0), torch.zeros_like(images))
    assert torch.equal(hide_patches(images, [2, 0], hide_prob=0.0), images)
    torch.manual_seed(0)
    hidden = hide_patches(images, [2, 0], hide_prob=0.5, fill=-7.0)
    assert torch.equal(hidden[1], images[1])  # grid size 0: untouched
    is_hidden = hidden[0] == -7.0
    assert torch.equal(is_hidden, is_hidden[:1].expand(3, -1, -1))  # all channels alike
    assert torch.equal(hidden[0][~is_hidden], images[0][~is_hidden])
    cells = is_hidden[0]
    for y0 in range(0, 5, 2):
        for x0 in range(0, 5, 2):
            cell = cells[y0 : y0 + 2, x0 : x0 + 2]
            assert cell.all() or not cell.any()  # patches are hidden whole, edge patches cut
    assert 0 < cells.sum() < 25


def test_has_hides_in_training_only(base_model):
    model, method = set_up(HideAndSeek(grid_sizes=[56], hide_prob=1.0), base_model)
    model.eval()
    plain = copy.deepcopy(base_model).eval()
    with torch.no_grad():
        _, maps = method.localization_map(model, IMAGES, LABELS)
        torch.testing.assert_close(maps, plain(IMAGES).localization_map(LABELS))
        recorder = Recorder(model)
        method.training_step(recorder, IMAGES, LABELS)
    assert torch.equal(recorder.seen, torch.zeros_like(IMAGES))  # 56 px of 224 -> 16 px of 64


def test_cutmix_box_and_paste_exact():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    mixed, kept = paste_box(images, torch.tensor([1, 0]), (0, 2, 1, 3))
    expected = images.clone()
    expected[0, :, 0:2, 1:3], expected[1, :, 0:2, 1:3] = images[1, :, 0:2, 1:3], images[0, :, 0:2, 1:3]
    assert torch.equal(mixed, expected) and kept == 1 - 4 / 16
    torch.manual_seed(0)
    for lam in (0.0, 0.3, 0.9, 1.0):
        y0, y1, x0, x1 = cut_box(10, 10, lam)
        assert 0 <= y0 <= y1 <= 10 and 0 <= x0 <= x1 <= 10
        assert (y1 - y0) <= int(10 * (1 - lam) ** 0.5) and (x1 - x0) <= int(10 * (1 - lam) ** 0.5)


def test_cutmix_loss_mixes_labels_by_pasted_area(base_model):
    model, method = set_up(CutMix(beta=1.0, prob=1.0), base_model)
    model.eval()
    torch.manual_seed(3)
    loss, _ = method.training_step(model, IMAGES, LABELS)
    torch.manual_seed(3)  # replay the draws: apply?, lam, partner, box
    torch.rand(())
    lam = torch.distributions.Beta(1.0, 1.0).sample().item()
    partner = torch.randperm(2)
    mixed, kept = paste_box(IMAGES, partner, cut_box(64, 64, lam))
    logits = model(mixed).logits
    expected = kept * F.cross_entropy(logits, LABELS) + (1 - kept) * F.cross_entropy(logits, LABELS[partner])
    torch.testing.assert_close(loss, expected)
    never, _ = set_up(CutMix(prob=0.0), base_model)
    never.eval()
    loss0, _ = CutMix(prob=0.0).training_step(never, IMAGES, LABELS)
    torch.testing.assert_close(loss0, F.cross_entropy(model(IMAGES).logits, LABELS))


def channel_stage(channel: int) -> WSOLModel:
    """A 'classifier' whose CAM of every class is the given input channel."""
    head = CAMHead([3], NUM_CLASSES)
    with torch.no_grad():
        head.classifier.weight.zero_()
        head.classifier.weight[:, channel] = 1.0
        head.classifier.bias.zero_()
    return WSOLModel(ListBackbone(), head)


def test_adversarial_erasing_is_cumulative_and_exact():
    ramp = torch.arange(16, dtype=torch.float32).view(4, 4)
    images = torch.stack([ramp, 15 - ramp, torch.ones(4, 4)])[None]
    method = AdversarialErasing(erase_threshold=0.5, fill=0.0)
    method.add_stage(channel_stage(0))  # ramp / 15 >= 0.5 on rows 2-3
    erased = method.inputs_for_next(images, torch.tensor([0]))
    expected = images.clone()
    expected[..., 2:, :] = 0
    assert torch.equal(erased, expected)
    # Stage 1 reads channel 1 of the erased image: rows 0-1 hold 15..8, normalised (v - 0) / 15.
    method.add_stage(channel_stage(1))
    twice = images.clone()
    twice[..., 2:, :] = 0
    twice[..., 0, :] = 0  # 15..12 and then 11, 10, 9, 8 of row 1: >= 7.5 -> rows 0 and 1
    twice[..., 1, :] = 0
    assert torch.equal(method.inputs_for_next(images, torch.tensor([0])), twice)
    single = AdversarialErasing(erase_threshold=0.5)
    _, fused = single.localization_map(channel_stage(0), images, torch.tensor([0]))
    torch.testing.assert_close(fused[0], ramp / 15)
    first = AdversarialErasing(erase_threshold=0.5)
    first.add_stage(channel_stage(0))
    logits, fused = first.localization_map(channel_stage(1), images, torch.tensor([0]))
    second = torch.cat([(15 - ramp[:2]) / 15, torch.zeros(2, 4)])
    torch.testing.assert_close(fused[0], torch.maximum(ramp / 15, second))
    torch.testing.assert_close(logits, channel_stage(0)(images).logits)  # stage 0 on the unerased image


# --- the cascade through tools/train.py ---------------------------------------------


class TinyShapes(WSOLDataset):
    """40-px noise images with a bright square in the colour channel of the class."""

    def __init__(self, split: str, size: int = 4) -> None:
        self.split = split
        self.image_ids = [f"{split}/{i}" for i in range(size)]
        self.class_names = ["red", "green"]

    def load_sample(self, index: int) -> Sample:
        rng = np.random.default_rng([index, len(self.split)])
        image = rng.integers(0, 60, (40, 40, 3), dtype=np.uint8)
        label = index % 2
        y, x = rng.integers(0, 24, 2)
        image[y : y + 16, x : x + 16, label] = 250
        return Sample(self.image_ids[index], image, label)


@pytest.fixture
def tiny_dataset(monkeypatch):
    DATASETS.list()  # load the real members first
    monkeypatch.setitem(DATASETS._members, "_tiny_shapes", lambda split: TinyShapes(split))


def tool_main(tool: str):
    spec = importlib.util.spec_from_file_location(f"{tool}_tool", ROOT / "tools" / f"{tool}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def train_cli(args: list[str]) -> int:
    return tool_main("train")(args)


def eval_cli(args: list[str]) -> int:
    return tool_main("eval_loc")(args)


def cascade_config(tmp_path: Path, output: str) -> Path:
    config = {
        "name": "ae",
        "output_dir": str(tmp_path / output),
        "device": "cpu",
        "data": {
            "dataset": {"name": "_tiny_shapes"},
            "image_size": 32,
            "batch_size": 4,
            "eval_batch_size": 8,
            "num_workers": 0,
        },
        "model": {"backbone": {"name": "resnet10t", "stride_one_stages": [-1]}},
        "optim": {"epochs": 1, "lr": 0.01},
        "wandb": {"enabled": False},
        "method": {"name": "adversarial_erasing", "num_stages": 2, "erase_threshold": 0.5},
    }
    path = tmp_path / f"{output}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.mark.slow
def test_adversarial_erasing_cascade_trains_stages_fuses_maps_and_repeats(tmp_path, tiny_dataset):
    from wsol.config import load_config

    path = cascade_config(tmp_path, "a")
    assert train_cli([str(path), "--no-progress"]) == 0
    run_dir = tmp_path / "a" / "ae"
    for k in (0, 1):
        assert (run_dir / f"stage_{k}" / "checkpoints" / "best.pth").is_file()
        assert (run_dir / f"stage_{k}" / "config.yaml").is_file()
    result = summary(run_dir)
    assert result["cascade/stages"] == 2 and "cascade/stage_1/erased_top1" in result
    assert result["test/top1"] == summary(run_dir / "stage_1")["test/top1"]

    # The fused map: max of stage 0's normalised CAM and stage 1's on the image stage 0 erased.
    cfg = load_config(path)
    cpu = torch.device("cpu")
    stages = [load_stage(RunDir(run_dir).stage(k), "last").to(cpu) for k in (0, 1)]
    method = METHODS.build(cfg.method)
    method.add_stage(stages[0])
    test_set = build_dataset(cfg, "test", train=False)
    images = torch.stack([test_set[i]["image"] for i in range(2)])
    targets = torch.tensor([test_set[i]["label"] for i in range(2)])
    with torch.no_grad():
        _, fused = method.localization_map(stages[1], images, targets)
        cam0 = stages[0](images).localization_map(targets)
        up = F.interpolate(cam0[:, None], size=(32, 32), mode="bilinear", align_corners=False)[:, 0]
        low, high = up.amin((1, 2), keepdim=True), up.amax((1, 2), keepdim=True)
        erased = images.clone()
        erased[((up - low) / (high - low) >= 0.5)[:, None].expand_as(images)] = 0.0
        cam1 = stages[1](erased).localization_map(targets)
    norm = [
        (c - c.amin((1, 2), keepdim=True)) / (c.amax((1, 2), keepdim=True) - c.amin((1, 2), keepdim=True))
        for c in (cam0, cam1)
    ]
    torch.testing.assert_close(fused, torch.maximum(*norm))

    # wsol.load_model on stage 1's checkpoint rebuilds the fused model, and evaluating that
    # checkpoint gives the numbers the run reported for it.
    stage_1_checkpoint = sorted((run_dir / "stage_1" / "checkpoints").glob("epoch_*.pth"))[-1]
    localizer = wsol.load_model(stage_1_checkpoint)
    assert len(localizer.stages) == 1 and not localizer.training
    with torch.no_grad():
        _, loaded = localizer(images, targets)
    torch.testing.assert_close(loaded, fused)
    assert (
        eval_cli(["checkpoint", str(stage_1_checkpoint), "--out", str(tmp_path / "again"), "--no-progress"])
        == 0
    )
    evaluated = json.loads((tmp_path / "again" / "metrics.json").read_text())
    reported = json.loads((run_dir / "stage_1" / "eval" / "metrics.json").read_text())
    assert evaluated == {**reported, "run": evaluated["run"]}
    # Without --out the default folder is the stage's own eval/: never replaced unless asked.
    with pytest.raises(ConfigError, match=r"stage_1/eval already holds evaluation results .*--overwrite"):
        eval_cli(["checkpoint", str(stage_1_checkpoint), "--no-progress"])
    assert json.loads((run_dir / "stage_1" / "eval" / "metrics.json").read_text()) == reported
    # tools/compare.py reads the cascade run folder as its last kept stage's evaluation.
    compared = load_run(run_dir)
    assert compared.metrics == reported and compared.config["method.name"] == "adversarial_erasing"

    # Same seed, same cascade.
    assert train_cli([str(cascade_config(tmp_path, "b")), "--no-progress"]) == 0
    again = summary(tmp_path / "b" / "ae")
    again.pop("train/seconds"), result.pop("train/seconds")
    assert again == result

    # An unreachable accuracy floor drops stage 1 (resuming re-uses both trained stages).
    assert train_cli([str(path), "method.min_accuracy=101", "--resume", "--no-progress"]) == 0
    stopped = summary(run_dir)
    assert stopped["cascade/stages"] == 1
    assert stopped["test/top1"] == summary(run_dir / "stage_0")["test/top1"]


def test_acol_refuses_a_head_that_runs_the_backbone():
    model = build_model(ModelConfig(BackboneConfig(name="convnet"), {"name": "se"}), 3)
    with pytest.raises(ConfigError, match="acol needs a head that takes features"):
        ACoL().setup(model)
