"""Write configs/{cub,ilsvrc,openimages}/<method>_<arch>.yaml: the wsolevaluation protocol.

    python tools/make_protocol_configs.py            # (re)write the 54 + 27 files
    python tools/make_protocol_configs.py --check    # exit 1 if a file differs from the table
    python tools/make_protocol_configs.py --table    # print the published numbers (docs/protocol.md)

Every value carries its source in a comment: ``config.py`` (the default of
clovaai/wsolevaluation's ``config.py``), ``main.py`` / ``data_loaders.py`` / ``wsol/*.py``
(its code), ``README`` (the example command of its README), ``table`` (the README's main
table, MaxBoxAccV2 / PxAP on test). The per-configuration best hyper-parameters of the
paper are in a spreadsheet linked from the README that this table could not read: where
the published best value is unknown, the config says so and uses the source named.

A second table, ``MODERN``, holds the 2020-2024 methods (issue 13: BAS, BridgeGap, PSOL,
PC1 on wsolevaluation's networks, TS-CAM on DeiT-S) in the same form: wsolevaluation's data,
evaluation and (for the CNNs) networks, and each method's own recipe, every value naming
its source: the official code (``wpy1999/BAS``, ``ejkim47/bridging-gap-wsol``,
``tzzcl/PSOL``, ``vasgaowei/TS-CAM``, ``snskysk/CAM-Back-Again``: file and name of the
value) or, where the method published none for a dataset, wsolevaluation's recipe,
saying so. Only numbers were read from those repositories.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
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


def kv(key: str, value: object, source: str | None = None, indent: int = 2) -> str:
    """``key: value`` at ``indent``, with ``# source`` from column 32 (one space at least)."""
    left = f"{' ' * indent}{key}: {value}"
    return left if source is None else f"{left.ljust(31)} # {source}"


LARGE_FEATURE_MAP = ("false", f"config.py default; {UNKNOWN}")


def backbone(arch: str, method: str, large_feature_map: tuple[str, str] = LARGE_FEATURE_MAP) -> list[str]:
    lines = [
        f"    name: wsoleval_{arch}",
        "    weights: timm               # ImageNet weights via torch.hub (main.py --pretrained TRUE)",
    ]
    if arch == "inception_v3" and method == "acol":
        lines.append("    feature_stage: 3            # ACoL's classifiers read Mixed_6e (wsol/inception.py)")
    lines.append("    options:")
    value, source = large_feature_map
    lines.append(f"      large_feature_map: {value}  # {source}")
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


# The values a recipe sets: ``data.batch_size`` and the ``optim`` keys, in this order.
RECIPE_KEYS = ("batch_size", "name", "lr", "head_lr_mult", "momentum", "weight_decay", "epochs")
RECIPE_KEYS += ("scheduler", "step_size", "gamma", "warmup_epochs", "grad_clip")
Recipe = dict[str, tuple[object, "str | None"]]  # key -> (value, source; None: no comment)


def protocol_recipe(dataset: str) -> Recipe:
    """wsolevaluation's training recipe on ``dataset`` (main.py, config.py, README)."""
    d = DATASETS[dataset]
    return {
        "batch_size": (32, "README example"),
        "name": ("sgd", "main.py (Nesterov there; wsol's SGD has none, docs/protocol.md)"),
        "lr": ("0.00227913316", f"README example; {UNKNOWN}"),
        "head_lr_mult": ("10.0", "config.py lr_classifier_ratio"),
        "momentum": (0.9, "config.py"),
        "weight_decay": ("5.0e-4", "README example (config.py default 1e-4)"),
        "epochs": (d["epochs"], d["epochs_src"]),
        "scheduler": ("step", "main.py adjust_learning_rate: x0.1 every lr_decay_frequency"),
        "step_size": (d["decay"], f"lr_decay_frequency: {d['epochs_src']}"),
        "gamma": (0.1, "main.py"),
        "warmup_epochs": ("0.0", None),
    }


