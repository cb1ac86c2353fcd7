"""The broker's transport (workers.broker): kombu's Redis transport, one client per channel
for the commands it sends itself, the configured URL kept as it is."""

import threading
import time
import uuid

import pytest
from kombu.transport import resolve_transport

from workers.broker import Channel, Transport
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration


def test_a_redis_broker_url_gets_the_transport_and_is_shown_as_configured(settings):
    app = make_celery(settings)
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        assert isinstance(connection.default_channel, Channel)
        assert connection.as_uri().startswith("redis://")  # the worker's banner, Flower's page
    assert resolve_transport("rediss") is Transport
    assert not issubclass(resolve_transport("sentinel"), Transport)  # kombu's own


def test_a_channel_s_commands_share_one_client_until_its_pool_changes(settings):
    app = make_celery(settings)
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        channel._disconnect_pools()  # as after a fork or a lost connection: a new pool
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool
            assert third.ping()


def test_messages_and_events_go_through_it(settings):
    """On the session's broker: a queue no worker consumes, events of a type of their own."""
    app = make_celery(settings)
    mark = str(uuid.uuid4())
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue(f"transport-test-{mark}")
        for n in range(3):
            queue.put({"n": n})
        got = []
        for _ in range(3):
            message = queue.get(timeout=5)
            got.append(message.payload["n"])
            message.ack()
        queue.queue.delete()
        queue.close()
    assert got == [0, 1, 2]

    received: list[int] = []
    with app.connection_for_write() as connection:
        receiver = app.events.Receiver(connection, handlers={"*": lambda event: ours(event)})

        def ours(event: dict) -> None:
            if event.get("mark") == mark:
                received.append(event["n"])
                receiver.should_stop = received[-3:] == [0, 1, 2]

        listening = threading.Thread(
            target=receiver.capture, kwargs={"limit": None, "timeout": 10}, daemon=True
        )
        listening.start()
        deadline = time.monotonic() + 10
        with app.events.default_dispatcher() as dispatcher:
            while not received and time.monotonic() < deadline:  # once it subscribed
                dispatcher.send("worker-transport-test", mark=mark, n=-1)
                time.sleep(0.2)
            for n in range(3):
                dispatcher.send("worker-transport-test", mark=mark, n=n)
        listening.join(10)
    assert received[-3:] == [0, 1, 2]
