"""The MLflow model registry: one registered model per target, aliases ``champion``/``challenger``.

Workers keep the champions in a :class:`ChampionCache` that re-reads the alias
every ``refresh_seconds``, so a newly promoted champion is served without restart.
"""

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb

from app.config import TARGETS, Settings

EXPERIMENT_NAME = "bullpen"
CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class LoadedModel:
    """A registered model version ready to predict."""

    target: str
    name: str
    version: str
    booster: lgb.Booster
    feature_fingerprint: str
    feature_names: tuple[str, ...]


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
        versions[target] = version.version if version else None
    return versions


def load_version(settings: Settings, target: str, version: str) -> LoadedModel:
    """Load one registered version of ``target``'s model."""
    import mlflow.lightgbm

    mlflow_client = client(settings)
    name = settings.model_name(target)
    model_version = mlflow_client.get_model_version(name, version)
    booster = mlflow.lightgbm.load_model(f"models:/{name}/{version}")
    tags: dict[str, Any] = model_version.tags
    return LoadedModel(
        target=target,
        name=name,
        version=str(version),
        booster=booster,
        feature_fingerprint=tags["feature_fingerprint"],
        feature_names=tuple(json.loads(tags["feature_names"])),
    )


class ChampionCache:
    """The champion of each target, reloaded when the alias moves."""

    def __init__(self, settings: Settings, refresh_seconds: float = 30.0) -> None:
        self.settings = settings
        self.refresh_seconds = refresh_seconds
        self._models: dict[str, LoadedModel | None] = {}
        self._checked_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, target: str) -> LoadedModel | None:
        """The current champion of ``target`` (None when there is none)."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at.get(target, -1e9) >= self.refresh_seconds:
                self._checked_at[target] = now
                self._models[target] = self._reload_if_moved(target)
            return self._models.get(target)

    def _reload_if_moved(self, target: str) -> LoadedModel | None:
        current = self._models.get(target)
        version = version_by_alias(
            client(self.settings), self.settings.model_name(target), CHAMPION
        )
        if version is None:
            return None
        if current is not None and current.version == str(version.version):
            return current
        return load_version(self.settings, target, str(version.version))
