"""Random draws the simulated systems share: counts, durations, times of day."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta


def weekday_factor(day: date) -> float:
    """How busy a weekday is against a Monday (weekends are quiet)."""
    return (1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.05)[day.weekday()]


def months_before(end: date, months: int) -> date:
    """Return the first day of the month `months - 1` months before `end`'s."""
    month_index = end.year * 12 + end.month - 1 - months + 1
    return date(month_index // 12, month_index % 12 + 1, 1)


def cumulative(weights: list[float]) -> list[float]:
    """Return the running totals of weights."""
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def weighted_index(rng: random.Random, weights: list[float] | tuple[float, ...]) -> int:
    """Draw an index with the given weights."""
    return rng.choices(range(len(weights)), weights=weights)[0]


def poisson(rng: random.Random, lam: float) -> int:
    """Draw a Poisson count (a normal approximation above 50)."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, count, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def lognormal(rng: random.Random, median: float, sigma: float = 0.7) -> float:
    """Draw a log-normal duration around a median."""
    return rng.lognormvariate(math.log(median), sigma)


def work_time(rng: random.Random, day: date) -> datetime:
    """Draw a moment in office hours of a day (13:00-22:00 UTC, 8-5 US Eastern)."""
    return datetime.combine(day, time(13), UTC) + timedelta(minutes=rng.randint(0, 9 * 60))


def any_time(rng: random.Random, day: date) -> datetime:
    """Draw any second of a day."""
    return datetime.combine(day, time(0), UTC) + timedelta(seconds=rng.randint(0, 86_399))


def between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """Draw a moment well inside an interval."""
    return low + (high - low) * rng.uniform(0.1, 0.9)


def appointment_slot(rng: random.Random, moment: datetime) -> datetime:
    """Return the appointment slot nearest a moment."""
    day = moment.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(13), UTC) + timedelta(minutes=15 * rng.randint(0, 31))
