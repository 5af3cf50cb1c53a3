"""How the faithfulness metrics call the classifier: :class:`ModelProbe` and :class:`FaithfulnessBatch`.

Faithfulness metrics (deletion/insertion, ROAD, average drop, parameter randomisation)
score a map by what the *model* does when the image is changed according to the map.
They take, besides the usual ``update(maps, targets)`` arguments, one small context
object per batch, a :class:`FaithfulnessBatch`: the :class:`ModelProbe` (the model, how
to explain an image with it, how many images go through one forward) and the batch's
model inputs and explained classes. Every metric builds all the perturbed copies of all
images of a batch and scores them through :meth:`ModelProbe.scores` in forwards of
``batch_size`` images, instead of one forward per image and step.

Scores (``score`` option of every metric): ``"probability"`` (softmax of the logits,
taken at the explained class; the default of every reference), ``"logit"``, or
``"correct"`` (1.0 where the arg-max class is the explained class; ROAD's accuracy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError, WSOLError
from wsol.metrics.base import MetricAccumulator, check_batch
from wsol.utils.modules import eval_mode, logits_of

SCORES = ("probability", "logit", "correct")

ExplainFn = Callable[[nn.Module, Tensor, Tensor], Tensor]
"""``explain(model, images, classes) -> (B, h, w)`` maps of ``classes`` for ``model``."""


def check_score(score: str) -> str:
    if score not in SCORES:
        raise ConfigError(f"unknown score {score!r}; choose from {SCORES}")
    return score


@dataclass(frozen=True)
class ModelProbe:
    """The classifier as the faithfulness metrics see it.

    Args:
        model: returns ``(N, K)`` logits (or an object with ``.logits``); it runs in eval
            mode under ``torch.inference_mode`` and its train/eval flags are restored.
        explain: ``(model, images, classes) -> (B, h, w)`` maps; only the randomisation
            check needs it (it explains the same images with randomised copies of ``model``).
        batch_size: images per forward pass (all perturbed copies of a batch are cut
            into forwards of this size).
    """

    model: nn.Module
    explain: ExplainFn | None = None
    batch_size: int = 128

    def __post_init__(self) -> None:
        if self.batch_size <= 0:
            raise ConfigError(f"ModelProbe batch_size must be positive, got {self.batch_size}")

    def logits(self, images: Tensor) -> Tensor:
        """``(N, K)`` logits of ``images``, in forwards of ``batch_size``."""
        return self.perturbed_logits(len(images), lambda rows: images[rows])

    def perturbed_logits(self, count: int, build: Callable[[slice], Tensor]) -> Tensor:
        """Logits of ``count`` images that ``build(rows)`` makes a slice at a time (bounded memory)."""
        out = []
        with eval_mode(self.model), torch.inference_mode():
            for start in range(0, count, self.batch_size):
                rows = slice(start, min(start + self.batch_size, count))
                out.append(logits_of(self.model(build(rows))).float())
        if not out:
            raise WSOLError("no images to score")
        return torch.cat(out)


def class_scores(logits: Tensor, classes: Tensor, score: str) -> Tensor:
    """``(N,)`` float64 scores of ``classes[i]`` in ``logits[i]`` (see the module docstring)."""
    index = classes.to(logits.device).long()[:, None]
    if score == "probability":
        values = logits.softmax(1).gather(1, index)[:, 0]
    elif score == "logit":
        values = logits.gather(1, index)[:, 0]
    else:
        values = (logits.argmax(1) == index[:, 0]).float()
    return values.double().cpu()


@dataclass(frozen=True)
class FaithfulnessBatch:
    """One batch for the faithfulness metrics.

    Args:
        probe: the model (and explain function).
        images: ``(B, C, H, W)`` float model inputs (normalised as the model expects).
        classes: ``(B,)`` the class each map explains (usually the predicted one).
    """

    probe: ModelProbe
    images: Tensor
    classes: Tensor

    def __post_init__(self) -> None:
        images = self.images
        if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
            raise WSOLError("FaithfulnessBatch.images must be a (B, C, H, W) float tensor")
        if tuple(self.classes.shape) != (len(self.images),):
            got = tuple(self.classes.shape)
            raise WSOLError(f"FaithfulnessBatch.classes must have shape ({len(self.images)},), got {got}")

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the model inputs."""
        return int(self.images.shape[-2]), int(self.images.shape[-1])


