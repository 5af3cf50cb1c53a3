"""Base class shared by every dataset format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from wsol.data.sample import Sample
from wsol.errors import ConfigError

GROUND_TRUTH_KINDS = frozenset({"boxes", "masks", "fixations", "parts"})


class WSOLDataset(Dataset):
    """A split of a dataset: image ids, class names and a ``load_sample`` method.

    Subclasses set ``image_ids``, ``class_names`` and ``ground_truth`` and implement
    :meth:`load_sample`. ``dataset[i]`` applies ``self.transform`` (a callable from
    :class:`Sample` to a dict holding at least ``image`` (a ``(3, H, W)`` float tensor)
    and ``label``) and adds ``index``.

    ``dataset[i]`` loads only the ground-truth kinds the transform asks for in its
    ``fields`` attribute (a subset of ``GROUND_TRUTH_KINDS``; absent or None: all): the
    training transforms ask for none, so masks, part masks and fixations (evaluation
    ground truth, which evaluation reads through :meth:`load_target`) are neither
    decoded nor transformed while training. Formats that can skip decoding override
    :meth:`load_fields`; the others load everything and drop what is not asked for.
    """

    image_ids: list[str]
    class_names: list[str]
    ground_truth: frozenset[str] = frozenset()
    transform: Callable[[Sample], dict[str, Any]] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def load_sample(self, index: int) -> Sample:  # pragma: no cover - abstract
        """The image and all its ground truth, in original pixels."""
        raise NotImplementedError

    def check_target(self, index: int) -> Sample:
        """Ground truth for validation (:mod:`wsol.data.validate`); override to check files
        from their headers instead of decoding them (default: :meth:`load_target`)."""
        return self.load_target(index)

    def image_path(self, index: int) -> Path | None:
        """The image file of ``index``, if the dataset reads one (validation checks its header)."""
        return None

    def load_target(self, index: int) -> Sample:
        """Ground truth only (``image`` None, ``size`` set); override to skip decoding."""
        sample = self.load_sample(index)
        sample.image = None
        return sample

    def load_fields(self, index: int, fields: frozenset[str] | None) -> Sample:
        """:meth:`load_sample` with only the ground-truth kinds in ``fields`` (None: all)."""
        return keep_fields(self.load_sample(index), fields)

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.transform is None:
            raise RuntimeError("dataset has no transform; set dataset.transform first")
        sample = self.load_fields(index, getattr(self.transform, "fields", None))
        item = self.transform(sample)
        item["index"] = index
        return item


def keep_fields(sample: Sample, fields: frozenset[str] | None) -> Sample:
    """``sample`` without the ground-truth kinds missing from ``fields`` (None: keep all)."""
    if fields is None:
        return sample
    if not fields <= GROUND_TRUTH_KINDS:
        raise ConfigError(
            f"unknown ground-truth fields {sorted(fields - GROUND_TRUTH_KINDS)}; "
            f"choose from {sorted(GROUND_TRUTH_KINDS)}"
        )
    if "boxes" not in fields:
        sample.boxes = np.zeros((0, 4), dtype=np.float64)
    if "masks" not in fields:
        sample.mask = sample.ignore = None
    if "parts" not in fields:
        sample.part_masks = {}
    if "fixations" not in fields:
        sample.fixations = sample.fixation_map = None
    return sample
