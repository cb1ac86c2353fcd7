"""The errors of a service outage: PostgreSQL or Redis briefly unreachable (restarting, a
network cut) or too busy to answer in time. Work that met one did nothing lasting and succeeds
when tried again; the API answers them 503 with ``Retry-After``."""

import redis
import sqlalchemy.exc


class ServiceTimeout(TimeoutError):
    """A service gave no answer within the deadline the caller set."""


TRANSIENT_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    # The process's database pool had no free connection within its timeout (every
    # connection busy under load): nothing was done, and a retry shortly succeeds.
    sqlalchemy.exc.TimeoutError,
    redis.ConnectionError,
    redis.TimeoutError,
    ServiceTimeout,
)
