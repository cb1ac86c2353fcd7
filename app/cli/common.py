"""What every command shares: user errors and settings with the embedded stack filled in."""

import contextlib
import os
from collections.abc import Iterator

import click

from app.config import Settings


class UserError(click.ClickException):
    """A mistake of the caller's: one clear line, exit status 1, no traceback."""


def checked(settings: Settings) -> Settings:
    """``settings`` once the betting settings are sound (``app.bets.strategies.
    check_settings``); a bad one is a :class:`UserError` naming it."""
    from app.bets.strategies import check_settings

    try:
        check_settings(settings)
    except ValueError as error:
        raise UserError(str(error)) from None
    return settings


@contextlib.contextmanager
def resolved_settings() -> Iterator[Settings]:
    """The settings with every unset URL filled by the embedded stack (started if need be)."""
    settings = checked(Settings.from_env())
    if settings.is_complete:
        yield settings
        return
    from app.db.migrate import upgrade
    from app.stack.embedded import EmbeddedStack

    stack = EmbeddedStack(settings.var_dir, settings.embedded_redis_port)
    try:
        settings = settings.with_urls(stack.start())
        upgrade(settings.database_url)
        yield settings
    finally:
        stack.stop()


def exec_component(argv: list[str], settings: Settings) -> None:
    """Replace this process with ``argv``, handing it the resolved settings."""
    os.environ.update(settings.as_env())
    os.execvp(argv[0], argv)
