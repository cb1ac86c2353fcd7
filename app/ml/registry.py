"""The MLflow model registry: one registered model per target, aliases ``champion``/``challenger``.

Workers keep the champions in a :class:`ChampionCache`: a prediction job asks it for the
``champion`` versions when it starts, and a model is loaded only when the alias names a version
the cache does not hold, so a newly promoted champion serves the next job without restart.
Reading an alias from MLflow costs milliseconds, so the cache re-reads the aliases only when a
promotion announced itself (:func:`announce_champions_changed`, a counter in Redis bumped by
every promotion Bullpen makes) or, for an alias moved by hand in the MLflow UI, in the
background every ``ALIAS_TTL_SECONDS`` (the jobs after that re-read see it).
"""

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from app.config import Settings
from app.markets import TARGETS
from app.ml.prior import IDENTITY, MarketPrior, predict_probability

EXPERIMENT_NAME = "bullpen"
CHAMPION = "champion"
CHALLENGER = "challenger"
# Bumped by every promotion; a worker's cache re-reads the aliases when it changes.
CHAMPIONS_CHANGED_KEY = "bullpen:champions:generation"
ALIAS_TTL_SECONDS = 10.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A registered model version ready to predict."""

    target: str
    name: str
    version: str
    booster: lgb.Booster
    feature_fingerprint: str
    feature_names: tuple[str, ...]
    prior: MarketPrior | None = None
    # Beat the market it bets against on its held-out games (versions without the tag
    # predate the check and recommend no bets).
    bets_enabled: bool = False
    # Expected calibration error on its held-out games (None: trained before the tag).
    ece: float | None = None
    # How far it may move the fair line, earned on its held-out games (0 without the tag).
    blend_weight: float = 0.0
    # 0 when its trees did not earn their place over its market prior (1 without the tag).
    tree_weight: float = 1.0

    def calibrated(self, max_ece: float) -> bool:
        """Whether its held-out ECE is known and at most ``max_ece`` (it may price-shop)."""
        return self.ece is not None and self.ece <= max_ece

    def predict(self, features: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Probabilities of the target's 'yes' side for rows of the feature set (see
        :meth:`inputs`).

        One thread: a worker runs a pool process per core already, and OpenMP threads
        contending for busy cores stall a one-game prediction by milliseconds.
        """
        return predict_probability(
            self.booster,
            self.inputs(features),
            self.prior,
            num_threads=1,
            tree_weight=self.tree_weight,
        )

    def inputs(self, features: np.ndarray | pd.DataFrame) -> np.ndarray:
        """The model's own columns (``feature_names``) of ``features``: a frame's by name, a
        matrix of the feature set's vectors (what the store serves) by position.

        A model reads only the features known when its market's price is posted
        (``app.features.definitions.model_features``), a subset of the stored vector.
        """
        if isinstance(features, pd.DataFrame):
            return features[list(self.feature_names)].to_numpy(dtype=np.float64)
        features = np.asarray(features, dtype=np.float64)
        return features if self._positions is None else features[:, self._positions]

    @cached_property
    def _positions(self) -> np.ndarray | None:
        from app.features.definitions import FEATURE_SET

        if self.feature_names == FEATURE_SET.names:
            return None
        return np.array([FEATURE_SET.names.index(name) for name in self.feature_names])


