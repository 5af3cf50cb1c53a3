"""Base class shared by every dataset format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from wsol.data.sample import Sample

GROUND_TRUTH_KINDS = frozenset({"boxes", "masks", "fixations", "parts"})


class WSOLDataset(Dataset):
    """A split of a dataset: image ids, class names and a ``load_sample`` method.

    Subclasses set ``image_ids``, ``class_names`` and ``ground_truth`` and implement
    :meth:`load_sample`. ``dataset[i]`` applies ``self.transform`` (a callable from
    :class:`Sample` to a dict holding at least ``image`` (a ``(3, H, W)`` float tensor)
    and ``label``) and adds ``index``.
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

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.load_sample(index)
        if self.transform is None:
            raise RuntimeError("dataset has no transform; set dataset.transform first")
        item = self.transform(sample)
        item["index"] = index
        return item
