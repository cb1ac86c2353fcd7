"""The champion cache: aliases re-read when a promotion is announced or after their TTL,
a model loaded once per version."""

import threading
from types import SimpleNamespace

import pytest

from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.ml import registry
from app.ml.predict import champions_for


@pytest.fixture
def alias_and_loads(monkeypatch) -> tuple[dict[str, str | None], list[str]]:
    """The champion alias of every model (editable) and the versions loaded so far."""
    alias: dict[str, str | None] = {"bullpen-moneyline": "1"}
    loads: list[str] = []
    reads: list[str] = []

    def version_by_alias(_client, name: str, _alias: str):
        reads.append(name)
        return SimpleNamespace(version=alias[name]) if alias[name] else None

    def load_version(_settings, target: str, version: str):
        loads.append(version)
        return SimpleNamespace(
            target=target, version=version, feature_fingerprint=FEATURE_SET.fingerprint
        )

    monkeypatch.setattr(registry, "client", lambda settings: object())
    monkeypatch.setattr(registry, "version_by_alias", version_by_alias)
    monkeypatch.setattr(registry, "load_version", load_version)
    return alias, loads, reads


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_next_call_after_an_announced_promotion_gets_the_new_champion(
    alias_and_loads, monkeypatch
):
    alias, loads, reads = alias_and_loads
    generation = [b"1"]
    clock = Clock()
    monkeypatch.setattr(registry.time, "monotonic", clock)
    champions = registry.ChampionCache(Settings.from_env({}), generation=lambda: generation[0])

    first, again = champions.get("moneyline"), champions.get("moneyline")
    alias["bullpen-moneyline"] = "2"
    unannounced = champions.get("moneyline")
    generation[0] = b"2"
    promoted = champions.get("moneyline")
    alias["bullpen-moneyline"] = None
    clock.now += registry.ALIAS_TTL_SECONDS  # moved by hand, not announced: after the TTL
    during_the_re_read = champions.get("moneyline")
    champions.refreshing.join()
    unset = champions.get("moneyline")

    assert first is again is unannounced and first.version == "1"
    assert reads == ["bullpen-moneyline"] * 3  # once, after the announcement, after the TTL
    assert promoted.version == "2"
    assert during_the_re_read is promoted  # no job waits for the TTL's re-read
    assert unset is None
    assert loads == ["1", "2"]


def test_the_ttl_s_re_read_of_the_aliases_is_not_made_by_the_job_that_finds_it_due(
    alias_and_loads, monkeypatch
) -> None:
    alias, _, _ = alias_and_loads
    readers: list[int] = []
    monkeypatch.setattr(
        registry,
        "version_by_alias",
        lambda _client, name, _alias: (
            readers.append(threading.get_ident()) or SimpleNamespace(version=alias[name])
        ),
    )
    clock = Clock()
    monkeypatch.setattr(registry.time, "monotonic", clock)
    champions = registry.ChampionCache(Settings.from_env({}), generation=lambda: b"1")

    champions.get("moneyline")
    clock.now += registry.ALIAS_TTL_SECONDS
    champions.get("moneyline")
    assert champions.refreshing is not None
    champions.refreshing.join()

    assert readers[0] == threading.get_ident()  # the first read: nothing to serve meanwhile
    assert readers[1:] == [champions.refreshing.ident]


def test_a_job_s_champions_read_the_announcement_of_a_promotion_once(alias_and_loads) -> None:
    alias, _, reads = alias_and_loads
    alias.update({"bullpen-runline": "1", "bullpen-total": "1"})
    generation_reads = []
    champions = registry.ChampionCache(
        Settings.from_env({}), generation=lambda: generation_reads.append(1) or b"1"
    )

    models = champions_for(champions, ["moneyline", "runline", "total"])

    assert [model.version for model in models.values()] == ["1", "1", "1"]
    assert len(generation_reads) == 1  # one Redis round trip a job, not one a target
    assert sorted(reads) == ["bullpen-moneyline", "bullpen-runline", "bullpen-total"]
