"""The champion cache: the alias read on every call, a model loaded once per version."""

from types import SimpleNamespace

import pytest

from app.config import Settings
from app.ml import registry


@pytest.fixture
def alias_and_loads(monkeypatch) -> tuple[dict[str, str | None], list[str]]:
    """The champion alias of every model (editable) and the versions loaded so far."""
    alias: dict[str, str | None] = {"bullpen-moneyline": "1"}
    loads: list[str] = []

    def version_by_alias(_client, name: str, _alias: str):
        return SimpleNamespace(version=alias[name]) if alias[name] else None

    def load_version(_settings, target: str, version: str):
        loads.append(version)
        return SimpleNamespace(target=target, version=version)

    monkeypatch.setattr(registry, "client", lambda settings: object())
    monkeypatch.setattr(registry, "version_by_alias", version_by_alias)
    monkeypatch.setattr(registry, "load_version", load_version)
    return alias, loads


def test_the_next_call_after_a_promotion_gets_the_new_champion(alias_and_loads):
    alias, loads = alias_and_loads
    champions = registry.ChampionCache(Settings.from_env({}))

    first, again = champions.get("moneyline"), champions.get("moneyline")
    alias["bullpen-moneyline"] = "2"
    promoted = champions.get("moneyline")
    alias["bullpen-moneyline"] = None
    unset = champions.get("moneyline")

    assert first is again and first.version == "1"
    assert promoted.version == "2"
    assert unset is None
    assert loads == ["1", "2"]
