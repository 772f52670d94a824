"""Estimated call time as a range, from observed service times. Numbers in, numbers out.

Model: a service has ``m`` open counters (a counter serving several services counts as a
share of one). A ticket with ``k`` completions to wait for is called after about
``(k - 1/2) * mean / m``; service times add up, so the spread grows with ``sqrt(k)``.
The range is the central ``coverage`` share of a normal approximation, widened by a
calibration factor learned from how far real calls fell from the estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt
from statistics import NormalDist
from typing import Any

from .ids import Millis

MINUTE = 60_000


@dataclass(slots=True)
class ServiceStats:
    """Exponentially weighted mean and variance of service time (ms), with a prior."""

    count: int
    mean: float
    var: float

    @classmethod
    def prior(cls, service_min: float) -> ServiceStats:
        mean = service_min * MINUTE
        return cls(count=0, mean=mean, var=(0.5 * mean) ** 2)

    def observe(self, duration: Millis, alpha: float) -> None:
        """Fold one observed service time in; early observations weigh more than ``alpha``."""
        x = min(max(float(duration), 0.0), 6.0 * self.mean)
        weight = max(alpha, 1.0 / (self.count + 2))
        diff = x - self.mean
        incr = weight * diff
        self.mean += incr
        self.var = (1.0 - weight) * (self.var + diff * incr)
        self.count += 1

    def snapshot(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "var": self.var}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> ServiceStats:
        return cls(count=data["count"], mean=data["mean"], var=data["var"])


@dataclass(frozen=True, slots=True)
class Estimate:
    """Expected call time and its range, all in ms since the epoch."""

    at: Millis
    earliest: Millis
    latest: Millis


def z_for(coverage: float) -> float:
    """Two-sided normal quantile for a central ``coverage`` share (0.8 -> 1.28)."""
    return NormalDist().inv_cdf((1.0 + coverage) / 2.0)


def estimate(
    stats: ServiceStats,
    *,
    position: int,
    servers: float,
    idle: float,
    now: Millis,
    coverage: float,
) -> Estimate:
    """Estimate when the ticket at ``position`` (0 = next) will be called.

    Args:
        stats: observed service times of the service.
        position: calls expected before this ticket's.
        servers: open counter capacity for the service (> 0).
        idle: the part of ``servers`` with no current ticket.
        now: the time of the view.
        coverage: central share of outcomes the range should hold.
    """
    mean, sd = stats.mean, sqrt(max(stats.var, 0.0))
    k = position + 1 - idle
    z = z_for(coverage)
    if k <= 0:
        return Estimate(at=now, earliest=now, latest=now + round(z * mean / 2))
    mid = (k - 0.5) * mean / servers
    spread = z * sqrt(k * sd * sd + mean * mean / 12.0) / servers
    return Estimate(at=now + round(mid), earliest=now + max(0, round(mid - spread)), latest=now + round(mid + spread))
