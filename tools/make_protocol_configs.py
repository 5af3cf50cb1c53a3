"""Write configs/{cub,ilsvrc,openimages}/<method>_<arch>.yaml: the wsolevaluation protocol.

    python tools/make_protocol_configs.py            # (re)write the 54 files
    python tools/make_protocol_configs.py --check    # exit 1 if a file differs from the table
    python tools/make_protocol_configs.py --table    # print the published numbers (docs/protocol.md)

Every value carries its source in a comment: ``config.py`` (the default of
clovaai/wsolevaluation's ``config.py``), ``main.py`` / ``data_loaders.py`` / ``wsol/*.py``
(its code), ``README`` (the example command of its README), ``table`` (the README's main
table, MaxBoxAccV2 / PxAP on test). The per-configuration best hyper-parameters of the
paper are in a spreadsheet linked from the README that this table could not read: where
the published best value is unknown, the config says so and uses the source named.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "configs"
ARCHS = ("vgg16", "inception_v3", "resnet50")
METHODS = ("cam", "has", "acol", "spg", "adl", "cutmix")
UNKNOWN = "published best value unknown"

DATASETS = {
    "cub": dict(
        folder="CUB",
        classes=200,
        metric="MaxBoxAccV2",
        epochs=50,
        decay=15,
        epochs_src="wsolevaluation issues #38/#60 (user reports of the sheet); " + UNKNOWN,
    ),
    "ilsvrc": dict(
        folder="ILSVRC",
        classes=1000,
        metric="MaxBoxAccV2",
        epochs=10,
        decay=3,
        epochs_src=f"{UNKNOWN}; the OpenImages README example's values",
    ),
    "openimages": dict(
        folder="OpenImages",
        classes=100,
        metric="PxAP",
        epochs=10,
        decay=3,
        epochs_src="README example",
    ),
}

# README main table (test split): CAM's number, then each method's difference to it.
PUBLISHED = {
    "ilsvrc": {
        "cam": (60.0, 63.4, 63.7),
        "has": (0.6, 0.3, -0.3),
        "acol": (-2.6, 0.3, -1.4),
        "spg": (-0.1, -0.1, -0.4),
        "adl": (-0.2, -2.0, 0.0),
        "cutmix": (-0.6, 0.5, -0.4),
    },
    "cub": {
        "cam": (63.7, 56.7, 63.0),
        "has": (0.0, -3.3, 1.7),
        "acol": (-6.3, -0.5, 3.5),
        "spg": (-7.4, -0.8, -2.6),
        "adl": (2.6, 2.1, -4.6),
        "cutmix": (-1.4, 0.8, -0.2),
    },
    "openimages": {
        "cam": (58.3, 63.2, 58.5),
        "has": (-0.2, -5.1, -2.6),
        "acol": (-4.0, -6.0, -1.2),
        "spg": (0.0, -0.9, -1.8),
        "adl": (0.4, -6.4, -3.3),
        "cutmix": (-0.2, -0.7, -0.8),
    },
}
ADL_STAGES = {"vgg16": [0, 1, 2], "resnet50": [2, 4, 5], "inception_v3": [0, 3, 4]}
SPG_STAGES = {"vgg16": (1, 2, -1, 512), "resnet50": (2, 3, -1, 1024), "inception_v3": (1, 2, -1, 512)}


def published(dataset: str, method: str, arch: str) -> float:
    """The README main table's number for ``method`` with ``arch`` on ``dataset``."""
    column = ARCHS.index(arch)  # the table's column order
    cam = PUBLISHED[dataset]["cam"][column]
    return round(cam + (0.0 if method == "cam" else PUBLISHED[dataset][method][column]), 1)


def backbone(arch: str, method: str) -> list[str]:
    lines = [
        f"    name: wsoleval_{arch}",
        "    weights: timm               # ImageNet weights via torch.hub (main.py --pretrained TRUE)",
    ]
    if arch == "inception_v3" and method == "acol":
        lines.append("    feature_stage: 3            # ACoL's classifiers read Mixed_6e (wsol/inception.py)")
    lines.append("    options:")
    lines.append(f"      large_feature_map: false  # config.py default; {UNKNOWN}")
    if arch == "vgg16":
        variant = {"acol": "acol", "spg": "spg"}.get(method, "cam")
        lines.append(f"      variant: {variant}              # wsol/vgg.py configs_dict[{variant!r}]")
    if arch == "inception_v3" and method != "acol":
        p = 0.0 if method == "adl" else 0.5
        lines.append(
            f"      dropout: {p}  # wsol/inception.py ({'none in' if p == 0 else 'F.dropout in'} "
            f"Inception{'Adl' if p == 0 else 'Cam/Spg'})"
        )
    return lines


def head(arch: str, method: str) -> list[str]:
    if method == "acol":
        return [
            "    name: cam",
            "    conv_channels: [1024, 1024]  # classifier_A/B: two 3x3 convs of 1024, then 1x1",
        ]
    if arch == "vgg16" and method != "spg":
        return ["    name: cam", "    conv_channels: [1024]     # VggCam conv6 (wsol/vgg.py)"]
    return ["    name: cam                 # GAP + linear classifier (fc / 1x1 SPG_A4 conv)"]


