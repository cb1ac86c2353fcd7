"""The API's job messages: made from a template, as Celery's ``send_task`` makes them."""

import base64
import json
import uuid
from dataclasses import replace

import pytest
import redis

from app.jobs.service import JobMessage
from app.kinds import KINDS
from tests.integration.conftest import redis_database
from workers.api import create_api

pytestmark = pytest.mark.integration

SCRATCH_DB = 12  # a Redis database no other test uses


@pytest.fixture
def scratch(settings):
    """Settings whose broker is an empty Redis database of its own, and a client of it."""
    broker = redis_database(settings.broker_url, SCRATCH_DB)
    client = redis.Redis.from_url(broker)
    client.flushdb()
    try:
        yield replace(settings, broker_url=broker), client
    finally:
        client.flushdb()


def _decoded(raw: bytes) -> dict:
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def test_every_kind_s_message_is_the_one_send_task_makes(scratch):
    settings, client = scratch
    queue = create_api(settings).extensions["bullpen"].queue
    assert queue.broker is not None  # the API sends through its templates
    for kind in KINDS.values():
        job_id, task_id = uuid.uuid4(), str(uuid.uuid4())
        queue.send(JobMessage(job_id, kind.name, task_id))
        queue.celery.send_task(kind.task_name, args=[str(job_id)], task_id=task_id)

        assert client.llen(kind.queue) == 2, kind.name
        ours, celery_s = (_decoded(client.rpop(kind.queue)) for _ in range(2))
        tags = {m["properties"].pop("delivery_tag") for m in (ours, celery_s)}
        assert len(tags) == 2  # each message its own
        assert ours == celery_s, kind.name
        assert ours["headers"]["id"] == task_id
        assert ours["body"][0] == [str(job_id)]


def test_a_message_is_one_lpush(scratch, monkeypatch):
    settings, client = scratch
    queue = create_api(settings).extensions["bullpen"].queue
    queue.send(JobMessage(uuid.uuid4(), "predict", str(uuid.uuid4())))  # the template made
    sent: list[str] = []
    command = queue.broker.execute_command
    monkeypatch.setattr(
        queue.broker,
        "execute_command",
        lambda *args, **kw: sent.append(args[0]) or command(*args, **kw),
    )
    monkeypatch.setattr(queue.celery, "send_task", None)  # Celery's publish is not called

    for _ in range(3):
        queue.send(JobMessage(uuid.uuid4(), "predict", str(uuid.uuid4())))

    assert sent == ["LPUSH"] * 3
    assert client.llen("predict") == 4


def test_a_connection_the_broker_closed_is_replaced_and_the_message_sent(scratch):
    settings, client = scratch
    queue = create_api(settings).extensions["bullpen"].queue
    queue.send(JobMessage(uuid.uuid4(), "predict", str(uuid.uuid4())))
    # The pooled connection that sent it, closed by the server (as a restart closes them all).
    client.client_kill_filter(_id=queue.broker.client_id())

    queue.send(JobMessage(uuid.uuid4(), "predict", str(uuid.uuid4())))

    assert client.llen("predict") == 2


def test_a_fanned_out_job_s_chunk_messages_are_the_ones_send_task_makes(scratch):
    """The chunks go in one LPUSH, each message as ``send_task`` makes it, the first chunk
    consumed first (kombu takes a list's tail)."""
    settings, client = scratch
    queue = create_api(settings).extensions["bullpen"].queue
    for kind in (kind for kind in KINDS.values() if kind.chunk):
        job_id = str(uuid.uuid4())
        queue.send_tasks(kind.chunk_task_name, [[job_id, index] for index in range(3)])
        ours = [_decoded(client.rpop(kind.queue)) for _ in range(3)]
        for index, message in enumerate(ours):
            task_id = message["headers"]["id"]
            queue.celery.send_task(kind.chunk_task_name, args=[job_id, index], task_id=task_id)
            celery_s = _decoded(client.rpop(kind.queue))
            tags = {m["properties"].pop("delivery_tag") for m in (message, celery_s)}
            assert len(tags) == 2
            assert message == celery_s, kind.name
            assert message["body"][0] == [job_id, index]
        assert len({message["headers"]["id"] for message in ours}) == 3
        assert client.llen(kind.queue) == 0
