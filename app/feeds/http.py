"""A small HTTP client for the feeds: timeouts, retries with backoff, clear errors.

Retried: connection errors and timeouts, 5xx, and 429 (waiting what ``Retry-After`` says).
Not retried: any other 4xx (a clear :class:`FeedHttpError`). The body is returned as bytes:
whether it is JSON of the right shape is the feed's question (a malformed body is registered
and quarantined there, never retried).
"""

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import requests

from app.ingest.runner import SourceFile

log = logging.getLogger(__name__)

# Query parameters never written to logs, errors or the database.
SECRET_PARAMS = frozenset({"apiKey"})
# How much of an error body an error message quotes.
ERROR_BODY_CHARS = 200


class FeedError(RuntimeError):
    """A feed that cannot run now (unreachable, refused, not configured): one clear line."""


class FeedHttpError(FeedError):
    """A request that failed for good: one line that says what and why."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.headers: Mapping[str, str] = dict(headers or {})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: delay ``base * 2**(attempt-1)``, capped, plus jitter.

    A ``Retry-After`` longer than ``max_delay`` is not waited for: the request fails with a
    clear error and the next scheduled run tries again.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.25  # up to this fraction of the delay is added at random

    def backoff(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """The wait after failed attempt ``attempt`` (1-based)."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return delay * (1.0 + self.jitter * draw())


@dataclass(frozen=True)
class FeedResponse:
    """A successful (2xx) response: its bytes, headers and how it was obtained."""

    url: str  # without secrets
    status: int
    headers: Mapping[str, str]
    body: bytes
    fetched_at: datetime
    attempts: int = 1
    waits: tuple[float, ...] = field(default=())

    def as_source_file(self, name: str) -> SourceFile:
        """The response as a unit of the ingest runner, named ``name``."""
        return SourceFile.response(self.url, name, self.body, self.fetched_at, self.headers)


def redacted_url(url: str, params: Mapping[str, str]) -> str:
    """``url`` with its query, secrets replaced by ``***``."""
    shown = {key: ("***" if key in SECRET_PARAMS else value) for key, value in params.items()}
    return f"{url}?{urlencode(shown)}" if shown else url


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class FeedClient:
    """GET with timeouts and retries; one instance may serve many requests."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._draw = draw
        self._session = session or requests.Session()

    def get(self, url: str, params: Mapping[str, str] | None = None) -> FeedResponse:
        """The 2xx response of ``GET url?params``; raises :class:`FeedHttpError` otherwise."""
        params = dict(params or {})
        shown = redacted_url(url, params)
        waits: list[float] = []
        attempt = 0
        while True:
            attempt += 1
            failure, wait = self._attempt(url, params, shown, attempt)
            if isinstance(failure, FeedResponse):
                return FeedResponse(
                    url=shown,
                    status=failure.status,
                    headers=failure.headers,
                    body=failure.body,
                    fetched_at=failure.fetched_at,
                    attempts=attempt,
                    waits=tuple(waits),
                )
            if attempt >= self.policy.attempts:
                raise FeedHttpError(
                    f"{shown}: {failure} (gave up after {attempt} attempts)",
                    status=getattr(failure, "status", None),
                    attempts=attempt,
                )
            if wait is None:
                wait = self.policy.backoff(attempt, self._draw)
            log.warning("%s: %s; attempt %d, retrying in %.2f s", shown, failure, attempt, wait)
            waits.append(wait)
            self._sleep(wait)

    def _attempt(
        self, url: str, params: Mapping[str, str], shown: str, attempt: int
    ) -> tuple["FeedResponse | _Retryable", float | None]:
        """One request: the response, or why to retry and how long to wait (None: backoff)."""
        try:
            response = self._session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout:
            return _Retryable(f"timed out after {self.timeout[1]:g} s"), None
        except requests.ConnectionError as error:
            return _Retryable(f"connection failed ({type(error).__name__})"), None
        except requests.RequestException as error:
            raise FeedHttpError(f"{shown}: {error}", attempts=attempt) from None
        status = response.status_code
        if 200 <= status < 300:
            return (
                FeedResponse(
                    url=shown,
                    status=status,
                    headers=dict(response.headers),
                    body=response.content,
                    fetched_at=datetime.now(UTC),
                ),
                None,
            )
        snippet = response.text[:ERROR_BODY_CHARS].strip()
        if status == 429:
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is not None and asked > self.policy.max_delay:
                raise FeedHttpError(
                    f"{shown}: rate limited (429), Retry-After {asked:g} s is longer than "
                    f"{self.policy.max_delay:g} s; the next scheduled run tries again",
                    status=status,
                    attempts=attempt,
                )
            return _Retryable("rate limited (429)", status), asked
        if status >= 500:
            return _Retryable(f"server error {status}", status), None
        raise FeedHttpError(
            f"{shown}: HTTP {status} {response.reason}" + (f": {snippet}" if snippet else ""),
            status=status,
            attempts=attempt,
            headers=response.headers,
        )


@dataclass(frozen=True)
class _Retryable:
    reason: str
    status: int | None = None

    def __str__(self) -> str:
        return self.reason
