"""What the registry holds, as the API and the pages show it: champions, versions, performance."""

from typing import Any

from mlflow.exceptions import MlflowException

from app.config import Settings
from app.markets import TARGETS
from app.ml import registry

MAX_VERSIONS = 50


def version_body(version: Any, aliases: list[str]) -> dict[str, Any]:
    """One model version: aliases, run, feature set, data range, promotion decision, tags."""
    tags = {k: v for k, v in version.tags.items() if k not in ("feature_names",)}
    return {
        "version": str(version.version),
        "aliases": aliases,
        "created_at": version.creation_timestamp,
        "run_id": version.run_id,
        "feature_set": tags.get("feature_set"),
        "feature_fingerprint": tags.get("feature_fingerprint"),
        "data_range": tags.get("data_range"),
        "train_last_date": tags.get("train_last_date"),
        "promotion_decision": tags.get("promotion_decision"),
        "tags": tags,
    }


def active_models(settings: Settings) -> dict[str, dict[str, Any] | None]:
    """The champion of every target (None for a target without one)."""
    client = registry.client(settings)
    active: dict[str, dict[str, Any] | None] = {}
    for target in TARGETS:
        name = settings.model_name(target)
        champion = registry.version_by_alias(client, name, registry.CHAMPION)
        active[target] = (
            {"model_name": name, **version_body(champion, [registry.CHAMPION])}
            if champion
            else None
        )
    return active


def model_versions(settings: Settings, target: str, name: str) -> dict[str, Any] | None:
    """A registered model's versions (latest first) with their params; None if not registered."""
    client = registry.client(settings)
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return None
    by_version: dict[str, list[str]] = {}
    for alias, number in (model.aliases or {}).items():
        by_version.setdefault(str(number), []).append(alias)
    versions = sorted(
        client.search_model_versions(f"name = '{name}'"),
        key=lambda v: int(v.version),
        reverse=True,
    )[:MAX_VERSIONS]
    bodies = []
    for version in versions:
        body = version_body(version, by_version.get(str(version.version), []))
        try:
            body["params"] = client.get_run(version.run_id).data.params
        except MlflowException:
            body["params"] = None
        bodies.append(body)
    return {
        "model_name": name,
        "target": target,
        "aliases": dict(model.aliases or {}),
        "versions": bodies,
    }