def compose(
    dataset: str,
    name: str,
    header: list[str],
    model: list[str],
    method: list[str],
    recipe: Recipe,
    tags: list[str],
) -> str:
    """A config on wsolevaluation's ``dataset`` (its data, splits and evaluation) with the
    given header comment, ``model`` and ``method`` sections and training ``recipe``."""
    d = DATASETS[dataset]
    folder = d["folder"]
    mask_root = (
        [f"    mask_root: dataset/{folder}     # main.py configure_mask_root"]
        if dataset == "openimages"
        else []
    )
    optim = [kv(key, *recipe[key]) for key in RECIPE_KEYS[1:] if key in recipe]
    lines = [
        header[0],
        "# Generated by tools/make_protocol_configs.py from its table: edit the table, not this file.",
        *header[1:],
        f"name: {name}",
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
        kv("batch_size", *recipe["batch_size"]),
        "  eval_batch_size: 64",
        "  num_workers: 4                # README example",
        "  train_split: train            # train-weaksup",
        "  val_split: val                # train-fullsup: thresholds and model selection",
        "  test_split: test",
        "  train_transform: wsol_train   # data_loaders.py: Resize(256), RandomCrop(224), flip, mean/std",
        "  eval_transform: wsol_eval     # data_loaders.py: Resize(224), ImageNet mean/std",
        "model:",
        *model,
        "method:",
        *method,
        "optim:",
        *optim,
        "eval:",
        "  resolution: 224               # inference.py resizes CAMs to the 224 input",
        "  cam_curve_interval: 0.001     # config.py",
        "  iou_thresholds: [30, 50, 70]  # config.py iou_threshold_list (MaxBoxAccV2)",
        "  every_n_epochs: 1             # main.py evaluates train-fullsup every epoch",
        "  checkpoint: last              # config.py eval_checkpoint_type (README: use last)",
        "wandb:",
        f"  tags: [{', '.join(tags)}]",
    ]
    return "\n".join(lines) + "\n"


def render(dataset: str, method: str, arch: str) -> str:
    d = DATASETS[dataset]
    header = [
        f"# {method} with wsolevaluation's {arch} on {d['folder']} (Choe et al., CVPR 2020 / TPAMI 2022).",
        f"# Published {d['metric']} on test: {published(dataset, method, arch)}"
        " (clovaai/wsolevaluation README main table).",
    ]
    model = ["  backbone:", *backbone(arch, method), "  head:", *head(arch, method)]
    tags = ["protocol", dataset, method, arch]
    return compose(
        dataset,
        f"{dataset}_{method}_{arch}",
        header,
        model,
        method_lines(arch, method),
        protocol_recipe(dataset),
        tags,
    )


# ---------------------------------------------------------------------------------------
# The 2020-2024 methods (issue 13): a second table, rendered by ``compose`` as above.


@dataclass(frozen=True)
class Modern:
    """A 2020-2024 method: its paper, official code, networks, datasets and published numbers."""

    paper: str
    code: str
    archs: tuple[str, ...]
    datasets: tuple[str, ...]
    published: dict[str, str] = field(default_factory=dict)  # dataset -> text; missing: unknown


TSCAM_ZOO = "vasgaowei/TS-CAM README model zoo, Deit-S; not MaxBoxAccV2"
MODERN = {
    "bas": Modern("BAS (Wu et al., CVPR 2022)", "wpy1999/BAS", ARCHS, ("cub", "ilsvrc")),
    "bridgegap": Modern(
        "BridgeGap (Kim et al., CVPR 2022)",
        "ejkim47/bridging-gap-wsol",
        ("vgg16", "resnet50"),
        ("cub", "ilsvrc"),
    ),
    "psol": Modern("PSOL (Zhang et al., CVPR 2020)", "tzzcl/PSOL", ARCHS, ("cub", "ilsvrc")),
    "pc1": Modern(
        'PC1 / DDT maps ("CAM Back Again", Yasuki & Taki, CVPR 2024)',
        "snskysk/CAM-Back-Again",
        ARCHS,
        ("cub", "ilsvrc", "openimages"),
        {
            "cub": f"{UNKNOWN} for this network; the paper's per-image PC1 gets 76.5 on ConvNeXt-B 384 "
            "and 80.4 on RepLKNet-31B (snskysk/CAM-Back-Again README model zoo)"
        },
    ),
    "tscam": Modern(
        "TS-CAM (Gao et al., ICCV 2021)",
        "vasgaowei/TS-CAM",
        ("deit_small_patch16_224",),
        ("cub", "ilsvrc"),
        {
            "cub": f"{UNKNOWN}; top-1 loc 71.3, GT-known loc 87.7 ({TSCAM_ZOO})",
            "ilsvrc": f"{UNKNOWN}; top-1 loc 53.4, GT-known loc 67.6 ({TSCAM_ZOO})",
        },
    ),
}
NO_CONV6 = "no conv6: the method reads the classifier's input from the backbone's last stage"


