"""The Redis broker's kombu transport, with one client per channel for its commands.

kombu's Redis channel makes a new ``redis.Redis`` around its connection pool for every
command it sends on its own (``Channel.conn_or_acquire``): each task event the worker
publishes, each message's unacked-index write and its ack. redis-py builds a client's
response callbacks anew each time (~65 us, more than the PUBLISH itself on this machine),
about five times a one-game job in the worker's main process (py-spy, issue 21). The client
holds nothing but the pool, which hands each command a connection and is safe to share, so
:class:`Channel` keeps one client per pool: a new pool (after a fork or a reconnection) gets
a new client. Everything else is kombu's Redis transport as it is.

:func:`install` makes it the transport of ``redis://`` and ``rediss://`` broker URLs in this
process (kombu's alias of the scheme), so the URL a user configured stays the one shown and
parsed (the worker's banner, Flower's broker page); any other scheme keeps kombu's own.
"""

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _client_of_pool: tuple[Any, Any] | None = None  # (the pool, its client)

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the consumer's BRPOP client, made once per channel by kombu
            return super()._create_client(asynchronous=True)
        pool = self.pool
        cached = self._client_of_pool
        if cached is None or cached[0] is not pool:
            cached = self._client_of_pool = (pool, super()._create_client())
        return cached[1]


class Transport(redis.Transport):
    Channel = Channel


# The URL schemes kombu gives its Redis transport, and this transport's name for kombu.
REDIS_SCHEMES = ("redis", "rediss")
TRANSPORT = f"{__name__}:Transport"


def install() -> None:
    """:class:`Transport` for every ``redis://`` and ``rediss://`` connection this process
    makes from now on (``workers.celery_app`` installs it when imported, before any)."""
    from kombu import transport as transports

    for scheme in REDIS_SCHEMES:
        transports.TRANSPORT_ALIASES[scheme] = TRANSPORT
        transports._transport_cache.pop(scheme, None)  # a resolution made before this one
