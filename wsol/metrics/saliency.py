"""Fixation-based saliency metrics: AUC-Judd, AUC-Borji, shuffled AUC, NSS, CC, KLD, SIM, IG.

Definitions follow Bylinskii et al., "What do different evaluation metrics tell us about
saliency models?" (TPAMI 2019) and, by default (``convention="mit"``), reproduce the MIT
saliency benchmark code exactly: cvzoya/saliency, ``code_forMetrics``, commit 5951cdc
(golden outputs from GNU Octave agree to ~1e-13). ``convention="pysaliency"`` reproduces
pysaliency 0.2.22 (matthias-k/pysaliency) instead; each function's docstring lists
where the two differ.

Common rules:

* Inputs are numpy arrays or torch tensors of any float dtype; everything is computed in
  float64. Maps with NaN or inf, empty fixation lists and out-of-image fixations raise
  :class:`~wsol.errors.DataError`.
* Fixations are ``(M, 2)`` ``(x, y)`` 0-based pixel coordinates on the grid of
  ``shape = (H, W)`` (the image / fixation-map grid; default: the saliency map's own
  shape); see :mod:`wsol.metrics.fixations` for how real-valued points map to pixels.
* The saliency map is resized to that grid with MATLAB's bicubic ``imresize``
  (:mod:`wsol.metrics.imresize`), in both conventions (pysaliency itself refuses a shape
  mismatch). MIT calls ``imresize`` only on a mismatch in the AUCs and always elsewhere;
  as it is the identity on equal shapes this is the same thing.
* MIT scores each fixated *pixel* once (it reads a binary fixation map); pysaliency scores
  every fixation, so repeated fixations weigh more.
* A constant saliency map (max == min, checked exactly) gives NaN under MIT, where the
  MIT code divides 0 by 0; pysaliency has explicit values (documented per metric).
  wsol tests for constancy directly instead of relying on ``0/0``, which for constants
  that are not exactly representable would give rounding noise instead of NaN.
* The random metrics take ``rng``: a ``numpy.random.Generator`` or an int seed for
  ``numpy.random.default_rng`` (AUC-Judd's jitter also takes a legacy ``RandomState``,
  to reproduce pysaliency's seeded jitter). Their values are distributed like MIT's but cannot equal
  MIT's single runs (MATLAB's generator differs).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from wsol.errors import ConfigError, DataError
from wsol.metrics.fixations import fixation_pixels
from wsol.metrics.imresize import imresize
from wsol.metrics.jit import jit
from wsol.metrics.maps import ArrayLike, as_map, as_numpy, min_max

Convention = Literal["mit", "pysaliency"]
RandomSource = np.random.Generator | int
JitterSource = np.random.Generator | np.random.RandomState | int

MIT_EPS = float(np.finfo(np.float64).eps)  # MATLAB ``eps`` = 2.220446049250313e-16
PYSALIENCY_EPS = 2.2204e-16  # pysaliency.metrics.MIT_KLDiv's truncated eps
JITTER_SIZE = 1e-7  # both references jitter AUC-Judd maps at this scale


# ----------------------------------------------------------------------------- helpers


def check_convention(convention: str) -> None:
    """``ConfigError`` unless ``convention`` is ``"mit"`` or ``"pysaliency"``."""
    if convention not in ("mit", "pysaliency"):
        raise ConfigError(f"convention must be 'mit' or 'pysaliency', got {convention!r}")


def _generator(rng: JitterSource, legacy: bool = False) -> np.random.Generator | np.random.RandomState:
    """A Generator from an int seed, or ``rng`` itself (a legacy RandomState if ``legacy``)."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.Generator) or (legacy and isinstance(rng, np.random.RandomState)):
        return rng
    raise ConfigError(f"rng must be a numpy Generator or an int seed, got {type(rng).__name__}")


def _map_on_grid(saliency_map: ArrayLike, shape: tuple[int, int] | None) -> np.ndarray:
    smap = as_map(saliency_map)
    return smap if shape is None else imresize(smap, shape)


def _fixated(points: ArrayLike, shape: tuple[int, int], unique: bool) -> np.ndarray:
    """Flat pixel indices of the fixations: unique pixels (MIT) or one per fixation."""
    rows, cols = fixation_pixels(points, shape)
    flat = rows * shape[1] + cols
    return np.unique(flat) if unique else flat