def client(settings: Settings):
    """An MLflow client for ``settings`` with the project's experiment in place."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    mlflow_client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)
    if mlflow_client.get_experiment_by_name(EXPERIMENT_NAME) is None:
        settings.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
        mlflow_client.create_experiment(
            EXPERIMENT_NAME, artifact_location=settings.mlflow_artifact_root.as_uri()
        )
    return mlflow_client


def version_by_alias(mlflow_client, model_name: str, alias: str):
    """The model version behind ``alias``, or None when the alias is unset."""
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def champion_versions(settings: Settings) -> dict[str, str | None]:
    """{target: champion version or None} for every target."""
    mlflow_client = client(settings)
    versions = {}
    for target in TARGETS:
        version = version_by_alias(mlflow_client, settings.model_name(target), CHAMPION)
        versions[target] = str(version.version) if version else None
    return versions


def load_version(settings: Settings, target: str, version: str) -> LoadedModel:
    """Load one registered version of ``target``'s model."""
    import mlflow.lightgbm

    mlflow_client = client(settings)
    name = settings.model_name(target)
    model_version = mlflow_client.get_model_version(name, version)
    booster = mlflow.lightgbm.load_model(f"models:/{name}/{version}")
    tags: dict[str, Any] = model_version.tags
    feature_names = tuple(json.loads(tags["feature_names"]))
    return LoadedModel(
        target=target,
        name=name,
        version=str(version),
        booster=booster,
        feature_fingerprint=tags["feature_fingerprint"],
        feature_names=feature_names,
        prior=prior_from_tags(tags, feature_names),
        bets_enabled=tags.get("bets_enabled") == "true",
        ece=_float_tag(tags.get("ece")),
        blend_weight=_float_tag(tags.get("blend_weight")) or 0.0,
        tree_weight=_float_tag(tags.get("tree_weight")) if "tree_weight" in tags else 1.0,
    )


