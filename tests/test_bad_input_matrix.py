"""The bad-input matrix: every bad input gives a one-line WSOLError naming its file, image or key.

Each case builds one bad input in a temporary folder and feeds it to the public entry
point that would meet it in a run (image reader, dataset readers, metric accumulators,
config loader). Expected: a :class:`WSOLError` subclass whose message is one line and
names the culprit, or a counted skip (the count is checked). Never another exception,
never a silently accepted number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wsol.config import load_config
from wsol.data.datasets import create_dataset, require_images
from wsol.data.image_io import read_image
from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError, RegistryError, WSOLError
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.metrics.mask_accuracy import MaskAccuracy
from wsol.metrics.saliency_accumulator import SaliencyMetrics
from wsol.utils.precision import autocast

CAM = Path(__file__).resolve().parents[1] / "configs" / "synthparts" / "cam.yaml"


@dataclass
class Case:
    name: str
    run: Callable[[Path], object]  # raises, or returns the counted-skip value
    error: type[WSOLError] | None  # None: a counted skip, ``run`` returns the count
    names: str  # what the message must name (file, image id or key); the count for skips


# --- builders ------------------------------------------------------------------------------------------


def png(path: Path, size: tuple[int, int] = (8, 6), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size).save(path)
    return path


def jpeg_bytes(tmp: Path) -> bytes:
    array = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp / "full.jpg", quality=90)
    return (tmp / "full.jpg").read_bytes()


def wsoleval(
    tmp: Path,
    ids: list[str] = ("a.png",),  # type: ignore[assignment]
    labels: str = "a.png,0\n",
    sizes: str = "a.png,8,6\n",
    localization: str = "a.png,1,1,4,4\n",
    classes: str | None = None,
    fixations: str | None = None,
    make_images: bool = True,
    split: str = "test",
) -> Path:
    """A wsoleval-layout dataset with one split; returns its root."""
    meta = tmp / "ds" / "metadata" / split
    meta.mkdir(parents=True)
    (meta / "image_ids.txt").write_text("".join(f"{i}\n" for i in ids))
    (meta / "class_labels.txt").write_text(labels)
    (meta / "image_sizes.txt").write_text(sizes)
    (meta / "localization.txt").write_text(localization)
    if fixations is not None:
        (meta / "fixations.txt").write_text(fixations)
    if classes is not None:
        (meta.parent / "class_names.txt").write_text(classes)
    if make_images:
        for image_id in ids:
            png(tmp / "ds" / image_id)
    return tmp / "ds"


def open_wsoleval(root: Path, split: str = "test"):
    spec = {"name": "wsoleval", "root": str(root)}
    return require_images(create_dataset(spec, split), spec, split)


def load_all(dataset) -> list[Sample]:
    return [dataset.load_sample(i) for i in range(len(dataset))]


def target(image_id: str = "img7", size=(8, 6), **fields) -> Sample:
    boxes = fields.pop("boxes", np.array([[1.0, 1.0, 4.0, 4.0]]))
    return Sample(image_id=image_id, image=None, label=0, size=size, boxes=boxes, **fields)


def box_update(raw, sample: Sample | None = None, **options) -> BoxAccuracy:
    metric = BoxAccuracy(resolution=16, **options)
    metric.update([raw], [sample or target()])
    return metric


def saliency_update(raw, sample: Sample) -> dict:
    metric = SaliencyMetrics(metrics=("nss", "auc_judd", "cc"))
    metric.update([raw], [sample])
    return metric.compute()


def folder_csv(tmp: Path, rows: str, classes: str | None = None, split: str = "all"):
    root = tmp / "fc"
    png(root / "images" / "x.png")
    (root / "annotations.csv").write_text(rows)
    if classes is not None:
        (root / "classes.txt").write_text(classes)
    return create_dataset({"name": "folder_csv", "root": str(root)}, split)


def coco(tmp: Path, text: str):
    (tmp / "all").mkdir()
    (tmp / "ann.json").write_text(text)
    spec = {"name": "coco", "root": str(tmp), "annotation_file": str(tmp / "ann.json")}
    return require_images(create_dataset(spec, "all"), spec, "all")


# --- the matrix ----------------------------------------------------------------------------------------


def _box_beyond_size(tmp: Path) -> None:
    dataset = open_wsoleval(wsoleval(tmp, localization="a.png,1,1,40,4\n"))
    BoxAccuracy(resolution=16).update([np.eye(6, 8)], [dataset.load_target(0)])


def _truncated_jpeg(tmp: Path) -> None:
    (tmp / "cut.jpg").write_bytes(jpeg_bytes(tmp)[:300])
    read_image(tmp / "cut.jpg")


def _truncated_png(tmp: Path) -> None:
    png(tmp / "full.png", (64, 64))
    data = (tmp / "full.png").read_bytes()
    (tmp / "cut.png").write_bytes(data[: len(data) // 2])
    read_image(tmp / "cut.png")


def _float_tiff(tmp: Path) -> None:
    Image.fromarray(np.ones((4, 4), np.float32)).save(tmp / "f32.tif")
    read_image(tmp / "f32.tif")


def _bits_map(tmp: Path) -> None:
    metric = box_update(np.zeros((6, 8), dtype=np.uint64) + 2**63)
    metric.update([np.full((6, 8), np.datetime64("2020-01-01"))], [target("dt9")])


def _constant_maps_counted(tmp: Path) -> int:
    metric = box_update(np.full((6, 8), 0.5))
    metric.update([np.zeros((6, 8))], [target("img8")])
    return int(metric.compute()["n_constant_maps"])


def _constant_saliency_counted(tmp: Path) -> float:
    sample = target("fix3", fixations=np.array([[1.0, 1.0], [3.0, 2.0]]))
    return saliency_update(np.full((6, 8), 2.0), sample)["cc_nan"]


CASES = [
    # images: corrupt, truncated, wrong modes and bit depths, missing
    Case(
        "garbage bytes as jpeg",
        lambda t: read_image(_write(t / "junk.jpg", b"not an image")),
        DataError,
        "junk.jpg",
    ),
    Case("empty file", lambda t: read_image(_write(t / "empty.png", b"")), DataError, "empty.png"),
    Case("truncated jpeg", _truncated_jpeg, DataError, "cut.jpg"),
    Case("truncated png", _truncated_png, DataError, "cut.png"),
    Case("32-bit float image", _float_tiff, DataError, "f32.tif"),
    Case("missing image file", lambda t: read_image(t / "nowhere.png"), DataError, "nowhere.png"),
    Case(
        "image size disagrees with annotation",
        lambda t: read_image(png(t / "s.png", (8, 6)), expected_size=(9, 6)),
        DataError,
        "s.png",
    ),
    # maps fed to the metrics
    Case("NaN map", lambda t: box_update(np.full((6, 8), np.nan)).compute()["n_nan_maps"], None, "1"),
    Case(
        "Inf map (counted as NaN after resizing, as the reference)",
        lambda t: box_update(np.where(np.eye(6, 8) > 0, np.inf, 0.0)).compute()["n_nan_maps"],
        None,
        "1",
    ),
    Case("constant maps (counted)", _constant_maps_counted, None, "2"),
    Case("3-D map", lambda t: box_update(np.zeros((2, 6, 8))), DataError, "img7"),
    Case("empty map", lambda t: box_update(np.zeros((0, 8))), DataError, "img7"),
    Case("non-numeric map", _bits_map, DataError, "dt9"),
    Case(
        "wrong-size prepared map",
        lambda t: box_update(np.zeros((10, 10)), input_maps="prepared"),
        DataError,
        "img7",
    ),
    Case(
        "prepared map outside [0, 1]",
        lambda t: box_update(np.full((16, 16), 3.0), input_maps="prepared"),
        DataError,
        "img7",
    ),
    Case(
        "mask of the wrong size",
        lambda t: MaskAccuracy(resolution=16).update(
            [np.zeros((6, 8))], [target("m1", mask=np.ones((5, 5), np.uint8))]
        ),
        DataError,
        "m1",
    ),
    Case(
        "NaN saliency map",
        lambda t: saliency_update(np.full((6, 8), np.nan), target("fix1", fixations=np.array([[1.0, 1.0]]))),
        DataError,
        "fix1",
    ),
    Case("constant saliency map (counted)", _constant_saliency_counted, None, "1.0"),
    # boxes
    Case(
        "box outside the image",
        lambda t: box_update(np.eye(6, 8), target(boxes=np.array([[0, 0, 12, 4.0]]))),
        DataError,
        "img7",
    ),
    Case(
        "inverted box",
        lambda t: box_update(np.eye(6, 8), target(boxes=np.array([[4, 4, 1, 1.0]]))),
        DataError,
        "img7",
    ),
    Case(
        "NaN box",
        lambda t: box_update(np.eye(6, 8), target(boxes=np.array([[0, np.nan, 1, 1.0]]))),
        DataError,
        "img7",
    ),
    Case(
        "inverted box in localization.txt",
        lambda t: open_wsoleval(wsoleval(t, localization="a.png,4,4,1,1\n")),
        DataError,
        "localization.txt",
    ),
    Case("box beyond image_sizes in localization.txt", _box_beyond_size, DataError, "a.png"),
    # fixations
    Case(
        "empty fixation list",
        lambda t: saliency_update(np.eye(6, 8), target("fix2", fixations=np.zeros((0, 2)))),
        DataError,
        "fix2",
    ),
    Case(
        "fixation outside the image",
        lambda t: load_all(open_wsoleval(wsoleval(t, fixations="a.png,30,2,0\n"))),
        DataError,
        "a.png",
    ),
    # metadata
    Case(
        "metadata names a missing image",
        lambda t: load_all(open_wsoleval(wsoleval(t, make_images=False))),
        DataError,
        "a.png",
    ),
    Case(
        "metadata line for an unlisted image",
        lambda t: open_wsoleval(wsoleval(t, labels="a.png,0\nb.png,1\n")),
        DataError,
        "b.png",
    ),
    Case("image without class label", lambda t: open_wsoleval(wsoleval(t, labels="")), DataError, "a.png"),
    Case(
        "non-numeric box",
        lambda t: open_wsoleval(wsoleval(t, localization="a.png,1,x,4,4\n")),
        DataError,
        "localization.txt",
    ),
    Case(
        "image size in metadata is wrong",
        lambda t: load_all(open_wsoleval(wsoleval(t, sizes="a.png,9,6\n"))),
        DataError,
        "a.png",
    ),
    Case("unknown split", lambda t: open_wsoleval(wsoleval(t), split="val"), DataError, "val"),
    Case(
        "empty split",
        lambda t: open_wsoleval(wsoleval(t, ids=[], labels="", sizes="", localization="", make_images=False)),
        DataError,
        "test",
    ),
    Case("coco file is not JSON", lambda t: coco(t, "{nope"), DataError, "ann.json"),
    Case(
        "coco file without images",
        lambda t: coco(t, json.dumps({"images": [], "annotations": [], "categories": []})),
        DataError,
        "split 'all' has no images",
    ),
    Case("csv without label column", lambda t: folder_csv(t, "image\nx.png\n"), DataError, "label"),
    Case(
        "csv names a missing image",
        lambda t: folder_csv(t, "image,label\ngone.png,0\n"),
        DataError,
        "gone.png",
    ),
    # class ids
    Case(
        "class id beyond class_names.txt",
        lambda t: open_wsoleval(wsoleval(t, labels="a.png,5\n", classes="cat\ndog\n")),
        DataError,
        "5",
    ),
    Case(
        "negative class id",
        lambda t: open_wsoleval(wsoleval(t, labels="a.png,-1\n")),
        DataError,
        "class_labels.txt",
    ),
    Case(
        "csv label not in classes.txt",
        lambda t: folder_csv(t, "image,label\nx.png,7\n", "a\nb\n"),
        DataError,
        "classes.txt",
    ),
    # config
    Case("unknown config key", lambda t: load_config(CAM, ["optim.lrr=0.1"]), ConfigError, "optim.lrr"),
    Case("unknown top-level key", lambda t: load_config(CAM, ["trian.amp=bf16"]), ConfigError, "trian"),
    Case("wrongly typed value", lambda t: load_config(CAM, ["optim.lr=fast"]), ConfigError, "optim.lr"),
    Case(
        "unknown dataset option",
        lambda t: create_dataset({"name": "wsoleval", "root": str(t), "rot": 1}, "test"),
        ConfigError,
        "rot",
    ),
    Case(
        "unknown dataset name",
        lambda t: create_dataset({"name": "wsolevall"}, "test"),
        RegistryError,
        "wsolevall",
    ),
    Case(
        "unknown amp precision",
        lambda t: autocast(__import__("torch").device("cpu"), "fp8"),
        ConfigError,
        "train.amp",
    ),
    Case(
        "metric with nothing evaluated", lambda t: BoxAccuracy(resolution=16).compute(), DataError, "no image"
    ),
    Case(
        "image evaluated twice",
        lambda t: box_update(np.eye(6, 8)).update([np.eye(6, 8)], [target()]),
        DataError,
        "img7",
    ),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    if case.error is None:
        assert str(case.run(tmp_path)) == case.names
        return
    with pytest.raises(WSOLError) as info:
        case.run(tmp_path)
    message = str(info.value)
    assert isinstance(info.value, case.error), f"{type(info.value).__name__}: {message}"
    assert "\n" not in message and "Traceback" not in message, message
    assert case.names in message, message


def test_matrix_covers_every_kind_of_input() -> None:
    assert {c.error for c in CASES} == {DataError, ConfigError, RegistryError, None}  # None: counted skips
    assert len({c.name for c in CASES}) == len(CASES)
