"""The bad-input matrix: every bad input gives a one-line WSOLError naming its file, image or key.

Each case builds one bad input in a temporary folder and feeds it to the public entry
point that would meet it in a run (image reader, dataset readers, the training path
``dataset[i]`` and DataLoader workers, data validation, metric accumulators, saved score
maps, config loader). Expected: a :class:`WSOLError` subclass whose message is one line
and names the culprit, or a counted fix or skip (the count is checked). Never another
exception, never a silently accepted number.

Issue 19's classes and where they are held: *traceback instead of a clear error* (boxes
in the training path, zero sizes and rates, bad ``.npy`` maps, worker errors, architecture
overrides of a checkpoint), *silent and wrong* (``optim.epochs=-1``, dead keys, all-zero
maps counted, ``--resume`` with nothing to resume, a ``pooling`` override contradicting
the checkpoint), *late* (a bad box in val or test found by validation before training),
*overwritten* (evaluation into a folder with results), *compare on a cascade run folder*
and *network* (importing wsol under a blocked network; the full training and evaluation
run is ``tests/test_no_network.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import DataLoader

import wsol
from wsol.checkpoints.files import save_epoch_checkpoint
from wsol.config import load_config, to_dict
from wsol.data.collate import collate_samples
from wsol.data.datasets import create_dataset, require_images
from wsol.data.image_io import read_image
from wsol.data.sample import Sample
from wsol.data.transforms import TRANSFORMS
from wsol.data.validate import validate_splits
from wsol.engine import train
from wsol.errors import CheckpointError, ConfigError, DataError, RegistryError, WSOLError
from wsol.evaluation.from_checkpoint import CheckpointEval, evaluate_checkpoint
from wsol.evaluation.scoremaps import ScoremapEval, evaluate_scoremaps
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.metrics.mask_accuracy import MaskAccuracy
from wsol.metrics.saliency_accumulator import SaliencyMetrics
from wsol.metrics.scoremap import read_scoremap
from wsol.models import build_model
from wsol.report.compare import load_run

ROOT = Path(__file__).resolve().parents[1]
CAM = ROOT / "configs" / "synthparts" / "cam.yaml"
BLOCKER = ROOT / "tests" / "no_network"


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


def train_item(root: Path, index: int = 0, split: str = "test") -> dict:
    """``dataset[index]`` through the training transform, as a training step meets it."""
    dataset = open_wsoleval(root, split)
    dataset.transform = TRANSFORMS.build("wsol_train", image_size=16)
    return dataset[index]


def _box_end_at_width(tmp: Path) -> int:
    dataset = open_wsoleval(wsoleval(tmp, localization="a.png,1,1,8,4\n"))
    dataset.transform = TRANSFORMS.build("wsol_train", image_size=16)
    dataset[0]
    return dataset.problems.counts["box end at the image size (clipped)"]


def _worker_corrupt_image(tmp: Path) -> None:
    dataset = open_wsoleval(wsoleval(tmp))
    (tmp / "ds" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    dataset.transform = TRANSFORMS.build("wsol_eval", image_size=8)
    list(DataLoader(dataset, batch_size=1, num_workers=2, collate_fn=collate_samples))


def _late_box_in_test(tmp: Path) -> None:
    root = wsoleval(tmp, split="train")
    meta = wsoleval(tmp / "t", localization="a.png,1,1,4,9\n").joinpath("metadata", "test")
    meta.rename(root / "metadata" / "test")
    validate_splits({"name": "wsoleval", "root": str(root)}, ["train", "val", "test"])


def _saved_map(tmp: Path, data: bytes | None = None, array: np.ndarray | None = None) -> None:
    path = tmp / "val" / "img_3.npy"
    path.parent.mkdir()
    if array is not None:
        np.save(path, array)
    else:
        path.write_bytes(data or b"")
    read_scoremap(path)


def _truncated_npy(tmp: Path) -> None:
    np.save(tmp / "full.npy", np.zeros((224, 224)))
    _saved_map(tmp, (tmp / "full.npy").read_bytes()[:200])


def _truncated_map_in_scoremaps_evaluation(tmp: Path) -> None:
    root = wsoleval(tmp)
    (tmp / "maps").mkdir()
    np.save(tmp / "maps" / "a.npy", np.zeros((224, 224)))
    (tmp / "maps" / "a.npy").write_bytes((tmp / "maps" / "a.npy").read_bytes()[:150])
    evaluate_scoremaps(ScoremapEval(tmp / "maps", root / "metadata", "test", progress=False))


def _all_zero_prepared_counted(tmp: Path) -> int:
    metric = box_update(np.zeros((16, 16)), input_maps="prepared")
    return int(metric.compute()["n_constant_maps"])


def tiny_checkpoint(tmp: Path) -> Path:
    """A convnet checkpoint (width 4, CAM head with its default pooling) in ``<tmp>/run/checkpoints``."""
    cfg = load_config(CAM, ["model.backbone.options.width=4", f"output_dir={tmp}", "name=run"])
    model = build_model(cfg.model, 2)
    state = {"model": model.state_dict(), "config": to_dict(cfg), "num_classes": 2, "epoch": 0}
    return save_epoch_checkpoint(state, tmp / "run" / "checkpoints", 0)


def _evaluation_into_earlier_results(tmp: Path) -> None:
    checkpoint = tiny_checkpoint(tmp)
    (tmp / "run" / "eval").mkdir()
    (tmp / "run" / "eval" / "metrics.json").write_text("{}")
    evaluate_checkpoint(CheckpointEval(checkpoint, progress=False))


def _resume_nothing(tmp: Path) -> None:
    train(load_config(CAM, [f"output_dir={tmp}", "name=never_ran"]), resume=True)


def _compare_cascade_run(tmp: Path) -> float:
    run = tmp / "ae"
    (run / "config.yaml").parent.mkdir()
    (run / "config.yaml").write_text("name: ae\nmethod: {name: adversarial_erasing}\n")
    (run / "summary.json").write_text(json.dumps({"cascade/stages": 2, "test/top1": 40.0}))
    for k, top1 in enumerate([35.0, 40.0, 99.0]):  # stage 2 was dropped: below min_accuracy
        (run / f"stage_{k}" / "eval").mkdir(parents=True)
        (run / f"stage_{k}" / "eval" / "metrics.json").write_text(json.dumps({"test/top1": top1}))
    return load_run(run).metrics["test/top1"]


def _network_attempts_at_import(tmp: Path) -> int:
    log = tmp / "net.log"
    path = os.pathsep.join([str(BLOCKER), str(ROOT)])
    env = {**os.environ, "PYTHONPATH": path, "WSOL_NETWORK_LOG": str(log)}
    code = "import wsol.engine, wsol.evaluation, wsol.report, wsol.config; wsol.config.load_config(None)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    return len(log.read_text().splitlines()) if log.exists() else 0


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
        "ignore mask of another size than the mask",
        lambda t: MaskAccuracy(resolution=16).update(
            [np.zeros((6, 8))],
            [target("m1", mask=np.ones((5, 5), np.uint8), ignore=np.ones((4, 4), np.uint8))],
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
        lambda t: load_config(CAM, ["train.amp=fp8"]),
        ConfigError,
        "train.amp",
    ),
    # issue 19, traceback instead of a clear error
    Case("box ends at x = width (clipped, counted)", _box_end_at_width, None, "1"),
    Case(
        "box partly outside its image, training path",
        lambda t: train_item(wsoleval(t, localization="a.png,4,2,12,4\n")),
        DataError,
        "localization.txt:1: image 'a.png'",
    ),
    Case(
        "box wholly outside its image, training path",
        lambda t: train_item(wsoleval(t, localization="a.png,20,20,30,30\n")),
        DataError,
        "image 'a.png'",
    ),
    Case("batch size 0", lambda t: load_config(CAM, ["data.batch_size=0"]), ConfigError, "data.batch_size"),
    Case("image size 0", lambda t: load_config(CAM, ["data.image_size=0"]), ConfigError, "data.image_size"),
    Case("negative learning rate", lambda t: load_config(CAM, ["optim.lr=-0.1"]), ConfigError, "optim.lr"),
    Case(
        "eval batch size negative",
        lambda t: load_config(CAM, ["data.eval_batch_size=-4"]),
        ConfigError,
        "data.eval_batch_size",
    ),
    Case("resolution 0", lambda t: load_config(CAM, ["eval.resolution=0"]), ConfigError, "eval.resolution"),
    Case(
        "negative weight decay",
        lambda t: load_config(CAM, ["optim.weight_decay=-1e-4"]),
        ConfigError,
        "optim.weight_decay",
    ),
    Case("momentum 1", lambda t: load_config(CAM, ["optim.momentum=1.0"]), ConfigError, "optim.momentum"),
    Case(
        "curve interval 0",
        lambda t: load_config(CAM, ["eval.cam_curve_interval=0"]),
        ConfigError,
        "eval.cam_curve_interval",
    ),
    Case("IoU threshold 0", lambda t: load_config(CAM, ["eval.iou_thresholds=[0]"]), ConfigError, "iou_thr"),
    Case("negative workers", lambda t: load_config(CAM, ["data.num_workers=-1"]), ConfigError, "num_workers"),
    Case("truncated .npy score map", _truncated_npy, DataError, "img_3.npy"),
    Case("empty .npy score map", lambda t: _saved_map(t, b""), DataError, "img_3.npy"),
    Case("truncated .npy, scoremaps evaluation", _truncated_map_in_scoremaps_evaluation, DataError, "a.npy"),
    Case(
        "object-dtype .npy score map",
        lambda t: _saved_map(t, array=np.array([None, {}], dtype=object)),
        DataError,
        "img_3.npy",
    ),
    Case("corrupt image in a DataLoader worker", _worker_corrupt_image, DataError, "a.png"),
    # issue 19, silent and wrong
    Case("optim.epochs=-1", lambda t: load_config(CAM, ["optim.epochs=-1"]), ConfigError, "optim.epochs"),
    Case("optim.epochs=0", lambda t: load_config(CAM, ["optim.epochs=0"]), ConfigError, "optim.epochs"),
    Case(
        "dead key data.skip_bad_samples",
        lambda t: load_config(CAM, ["data.skip_bad_samples=true"]),
        ConfigError,
        "data.skip_bad_samples",
    ),
    Case(
        "dead key train.log_interval",
        lambda t: load_config(CAM, ["train.log_interval=5"]),
        ConfigError,
        "train.log_interval",
    ),
    Case(
        "old pretrained string",
        lambda t: load_config(CAM, ["model.backbone.pretrained=false"]),
        ConfigError,
        "model.backbone.weights=none",
    ),
    Case("all-zero prepared score map (counted)", _all_zero_prepared_counted, None, "1"),
    Case(
        "unknown explainer option",
        lambda t: load_config(CAM, ["eval.explainer={name: gradcam, layr: x}"]),
        ConfigError,
        "eval.explainer",
    ),
    Case("unknown optimizer", lambda t: load_config(CAM, ["optim.name=adam"]), ConfigError, "optim.name"),
    Case("unknown head pooling", lambda t: load_config(CAM, ["model.head.pooling=avg"]), ConfigError, "pool"),
    Case(
        "unknown checkpoint choice",
        lambda t: load_config(CAM, ["eval.checkpoint=final"]),
        ConfigError,
        "eval.checkpoint",
    ),
    Case(
        "checkpoint evaluated with an architecture override",
        lambda t: wsol.load_model(tiny_checkpoint(t), ["model.backbone.options.width=8"]),
        ConfigError,
        "model.backbone.options.width: the checkpoint was trained with 4",
    ),
    Case(
        "pooling override contradicting the checkpoint",
        lambda t: wsol.load_model(tiny_checkpoint(t), ["model.head.pooling=gmp"]),
        ConfigError,
        "model.head.pooling",
    ),
    Case("--resume with nothing to resume", _resume_nothing, CheckpointError, "never_ran"),
    # issue 19, overwritten, compare, network
    Case("evaluation into a folder with results", _evaluation_into_earlier_results, ConfigError, "overwrite"),
    Case("compare on a cascade run folder (its last kept stage)", _compare_cascade_run, None, "40.0"),
    Case("network attempts at import and config load", _network_attempts_at_import, None, "0"),
    # issue 19, late: found before training, not after it
    Case("invalid box in the test split, validated first", _late_box_in_test, DataError, "'test'"),
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
    assert {c.error for c in CASES} == {DataError, ConfigError, RegistryError, CheckpointError, None}
    assert len({c.name for c in CASES}) == len(CASES)