def method_lines(arch: str, method: str) -> list[str]:
    if method == "cam":
        return ["  name: vanilla"]
    if method == "has":
        return [
            "  name: has",
            "  grid_sizes: [4]             # config.py has_grid_size",
            "  hide_prob: 0.5              # config.py has_drop_rate",
            "  reference_size: 224         # grid in pixels of the 224 input, as in main.py",
        ]
    if method == "acol":
        return [
            "  name: acol",
            "  threshold: 0.7              # config.py acol_threshold",
            "  eval_erase_class: target    # inference.py passes the ground-truth label",
        ]
    if method == "spg":
        b1, b2, c, width = SPG_STAGES[arch]
        return [
            "  name: spg",
            "  thresholds: [[0.7, 0.01], [0.5, 0.05], [0.7, 0.1]]  # config.py spg_threshold_{1,2,3}{h,l}",
            f"  b1_stage: {b1}                 # SPG_B_1a input (wsol/{arch.split('_')[0]}.py)",
            f"  b2_stage: {b2}                 # SPG_B_2a input",
            f"  c_stage: {c}                 # SPG_C input",
            f"  branch_channels: {width}        # SPG_B_* width",
        ]
    if method == "adl":
        return [
            "  name: adl",
            "  drop_rate: 0.75             # config.py adl_drop_rate",
            "  gamma: 0.9                  # config.py adl_threshold",
            f"  stages: {ADL_STAGES[arch]}          # ADL positions of the reference network",
        ]
    return [
        "  name: cutmix",
        "  beta: 1.0                   # config.py cutmix_beta",
        "  prob: 1.0                   # config.py cutmix_prob",
    ]


def render(dataset: str, method: str, arch: str) -> str:
    d = DATASETS[dataset]
    folder = d["folder"]
    score = published(dataset, method, arch)
    mask_root = (
        [f"    mask_root: dataset/{folder}     # main.py configure_mask_root"]
        if dataset == "openimages"
        else []
    )
    lines = [
        f"# {method} with wsolevaluation's {arch} on {folder} (Choe et al., CVPR 2020 / TPAMI 2022).",
        "# Generated by tools/make_protocol_configs.py from its table: edit the table, not this file.",
        f"# Published {d['metric']} on test: {score} (clovaai/wsolevaluation README main table).",
        f"name: {dataset}_{method}_{arch}",
        "seed: 0",
        "data:",
        "  dataset:",
        "    name: wsoleval",
        "    root: data/wsolevaluation    # a wsolevaluation checkout with its dataset/ (docs/protocol.md)",
        f"    image_root: dataset/{folder}",
        f"    metadata_root: metadata/{folder}",
        *mask_root,
        f"    num_classes: {d['classes']}            # main.py _NUM_CLASSES_MAPPING",
        "  image_size: 224               # config.py crop_size (train: resize 256, random crop, flip)",
        "  batch_size: 32                # README example",
        "  eval_batch_size: 64",
        "  num_workers: 4                # README example",
        "  train_split: train            # train-weaksup",
        "  val_split: val                # train-fullsup: thresholds and model selection",
        "  test_split: test",
        "  train_transform: wsol_train   # data_loaders.py: Resize(256), RandomCrop(224), flip, mean/std",
        "  eval_transform: wsol_eval     # data_loaders.py: Resize(224), ImageNet mean/std",
        "model:",
        "  backbone:",
        *backbone(arch, method),
        "  head:",
        *head(arch, method),
        "method:",
        *method_lines(arch, method),
        "optim:",
        "  name: sgd                     # main.py (Nesterov there; wsol's SGD has none, docs/protocol.md)",
        f"  lr: 0.00227913316             # README example; {UNKNOWN}",
        "  head_lr_mult: 10.0            # config.py lr_classifier_ratio",
        "  momentum: 0.9                 # config.py",
        "  weight_decay: 5.0e-4          # README example (config.py default 1e-4)",
        f"  epochs: {d['epochs']}                    # {d['epochs_src']}",
        "  scheduler: step               # main.py adjust_learning_rate: x0.1 every lr_decay_frequency",
        f"  step_size: {d['decay']}                 # lr_decay_frequency: {d['epochs_src']}",
        "  gamma: 0.1                    # main.py",
        "  warmup_epochs: 0.0",
        "eval:",
        "  resolution: 224               # inference.py resizes CAMs to the 224 input",
        "  cam_curve_interval: 0.001     # config.py",
        "  iou_thresholds: [30, 50, 70]  # config.py iou_threshold_list (MaxBoxAccV2)",
        "  every_n_epochs: 1             # main.py evaluates train-fullsup every epoch",
        "  checkpoint: last              # config.py eval_checkpoint_type (README: use last)",
        "wandb:",
        f"  tags: [protocol, {dataset}, {method}, {arch}]",
    ]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The published number of every config, one row per dataset and method."""
    rows = ["| config (`configs/<dataset>/<method>_<arch>.yaml`) | metric | " + " | ".join(ARCHS) + " |"]
    rows.append("|---|---|---|---|---|")
    for dataset, spec in DATASETS.items():
        for method in METHODS:
            cells = [f"{published(dataset, method, arch):.1f}" for arch in ARCHS]
            rows.append(f"| `{dataset}/{method}_*` | {spec['metric']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ from the table")
    parser.add_argument("--table", action="store_true", help="print the published numbers as Markdown")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
        return 0
    stale = []
    for dataset in DATASETS:
        for method in METHODS:
            for arch in ARCHS:
                path = ROOT / dataset / f"{method}_{arch}.yaml"
                text = render(dataset, method, arch)
                if path.is_file() and path.read_text() == text:
                    continue
                stale.append(path)
                if not args.check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'} {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