def modern_published(dataset: str, method: str) -> str:
    return MODERN[method].published.get(dataset, UNKNOWN)


def cnn_model(
    arch: str, conv6: bool = True, large_feature_map: tuple[str, str] = LARGE_FEATURE_MAP
) -> list[str]:
    """wsolevaluation's CAM network ``arch`` (VGG16's conv6 in the head unless ``conv6`` is false)."""
    top = (
        [
            "    name: cam                 # GAP + linear classifier on conv5",
            f"    # {NO_CONV6} (wsol/methods/_classifier.py)",
        ]
        if arch == "vgg16" and not conv6
        else head(arch, "cam")
    )
    return ["  backbone:", *backbone(arch, "cam", large_feature_map), "  head:", *top]


BAS_AREA = {
    "cub": {"vgg16": 0.7, "inception_v3": 1.0, "resnet50": 1.2},
    "ilsvrc": {"vgg16": 1.0, "inception_v3": 2.5, "resnet50": 2.0},
}
BAS_FILE = {"vgg16": "vgg", "inception_v3": "inception", "resnet50": "resnet"}


def bas(dataset: str, arch: str) -> tuple[list[str], list[str], Recipe | None]:
    folder = DATASETS[dataset]["folder"]
    model_file = f"{folder}/Model/{BAS_FILE[arch]}.py"
    method = [
        "  name: bas",
        kv("bas_weight", 1.0, f"{model_file}: the background-activation ratio, unweighted"),
        kv("area_weight", BAS_AREA[dataset][arch], f"{model_file}: weight of the mean foreground map"),
    ]
    cub = dataset == "cub"
    train = f"{folder}/train.py"
    recipe: Recipe = {
        "batch_size": (32 if cub else 128, f"{train} --batch_size" + ("" if cub else " (32 x 4 GPUs)")),
        "name": ("sgd", f"{folder}/utils/optimizer.py (Nesterov there; wsol's SGD has none)"),
        "lr": (0.001, f"{train} --lr"),
        "head_lr_mult": ("10.0", f"{folder}/utils/optimizer.py: classifier weights at 10x (biases 2x, 20x)"),
        "momentum": (0.9, f"{train} --momentum"),
        "weight_decay": ("5.0e-4", f"{train} --weight_decay"),
        "epochs": (100 if cub else 9, f"{train} --epochs"),
        "scheduler": ("step", f"{folder}/utils/lr.py poly_lr_scheduler: x lr_decay_rate every decay_epoch"),
        "step_size": (80 if cub else 3, f"{train} decay_epoch"),
        "gamma": (0.1, f"{folder}/utils/lr.py lr_decay_rate"),
        "warmup_epochs": ("0.0", None),
    }
    return cnn_model(arch, conv6=False), method, recipe


BRIDGEGAP = {  # configs/config_exp.yaml (ResNet50) and config_exp_vgg.yaml (VGG16): CUB only
    "resnet50": dict(
        file="config_exp.yaml",
        batch=32,
        lr="0.002",
        ratio="10.0",
        wd="1.0e-4",
        lfm="true",
        fg=0.4,
        bg=0.2,
        norm=0.05,
    ),
    "vgg16": dict(
        file="config_exp_vgg.yaml",
        batch=64,
        lr="0.004",
        ratio="5.0",
        wd="5.0e-4",
        lfm="false",
        fg=0.6,
        bg=0.1,
        norm=0.15,
    ),
}