def maps_at_input_size(maps: Sequence[Any], size: tuple[int, int], image_ids: Sequence[str]) -> Tensor:
    """Raw ``(h, w)`` maps as a ``(B, H, W)`` float32 CPU tensor at the model input size ``(H, W)``.

    Maps at another size are resized bilinearly (``align_corners=False``, as OpenCV's
    ``INTER_LINEAR`` and as the explainers' own upsampling).
    """
    resized = []
    for raw, image_id in zip(maps, image_ids, strict=True):
        heatmap = torch.as_tensor(np.asarray(raw.detach().cpu() if hasattr(raw, "detach") else raw))
        if heatmap.dim() != 2:
            raise DataError(f"{image_id}: expected an (h, w) map, got shape {tuple(heatmap.shape)}")
        if torch.isnan(heatmap).any():
            raise DataError(f"{image_id}: heatmap has NaN values")
        heatmap = heatmap.float()
        if tuple(heatmap.shape) != tuple(size):
            heatmap = F.interpolate(heatmap[None, None], size=size, mode="bilinear", align_corners=False)
            heatmap = heatmap[0, 0]
        resized.append(heatmap)
    return torch.stack(resized)


class ModelMetric(MetricAccumulator):
    """Base of the metrics that call the model: ``update`` needs a :class:`FaithfulnessBatch`.

    They require the pseudo ground-truth kind ``"faithfulness"``, which no dataset has:
    evaluation runs them only when asked to (and then hands them the context).
    """

    requires: ClassVar[frozenset[str]] = frozenset({"faithfulness"})

    def update(
        self,
        maps: Sequence[Any],
        targets: Sequence[Sample],
        predictions: Sequence[int] | None = None,
        context: FaithfulnessBatch | None = None,
    ) -> None:
        """Score a batch of maps of ``context.images`` (``targets`` give the image ids)."""
        check_batch(maps, targets, predictions)
        name = type(self).__name__
        if context is None:
            raise WSOLError(f"{name} calls the model: pass context=FaithfulnessBatch(probe, images, classes)")
        if len(context.images) != len(targets):
            raise WSOLError(f"{name}: got {len(context.images)} images for {len(targets)} targets")
        image_ids = [t.image_id for t in targets]
        self.score_batch(maps_at_input_size(maps, context.size, image_ids), image_ids, context)

    def score_batch(self, maps: Tensor, image_ids: list[str], context: FaithfulnessBatch) -> None:
        """Score ``(B, H, W)`` maps at the input size and append the rows."""
        raise NotImplementedError

    def _append_with_curves(self, image_ids: list[str], curves: dict[str, np.ndarray], **values: Any) -> None:
        """Append per-image ``values`` and ``(B, L)`` ``curves`` (stored as rows ``<name>/<index>``).

        The curve rows are created by the first batch (the length, e.g. the number of
        steps or layers, is known only then) and every later batch must match it.
        """
        for name, curve in curves.items():
            existing = self._curve_keys(name)
            if not existing and not len(self.rows("image_id")):
                for i in range(curve.shape[1]):
                    self._add_row(f"{name}/{i:04d}", float)
            elif len(existing) != curve.shape[1]:
                raise WSOLError(
                    f"{type(self).__name__}: {name} has {curve.shape[1]} points, "
                    f"earlier batches {len(existing)}"
                )
            values.update({f"{name}/{i:04d}": curve[:, i] for i in range(curve.shape[1])})
        self._append_rows(image_id=image_ids, **values)

    def _curve_keys(self, name: str) -> list[str]:
        return sorted(k for k in self._rows if k.startswith(f"{name}/"))

    def curve(self, name: str) -> np.ndarray:
        """``(N, L)`` per-image curve ``name``."""
        keys = self._curve_keys(name)
        return np.stack([self.rows(k) for k in keys], axis=1) if keys else np.zeros((0, 0))

    def merge_state(self, state: Mapping[str, np.ndarray]) -> None:
        if not len(self.rows("image_id")):  # adopt the curve rows of a state that has them
            for key in state:
                row = key.removeprefix("rows/")
                if key.startswith("rows/") and "/" in row and row not in self._rows:
                    self._add_row(row, float)
        super().merge_state(state)
