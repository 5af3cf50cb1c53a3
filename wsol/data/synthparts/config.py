"""The generator config of SynthParts and the hash that names its cache folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from wsol.errors import ConfigError

# Bump whenever the drawing changes what a given config produces: it is part of the hash.
GENERATOR_VERSION = 1
SPLITS = ("train", "val", "test")
MAX_CLASSES = 10


@dataclass(frozen=True)
class SynthPartsConfig:
    """Everything that determines the generated files (and nothing else).

    Attributes:
        seed: base seed; image ``i`` of split ``s`` draws from ``(seed, s, i)`` only.
        num_train, num_val, num_test: images per split.
        image_size: side of the square images in pixels.
        num_classes: 2 to 10 classes.
        two_object_prob: share of images holding two objects of the same class.
        num_observers: simulated observers whose fixations are recorded per image.
        context_share: share of training images showing their class's context band
            (context bias, :mod:`wsol.data.synthparts.context`); 0 = off.
        context_eval_share: the same for validation and test images (0: the context never
            comes with the class at test).
    """

    seed: int = 0
    num_train: int = 6000
    num_val: int = 1000
    num_test: int = 1000
    image_size: int = 128
    num_classes: int = 10
    two_object_prob: float = 0.12
    num_observers: int = 8
    context_share: float = 0.0
    context_eval_share: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "num_classes": 2 <= self.num_classes <= MAX_CLASSES,
            "image_size": 64 <= self.image_size <= 1024,
            "two_object_prob": 0.0 <= self.two_object_prob <= 1.0,
            "num_observers": self.num_observers >= 1,
            "context_share": 0.0 <= self.context_share <= 1.0,
            "context_eval_share": 0.0 <= self.context_eval_share <= 1.0,
            "seed": self.seed >= 0,
        }
        checks.update({f"num_{s}": n >= 0 for s, n in self.split_sizes().items()})
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"synthparts: invalid {key}={getattr(self, key)!r}")

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.num_train, "val": self.num_val, "test": self.num_test}

    @property
    def has_context(self) -> bool:
        return self.context_share > 0 or self.context_eval_share > 0

    def identity(self) -> dict[str, object]:
        """The fields that name the dataset, with the generator version. The context options
        appear only when on, so configs without them keep their digest and ``config.json``."""
        fields = asdict(self)
        if not self.has_context:
            del fields["context_share"], fields["context_eval_share"]
        return {**fields, "generator_version": GENERATOR_VERSION}

    def digest(self) -> str:
        """16 hex digits of the SHA-256 of :meth:`identity`."""
        payload = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