def bridgegap(dataset: str, arch: str) -> tuple[list[str], list[str], Recipe | None]:
    c = BRIDGEGAP[arch]
    file = f"configs/{c['file']}"
    cub = dataset == "cub"
    known = "" if cub else f"; CUB's, {UNKNOWN} for {DATASETS[dataset]['folder']}"
    method = [
        "  name: bridgegap",
        kv("fg_threshold", c["fg"], f"{file} sim_fg_thres{known}"),
        kv("bg_threshold", c["bg"], f"{file} sim_bg_thres{known}"),
        kv("sim_weight", 0.5, f"{file} loss_ratio_sim{known}"),
        kv("norm_weight", c["norm"], f"{file} loss_ratio_norm{known}"),
    ]
    if not cub:
        return cnn_model(arch, conv6=False), method, None
    recipe: Recipe = {
        "batch_size": (c["batch"], f"{file} batch_size"),
        "name": ("sgd", "trainer.py (Nesterov there; wsol's SGD has none)"),
        "lr": (c["lr"], f"{file} lr"),
        "head_lr_mult": (c["ratio"], f"{file} lr_classifier_ratio"),
        "momentum": (0.9, f"{file} momentum"),
        "weight_decay": (c["wd"], f"{file} weight_decay"),
        "epochs": (50, f"{file} epochs 70 less warm_epochs 20 of plain CE (not in wsol, docs/protocol.md)"),
        "scheduler": ("step", "trainer.py adjust_learning_rate: x lr_decay_rate at lr_decay_points"),
        "step_size": (20, f"{file} lr_decay_points [41, 61]: after 20 and 40 epochs past the warm-up"),
        "gamma": (0.2, f"{file} lr_decay_rate"),
        "warmup_epochs": ("0.0", None),
    }
    lfm = (c["lfm"], f"{file} large_feature_map")
    return cnn_model(arch, conv6=False, large_feature_map=lfm), method, recipe


def psol(dataset: str, arch: str) -> tuple[list[str], list[str], Recipe | None]:
    known = "" if dataset == "ilsvrc" else f"; ImageNet's, {UNKNOWN} for {DATASETS[dataset]['folder']}"
    method = [
        "  name: psol",
        kv("stage", -1, "DDT on the last conv features (generate_box_imagenet.py: vgg16 .features)"),
        kv("momentum", 0.1, "wsol's default: running statistics (DDT: exact ones per class)"),
        kv("box_weight", "50.0", f"PSOL_training.py lambda_reg (loss = lambda_reg * MSE){known}"),
    ]
    if dataset != "ilsvrc":
        return cnn_model(arch), method, None
    train = "PSOL_training.py"
    recipe: Recipe = {
        "batch_size": (256, f"{train} --batch_size"),
        "name": ("sgd", train),
        "lr": (0.001, f"{train}: 1e-3 * batch_size / 256"),
        "head_lr_mult": ("2.0", f"{train}: fc at 2x (wsol: head and whole localizer, docs/protocol.md)"),
        "momentum": (0.9, train),
        "weight_decay": ("1.0e-4", train),
        "epochs": (6, f"{train} --epochs"),
        "scheduler": ("none", f"{train}: StepLR(step_size=epochs) never decays within the run"),
        "warmup_epochs": ("0.0", None),
    }
    return cnn_model(arch), method, recipe


def pc1(dataset: str, arch: str) -> tuple[list[str], list[str], Recipe | None]:
    method = [
        "  name: pc1",
        kv("stage", -1, "the last feature map, as CAM Back Again's PC1 (utils.py get_heatmap_from_features)"),
        kv("momentum", 0.1, "wsol's default; exact statistics over train are fitted after the last epoch"),
    ]
    return cnn_model(arch), method, protocol_recipe(dataset)  # PC1 trains a plain CAM network


def tscam(dataset: str, arch: str) -> tuple[list[str], list[str], Recipe | None]:
    cub = dataset == "cub"
    yaml = f"configs/{DATASETS[dataset]['folder']}/deit_tscam_small_patch16_224.yaml"
    script = "train_val_cub.sh" if cub else "train_val_ilsvrc.sh"
    model = [
        "  backbone:",
        f"    name: {arch}  # lib/models/deit.py deit_tscam_small_patch16_224 (DeiT-S)",
        "    weights: timm                    # tools_cam/train_cam.py create_model(pretrained=True)",
        "    options:",
        "      drop_path_rate: 0.1            # lib/config/default.py --drop-path default",
        "  head:",
        "    name: tscam",
        "    attention_layers: 0   # every block: lib/models/deit.py sums all blocks' class-token attention",
        "    kernel_size: 3        # lib/models/deit.py head: 3x3 conv from patch tokens to class maps",
    ]
    method = ["  name: vanilla                 # train_cam.py: cross-entropy on the GAP of the class maps"]
    recipe: Recipe = {
        "batch_size": (128 if cub else 256, f"{yaml} TRAIN.BATCH_SIZE"),
        "name": ("adamw", "lib/config/default.py --opt default (timm create_optimizer)"),
        "lr": ("5.0e-5" if cub else "5.0e-4", f"{script} --lr (README)"),
        "head_lr_mult": ("1.0", "create_optimizer: one learning rate"),
        "weight_decay": (0.05, "default.py --weight-decay default (create_optimizer reads it, not SOLVER's)"),
        "epochs": (60 if cub else 20, f"{yaml} SOLVER.NUM_EPOCHS"),
        "scheduler": ("step", "lib/core/engine.py adjust_learning_rate_normal: x LR_FACTOR at LR_STEPS"),
        "step_size": (
            30 if cub else 10,
            f"{yaml} SOLVER.LR_STEPS [30]: one epoch later in wsol, docs/protocol.md"
            if cub
            else f"{yaml} SOLVER.LR_STEPS [10, 12] decays at epochs 10, 12, 20; a constant step: 10",
        ),
        "gamma": (0.1, f"{yaml} SOLVER.LR_FACTOR"),
        "warmup_epochs": ("0.0", "adjust_learning_rate_normal: no warm-up"),
    }
    return model, method, recipe


