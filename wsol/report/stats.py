"""Mean and sample standard deviation over runs: the one aggregation every table of results uses."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MeanStd:
    """``mean`` and sample standard deviation ``std`` (NaN for a single run: undefined) of ``n`` runs."""

    mean: float
    std: float
    n: int

    def format(self, spec: str) -> str:
        """``mean ± std`` with the format ``spec`` (the mean alone for a single run)."""
        if math.isnan(self.std):
            return format(self.mean, spec)
        return f"{format(self.mean, spec)} ± {format(self.std, spec)}"

    def as_json(self) -> dict[str, Any]:
        """JSON-safe fields (an undefined ``std`` becomes null)."""
        return {"mean": self.mean, "std": None if math.isnan(self.std) else self.std, "runs": self.n}


def mean_std(values: Sequence[float]) -> MeanStd | None:
    """:class:`MeanStd` of ``values`` (None if there are none)."""
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return MeanStd(statistics.fmean(values), std, len(values))


def numbers(records: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """The finite numbers stored under ``key`` in ``records`` (records without it are skipped)."""
    return [float(r[key]) for r in records if is_number(r.get(key))]


def aggregate(records: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, MeanStd]:
    """Per key, :class:`MeanStd` over the ``records`` that hold a finite number under it."""
    stats = {key: mean_std(numbers(records, key)) for key in keys}
    return {key: stat for key, stat in stats.items() if stat is not None}


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
