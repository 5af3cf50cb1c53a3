"""Apply one albumentations pipeline to an image and all of its ground truth.

Coordinate conventions (``S`` is the output side):

* **Boxes** are inclusive pixel boxes ``[x0, y0, x1, y1]`` on both sides (wsol's
  convention). They enter albumentations as ``pascal_voc`` boxes with exclusive ends
  ``[x0, y0, x1 + 1, y1 + 1]`` (the pixel-edge model albumentations uses for boxes),
  and come back as ``[x0', y0', x1' - 1, y1' - 1]``. Flips and crops are therefore
  exact (``x -> S - 1 - x``, ``x -> x - offset``), and a resize by ``s`` maps the
  covered area ``[x0, x1 + 1)`` to ``[s*x0, s*(x1 + 1))``. This differs from
  wsolevaluation's ``resize_bbox`` (``int(x * s)`` on each corner) by less than one
  pixel; scoring against wsolevaluation rescales the original-pixel ground truth with
  the metric's own reference formula, not these boxes. A box thinner than one output
  pixel keeps ``x1' = x0'``. Boxes that leave the frame after a crop are clipped to it
  (all coordinates in ``[0, S - 1]``, so a sliver narrower than a pixel at the right
  or bottom edge becomes that edge's last pixel); boxes with no area left in the
  frame are dropped.
* **Fixations** are ``(x, y)`` pixel indices. Each travels as its pixel's square
  ``[x, y, x + 1, y + 1]`` in the same box stream, and comes back as the centre of the
  transformed square minus one half. Flips and crops are exact; a resize maps
  ``x -> s * (x + 0.5) - 0.5`` (pixel centres to pixel centres). A fixation whose square
  has no area left in the frame after a crop is dropped; one only partly inside is
  clipped with it (its centre moves inward by under half a pixel). Points therefore
  stay with the boxes that held them: a fixation inside a box lands within half a
  pixel of the transformed box, and disappears when that box does. (Albumentations'
  keypoints mix conventions, scaling ``x -> s * x`` but flipping ``x -> S - 1 - x``,
  which is why they are not used.)
* **Masks** (``mask``, ``ignore``, every part mask) use nearest-neighbour resizing.
  ``fixation_map`` is not transformed (saliency metrics score at original resolution).

Randomness: the albumentations generators are reseeded from ``torch.initial_seed()``
whenever that seed changes, i.e. once in the main process (``torch.manual_seed``
makes runs reproducible) and once in each DataLoader worker, whose torch seed differs
per worker and per epoch. All transforms of the pipeline share one numpy and one
python generator (``Compose.set_random_state``), so their draws are not correlated.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import albumentations as A
import numpy as np
import torch

from wsol.data.sample import Sample
from wsol.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class GTTransform:
    """``Sample -> dict`` applying ``steps`` to the image and its ground truth.

    The returned dict holds ``image`` (``(3, S, S)`` float32, ImageNet-normalised),
    ``label``, ``labels``, ``image_id``, ``size`` (original ``(W, H)``) and ``boxes``
    (``(N, 4)`` float32), plus, where the sample has them, ``mask`` (``(S, S)`` uint8),
    ``ignore`` (``(S, S)`` bool), ``part_masks`` (name -> ``(S, S)`` uint8) and
    ``fixations`` (``(M, 2)`` float32).

    Args:
        steps: albumentations transforms producing an ``S x S`` uint8 image.
        image_size: ``S``.
        fields: the ground-truth kinds its consumer needs; a dataset loads only these for
            ``dataset[i]`` (:class:`~wsol.data.dataset.WSOLDataset`). None: all.
            Whatever a sample holds is transformed regardless.
    """

    def __init__(
        self, steps: Sequence[A.BasicTransform], image_size: int, fields: frozenset[str] | None = None
    ) -> None:
        self.image_size = image_size
        self.fields = fields
        self.compose = A.Compose(
            list(steps),
            bbox_params=A.BboxParams(format="pascal_voc", label_fields=["box_ids"]),
        )
        self._seeded_from: int | None = None
        self._mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, sample: Sample) -> dict[str, Any]:
        if sample.image is None:
            raise DataError(f"{sample.image_id}: transform needs the image, got a ground-truth-only sample")
        self._follow_torch_seed()
        masks, names = _collect_masks(sample)
        boxes = _to_exclusive(sample.boxes)
        squares = _squares(sample.fixations)
        try:
            out = self.compose(
                image=sample.image,
                masks=masks,
                bboxes=np.concatenate([boxes, squares]),
                box_ids=np.arange(len(boxes) + len(squares)),  # boxes first, then fixation squares
            )
        except ValueError as err:  # albumentations' box checks; datasets catch such boxes first
            raise DataError(f"image {sample.image_id!r}: {str(err).splitlines()[0]}") from None
        image = out["image"]
        if image.shape[:2] != (self.image_size, self.image_size):
            raise RuntimeError(f"transform produced {image.shape[:2]}, expected {self.image_size}")
        moved = np.asarray(out["bboxes"], dtype=np.float64).reshape(-1, 4)
        is_box = np.asarray(out["box_ids"], dtype=np.int64) < len(boxes)
        item: dict[str, Any] = {
            "image": self._to_tensor(image),
            "label": sample.label,
            "labels": list(sample.labels),
            "image_id": sample.image_id,
            "size": tuple(sample.size),
            "boxes": torch.from_numpy(_to_inclusive(moved[is_box], self.image_size)),
        }
        item.update(_unpack_masks(list(out["masks"]), names))
        if sample.fixations is not None:
            item["fixations"] = torch.from_numpy(_centres(moved[~is_box], self.image_size))
        return item

    def reseed(self, seed: int) -> None:
        """Restart the augmentation stream from ``seed`` (shared by every step); it holds until
        ``torch.initial_seed()`` changes."""
        self.compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        self._seeded_from = torch.initial_seed()

    def _follow_torch_seed(self) -> None:
        seed = torch.initial_seed()
        if seed != self._seeded_from:
            self.reseed(seed)

    def _to_tensor(self, image: np.ndarray) -> torch.Tensor:
        # Same operations, in the same order, as torchvision's ToTensor + Normalize.
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()
        return tensor.to(torch.float32).div(255).sub_(self._mean).div_(self._std)

    def __repr__(self) -> str:
        steps = ", ".join(type(t).__name__ for t in self.compose.transforms)
        return f"GTTransform(image_size={self.image_size}, steps=[{steps}])"


def _to_exclusive(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, 2:] += 1
    return boxes


def _to_inclusive(boxes: np.ndarray, size: int) -> np.ndarray:
    boxes = boxes.reshape(-1, 4).astype(np.float32)
    boxes[:, 2:] = np.maximum(boxes[:, 2:] - 1, boxes[:, :2])
    return np.clip(boxes, 0, size - 1)


def _squares(fixations: np.ndarray | None) -> np.ndarray:
    if fixations is None:
        return np.zeros((0, 4), dtype=np.float64)
    points = np.asarray(fixations, dtype=np.float64).reshape(-1, 2)
    return np.concatenate([points, points + 1], axis=1)


def _centres(squares: np.ndarray, size: int) -> np.ndarray:
    centres = (squares[:, :2] + squares[:, 2:]) / 2 - 0.5
    return np.clip(centres, 0, size - 1).astype(np.float32)


def _collect_masks(sample: Sample) -> tuple[list[np.ndarray], list[str]]:
    named: list[tuple[str, np.ndarray]] = []
    if sample.mask is not None:
        named.append(("mask", sample.mask))
    if sample.ignore is not None:
        named.append(("ignore", sample.ignore))
    named += [(f"part_masks/{k}", v) for k, v in sample.part_masks.items()]
    height, width = sample.image.shape[:2]
    for name, array in named:
        if array.shape[:2] != (height, width):
            raise DataError(
                f"{sample.image_id}: {name} is {array.shape[1]}x{array.shape[0]}, image is {width}x{height}"
            )
    return [np.asarray(a, dtype=np.uint8) for _, a in named], [n for n, _ in named]


def _unpack_masks(masks: list[np.ndarray], names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, array in zip(names, masks, strict=True):
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if name == "ignore":
            out["ignore"] = tensor.bool()
        elif name.startswith("part_masks/"):
            out.setdefault("part_masks", {})[name.split("/", 1)[1]] = tensor
        else:
            out[name] = tensor
    return out