def _float_tag(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def prior_from_tags(tags: dict[str, str], feature_names: tuple[str, ...]) -> MarketPrior | None:
    """The market prior a version was trained with (None for models without one)."""
    feature = tags.get("market_prior")
    if not feature:
        return None
    split = tags.get("prior_split")
    # Versions trained before the calibration was fitted start from the market as it is.
    coefficients = (
        json.loads(tags["prior_coefficients"]) if "prior_coefficients" in tags else IDENTITY
    )
    return MarketPrior(
        feature_names.index(feature),
        float(tags["prior_fallback"]),
        tuple(float(c) for c in coefficients),
        feature_names.index(split) if split else None,
    )


def training_window(tags: dict[str, str]) -> tuple[list[int], dt.date | None]:
    """The seasons a version was trained on and the last date it saw (None: whole seasons)."""
    if "train_seasons" in tags:
        last = tags.get("train_last_date")
        return json.loads(tags["train_seasons"]), dt.date.fromisoformat(last) if last else None
    first, _, last_season = tags.get("data_range", "").partition("-")
    if not first:
        return [], None
    return list(range(int(first), int(last_season or first) + 1)), None


def resolve_model_name(settings: Settings, name: str) -> tuple[str, str]:
    """(target, registered model name) of a target name or a registered model name."""
    for target in TARGETS:
        if name in (target, settings.model_name(target)):
            return target, settings.model_name(target)
    raise KeyError(name)


def promote(settings: Settings, target: str, version: str, reason: str) -> str:
    """Make ``version`` the champion of ``target``; returns the decision recorded."""
    from app.features.definitions import FEATURE_SET

    mlflow_client = client(settings)
    name = settings.model_name(target)
    model_version = mlflow_client.get_model_version(name, version)
    fingerprint = model_version.tags.get("feature_fingerprint")
    if fingerprint != FEATURE_SET.fingerprint:
        raise ValueError(
            f"{name} v{version} was trained on features {fingerprint}; the store serves "
            f"{FEATURE_SET.label} ({FEATURE_SET.fingerprint}): it cannot be champion"
        )
    previous = version_by_alias(mlflow_client, name, CHAMPION)
    mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    challenger = version_by_alias(mlflow_client, name, CHALLENGER)
    if challenger is not None and str(challenger.version) == str(version):
        mlflow_client.delete_registered_model_alias(name, CHALLENGER)
    before = f"v{previous.version}" if previous else "none"
    decision = f"v{version} promoted to champion (was {before}): {reason}"
    mlflow_client.set_model_version_tag(name, version, "promotion_decision", decision)
    announce_champions_changed(settings)
    return decision


def _champions_generation(settings: Settings) -> Callable[[], bytes | None]:
    import redis

    client = redis.Redis.from_url(settings.feature_store_url, socket_timeout=2)
    return lambda: client.get(CHAMPIONS_CHANGED_KEY)


def announce_champions_changed(settings: Settings) -> None:
    """Tell every worker's :class:`ChampionCache` to re-read the aliases on its next use."""
    import redis

    redis.Redis.from_url(settings.feature_store_url, socket_timeout=2).incr(CHAMPIONS_CHANGED_KEY)


class ChampionCache:
    """Each target's champion: the aliases re-read when a promotion was announced (and in the
    background every ``ttl`` seconds), a model loaded when its alias moves."""

    def __init__(
        self,
        settings: Settings,
        generation: Callable[[], bytes | None] | None = None,
        ttl: float = ALIAS_TTL_SECONDS,
    ) -> None:
        self.settings = settings
        self._generation = generation or _champions_generation(settings)
        self._ttl = ttl
        self._models: dict[str, LoadedModel] = {}
        self._aliases: dict[str, str | None] = {}
        self._aliases_as_of: tuple[bytes | None, float] | None = None
        self._lock = threading.Lock()
        # The latest background re-read of the aliases, once one was started.
        self.refreshing: threading.Thread | None = None

    @cached_property
    def _client(self):
        return client(self.settings)

    def get(self, target: str) -> LoadedModel | None:
        """The version holding ``target``'s champion alias now (None when the alias is unset)."""
        return self.champions([target])[target]

    def champions(self, targets: Sequence[str]) -> dict[str, LoadedModel | None]:
        """:meth:`get` of each target, the announcement of a promotion read once for them all
        (one Redis round trip a job, not one a target)."""
        generation = self._generation()
        versions = {target: self._champion_version(target, generation) for target in targets}
        return {
            target: None if version is None else self.version(target, version)
            for target, version in versions.items()
        }

    def version(self, target: str, version: str) -> LoadedModel:
        """``target``'s model at ``version``, loaded once while it stays the one asked for."""
        with self._lock:
            model = self._models.get(target)
            if model is None or model.version != version:
                model = self._models[target] = load_version(self.settings, target, version)
            return model

    def _champion_version(self, target: str, generation: bytes | None) -> str | None:
        now = time.monotonic()
        with self._lock:
            known = self._aliases_as_of
            if known is None or known[0] != generation:  # announced: the next job sees it
                self._aliases.clear()
                self._aliases_as_of = (generation, now)
            elif now - known[1] >= self._ttl:
                # Only an alias moved by hand is unannounced: it is re-read in the background
                # while jobs go on with the aliases they had, so that no job waits on MLflow
                # (a few of its queries, tens of milliseconds under load) every ``ttl`` seconds.
                self._aliases_as_of = (generation, now)
                self.refreshing = threading.Thread(
                    target=self._refresh, args=(generation, list(self._aliases)),
                    name="champion-aliases", daemon=True,
                )  # fmt: skip
                self.refreshing.start()
            if target not in self._aliases:
                self._aliases[target] = self._read_alias(target)
            return self._aliases[target]

    def _read_alias(self, target: str) -> str | None:
        champion = version_by_alias(self._client, self.settings.model_name(target), CHAMPION)
        return None if champion is None else str(champion.version)

    def _refresh(self, generation: bytes | None, targets: list[str]) -> None:
        """Re-read ``targets``' aliases, kept unless a promotion was announced meanwhile."""
        try:
            aliases = {target: self._read_alias(target) for target in targets}
        except Exception:  # MLflow unreachable: the aliases as they were, re-read after a ttl
            log.warning("champion aliases not re-read", exc_info=True)
            return
        with self._lock:
            if self._aliases_as_of is not None and self._aliases_as_of[0] == generation:
                self._aliases.update(aliases)
