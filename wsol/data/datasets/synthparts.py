"""The ``synthparts`` dataset: generated on first use, then read from its cache folder."""

from __future__ import annotations

from wsol.data.datasets import DATASETS
from wsol.data.datasets.wsoleval import WSOLEvalDataset
from wsol.data.synthparts import SynthPartsConfig, ensure_generated


@DATASETS.register("synthparts")
def synthparts(
    root: str = "data/synthparts",
    split: str = "train",
    seed: int = 0,
    num_train: int = 6000,
    num_val: int = 1000,
    num_test: int = 1000,
    image_size: int = 128,
    num_classes: int = 10,
    two_object_prob: float = 0.12,
    num_observers: int = 8,
    context_share: float = 0.0,
    context_eval_share: float = 0.0,
    workers: int = 0,
) -> WSOLEvalDataset:
    """SynthParts ``split`` (train / val / test) of the config given by the other options.

    The dataset lives in ``<root>/<hash of the config>/`` and is generated there (with
    ``workers`` processes, 0 = one per CPU) if it is missing; see
    :class:`~wsol.data.synthparts.SynthPartsConfig` for the options.
    """
    config = SynthPartsConfig(
        seed=seed,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        image_size=image_size,
        num_classes=num_classes,
        two_object_prob=two_object_prob,
        num_observers=num_observers,
        context_share=context_share,
        context_eval_share=context_eval_share,
    )
    folder = ensure_generated(config, root, workers)
    return WSOLEvalDataset(
        str(folder), split, image_root="images", metadata_root="metadata", mask_root="masks"
    )
