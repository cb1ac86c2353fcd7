"""How the pages write numbers: one format per kind, so a page and a test read them alike."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

DASH = "—"


def percent(value: float | None, digits: int = 1) -> str:
    """A probability or a rate as a percentage: 0.5234 -> ``52.3%``."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def signed_percent(value: float | None, digits: int = 1) -> str:
    """A difference of probabilities or a return, signed: -0.012 -> ``-1.2%``."""
    return DASH if value is None else f"{value * 100:+.{digits}f}%"


def american(value: int | float | None) -> str:
    """American odds with their sign: ``+120``, ``-135``."""
    return DASH if value is None else f"{int(value):+d}"


def money(value: float | None) -> str:
    """An amount with two decimals and a thousands separator."""
    return DASH if value is None else f"{value:,.2f}"


def number(value: float | None, digits: int = 4) -> str:
    """A plain number at ``digits`` decimals (log loss, Brier, ECE)."""
    return DASH if value is None else f"{value:.{digits}f}"


def line(value: float | None, signed: bool = False) -> str:
    """A total (``8.5``) or, ``signed``, a run line (``+1.5``, ``-1.5``)."""
    if value is None:
        return DASH
    return f"{value:+g}" if signed else f"{value:g}"


def moment(value: datetime | str | None) -> str:
    """A UTC moment to the minute: ``2019-04-01 23:05 UTC``."""
    if value is None:
        return DASH
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


FILTERS: dict[str, Callable[..., Any]] = {
    "percent": percent,
    "signed_percent": signed_percent,
    "american": american,
    "money": money,
    "number": number,
    "line": line,
    "moment": moment,
}
