"""Model-parameter randomisation test (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018).

A map that explains the model must change when the model's weights are destroyed. The
layers of the model (every module with its own parameters and a ``reset_parameters``
method, in registration order) are re-initialised from the top (the logits) down:

* ``order="cascading"`` (the paper's cascading randomisation): layer ``l`` of the curve
  has layers ``L .. l`` randomised together;
* ``order="independent"``: layer ``l`` alone is randomised.

After each step the same images are explained for the same classes with the
randomised copy (``probe.explain``) and compared with the trained model's maps (the maps
given to ``update``), per image, by

* ``spearman``: Spearman rank correlation of the two maps' pixels (ties get their mean
  rank, as ``scipy.stats.spearmanr``);
* ``ssim``: SSIM (``skimage.metrics.structural_similarity``, 7 x 7 window) of the two
  maps, each min-max normalised to [0, 1], ``data_range=1``;
* ``hog``: Pearson correlation of the maps' HOG features (``skimage.feature.hog``,
  9 orientations, 8 x 8-pixel cells, 2 x 2-cell blocks, on the normalised maps).

The curves (mean similarity per layer, top layer first) should fall towards 0; a method
whose maps stay similar after the whole network is randomised fails the check. Maps
that do not depend on the model (an edge detector, a constant) keep similarity 1.
Summary keys: the mean of each curve (Quantus' ``return_average_correlation``), its last
point (``return_last_correlation``: the fully randomised model for ``cascading``) and
``fails``: 1.0 when the last point's Spearman correlation is above ``threshold``.

Reference: Quantus 0.6.0 ``MPRT`` and ``PyTorchModel.get_random_layer_generator`` (same
layer list and order; each layer's ``reset_parameters`` runs after
``torch.manual_seed``: Quantus seeds ``seed + 1``, wsol ``seed``, with the global RNG
state restored afterwards). Where wsol differs: Quantus compares the flattened maps (so
its SSIM is a 1-D SSIM); wsol computes SSIM and HOG on the 2-D maps, as the paper. A
constant map has no ranks: two identical maps have correlation 1, and a constant
against a non-constant map 0 (Quantus gives NaN).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.stats
import skimage.feature
import skimage.metrics
import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, WSOLError
from wsol.metrics import METRICS
from wsol.metrics.probe import FaithfulnessBatch, ModelMetric, maps_at_input_size

ORDERS = ("cascading", "independent")
MEASURES = ("spearman", "ssim", "hog")


def randomisable_layers(model: nn.Module) -> list[str]:
    """Names of the modules with their own parameters and ``reset_parameters``, top (last) first."""
    names = [
        name
        for name, module in model.named_modules()
        if hasattr(module, "reset_parameters") and any(True for _ in module.parameters(recurse=False))
    ]
    return names[::-1]


def randomised_models(
    model: nn.Module, layers: Sequence[str], order: str, seed: int
) -> Iterator[tuple[str, nn.Module]]:
    """``(layer, model copy)`` with the parameters randomised per ``order`` (the copy is reused)."""
    randomised = copy.deepcopy(model)
    modules = dict(randomised.named_modules())
    trained = copy.deepcopy(randomised.state_dict())
    for name in layers:
        if order == "independent":
            randomised.load_state_dict(trained)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            modules[name].reset_parameters()
        yield name, randomised


def _identical_or(value: float, a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return value


def _normalised(a: np.ndarray) -> np.ndarray:
    span = np.ptp(a)
    return (a - a.min()) / span if span > 0 else np.zeros_like(a)


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image Spearman correlation of two ``(B, H, W)`` map batches (constant maps: see the module)."""
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    ranks = [scipy.stats.rankdata(x, axis=1) for x in (a, b)]
    centred = [r - r.mean(1, keepdims=True) for r in ranks]
    norms = np.sqrt((centred[0] ** 2).sum(1) * (centred[1] ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (centred[0] * centred[1]).sum(1) / norms
    constant = (np.ptp(a, axis=1) == 0) | (np.ptp(b, axis=1) == 0)
    identical = np.array([np.array_equal(x, y) for x, y in zip(a, b, strict=True)])
    return np.where(constant, identical.astype(np.float64), rho)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of the two min-max normalised maps (``data_range=1``)."""
    a64, b64 = _normalised(a.astype(np.float64)), _normalised(b.astype(np.float64))
    return float(skimage.metrics.structural_similarity(a64, b64, data_range=1.0))


def hog_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the HOG features of the two min-max normalised maps."""
    features = [
        skimage.feature.hog(_normalised(m.astype(np.float64)), pixels_per_cell=(8, 8), cells_per_block=(2, 2))
        for m in (a, b)
    ]
    if np.ptp(features[0]) == 0 or np.ptp(features[1]) == 0:
        return _identical_or(0.0, a, b)
    return float(np.corrcoef(features[0], features[1])[0, 1])


def _per_image(fn: Any) -> Any:
    return lambda a, b: np.array([fn(x, y) for x, y in zip(a, b, strict=True)])


_MEASURE_FNS = {"spearman": spearman, "ssim": _per_image(ssim), "hog": _per_image(hog_similarity)}


@METRICS.register("randomisation")
class ParameterRandomisation(ModelMetric):
    """Streaming model-parameter randomisation curves; see the module docstring.

    Result keys ``randomisation/<measure>_curve`` (per layer, top first),
    ``randomisation/<measure>_mean``, ``randomisation/<measure>_last``,
    ``randomisation/fails`` and ``randomisation/num_images``; the layer names of the
    curves are in :attr:`layer_names` after the first batch.

    Args:
        order: ``"cascading"`` (default) or ``"independent"``.
        measures: any of ``spearman``, ``ssim``, ``hog``.
        layers: names of the layers to randomise, top first (default: every layer with
            parameters, see :func:`randomisable_layers`).
        seed: seeds each layer's re-initialisation.
        threshold: Spearman correlation at the end of the curve above which ``fails`` is 1.
    """

    def __init__(
        self,
        order: str = "cascading",
        measures: Sequence[str] = MEASURES,
        layers: Sequence[str] | None = None,
        seed: int = 42,
        threshold: float = 0.5,
    ) -> None:
        super().__init__()
        if order not in ORDERS:
            raise ConfigError(f"unknown randomisation order {order!r}; choose from {ORDERS}")
        unknown = sorted(set(measures) - set(MEASURES))
        if unknown or not measures:
            raise ConfigError(f"randomisation measures must be some of {MEASURES}, got {list(measures)}")
        self.order, self.measures, self.seed, self.threshold = order, tuple(measures), seed, threshold
        self.layer_names: list[str] | None = list(layers) if layers is not None else None

    def score_batch(self, maps: Tensor, image_ids: list[str], context: FaithfulnessBatch) -> None:
        probe = context.probe
        if probe.explain is None:
            raise WSOLError("randomisation needs ModelProbe.explain, the function that makes the maps")
        layers = self._layers(probe.model)
        trained = maps.numpy()
        curves = {m: np.zeros((len(trained), len(layers))) for m in self.measures}
        for j, (_, model) in enumerate(randomised_models(probe.model, layers, self.order, self.seed)):
            raw = probe.explain(model, context.images, context.classes).detach()
            randomised = maps_at_input_size(list(raw), context.size, image_ids).numpy()
            for measure, curve in curves.items():
                curve[:, j] = _MEASURE_FNS[measure](trained, randomised)
        self._append_with_curves(image_ids, {f"{m}_curve": c for m, c in curves.items()})

    def _layers(self, model: nn.Module) -> list[str]:
        available = randomisable_layers(model)
        if self.layer_names is None:
            self.layer_names = available
        missing = [name for name in self.layer_names if name not in available]
        if missing:
            raise ConfigError(f"randomisation layers {missing} are not modules with parameters of the model")
        if not self.layer_names:
            raise WSOLError("the model has no layer with parameters to randomise")
        return self.layer_names

    def compute(self) -> dict[str, float | np.ndarray]:
        n = len(self.rows("image_id"))
        out: dict[str, float | np.ndarray] = {"num_images": float(n)}
        if n:
            for measure in self.measures:
                curve = self.curve(f"{measure}_curve").mean(0)
                out.update({f"{measure}_curve": curve, f"{measure}_mean": float(curve.mean())})
                out[f"{measure}_last"] = float(curve[-1])
            if "spearman" in self.measures:
                out["fails"] = float(out["spearman_last"] > self.threshold)
        return {f"randomisation/{k}": v for k, v in out.items()}
