"""Redis clients whose every call ends within seconds (the API's, a worker's chunk sender)."""

import redis

# A process's pool of connections to one Redis: enough for the requests that use it at once
# (readiness, metrics); more wait for one, and no longer than the socket timeout.
REDIS_MAX_CONNECTIONS = 20
REDIS_TIMEOUT_SECONDS = 2.0
# An idle pooled connection is checked (PING) before use after this long: one the server
# closed (a restart) is replaced instead of failing the request that drew it.
REDIS_HEALTH_CHECK_SECONDS = 10


def bounded_redis(url: str) -> redis.Redis:
    """A Redis client whose every call ends within seconds and whose connections are few.

    Connecting and each reply are bounded by timeouts; the pool is bounded and blocking (a
    burst of requests waits briefly for a connection instead of opening hundreds, as a soak
    once found: 470 connections to the broker, all closed by the server and never by us); a
    connection that failed is disconnected by redis-py and reconnected on its next use.
    """
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=REDIS_HEALTH_CHECK_SECONDS,
    )
    return redis.Redis(connection_pool=pool)
