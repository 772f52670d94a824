"""Estimated call time as a range, from observed service times. Numbers in, numbers out.

Plain model: a service has ``m`` open counters (a counter serving several services counts as
a share of one). A ticket with ``k`` calls to wait for is called after about
``(k - 1/2) * mean / m``, where ``mean`` is the observed time from call to completion.

That model misses what patients feel most: priority tickets that arrive later and go ahead,
missed tickets that come back, staff pauses. So every ticket remembers the plain wait
predicted when it joined a queue, and its real wait at the call teaches a per-(service, lane)
calibration: the running mean and variance of ``log(actual / predicted)``. The estimate is the
plain wait scaled by the learned bias, and the range is the central ``coverage`` share of the
learned spread: a range patients can hold the engine to, because it is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import exp, log, sqrt
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


@dataclass(slots=True)
class Calibration:
    """How real waits compared with the plain model: EWMA of log(actual / predicted).

    Waits are shifted by ``OFFSET`` before the log so that short waits do not dominate.
    """

    count: int = 0
    mu: float = 0.0
    var: float = 0.35**2

    def observe(self, predicted: Millis, actual: Millis, alpha: float) -> None:
        # One odd wait (a patient who went home, a staff member who left the counter open and
        # idle) must not teach the model a factor of ten: ratios count at most 1:8 either way.
        x = min(max(log((max(actual, 0) + OFFSET) / (max(predicted, 0) + OFFSET)), -LOG_CLAMP), LOG_CLAMP)
        weight = max(alpha, 1.0 / (self.count + 2))
        diff = x - self.mu
        incr = weight * diff
        self.mu += incr
        self.var = (1.0 - weight) * (self.var + diff * incr)
        self.count += 1

    def snapshot(self) -> list[float]:
        return [self.count, self.mu, self.var]

    @classmethod
    def from_snapshot(cls, data: list[float]) -> Calibration:
        return cls(count=int(data[0]), mu=data[1], var=data[2])


#: minutes added to every wait before taking ratios (in ms)
OFFSET = 3 * MINUTE
#: the largest log-ratio one observation may teach (a factor of 8)
LOG_CLAMP = log(8.0)
#: the widest spread a range is drawn from: beyond it a range stops informing anyone
MAX_LOG_SD = 0.8


@dataclass(frozen=True, slots=True)
class Estimate:
    """Expected call time and its range, all in ms since the epoch."""

    at: Millis
    earliest: Millis
    latest: Millis


def z_for(coverage: float) -> float:
    """Two-sided normal quantile for a central ``coverage`` share (0.8 -> 1.28)."""
    return NormalDist().inv_cdf((1.0 + coverage) / 2.0)


def plain_wait(stats: ServiceStats, *, position: int, servers: float, idle: float) -> float:
    """The model's expected wait (ms) before the ticket at ``position`` (0 = next) is called.

    Args:
        stats: observed service times of the service.
        position: calls expected before this ticket's.
        servers: open counter capacity for the service (> 0).
        idle: the part of ``servers`` with no current ticket.
    """
    k = position + 1 - idle
    # An idle share larger than the place (k < 1/2) means no wait, never a negative one.
    return max(0.0, k - 0.5) * stats.mean / servers


def estimate(wait: float, calibration: Calibration, *, start: Millis, coverage: float) -> Estimate:
    """Turn the plain model's wait into a calibrated call time and range from ``start``."""
    z = z_for(coverage)
    sd = min(sqrt(max(calibration.var, 0.0)), MAX_LOG_SD)
    base = wait + OFFSET

    def at(quantile: float) -> Millis:
        return start + max(0, round(base * exp(calibration.mu + quantile) - OFFSET))

    return Estimate(at=at(0.0), earliest=at(-z * sd), latest=at(z * sd))
