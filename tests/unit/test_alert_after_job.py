"""A prediction job's alerts: a broker that cannot take the message does not fail the job."""

import logging
from types import SimpleNamespace

import pytest
from kombu.exceptions import OperationalError

import tasks.jobs
from app.kinds import KINDS, PREDICT


def test_a_broker_down_after_the_work_committed_leaves_the_alerts_to_the_beat(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []

    def broker_down(name: str) -> None:
        sent.append(name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.jobs, "settings", lambda: SimpleNamespace(alert_urls=("http://x",)))
    monkeypatch.setattr(tasks.jobs.celery, "send_task", broker_down)
    with caplog.at_level(logging.WARNING, logger="tasks.jobs"):
        tasks.jobs._alert_served(KINDS[PREDICT.name])  # no exception: the job stays succeeded
    assert sent == ["tasks.bets.send_alerts"]
    assert "beat's next round" in caplog.text


def test_other_errors_still_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(tasks.jobs, "settings", lambda: SimpleNamespace(alert_urls=("http://x",)))
    monkeypatch.setattr(tasks.jobs.celery, "send_task", broken)
    with pytest.raises(TypeError):
        tasks.jobs._alert_served(KINDS[PREDICT.name])
