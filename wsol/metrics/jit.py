"""numba compilation of wsol's metric kernels.

Kernels are compiled on first use and cached on disk (next to the module, or in numba's
user cache directory) so that later processes load them in well under a second; where no
cache location is writable they are compiled in every process instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numba


def jit(fn: Callable) -> Callable:
    """``numba.njit`` with an on-disk cache, or without one where no cache dir is writable."""
    try:
        return numba.njit(cache=True)(fn)
    except RuntimeError:  # numba found no writable cache location
        return numba.njit(fn)
