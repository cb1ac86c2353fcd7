"""Settings from the environment (see ``.env.example``).

Every URL left unset means "the embedded stack under ``var_dir``": ``bullpen up``
and the CLI start it and hand the resulting URLs to their children through the
same variables, so that every process reads its configuration one way.
"""

import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_SCHEDULE_API_URL = "https://statsapi.mlb.com"
DEFAULT_ODDS_API_URL = "https://api.the-odds-api.com"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    broker_url: str | None
    feature_store_url: str | None
    mlflow_tracking_uri: str | None
    api_keys: dict[str, frozenset[str]]
    var_dir: Path
    sample_dir: Path
    embedded_redis_port: int
    feature_cutoff_minutes: int
    model_name_prefix: str
    # Live feeds (app/feeds): base URLs of servers speaking the MLB Stats API schedule shape
    # and The Odds API v4 shape, and the odds API's key (the odds feed refuses to run without).
    schedule_api_url: str = DEFAULT_SCHEDULE_API_URL
    odds_api_url: str = DEFAULT_ODDS_API_URL
    odds_api_key: str | None = None
    # A schedule backfill (``bullpen feed schedule --from D --to D``) waits at least this long
    # between two calls to the schedule provider (its rate limit; a 429 is honoured on top).
    schedule_backfill_interval: float = 1.0
    # Staking and serving of bets (see app/staking/pricing.py for the rules).
    bankroll: float = 1000.0
    kelly_fraction: float = 0.25
    kelly_cap: float = 0.05
    daily_exposure: float = 0.5
    min_ev: float = 0.02
    max_ece: float = 0.02
    # The fair line (see app/bets/fairline.py): de-vig method, sharp books with weights
    # ("pinnacle" or "pinnacle:2,circa:1"), the oldest quote priced, the widest market priced.
    devig: str = "additive"
    sharp_books: tuple[tuple[str, float], ...] = (("pinnacle", 1.0),)
    max_quote_age_minutes: float = 30.0
    max_overround: float = 0.08
    # Apprise URLs every new served bet is sent to (app/bets/alerts.py); none: no alerts.
    alert_urls: tuple[str, ...] = ()
    # Settled bets with a CLV a strategy needs before it may go live (app/bets/strategies.py).
    strategy_min_bets: int = 100
    # The strategies (app/bets/strategies.py), in order: ``BULLPEN_STRATEGIES``, a JSON list of
    # {"name", "method", "books", "markets", "min_ev", "kelly_fraction", "min_bets"} objects
    # (every key but "name" optional); empty: the shipped set.
    strategies: tuple[dict, ...] = ()
    # Per-API-key rate limits (flask-limiter syntax, ";" between limits), kept in the broker's
    # Redis: every request, and the POSTs that start work (jobs, bets) on top of it.
    rate_limit_default: str = "600/minute;50/second"
    rate_limit_submit: str = "120/minute"
    reap_interval_seconds: float = 30.0
    # How long a job's attempt owns it without a heartbeat (app/jobs/service.py).
    lease_seconds: float = 30.0
    # A replay's clock (app/clock.py): a Redis URL holding the system's "now"; unset: wall clock.
    clock_url: str | None = None
    # Signs the pages' session cookie (app/web/signin.py); see :attr:`session_secret`.
    secret_key: str | None = None
    # Backups (app/stack/backup.py): where `bullpen backup` and the beat's daily backup write
    # their archives, and how many of the beat's the daily backup keeps.
    backup_dir: Path = Path("backups")
    backup_keep: int = 7

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("BULLPEN_VAR_DIR", "var")).resolve()
        return cls(
            database_url=env.get("BULLPEN_DATABASE_URL") or None,
            broker_url=env.get("BULLPEN_BROKER_URL") or None,
            feature_store_url=env.get("BULLPEN_FEATURE_STORE_URL") or None,
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
            api_keys=parse_api_keys(env.get("BULLPEN_API_KEYS", "")),
            var_dir=var_dir,
            sample_dir=Path(env.get("BULLPEN_SAMPLE_DIR", _default_sample_dir())).resolve(),
            embedded_redis_port=int(env.get("BULLPEN_EMBEDDED_REDIS_PORT", "6390")),
            feature_cutoff_minutes=int(env.get("BULLPEN_FEATURE_CUTOFF_MINUTES", "60")),
            model_name_prefix=env.get("BULLPEN_MODEL_PREFIX", "bullpen"),
            schedule_api_url=env.get("BULLPEN_SCHEDULE_API_URL") or DEFAULT_SCHEDULE_API_URL,
            odds_api_url=env.get("BULLPEN_ODDS_API_URL") or DEFAULT_ODDS_API_URL,
            odds_api_key=env.get("BULLPEN_ODDS_API_KEY") or None,
            schedule_backfill_interval=float(env.get("BULLPEN_SCHEDULE_BACKFILL_INTERVAL", "1.0")),
            bankroll=float(env.get("BULLPEN_BANKROLL", "1000")),
            kelly_fraction=float(env.get("BULLPEN_KELLY_FRACTION", "0.25")),
            kelly_cap=float(env.get("BULLPEN_KELLY_CAP", "0.05")),
            daily_exposure=float(env.get("BULLPEN_DAILY_EXPOSURE", "0.5")),
            min_ev=float(env.get("BULLPEN_MIN_EV", "0.02")),
            max_ece=float(env.get("BULLPEN_MAX_ECE", "0.02")),
            devig=env.get("BULLPEN_DEVIG") or "additive",
            sharp_books=parse_weights(env.get("BULLPEN_SHARP_BOOKS") or "pinnacle"),
            # The contract's name; the earlier ``_MINUTES`` spelling is still read.
            max_quote_age_minutes=float(
                env.get("BULLPEN_MAX_QUOTE_AGE") or env.get("BULLPEN_MAX_QUOTE_AGE_MINUTES") or "30"
            ),
            max_overround=float(env.get("BULLPEN_MAX_OVERROUND", "0.08")),
            alert_urls=parse_alert_urls(env.get("BULLPEN_ALERT_URLS", "")),
            strategy_min_bets=int(env.get("BULLPEN_STRATEGY_MIN_BETS", "100")),
            strategies=parse_strategies(env.get("BULLPEN_STRATEGIES", "")),
            rate_limit_default=env.get("BULLPEN_RATE_LIMIT") or "600/minute;50/second",
            rate_limit_submit=env.get("BULLPEN_RATE_LIMIT_SUBMIT") or "120/minute",
            reap_interval_seconds=float(env.get("BULLPEN_REAP_INTERVAL_SECONDS", "30")),
            lease_seconds=float(env.get("BULLPEN_LEASE_SECONDS", "30")),
            clock_url=env.get("BULLPEN_CLOCK_URL") or None,
            secret_key=env.get("BULLPEN_SECRET_KEY") or None,
            backup_dir=Path(env.get("BULLPEN_BACKUP_DIR") or "backups").resolve(),
            backup_keep=int(env.get("BULLPEN_BACKUP_KEEP", "7")),
        )

    @property
    def is_complete(self) -> bool:
        """True when every service URL is configured (nothing embedded is needed)."""
        return all(
            (self.database_url, self.broker_url, self.feature_store_url, self.mlflow_tracking_uri)
        )

    def with_urls(self, urls: Mapping[str, str]) -> "Settings":
        """A copy with the unset URLs filled from ``urls`` (keys as in :meth:`as_env`)."""
        return replace(
            self,
            database_url=self.database_url or urls["BULLPEN_DATABASE_URL"],
            broker_url=self.broker_url or urls["BULLPEN_BROKER_URL"],
            feature_store_url=self.feature_store_url or urls["BULLPEN_FEATURE_STORE_URL"],
            mlflow_tracking_uri=self.mlflow_tracking_uri or urls["MLFLOW_TRACKING_URI"],
        )

    def as_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        env = {
            "BULLPEN_DATABASE_URL": self.database_url,
            "BULLPEN_BROKER_URL": self.broker_url,
            "BULLPEN_FEATURE_STORE_URL": self.feature_store_url,
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            "BULLPEN_VAR_DIR": str(self.var_dir),
            "BULLPEN_SAMPLE_DIR": str(self.sample_dir),
            "BULLPEN_FEATURE_CUTOFF_MINUTES": str(self.feature_cutoff_minutes),
            "BULLPEN_MODEL_PREFIX": self.model_name_prefix,
            "BULLPEN_SCHEDULE_API_URL": self.schedule_api_url,
            "BULLPEN_ODDS_API_URL": self.odds_api_url,
            "BULLPEN_ODDS_API_KEY": self.odds_api_key,
            "BULLPEN_SCHEDULE_BACKFILL_INTERVAL": repr(self.schedule_backfill_interval),
            "BULLPEN_BANKROLL": repr(self.bankroll),
            "BULLPEN_KELLY_FRACTION": repr(self.kelly_fraction),
            "BULLPEN_KELLY_CAP": repr(self.kelly_cap),
            "BULLPEN_DAILY_EXPOSURE": repr(self.daily_exposure),
            "BULLPEN_MIN_EV": repr(self.min_ev),
            "BULLPEN_MAX_ECE": repr(self.max_ece),
            "BULLPEN_DEVIG": self.devig,
            "BULLPEN_SHARP_BOOKS": ",".join(
                f"{book}:{weight!r}" for book, weight in self.sharp_books
            ),
            "BULLPEN_MAX_QUOTE_AGE": repr(self.max_quote_age_minutes),
            "BULLPEN_MAX_OVERROUND": repr(self.max_overround),
            "BULLPEN_ALERT_URLS": " ".join(self.alert_urls),
            "BULLPEN_STRATEGY_MIN_BETS": str(self.strategy_min_bets),
            "BULLPEN_STRATEGIES": json.dumps(list(self.strategies)) if self.strategies else None,
            "BULLPEN_RATE_LIMIT": self.rate_limit_default,
            "BULLPEN_RATE_LIMIT_SUBMIT": self.rate_limit_submit,
            "BULLPEN_REAP_INTERVAL_SECONDS": repr(self.reap_interval_seconds),
            "BULLPEN_LEASE_SECONDS": repr(self.lease_seconds),
            "BULLPEN_CLOCK_URL": self.clock_url,
            "BULLPEN_SECRET_KEY": self.secret_key,
            "BULLPEN_BACKUP_DIR": str(self.backup_dir),
            "BULLPEN_BACKUP_KEEP": str(self.backup_keep),
        }
        return {key: value for key, value in env.items() if value}

    def model_name(self, target: str) -> str:
        """The MLflow registered-model name of a target."""
        return f"{self.model_name_prefix}-{target}"

    @property
    def session_secret(self) -> str:
        """The key signing session cookies: ``BULLPEN_SECRET_KEY``; unset, one derived from the
        API keys (every API process derives the same; a changed key signs everyone out), or a
        random one when no keys are set (the pages are open and keep nothing in the session).
        """
        if self.secret_key:
            return self.secret_key
        if not self.api_keys:
            return secrets.token_hex(32)
        material = "\n".join(
            f"{key}:{'+'.join(sorted(scopes))}" for key, scopes in sorted(self.api_keys.items())
        )
        return hashlib.sha256(f"bullpen-session\n{material}".encode()).hexdigest()

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.var_dir / "mlartifacts"


