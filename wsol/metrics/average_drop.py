"""Average drop and increase in confidence (Chattopadhay et al., "Grad-CAM++", WACV 2018, Sec. 5.1).

The image is multiplied by its map (min-max normalised to [0, 1] and resized to the
input) and the explained class's score is compared with the score of the whole image::

    Y_i = score(x_i),   O_i = score(x_i * m_i)
    average_drop           = 100 / N * sum_i max(0, Y_i - O_i) / Y_i     (lower is better)
    increase_in_confidence = 100 / N * sum_i [O_i > Y_i]                  (higher is better)

Reference: pytorch-grad-cam 1.5.7 ``metrics/cam_mult_image.py``
(``CamMultImageConfidenceChange``: ``input_tensor * cam`` on the normalised input;
``DropInConfidence`` = ``max(Y - O, 0)``, reported here as ``drop``, without the
division by ``Y``; ``IncreaseInConfidence`` = ``[O > Y]``). Like it, wsol multiplies the
model's (normalised) input. Scores are softmax probabilities (the paper's "confidence");
``score="logit"`` follows pytorch-grad-cam with ``ClassifierOutputTarget``.
``normalize=False`` multiplies by the map as given (for maps already in [0, 1]).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wsol.metrics import METRICS
from wsol.metrics.probe import FaithfulnessBatch, ModelMetric, check_score, class_scores
from wsol.utils.tensors import min_max_normalize

_ROWS = ("score", "masked_score")


@METRICS.register("average_drop")
class AverageDrop(ModelMetric):
    """Streaming average drop / increase in confidence; see the module docstring.

    Result keys ``average_drop/average_drop``, ``.../increase_in_confidence`` (in %),
    ``.../drop`` (mean ``max(0, Y - O)``) and ``.../num_images``; per image ``score`` and
    ``masked_score``.

    Args:
        score: ``"probability"`` (default) or ``"logit"``.
        normalize: min-max normalise each map first (default).
    """

    def __init__(self, score: str = "probability", normalize: bool = True) -> None:
        super().__init__()
        self.score, self.normalize = check_score(score), normalize
        for key in _ROWS:
            self._add_row(key, float)

    def score_batch(self, maps: Tensor, image_ids: list[str], context: FaithfulnessBatch) -> None:
        masks = (min_max_normalize(maps) if self.normalize else maps).to(context.images)[:, None]
        both = torch.cat([context.images, context.images * masks])
        count = len(context.images)
        logits = context.probe.perturbed_logits(2 * count, lambda rows: both[rows])
        scores = class_scores(logits, context.classes.repeat(2), self.score).numpy()
        self._append_rows(image_id=image_ids, score=scores[:count], masked_score=scores[count:])

    def compute(self) -> dict[str, float]:
        y, o = self.rows("score"), self.rows("masked_score")
        n = len(y)
        out = {"num_images": float(n)}
        if n:
            drop = np.maximum(y - o, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                out["average_drop"] = 100.0 * float(np.mean(np.where(drop > 0, drop / y, 0.0)))
            out["increase_in_confidence"] = 100.0 * float(np.mean(o > y))
            out["drop"] = float(drop.mean())
        return {f"average_drop/{k}": v for k, v in out.items()}
