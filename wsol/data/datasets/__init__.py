"""DATASETS registry: every on-disk format wsol reads.

Contract of a member: a callable ``(root: str, split: str, **options) -> WSOLDataset``
(see :class:`wsol.data.dataset.WSOLDataset`). It must

* check on construction that ``root`` and the split's index files exist, raising
  :class:`wsol.errors.DataError` naming the missing path;
* return :class:`wsol.data.sample.Sample` objects from ``load_sample(i)`` with ground
  truth in original pixels, raising ``DataError`` naming the file or image id when an
  image or annotation cannot be read;
* declare which ground truth it has via ``ground_truth`` (a subset of
  ``{"boxes", "masks", "fixations", "parts"}``), which decides the metrics that apply.

Add a format by writing one module in this package with a ``@DATASETS.register(...)``
decorated class or function; it is imported automatically.
"""

from wsol.errors import DataError
from wsol.registry import Registry

DATASETS = Registry("dataset", __name__)


def create_dataset(spec, split: str, **context):
    """Build the dataset ``spec`` (``{"name": ..., **options}``) for ``split``."""
    return DATASETS.build(spec, key="data.dataset", split=split, **context)


def require_images(dataset, spec, split: str):
    """``dataset`` if it has images, else a one-line :class:`DataError` (an empty split
    would score as 0 % rather than fail)."""
    if len(dataset) == 0:
        name = spec.get("name", spec) if isinstance(spec, dict) else spec
        raise DataError(f"dataset {name!r}: split {split!r} has no images")
    return dataset


def list_datasets(pattern: str = "*") -> list[str]:
    return DATASETS.list(pattern)