def parse_api_keys(raw: str) -> dict[str, frozenset[str]]:
    """Parse ``KEY:scope+scope,KEY2:scope`` into {key: scopes}; a bare KEY gets every scope."""
    keys: dict[str, frozenset[str]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, _, scopes = item.partition(":")
        keys[key] = (
            frozenset(scopes.split("+")) if scopes else frozenset({"read", "predict", "admin"})
        )
    return keys


def parse_alert_urls(raw: str) -> tuple[str, ...]:
    """Receiver URLs separated by whitespace or commas (as Apprise's own configuration)."""
    return tuple(url for url in re.split(r"[\s,]+", raw or "") if url)


def parse_strategies(raw: str) -> tuple[dict, ...]:
    """``BULLPEN_STRATEGIES``: a JSON list of objects, each with at least a ``name``; empty or
    blank: none (the shipped set). What each key means is checked by
    ``app.bets.strategies.configured``."""
    if not (raw or "").strip():
        return ()
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"BULLPEN_STRATEGIES is not JSON: {error}") from None
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("name"), str) for entry in entries
    ):
        raise ValueError("BULLPEN_STRATEGIES must be a JSON list of objects, each with a name")
    return tuple(entries)


def parse_weights(raw: str) -> tuple[tuple[str, float], ...]:
    """Parse ``book:weight,book2`` into ((book, weight), ...) in order; a bare book weighs 1."""
    weights = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        book, _, weight = item.partition(":")
        value = float(weight) if weight else 1.0
        if value <= 0:
            raise ValueError(f"book weight of {book!r} must be positive, got {weight!r}")
        weights.append((book.strip().lower(), value))
    return tuple(weights)


def _default_sample_dir() -> str:
    return str(Path(__file__).resolve().parent.parent / "data" / "sample")
