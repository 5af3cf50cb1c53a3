"""Speed of wsol's AUC-Judd against a direct MIT-style loop over fixations.

Run: ``python benchmarks/bench_saliency.py`` (from the repository root; its AUC-Judd line
at 50 fixations is also part of ``bench_metrics.py``). Prints the process CPU time per
map of each and their ratio on 100 random 480x640 maps with 50 fixations each, then with
500 (the loop's cost grows with the number of fixations; wsol counts the pixels above
every fixated value in one pass over the map).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol.metrics.saliency import auc_judd  # noqa: E402


def auc_judd_loop(smap: np.ndarray, points: np.ndarray) -> float:
    """AUC-Judd as the MIT code computes it: one pass over all pixels per fixated threshold."""
    s = (smap - smap.min()) / (smap.max() - smap.min())
    fixated = np.zeros(s.shape, dtype=bool)
    fixated[points[:, 1], points[:, 0]] = True
    values = s.ravel()
    thresholds = np.sort(s[fixated])[::-1]
    k, n = thresholds.size, values.size
    tp, fp = np.zeros(k + 2), np.zeros(k + 2)
    tp[-1] = fp[-1] = 1.0
    for i, t in enumerate(thresholds, start=1):
        above = np.count_nonzero(values >= t)
        tp[i] = i / k
        fp[i] = (above - i) / (n - k)
    return float(np.trapezoid(tp, fp))


def make_inputs(n_maps: int, shape: tuple[int, int], n_fix: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    h, w = shape
    cases = []
    for _ in range(n_maps):
        smap = rng.random(shape)
        points = np.stack([rng.integers(0, w, n_fix), rng.integers(0, h, n_fix)], axis=1)
        cases.append((smap, points))
    return cases


def _time(fn, cases: list, repeats: int) -> tuple[float, list[float]]:
    best, values = np.inf, []
    for _ in range(repeats):
        start = time.process_time()
        values = [fn(smap, points) for smap, points in cases]
        best = min(best, time.process_time() - start)
    return best, values


def compare(n_maps: int, shape: tuple[int, int], n_fix: int, repeats: int) -> float:
    """Time both implementations on the same maps; print per-map times; return the speed-up."""
    cases = make_inputs(n_maps, shape, n_fix)
    auc_judd(*cases[0], jitter=False)  # numba compile/load: untimed
    fast, fast_values = _time(lambda s, p: auc_judd(s, p, jitter=False), cases, repeats)
    slow, slow_values = _time(auc_judd_loop, cases, repeats)
    max_diff = float(np.max(np.abs(np.array(fast_values) - np.array(slow_values))))
    print(
        f"AUC-Judd (no jitter), {n_maps} maps {shape[0]}x{shape[1]}, {n_fix} fixations each, "
        f"best of {repeats}:"
    )
    print(f"  wsol auc_judd:             {1e3 * fast / n_maps:7.2f} ms/map")
    print(f"  direct loop (MIT-style):   {1e3 * slow / n_maps:7.2f} ms/map")
    print(f"  speed-up {slow / fast:.2f}x, max |difference| {max_diff:.1e}")
    return slow / fast


def main(n_maps: int = 100, shape: tuple[int, int] = (480, 640), repeats: int = 3) -> dict[int, float]:
    """Speed-ups at ~50 fixations per map (the target case) and at 500 (scaling)."""
    return {n_fix: compare(n_maps, shape, n_fix, repeats) for n_fix in (50, 500)}


if __name__ == "__main__":
    main()
