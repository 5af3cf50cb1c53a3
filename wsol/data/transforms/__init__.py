"""TRANSFORMS registry: augmentation pipelines that carry ground truth with the image.

Contract of a member: a callable ``(image_size: int, **options) -> GTTransform``;
``GTTransform`` maps a :class:`wsol.data.sample.Sample` to the dict a DataLoader
batches (see :class:`wsol.data.transforms.pipeline.GTTransform` for the keys and the
coordinate conventions). Build one with::

    transform = TRANSFORMS.build("wsol_train", image_size=224)

Members (module :mod:`wsol.data.transforms.presets`): ``wsol_train``, ``wsol_eval``
(wsolevaluation's protocols scaled to ``image_size``) and ``strong_train``.
"""

from wsol.data.transforms.pipeline import IMAGENET_MEAN, IMAGENET_STD, GTTransform
from wsol.registry import Registry

TRANSFORMS = Registry("transform", __name__)

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "TRANSFORMS", "GTTransform"]