def _is_constant(values: np.ndarray) -> bool:
    return bool(values.max() == values.min())


def _density_pysaliency(values: np.ndarray) -> np.ndarray:
    """pysaliency's map -> density: shift a negative minimum to 0, divide by the sum
    (an all-zero map becomes uniform). No min-max."""
    if values.min() < 0:
        values = values - values.min()
    total = values.sum()
    return values / total if total else np.full(values.shape, 1.0 / values.size)


def _count_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``out[j] = #{v in values: v >= thresholds[j]}``, in O(n + k) for n values, k thresholds.

    The distinct thresholds are bucketed on a uniform grid over their range; a value is
    compared only with the thresholds of its own cell (bucketing is monotone, so all
    thresholds in lower cells are below it). Where thresholds crowd into a few cells
    (strongly skewed values), one sort of the values is faster: O((n + k) log n).
    Exact comparisons either way, against O(n k) for a pass per threshold.
    """
    distinct, inverse = np.unique(thresholds, return_inverse=True)
    counts = _grid_count_at_least(values, distinct)
    if counts[0] < 0:  # crowded grid
        counts = len(values) - np.searchsorted(np.sort(values), distinct, side="left")
    return counts[inverse]


_CELLS_PER_THRESHOLD = 64
_MAX_CROWD = 4  # most distinct thresholds in one cell before sorting wins


@jit
def _grid_count_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """:func:`_count_at_least` for distinct ascending thresholds; ``[-1]`` if they crowd."""
    k = thresholds.size
    lo, hi = thresholds[0], thresholds[k - 1]
    n_cells = _CELLS_PER_THRESHOLD * k
    scale = n_cells / (hi - lo) if hi > lo else 0.0
    if not np.isfinite(scale):  # range too small to divide by
        scale = 0.0
    top = n_cells - 1
    first = np.zeros(n_cells + 1, np.int64)  # first[c]: thresholds in cells before c
    for t in thresholds:
        f = (t - lo) * scale
        first[(top if f >= top else int(f)) + 1] += 1
    if first.max() > _MAX_CROWD:
        return np.full(1, -1, np.int64)
    for c in range(n_cells):
        first[c + 1] += first[c]
    below = np.zeros(k + 1, np.int64)  # below[m]: values with exactly m thresholds <= them
    for v in values:
        if v < lo:
            below[0] += 1
            continue
        f = (v - lo) * scale  # monotone in v, as the cells of the thresholds
        cell = top if f >= top else int(f)
        a, b = first[cell], first[cell + 1]
        while a < b:
            mid = (a + b) >> 1
            if thresholds[mid] <= v:
                a = mid + 1
            else:
                b = mid
        below[a] += 1
    out = np.empty(k, np.int64)
    total = 0
    for j in range(k, 0, -1):
        total += below[j]
        out[j - 1] = total
    return out


def _roc_area(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Trapezoid area under ROC points, with (0, 0) and (1, 1) added, along the last axis."""
    end = (*fpr.shape[:-1], 1)
    fpr = np.concatenate([np.zeros(end), fpr, np.ones(end)], axis=-1)
    tpr = np.concatenate([np.zeros(end), tpr, np.ones(end)], axis=-1)
    return np.trapezoid(tpr, fpr, axis=-1)