MODERN_PARTS = {"bas": bas, "bridgegap": bridgegap, "psol": psol, "pc1": pc1, "tscam": tscam}


def render_modern(dataset: str, method: str, arch: str) -> str:
    spec, d = MODERN[method], DATASETS[dataset]
    network = f"wsolevaluation's {arch}" if arch in ARCHS else f"timm's {arch}"
    header = [
        f"# {spec.paper} with {network} on {d['folder']}.",
        f"# Values: {spec.code} (file and name in each comment) or wsolevaluation's (docs/protocol.md).",
        f"# Published {d['metric']} on test: {modern_published(dataset, method)}.",
    ]
    model, method_section, recipe = MODERN_PARTS[method](dataset, arch)
    if recipe is None:
        header.append(
            f"# {spec.code} has no {d['folder']} recipe: data.batch_size and optim are wsolevaluation's."
        )
        recipe = protocol_recipe(dataset)
    tags = ["protocol", dataset, method, arch]
    return compose(dataset, f"{dataset}_{method}_{arch}", header, model, method_section, recipe, tags)


def configs() -> list[tuple[Path, str]]:
    """Every generated file and its text: the protocol's table, then the 2020-2024 methods'."""
    files = [
        (ROOT / dataset / f"{method}_{arch}.yaml", render(dataset, method, arch))
        for dataset in DATASETS
        for method in METHODS
        for arch in ARCHS
    ]
    for method, spec in MODERN.items():
        for dataset in spec.datasets:
            for arch in spec.archs:
                files.append((ROOT / dataset / f"{method}_{arch}.yaml", render_modern(dataset, method, arch)))
    return files


def markdown_table() -> str:
    """The published number of every config, one row per dataset and method."""
    rows = ["| config (`configs/<dataset>/<method>_<arch>.yaml`) | metric | " + " | ".join(ARCHS) + " |"]
    rows.append("|---|---|---|---|---|")
    for dataset, spec in DATASETS.items():
        for method in METHODS:
            cells = [f"{published(dataset, method, arch):.1f}" for arch in ARCHS]
            rows.append(f"| `{dataset}/{method}_*` | {spec['metric']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def modern_table() -> str:
    """The 2020-2024 methods' configs: networks, published numbers, where the recipe comes from."""
    rows = ["| config | networks | published (test) | recipe |", "|---|---|---|---|"]
    for method, spec in MODERN.items():
        for dataset in spec.datasets:
            _, _, recipe = MODERN_PARTS[method](dataset, spec.archs[0])
            source = f"{spec.code}, method options" if recipe is None else spec.code
            if method == "pc1":  # a plain CAM network whose maps are its features' PC1
                source = "wsol's defaults (stage, momentum)"
            if recipe is None or method == "pc1":
                source += "; optim: wsolevaluation's"
            rows.append(
                f"| `{dataset}/{method}_*` | {', '.join(spec.archs)} | {DATASETS[dataset]['metric']}: "
                f"{modern_published(dataset, method)} | {source} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ from the table")
    parser.add_argument("--table", action="store_true", help="print the published numbers as Markdown")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
        print()
        print(modern_table())
        return 0
    stale = []
    for path, text in configs():
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
