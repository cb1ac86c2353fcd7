"""The soak's feed games and memory samples stay right on a stack used before: a second soak on
the same day bets on games the schedule feed can store (the first's pairings are taken), and a
sample of shared memory is not summed over a process tree that changed while it was read."""

from datetime import UTC, datetime

import psutil


def test_a_second_soak_on_the_same_day_takes_pairings_the_first_did_not(soak):
    start = datetime(2026, 7, 4, 20, 0, tzinfo=UTC)
    first = soak.feed_provider(12, start, 60)
    first_keys = soak.feed_keys(first)
    assert len(first_keys) == 12

    second = soak.feed_provider(12, start.replace(hour=21), 60, frozenset(first_keys))
    second_keys = soak.feed_keys(second)

    assert len(second_keys) == 12
    assert not first_keys & second_keys
    assert {g.game_pk for g in first.games}.isdisjoint(g.game_pk for g in second.games)


def test_a_memory_sample_is_read_again_when_the_process_tree_changed_during_it(soak, monkeypatch):
    me = psutil.Process()
    trees = iter([
        {(me.pid, 1.0): me},  # before the first reads
        {(me.pid, 1.0): me, (999_999, 2.0): me},  # a process started meanwhile: read again
        {(me.pid, 1.0): me},
        {(me.pid, 1.0): me},
    ])  # fmt: skip
    calls = []

    def tree(pid):
        calls.append(pid)
        return next(trees)

    monkeypatch.setattr(soak, "_tree", tree)
    sample = soak.tree_memory(me.pid)

    assert len(calls) == 4  # two passes, each with its tree before and after
    assert sample["processes"] == 1
    assert sample["rss_mb"] > 0