def _exact_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Exact ROC area over all thresholds = P(neg < pos) + P(neg == pos) / 2 (Mann-Whitney)."""
    neg = np.sort(negatives)
    below = np.searchsorted(neg, positives, side="left")
    at_or_below = np.searchsorted(neg, positives, side="right")
    return float(np.mean((below + at_or_below) / 2.0) / len(neg))


def _auc_step_mit(positives: np.ndarray, negatives: np.ndarray, step: float) -> float:
    """MIT's fixed-step ROC, averaged over splits (rows of ``negatives``).

    MIT sweeps ``0:step:max(values of the split)`` downwards; TPR and FPR are the
    fractions of positives and of that split's negatives ``>= t``. Values are min-max
    normalised (max 1), so one grid ``k * step <= 1`` serves all splits: thresholds
    above a split's maximum add only (0, 0) points, i.e. zero area. (MATLAB and Octave
    also clip the last range element to the limit when it overshoots it by rounding; that
    differs only when a split's maximum lies within a few ulps of a multiple of ``step``.)
    """
    grid = step * np.arange(int(np.floor(1.0 / step + 1e-9)) + 1)[::-1]
    tpr = (positives[:, None] >= grid).mean(axis=0)
    fpr = (negatives[:, :, None] >= grid).mean(axis=1)
    return float(np.mean(_roc_area(fpr, np.broadcast_to(tpr, fpr.shape))))


def _check_step(n_splits: int, step: float) -> None:
    if n_splits < 1 or not 0 < step <= 1:
        raise ConfigError(f"need n_splits >= 1 and 0 < step <= 1, got {n_splits}, {step}")


# ----------------------------------------------------------------------------- AUCs


def auc_judd(
    saliency_map: ArrayLike,
    fixations: ArrayLike,
    *,
    shape: tuple[int, int] | None = None,
    jitter: bool = True,
    rng: JitterSource = 0,
    convention: Convention = "mit",
) -> float:
    """AUC-Judd: ROC area of the saliency map as a classifier of fixated pixels.

    MIT (``AUC_Judd.m``): optionally add uniform noise ``U[0, 1) / 1e7`` to every pixel
    (``jitter``, MIT's default, breaks ties at random), min-max normalise, take the K
    values at the *unique* fixated pixels as thresholds in descending order
    ``t_1 >= ... >= t_K``; at ``t_i`` ``TPR = i / K`` and
    ``FPR = (#{pixels >= t_i} - i) / (P - K)`` with P pixels; add (0, 0), (1, 1), trapezoid
    rule. Ties are pessimistic: FPR counts all pixels tied at ``t_i`` at once while TPR
    moves one fixation at a time. Constant map -> NaN.

    pysaliency (``SaliencyMapModel.AUC_Judd``): positives are the values at *every*
    fixation (duplicates kept), negatives the never-fixated pixels; thresholds are the
    positive values (plus sentinels) and at each one TPR and FPR count values ``>= t``,
    so tied positives and negatives move together (half credit across a tie); jitter is
    Gaussian, ``standard_normal(H, W) * 1e-7`` on the raw map; no min-max; a constant map
    gives 0.5. pysaliency's default ``RandomState(42)`` jitter is reproduced exactly by
    passing ``rng=numpy.random.RandomState(42)``.

    Args:
        saliency_map: ``(h, w)`` map, resized to ``shape`` if different.
        fixations: ``(M, 2)`` ``(x, y)`` points on the ``shape`` grid.
        shape: ``(H, W)`` of the fixation grid; default the map's shape.
        jitter: add the tie-breaking noise (default True, as in both references).
        rng: noise source: Generator, legacy ``RandomState`` or int seed.
        convention: ``"mit"`` or ``"pysaliency"``.
    """
    check_convention(convention)
    smap = _map_on_grid(saliency_map, shape)
    if jitter:
        gen = _generator(rng, legacy=True)
        if convention == "mit":
            smap = smap + gen.random(smap.shape) / 1e7
        else:
            smap = smap + gen.standard_normal(smap.shape) * JITTER_SIZE
    values = smap.ravel()
    if convention == "pysaliency":
        fixated = _fixated(fixations, smap.shape, unique=False)
        return _auc_judd_pysaliency(values, fixated)
    fixated = _fixated(fixations, smap.shape, unique=True)
    if _is_constant(values):
        return float("nan")
    return _auc_judd_mit(min_max(values), fixated)


def _auc_judd_mit(values: np.ndarray, fixated: np.ndarray) -> float:
    """MIT's ROC on min-max normalised ``values``."""
    n_pix, k = values.size, fixated.size
    thresholds = np.sort(values[fixated])[::-1]  # MIT sweeps them in descending order
    above = _count_at_least(values, thresholds)
    i = np.arange(1, k + 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # K == P: 0/0, as in MIT
        fpr = (above - i) / (n_pix - k)
    return float(_roc_area(fpr, i / k))


def _auc_judd_pysaliency(values: np.ndarray, fixated: np.ndarray) -> float:
    positives = values[fixated]
    unfixated = np.ones(values.size, dtype=bool)
    unfixated[fixated] = False
    negatives = values[unfixated]
    if negatives.size == 0:
        raise DataError("AUC-Judd: every pixel is fixated, no negatives left")
    low = min(positives.min(), negatives.min())
    high = max(positives.max(), negatives.max()) + 1
    thresholds = np.sort(np.concatenate([[low], positives, [high]]))[::-1]
    tpr = _count_at_least(positives, thresholds) / positives.size
    fpr = _count_at_least(negatives, thresholds) / negatives.size
    return float(np.trapezoid(np.concatenate([[0.0], tpr]), np.concatenate([[0.0], fpr])))


def auc_borji(
    saliency_map: ArrayLike,
    fixations: ArrayLike,
    *,
    shape: tuple[int, int] | None = None,
    n_splits: int = 100,
    step: float = 0.1,
    rng: RandomSource = 0,
    convention: Convention = "mit",
) -> float:
    """AUC-Borji: fixated pixels against pixels drawn uniformly from the whole map.

    MIT (``AUC_Borji.m``): NaN if at most one pixel is fixated or the map is constant;
    min-max normalise; positives are the K unique fixated pixels; each of ``n_splits``
    splits draws K pixels uniformly *with replacement* from all pixels (fixated ones
    included) as negatives; thresholds ``0, step, 2 step, ...`` up to the split's
    maximum; TPR / FPR = fraction of positives / negatives ``>= t``; trapezoid area with
    (0, 0), (1, 1) added, averaged over splits. The coarse grid (11 thresholds) biases
    the value against the exact AUC (by -0.026 ... +0.008 on the golden set).

    pysaliency has no AUC-Borji. ``convention="pysaliency"`` gives the quantity Borji
    estimates, pysaliency's ``AUC_per_image(nonfixations="uniform", thresholds="all")``:
    the exact ROC area of the values at every fixation (duplicates kept) against all
    pixels, ties counted as 1/2; it is deterministic and ignores ``n_splits``, ``step``
    and ``rng``.
    """
    check_convention(convention)
    _check_step(n_splits, step)
    smap = _map_on_grid(saliency_map, shape)
    values = smap.ravel()
    if convention == "pysaliency":
        return _exact_auc(values[_fixated(fixations, smap.shape, unique=False)], values)
    fixated = _fixated(fixations, smap.shape, unique=True)
    if fixated.size <= 1 or _is_constant(values):
        return float("nan")
    values = min_max(values)
    draws = _generator(rng).integers(0, values.size, size=(n_splits, fixated.size))
    return _auc_step_mit(values[fixated], values[draws], step)


def auc_shuffled(
    saliency_map: ArrayLike,
    fixations: ArrayLike,
    other: ArrayLike,
    *,
    shape: tuple[int, int] | None = None,
    n_splits: int = 100,
    step: float = 0.1,
    rng: RandomSource = 0,
    convention: Convention = "mit",
) -> float:
    """Shuffled AUC: fixated pixels against the fixations of *other* images (centre-bias free).

    ``other`` is either an ``(H, W)`` map on the ``shape`` grid whose nonzero pixels are
    the other images' fixations (MIT's ``otherMap``; each such pixel counts once in both
    conventions), or an ``(N, 2)`` array of their ``(x, y)`` points, already scaled to
    this image's grid.

    MIT (``AUC_shuffled.m``): min-max normalise (constant map -> NaN); positives are the
    K unique fixated pixels; the candidate negatives are the L unique *locations* of
    ``other``; each split takes ``min(K, L)`` of them at random *without replacement*;
    the fixed-step ROC and averaging are those of :func:`auc_borji`.

    pysaliency (``AUC_per_image(nonfixations="shuffled", thresholds="all")``): positives
    are the values at every fixation, negatives the values at *every* other fixation
    (duplicates included, no sampling), exact ROC with ties as 1/2; deterministic, ignores
    ``n_splits``, ``step`` and ``rng``. pysaliency rescales other images' fixations by the
    size ratio itself; here the caller passes them on this image's grid.
    """
    check_convention(convention)
    _check_step(n_splits, step)
    smap = _map_on_grid(saliency_map, shape)
    values = smap.ravel()
    unique = convention == "mit"
    fixated = _fixated(fixations, smap.shape, unique=unique)
    others = _other_locations(other, smap.shape, unique=unique)
    if convention == "pysaliency":
        return _exact_auc(values[fixated], values[others])
    if _is_constant(values):
        return float("nan")
    values = min_max(values)
    n_neg, gen = min(fixated.size, others.size), _generator(rng)
    draws = np.stack([gen.choice(others, n_neg, replace=False) for _ in range(n_splits)])
    return _auc_step_mit(values[fixated], values[draws], step)


def _other_locations(other: ArrayLike, shape: tuple[int, int], unique: bool) -> np.ndarray:
    if as_numpy(other).shape == shape:
        flat = np.flatnonzero(as_map(other, "other-fixation map"))
        if flat.size == 0:
            raise DataError("shuffled AUC: the other-fixation map has no fixated pixel")
        return flat
    try:
        return _fixated(other, shape, unique)
    except DataError as err:
        raise DataError(f"shuffled AUC, other fixations: {err}") from None


# ----------------------------------------------------------------------------- NSS, IG


def nss(
    saliency_map: ArrayLike,
    fixations: ArrayLike,
    *,
    shape: tuple[int, int] | None = None,
    convention: Convention = "mit",
) -> float:
    """Normalized Scanpath Saliency: mean standardised saliency at fixations.

    ``NSS = mean_f (S(f) - mean(S)) / std(S)``.

    MIT (``NSS.m``): sample std (N - 1 denominator), mean over unique fixated pixels,
    constant map -> NaN. pysaliency (``NSSs``): population std (N denominator, so
    ``NSS_py = NSS_mit * sqrt(N / (N - 1))`` without duplicates), mean over every
    fixation (duplicates kept), constant map -> 0.
    """
    check_convention(convention)
    smap = _map_on_grid(saliency_map, shape)
    mit = convention == "mit"
    fixated = _fixated(fixations, smap.shape, unique=mit)
    values = smap.ravel()
    if _is_constant(values):
        return float("nan") if mit else 0.0
    std = values.std(ddof=1 if mit else 0)
    return float(np.mean((values[fixated] - values.mean()) / std))


def info_gain(
    saliency_map: ArrayLike,
    fixations: ArrayLike,
    baseline: ArrayLike,
    *,
    shape: tuple[int, int] | None = None,
    convention: Convention = "mit",
) -> float:
    """Information gain (bits per fixation) of the map over a baseline map.

    ``IG = mean_f log2(eps + p(f)) - log2(eps + b(f))`` where p and b are the saliency
    map and the baseline (e.g. :func:`~wsol.metrics.fixations.center_bias`) turned into
    densities. Both are resized to ``shape`` (default: the saliency map's shape).

    MIT (``InfoGain.m``, Kümmerer et al. PNAS 2015 in MIT's discrete form): each map is
    min-max normalised, then divided by its sum; ``eps`` = 2.220446049250313e-16; mean over
    unique fixated pixels. Min-max sets each map's minimum pixel to exactly 0, so a
    fixation there scores about -52 bits (map) or +52 bits (baseline). A constant map or
    baseline gives NaN.

    pysaliency (``SaliencyMapNormalizingModel(...).information_gains``): densities by
    dividing by the sum only (a negative minimum is first shifted to 0, an all-zero map
    becomes uniform), no eps, so a zero value at a fixation gives -inf (or +inf in the
    baseline); mean over every fixation (duplicates kept).
    """
    check_convention(convention)
    smap = _map_on_grid(saliency_map, shape)
    base = imresize(as_map(baseline, "baseline map"), smap.shape)
    values, base_values = smap.ravel(), base.ravel()
    if convention == "pysaliency":
        fixated = _fixated(fixations, smap.shape, unique=False)
        p, b = _density_pysaliency(values)[fixated], _density_pysaliency(base_values)[fixated]
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.mean(np.log2(p) - np.log2(b)))
    fixated = _fixated(fixations, smap.shape, unique=True)
    if _is_constant(values) or _is_constant(base_values):
        return float("nan")
    p = min_max(values)
    b = min_max(base_values)
    p, b = p[fixated] / p.sum(), b[fixated] / b.sum()
    return float(np.mean(np.log2(MIT_EPS + p) - np.log2(MIT_EPS + b)))


# ----------------------------------------------------------------------------- CC, KLD, SIM


def _map_pair(saliency_map: ArrayLike, fixation_map: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The saliency map resized to the fixation map's grid, both flat float64."""
    fmap = as_map(fixation_map, "fixation map")
    return imresize(as_map(saliency_map), fmap.shape).ravel(), fmap.ravel()


def cc(saliency_map: ArrayLike, fixation_map: ArrayLike, *, convention: Convention = "mit") -> float:
    """Pearson correlation coefficient between the saliency map and a continuous fixation map.

    ``CC = cov(S, Q) / (std(S) std(Q))``, S resized to the fixation map's shape.
    MIT (``CC.m``) and pysaliency (``metrics.CC``) agree except for constant maps: MIT
    gives NaN; pysaliency gives 0 for a constant saliency map (NaN if the fixation map is
    constant too). A constant fixation map gives NaN in both.
    """
    check_convention(convention)
    s, q = _map_pair(saliency_map, fixation_map)
    if _is_constant(q):
        return float("nan")
    if _is_constant(s):
        return float("nan") if convention == "mit" else 0.0
    s, q = s - s.mean(), q - q.mean()
    return float(np.sum(s * q) / np.sqrt(np.sum(s * s) * np.sum(q * q)))


def kld(
    saliency_map: ArrayLike,
    fixation_map: ArrayLike,
    *,
    convention: Convention = "mit",
    eps: float | None = None,
) -> float:
    """KL divergence of the saliency map P from the fixation map Q (lower is better).

    ``KL = sum_i q_i log(eps + q_i / (p_i + eps))`` (natural log) with p, q the maps
    divided by their sums; S resized to Q's shape.

    MIT (``KLdiv.m``): a map is divided by its sum only if it has a nonzero value (an
    all-zero map stays zero); no shift, no min-max; ``eps`` = 2.220446049250313e-16.
    A map with negative values makes MIT take the log of negative numbers and return a
    complex number (golden ``negative_60x80``: 0.3243 + 0.6387i). **wsol deliberately
    raises** ``DataError`` instead: rescale the map to be non-negative (the ``saliency``
    accumulator min-max normalises by default) or use ``convention="pysaliency"``.

    pysaliency (``metrics.MIT_KLDiv``): a negative minimum is shifted to 0 first, an
    all-zero map becomes uniform, and ``eps`` = 2.2204e-16 (truncated; shifts results by
    ~1e-5 where p = 0 and q > 0). pysaliency's other ``image_based_kl_divergence``
    (1e-20 added to both maps, no eps) is a different metric and is not provided.

    Args:
        eps: overrides the convention's regulariser.
    """
    check_convention(convention)
    s, q = _map_pair(saliency_map, fixation_map)
    if convention == "pysaliency":
        p, q = _density_pysaliency(s), _density_pysaliency(q)
        eps = PYSALIENCY_EPS if eps is None else eps
    else:
        for name, m in (("saliency map", s), ("fixation map", q)):
            if m.min() < 0:
                raise DataError(
                    f"KLD: the {name} has negative values (min {m.min():.4g}); MIT's KLdiv would return "
                    "a complex number. Make it non-negative or use convention='pysaliency'"
                )
        p = s / s.sum() if s.any() else s
        q = q / q.sum() if q.any() else q
        eps = MIT_EPS if eps is None else eps
    return float(np.sum(q * np.log(eps + q / (p + eps))))


def sim(saliency_map: ArrayLike, fixation_map: ArrayLike, *, convention: Convention = "mit") -> float:
    """Similarity (histogram intersection) of the two maps as distributions.

    ``SIM = sum_i min(p_i, q_i)`` with p, q the normalised maps; S resized to Q's shape.

    MIT (``similarity.m``): each map that has a nonzero value is min-max normalised and
    then divided by its sum (an all-zero map stays zero); a constant nonzero map gives
    NaN. pysaliency (``metrics.SIM``): no min-max, only a negative minimum is shifted to
    0, then division by the sum (an all-zero map becomes uniform); so the two differ for
    every map whose minimum is > 0.
    """
    check_convention(convention)
    s, q = _map_pair(saliency_map, fixation_map)
    if convention == "pysaliency":
        return float(np.minimum(_density_pysaliency(s), _density_pysaliency(q)).sum())
    normalised = []
    for m in (s, q):
        if m.any():
            if _is_constant(m):
                return float("nan")
            m = min_max(m)
            m = m / m.sum()
        normalised.append(m)
    return float(np.minimum(*normalised).sum())
