"""Tiny datasets on disk in wsolevaluation's layout (dataset/<NAME>/..., metadata/<NAME>/<split>/...).

``boxes``: CUB / ILSVRC style, every split with boxes and image sizes. ``masks``: OpenImages
style, train with labels only, val/test with one instance mask per image saved at half the
image's resolution, an ignore mask, and (as wsolevaluation ships them) an empty
``image_sizes.txt`` for test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from wsol.data.wsoleval_layout import IMAGE_SIZES, ImageRecord, write_split_metadata

SPLIT_SIZES = {"train": 8, "val": 4, "test": 4}


def _square(rng: np.random.Generator, width: int, height: int) -> tuple[int, int, int]:
    side = int(rng.integers(8, min(width, height) // 2))
    x, y = (int(v) for v in rng.integers(0, [width - side, height - side]))
    return x, y, side


def write_tree(root: Path, name: str, layout: str) -> None:
    """Write ``root/dataset/<name>`` images (and masks) and ``root/metadata/<name>`` files."""
    images, metadata = root / "dataset" / name, root / "metadata" / name
    for split, count in SPLIT_SIZES.items():
        rng = np.random.default_rng(len(split))
        records = []
        for i in range(count):
            label, width, height = i % 2, 40 + 4 * i, 36
            image_id = f"{split}/c{label}/img_{i}.png"
            pixels = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
            x, y, side = _square(rng, width, height)
            pixels[y : y + side, x : x + side, label] = 250
            (images / image_id).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(images / image_id)
            record = ImageRecord(image_id, label, size=(width, height))
            if layout == "boxes":
                record.boxes = [(x, y, x + side - 1, y + side - 1)]
            elif split != "train":
                record.mask_paths, record.ignore_path = _masks(
                    images, image_id, (x, y, side), (width, height)
                )
            records.append(record)
        write_split_metadata(metadata / split, records)
        if layout == "masks" and split == "test":
            (metadata / split / IMAGE_SIZES).write_text("")


def _masks(
    images: Path, image_id: str, square: tuple[int, int, int], size: tuple[int, int]
) -> tuple[list[str], str]:
    """An instance mask and an ignore mask (a band right of the object), both at half resolution."""
    x, y, side = square
    width, height = size
    mask = np.zeros((height // 2, width // 2), np.uint8)
    mask[y // 2 : (y + side) // 2, x // 2 : (x + side) // 2] = 255
    ignore = np.zeros_like(mask)
    ignore[y // 2 : (y + side) // 2, (x + side) // 2 : (x + side) // 2 + 2] = 255
    stem = image_id.removesuffix(".png")
    Image.fromarray(mask).save(images / f"{stem}_m0.png")
    Image.fromarray(ignore).save(images / f"{stem}_ignore.png")
    return [f"{stem}_m0.png"], f"{stem}_ignore.png"
