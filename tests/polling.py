"""Waiting in tests for a condition, not for a fixed time."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """``condition()``'s first truthy value, polled every ``interval`` s; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {what}")
