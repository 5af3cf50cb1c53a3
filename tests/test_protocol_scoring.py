"""Saved maps scored on OpenImages metadata as published: no sizes, no images, masks at their own size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.evaluation.scoremaps import ScoremapEval, evaluate_scoremaps
from wsol.metrics import METRICS

SIZES = {"test/a/0.jpg": (60, 40), "test/a/1.jpg": (33, 50), "test/b/2.jpg": (48, 48)}


def grid(path: Path) -> np.ndarray:
    """wsolevaluation's ``load_mask_image(path, (224, 224)) > 0.5``."""
    mask = np.float32(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    return cv2.resize(mask, (224, 224), interpolation=cv2.INTER_NEAREST) > 0.5


def openimages_layout(root: Path) -> list[Sample]:
    """Metadata, masks at 3/4 of the image size and saved maps; the reference's 224 x 224 targets."""
    rng = np.random.default_rng(3)
    meta, masks, maps = root / "metadata" / "test", root / "masks", root / "scoremaps"
    meta.mkdir(parents=True)
    lines, expected = [], []
    for image_id, (width, height) in SIZES.items():
        stem = image_id.removesuffix(".jpg")
        shape = (height * 3 // 4, width * 3 // 4)
        instances = [(rng.random(shape) > 0.7).astype(np.uint8) * 255 for _ in range(2)]
        ignore = (rng.random(shape) > 0.8).astype(np.uint8) * 255
        names = [f"{stem}_m{k}.png" for k in range(2)]
        for name, array in [*zip(names, instances, strict=True), (f"{stem}_ignore.png", ignore)]:
            (masks / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(masks / name), array)
        lines += [f"{image_id},{names[0]},{stem}_ignore.png", f"{image_id},{names[1]},"]
        (maps / stem).parent.mkdir(parents=True, exist_ok=True)
        np.save(maps / f"{stem}.npy", rng.random((224, 224)))
        union = grid(masks / names[0]) | grid(masks / names[1])
        ignored = grid(masks / f"{stem}_ignore.png") & ~union
        union = union.astype(np.uint8)
        expected.append(Sample(image_id, None, 0, size=(224, 224), mask=union, ignore=ignored))
    (meta / "image_ids.txt").write_text("".join(f"{i}\n" for i in SIZES))
    (meta / "class_labels.txt").write_text("".join(f"{i},0\n" for i in SIZES))
    (meta / "image_sizes.txt").write_text("")
    (meta / "localization.txt").write_text("".join(f"{line}\n" for line in lines))
    return expected


def test_openimages_as_published_scores_like_the_reference(tmp_path):
    expected_targets = openimages_layout(tmp_path)
    maps, masks = tmp_path / "scoremaps", tmp_path / "masks"
    out = evaluate_scoremaps(ScoremapEval(maps, tmp_path / "metadata", mask_root=masks, progress=False))
    reference = METRICS.build({"name": "pxap", "input_maps": "prepared"})
    for target in expected_targets:
        stem = target.image_id.removesuffix(".jpg")
        reference.update([np.load(tmp_path / "scoremaps" / f"{stem}.npy")], [target])
    assert out["num_images"] == len(SIZES)
    assert out["pxap"] == reference.compute()["pxap"]


def test_maps_named_with_the_extension_are_read_and_a_missing_map_names_both_files(tmp_path):
    openimages_layout(tmp_path)
    maps, masks = tmp_path / "scoremaps", tmp_path / "masks"
    job = ScoremapEval(maps, tmp_path / "metadata", mask_root=masks, progress=False)
    before = evaluate_scoremaps(job)["pxap"]
    (maps / "test/a/0.npy").rename(maps / "test/a/0.jpg.npy")  # as wsolevaluation's inference.py saves it
    assert evaluate_scoremaps(job)["pxap"] == before
    (maps / "test/a/0.jpg.npy").unlink()
    with pytest.raises(DataError) as err:
        evaluate_scoremaps(job)
    message = str(err.value)
    assert message.startswith("test/a/0.jpg: score map not found")
    assert str(maps / "test/a/0.npy") in message and str(maps / "test/a/0.jpg.npy") in message
