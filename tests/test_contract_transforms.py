"""The TRANSFORMS contract (module docstrings of :mod:`wsol.data.transforms` and its pipeline),
on every registered member: output keys, types and shapes, ground truth that moves with the
pixels, reseeding, and refused inputs. A newly registered pipeline is tested without change."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from wsol.data.sample import Sample
from wsol.data.transforms import IMAGENET_MEAN, IMAGENET_STD, TRANSFORMS
from wsol.errors import DataError

ALL = TRANSFORMS.list()
SIDE = 24
BASE_KEYS = {"image", "label", "labels", "image_id", "size", "boxes"}


def scene(width: int = 40, height: int = 30, seed: int = 0) -> Sample:
    """A dark image with one bright rectangle: its box, mask, ignore (the same rectangle), a ``cue``
    part in its top-left corner, fixations at its corners and centre, and a fixation map."""
    rng = np.random.default_rng(seed)
    x0, y0 = int(rng.integers(2, width // 3)), int(rng.integers(2, height // 3))
    x1, y1 = int(rng.integers(2 * width // 3, width - 2)), int(rng.integers(2 * height // 3, height - 2))
    image = rng.integers(0, 40, (height, width, 3), dtype=np.uint8)
    image[y0 : y1 + 1, x0 : x1 + 1] = 255
    mask = np.zeros((height, width), np.uint8)
    mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    cue = np.zeros_like(mask)
    cue[y0 : (y0 + y1) // 2, x0 : (x0 + x1) // 2] = 1
    points = np.array([[x0, y0], [x1, y1], [(x0 + x1) // 2, (y0 + y1) // 2]], np.float64)
    return Sample(
        f"scene_{seed}.png",
        image,
        2,
        labels=[2, 0],
        boxes=np.array([[x0, y0, x1, y1]], np.float64),
        mask=mask,
        ignore=mask.astype(bool),
        part_masks={"cue": cue},
        fixations=points,
        fixation_map=rng.random((height, width)),
    )


def transformed(name: str, sample: Sample, seed: int = 0) -> dict:
    transform = TRANSFORMS.build(name, image_size=SIDE)
    transform.reseed(seed)
    return transform(sample)


def pixels(image: torch.Tensor) -> np.ndarray:
    """The ``(S, S)`` mean brightness in [0, 1] of a normalised ``(3, S, S)`` image."""
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (image * std + mean).mean(0).numpy()


@pytest.mark.parametrize("name", ALL)
def test_output_keys_types_and_shapes(name: str) -> None:
    sample = scene()
    item = transformed(name, sample)
    assert set(item) == BASE_KEYS | {"mask", "ignore", "part_masks", "fixations"}
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, SIDE, SIDE)
    assert (item["label"], item["labels"], item["image_id"]) == (2, [2, 0], sample.image_id)
    assert item["size"] == (40, 30), "size stays the original (W, H)"
    boxes, points = item["boxes"], item["fixations"]
    assert boxes.dtype == torch.float32 and boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) <= 1
    assert points.dtype == torch.float32 and points.ndim == 2 and points.shape[1] == 2 and len(points) <= 3
    for coords in (boxes, points):
        assert ((coords >= 0) & (coords <= SIDE - 1)).all(), coords
    assert (boxes[:, :2] <= boxes[:, 2:]).all(), boxes
    assert item["mask"].dtype == torch.uint8 and item["mask"].shape == (SIDE, SIDE)
    assert item["ignore"].dtype == torch.bool and item["ignore"].shape == (SIDE, SIDE)
    assert item["part_masks"].keys() == {"cue"}
    assert item["part_masks"]["cue"].dtype == torch.uint8 and item["part_masks"]["cue"].shape == (SIDE, SIDE)
    assert set(item["mask"].unique().tolist()) <= {0, 1}


@pytest.mark.parametrize("name", ALL)
def test_samples_without_optional_ground_truth_give_only_the_base_keys(name: str) -> None:
    sample = scene()
    bare = Sample(sample.image_id, sample.image, sample.label)
    item = transformed(name, bare)
    assert set(item) == BASE_KEYS and item["boxes"].shape == (0, 4) and item["labels"] == [2]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("seed", range(4))
def test_ground_truth_moves_with_the_pixels(name: str, seed: int) -> None:
    item = transformed(name, scene(seed=seed), seed)
    mask = item["mask"].numpy().astype(bool)
    assert torch.equal(item["ignore"], item["mask"].bool()), "ignore was the mask: it must stay the mask"
    assert not (item["part_masks"]["cue"].numpy().astype(bool) & ~mask).any(), "cue part left the object"
    brightness = pixels(item["image"])
    bright = brightness > (brightness.min() + brightness.max()) / 2
    if not mask.any():  # cropped away: no box and no fixation may survive
        assert len(item["boxes"]) == 0 and len(item["fixations"]) == 0
        return
    edge = ndimage.binary_dilation(mask) & ~ndimage.binary_erosion(mask)
    off = (bright != mask) & ~edge
    assert not off.any(), f"mask and bright object differ away from the edge at {np.argwhere(off)[:3]}"
    ys, xs = np.nonzero(mask)
    np.testing.assert_allclose(item["boxes"][0].numpy(), [xs.min(), ys.min(), xs.max(), ys.max()], atol=1.0)
    box = item["boxes"][0]
    for point in item["fixations"]:  # every point was inside the box: it stays within half a pixel
        assert (point >= box[:2] - 0.5 - 1e-4).all() and (point <= box[2:] + 0.5 + 1e-4).all(), (point, box)


@pytest.mark.parametrize("name", ALL)
def test_reseeding_repeats_the_stream_and_torch_seed_drives_it(name: str) -> None:
    sample = scene()
    transform = TRANSFORMS.build(name, image_size=SIDE)
    runs = []
    for _ in range(2):
        transform.reseed(5)
        runs.append([transform(sample) for _ in range(3)])
    for first, again in zip(*runs, strict=True):
        assert all(torch.equal(first[k], again[k]) for k in ("image", "boxes", "mask", "fixations"))
    streams = []
    for _ in range(2):
        torch.manual_seed(11)
        fresh = TRANSFORMS.build(name, image_size=SIDE)
        streams.append(torch.stack([fresh(sample)["image"] for _ in range(3)]))
    assert torch.equal(*streams)


@pytest.mark.parametrize("name", ALL)
def test_refused_inputs_name_the_image(name: str) -> None:
    transform = TRANSFORMS.build(name, image_size=SIDE)
    with pytest.raises(DataError, match=r"gt_only: .*ground-truth-only"):
        transform(Sample("gt_only", None, 0, size=(40, 30)))
    sample = scene()
    sample.part_masks = {"cue": np.zeros((5, 5), np.uint8)}
    with pytest.raises(DataError, match=r"scene_0\.png: part_masks/cue is 5x5, image is 40x30"):
        transform(sample)
