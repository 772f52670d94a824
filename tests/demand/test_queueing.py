"""The queueing arithmetic of the demand forecast: Erlang C, the M/M/c median wait, counters, count ranges.

Each formula is checked against an independent computation: the textbook closed forms, the
factorial definition of Erlang C in exact fractions, and a seeded first-come-first-served
simulation of an M/M/c queue.
"""

from __future__ import annotations

import heapq
import math
import random
from fractions import Fraction

import pytest

from queue_engine.demand import (
    MAX_COUNTERS,
    count_quantile,
    counters_needed,
    erlang_c,
    median_wait,
    wait_beyond,
)


def erlang_c_by_definition(c: int, a: Fraction) -> Fraction:
    """Erlang C from its definition: (a^c/c! · c/(c-a)) / (Σ_{k<c} a^k/k! + a^c/c! · c/(c-a)), exactly."""
    top = a**c / math.factorial(c) * Fraction(c) / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ("c", "a", "expected"),
    [
        (1, 0.5, 0.5),  # M/M/1: P(wait) = rho
        (2, 1.0, 1 / 3),  # M/M/2: 2 rho^2 / (1 + rho) with rho = 1/2
        (3, 2.0, 4 / 9),  # M/M/3 with rho = 2/3: (8/6 · 3) / (1 + 2 + 2 + 4) = 4/9
        (11, 10.0, 0.6821),  # the call-centre table: 10 Erlangs on 11 agents waits 68.2 % of the time
        (2, 1.5, 0.6429),  # 2 rho^2 / (1 + rho) with rho = 3/4: 9/14
    ],
)
def test_erlang_c_matches_textbook_values(c: int, a: float, expected: float) -> None:
    assert erlang_c(c, a) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize("c", [1, 2, 3, 5, 8, 13, 30])
def test_erlang_c_matches_its_definition_in_exact_arithmetic(c: int) -> None:
    for share in (Fraction(1, 10), Fraction(1, 2), Fraction(4, 5), Fraction(19, 20), Fraction(99, 100)):
        a = share * c
        assert erlang_c(c, float(a)) == pytest.approx(float(erlang_c_by_definition(c, a)), rel=1e-9)


def test_erlang_c_edges() -> None:
    assert erlang_c(3, 0.0) == 0.0
    assert erlang_c(3, 3.0) == erlang_c(3, 4.5) == 1.0  # not stable: everyone waits
    with pytest.raises(ValueError):
        erlang_c(0, 1.0)


def test_the_median_wait_is_where_half_wait_longer() -> None:
    lam, mu = 0.5, 1 / 5  # 30 an hour, 5 minutes each: a = 2.5
    for c in (3, 4, 5):
        m = median_wait(c, lam, mu)
        if erlang_c(c, lam / mu) > 0.5:
            assert wait_beyond(m, c, lam, mu) == pytest.approx(0.5)
            assert m > 0
        else:
            assert m == 0.0  # at most half wait at all
    assert median_wait(2, lam, mu) == math.inf and wait_beyond(1.0, 2, lam, mu) == 1.0
    assert median_wait(2, 0.0, mu) == 0.0 and wait_beyond(1.0, 2, 0.0, mu) == 0.0


def simulate_mmc(c: int, lam: float, mu: float, customers: int, seed: int) -> list[float]:
    """Waits of an FCFS M/M/c queue: each arrival takes the counter that frees first."""
    rng = random.Random(seed)
    free = [0.0] * c  # when each counter is next free (a heap)
    t, waits = 0.0, []
    for _ in range(customers):
        t += rng.expovariate(lam)
        start = max(t, free[0])
        waits.append(start - t)
        heapq.heapreplace(free, start + rng.expovariate(mu))
    return waits[customers // 10 :]  # without the warm-up from an empty queue


@pytest.mark.parametrize(("c", "lam", "mu"), [(2, 0.3, 0.2), (3, 0.5, 0.2), (4, 1.0, 0.3)])
def test_formulas_match_a_simulated_mmc_queue(c: int, lam: float, mu: float) -> None:
    waits = sorted(simulate_mmc(c, lam, mu, 200_000, seed=c))
    share_waiting = sum(w > 0 for w in waits) / len(waits)
    assert share_waiting == pytest.approx(erlang_c(c, lam / mu), abs=0.015)
    for t in (1.0, 5.0):
        assert sum(w > t for w in waits) / len(waits) == pytest.approx(wait_beyond(t, c, lam, mu), abs=0.015)
    simulated_median = waits[len(waits) // 2]
    assert simulated_median == pytest.approx(median_wait(c, lam, mu), abs=0.15)


def test_counters_needed_is_the_fewest_that_meet_the_target() -> None:
    for per_hour, service_min, target in [(30, 4, 15), (30, 4, 0.5), (60, 7, 5), (12, 15, 10), (200, 3, 1)]:
        lam, mu = per_hour / 60, 1 / service_min
        c = counters_needed(lam, mu, target)
        assert c > lam / mu
        assert median_wait(c, lam, mu) <= target
        assert c == 1 or c - 1 <= lam / mu or median_wait(c - 1, lam, mu) > target
    assert counters_needed(0.0, 0.25, 15) == 0
    assert counters_needed(1000.0, 0.01, 0.1) == MAX_COUNTERS


def poisson_cdf(k: int, mean: float) -> float:
    return sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k + 1))


@pytest.mark.parametrize("mean", [0.4, 3.0, 12.5, 40.0])
def test_count_quantiles_are_poisson_when_the_past_varied_by_chance_only(mean: float) -> None:
    for q in (0.1, 0.5, 0.9):
        k = count_quantile(mean, mean, q)
        assert poisson_cdf(k, mean) >= q
        assert k == 0 or poisson_cdf(k - 1, mean) < q


def test_count_quantiles_widen_with_the_observed_variance() -> None:
    narrow = (count_quantile(20, 20, 0.1), count_quantile(20, 20, 0.9))
    wide = (count_quantile(20, 80, 0.1), count_quantile(20, 80, 0.9))
    assert wide[0] < narrow[0] and wide[1] > narrow[1]
    # the negative binomial's own mean and variance, summed from the same recurrence
    p, r = 20 / 80, 20 * (20 / 80) / (1 - 20 / 80)
    pmf = [
        math.exp(math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log(p) + k * math.log(1 - p))
        for k in range(400)
    ]
    assert sum(k * x for k, x in enumerate(pmf)) == pytest.approx(20, rel=1e-6)
    cdf = 0.0
    for k, x in enumerate(pmf):
        cdf += x
        if cdf >= 0.9:
            assert k == wide[1]
            break
    assert count_quantile(0, 0, 0.9) == 0
    assert count_quantile(400, 400, 0.9) == round(400 + 1.2816 * 20)  # the normal approximation above 200
