"""Transforms carry ground truth with the image; collation; per-worker augmentation seeds."""

from __future__ import annotations

import os
import subprocess
import sys

import albumentations as A
import numpy as np
import pytest
import torch
import torchvision.transforms as T
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch.utils.data import DataLoader

from wsol.data.collate import collate_samples, seed_worker
from wsol.data.dataset import WSOLDataset
from wsol.data.sample import Sample
from wsol.data.transforms import IMAGENET_MEAN, IMAGENET_STD, TRANSFORMS, GTTransform
from wsol.data.transforms.presets import train_resize_side
from wsol.errors import DataError


def _reference_tensor(image: np.ndarray, side: int | None = None) -> torch.Tensor:
    """torchvision pipeline of wsolevaluation (Resize only when ``side`` is given)."""
    steps = [T.Resize((side, side))] if side else []
    steps += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return T.Compose(steps)(Image.fromarray(image))


def _box_sample(width: int, height: int, box: tuple[int, int, int, int], seed: int = 0) -> Sample:
    """A random image whose mask is the filled box, with fixations at the box corners."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), np.uint8)
    mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    fixations = np.array([[x0, y0], [x1, y1]], dtype=np.float64)
    return Sample("img", image, 2, boxes=np.array([box], np.float64), mask=mask, fixations=fixations)


def _mask_box(mask: torch.Tensor) -> np.ndarray:
    ys, xs = np.nonzero(mask.numpy())
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)


def test_eval_image_equals_wsolevaluation_pipeline():
    image = np.random.default_rng(1).integers(0, 256, (75, 120, 3), dtype=np.uint8)
    item = TRANSFORMS.build("wsol_eval", image_size=56)(Sample("a", image, 0))
    assert torch.equal(item["image"], _reference_tensor(image, 56))


def test_train_image_is_a_window_of_the_reference_resize():
    size = 32
    side = train_resize_side(size)
    image = np.random.default_rng(2).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    full = _reference_tensor(np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR)))
    transform = TRANSFORMS.build("wsol_train", image_size=size)
    flips = set()
    for _ in range(12):
        out = transform(Sample("a", image, 0))["image"]
        windows = [
            (flipped, x, y)
            for flipped in (False, True)
            for y in range(side - size + 1)
            for x in range(side - size + 1)
            if torch.equal(
                full[:, y : y + size, x : x + size].flip(2)
                if flipped
                else full[:, y : y + size, x : x + size],
                out,
            )
        ]
        assert windows, "train output is no (flipped) window of the resized image"
        flips.add(windows[0][0])
    assert flips == {False, True}


def test_train_resize_side_scales_256_over_224():
    assert train_resize_side(224) == 256
    assert train_resize_side(448) == 512
    assert train_resize_side(32) == 37


def test_identity_resize_keeps_box_mask_and_fixations():
    sample = _box_sample(40, 40, (3, 5, 20, 31))
    item = TRANSFORMS.build("wsol_eval", image_size=40)(sample)
    np.testing.assert_array_equal(item["boxes"].numpy(), [[3, 5, 20, 31]])
    assert torch.equal(item["mask"], torch.from_numpy(sample.mask))
    np.testing.assert_array_equal(item["fixations"].numpy(), [[3, 5], [20, 31]])
    assert item["label"] == 2 and item["labels"] == [2] and item["size"] == (40, 40)


def test_flip_and_crop_are_exact_on_inclusive_boxes_and_points():
    sample = _box_sample(40, 30, (3, 5, 20, 25))
    flip = GTTransform([A.HorizontalFlip(p=1.0)], image_size=30)
    with pytest.raises(RuntimeError):  # 40x30 is not square
        flip(sample)
    sample = _box_sample(30, 30, (3, 5, 20, 25))
    item = flip(sample)
    np.testing.assert_array_equal(item["boxes"].numpy(), [[29 - 20, 5, 29 - 3, 25]])
    np.testing.assert_array_equal(item["fixations"].numpy(), [[26, 5], [9, 25]])
    assert torch.equal(item["mask"], torch.from_numpy(sample.mask[:, ::-1].copy()))
    sample.fixations = np.array([[3.0, 5.0], [20.0, 15.0], [29.0, 19.0], [12.0, 20.0]])
    item = GTTransform([A.Crop(10, 0, 30, 20)], image_size=20)(sample)
    np.testing.assert_array_equal(item["boxes"].numpy(), [[0, 5, 10, 19]])  # clipped to the frame
    np.testing.assert_array_equal(item["fixations"].numpy(), [[10, 15], [19, 19]])  # others left it
    np.testing.assert_array_equal(_mask_box(item["mask"]), [0, 5, 10, 19])


def test_upscale_by_two_preserves_mask_area_and_maps_edges():
    sample = _box_sample(16, 16, (2, 4, 9, 6))
    item = TRANSFORMS.build("wsol_eval", image_size=32)(sample)
    assert int(item["mask"].sum()) == 4 * int(sample.mask.sum())
    np.testing.assert_array_equal(item["boxes"].numpy(), [[4, 8, 19, 13]])
    np.testing.assert_array_equal(_mask_box(item["mask"]), [4, 8, 19, 13])
    np.testing.assert_allclose(item["fixations"].numpy(), [[4.5, 8.5], [18.5, 12.5]])  # centre to centre


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(TRANSFORMS.list()),
    width=st.integers(12, 90),
    height=st.integers(12, 90),
    frac=st.tuples(*[st.floats(0, 1)] * 4),
    seed=st.integers(0, 2**31),
)
def test_box_mask_and_fixations_stay_aligned(name, width, height, frac, seed):
    xa, xb = sorted(int(f * (width - 1)) for f in frac[:2])
    ya, yb = sorted(int(f * (height - 1)) for f in frac[2:])
    sample = _box_sample(width, height, (xa, ya, xb, yb), seed=seed)
    transform = TRANSFORMS.build(name, image_size=24)
    transform.reseed(seed)
    item = transform(sample)
    boxes, mask = item["boxes"].numpy(), item["mask"]
    assert boxes.dtype == np.float32 and mask.shape == (24, 24) and mask.dtype == torch.uint8
    assert np.all(boxes >= 0) and np.all(boxes <= 23)
    assert np.all(boxes[:, :2] <= boxes[:, 2:])
    if len(boxes) and mask.sum() > 0:
        np.testing.assert_allclose(_mask_box(mask), boxes[0], atol=1.0)
    points = item["fixations"].numpy()
    assert np.all((points >= 0) & (points <= 23))
    for point in points:
        assert len(boxes) == 1
        assert np.all(point >= boxes[0, :2] - 0.5 - 1e-4) and np.all(point <= boxes[0, 2:] + 0.5 + 1e-4)


def test_masks_ignore_parts_and_gt_only_samples():
    sample = _box_sample(20, 20, (0, 0, 4, 4))
    sample.ignore = np.zeros((20, 20), bool)
    sample.ignore[10:, 10:] = True
    sample.part_masks = {"cue": sample.mask.copy()}
    item = TRANSFORMS.build("wsol_eval", image_size=10)(sample)
    assert item["ignore"].dtype == torch.bool and int(item["ignore"].sum()) == 25
    assert torch.equal(item["part_masks"]["cue"], item["mask"])
    sample.ignore = np.zeros((5, 5), bool)
    with pytest.raises(DataError, match="img: ignore is 5x5, image is 20x20"):
        TRANSFORMS.build("wsol_eval", image_size=10)(sample)
    with pytest.raises(DataError, match="ground-truth-only"):
        TRANSFORMS.build("wsol_eval", image_size=10)(Sample("gt", None, 0, size=(5, 5)))


def test_collate_stacks_fixed_keys_and_lists_the_rest():
    transform = TRANSFORMS.build("wsol_eval", image_size=8)
    with_gt = transform(_box_sample(10, 10, (1, 1, 5, 5)))
    without = transform(Sample("b", np.zeros((6, 6, 3), np.uint8), 4))
    with_gt["index"], without["index"] = 0, 1
    batch = collate_samples([with_gt, without])
    assert batch["image"].shape == (2, 3, 8, 8)
    assert batch["label"].tolist() == [2, 4] and batch["index"].tolist() == [0, 1]
    assert batch["mask"][1] is None and batch["mask"][0].shape == (8, 8)
    assert [b.shape[0] for b in batch["boxes"]] == [1, 0]
    assert batch["image_id"] == ["img", "b"]
    assert batch["num_skipped"] == 0
    skipped = collate_samples([None, with_gt, None])
    assert skipped["num_skipped"] == 2 and skipped["image"].shape[0] == 1 and skipped["index"].tolist() == [0]
    with pytest.raises(DataError, match=r"^all 2 samples of a batch were skipped as unreadable"):
        collate_samples([None, None])


class _Repeated(WSOLDataset):
    """The same image ``n`` times, to see the augmentation stream alone."""

    def __init__(self, n: int, transform: GTTransform) -> None:
        self.image_ids = [str(i) for i in range(n)]
        self.class_names = ["x"]
        self.transform = transform
        self.image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)

    def load_sample(self, index: int) -> Sample:
        item = Sample(self.image_ids[index], self.image, 0)
        item.labels = [int(np.random.randint(1 << 30))]  # a global-numpy draw, seeded by seed_worker
        return item


def _run_loader(seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    dataset = _Repeated(8, TRANSFORMS.build("wsol_train", image_size=24))
    loader = DataLoader(
        dataset, batch_size=2, num_workers=2, collate_fn=collate_samples, worker_init_fn=seed_worker
    )
    batches = list(loader)
    images = torch.stack([b["image"] for b in batches])  # batch i comes from worker i % 2
    draws = [b["labels"] for b in batches]
    assert draws[0] != draws[1], "numpy global draws repeat across workers"
    return images


def test_workers_augment_differently_and_reruns_reproduce():
    first = _run_loader(7)
    assert not torch.equal(first[0], first[1]), "two workers produced the same crops"
    assert not torch.equal(first[0], first[2]), "a worker repeated itself"
    assert torch.equal(first, _run_loader(7))
    assert not torch.equal(first, _run_loader(8))


def test_importing_wsol_disables_albumentations_update_check():
    # Python runs wsol/__init__.py before any wsol submodule, and only wsol submodules import
    # albumentations, so setting the variable there covers every import path.
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    code = "import os, wsol; print(os.environ['NO_ALBUMENTATIONS_UPDATE'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        check=True,
    )
    assert result.stdout.strip() == "1"
