"""The errors of a service outage: PostgreSQL or Redis briefly unreachable (restarting, a
network cut). Work that met one did nothing lasting and succeeds when tried again."""

import redis
import sqlalchemy.exc

TRANSIENT_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
)
