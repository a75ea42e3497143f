"""How every command fails: a message and what to do about it on stderr, exit status 2, no traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from fenicia.core.errors import FeniciaError
from fenicia.core.logging import configure_logging
from fenicia.core.settings import Settings

EXIT_FAILURE = 2
DATABASE_RESOLUTION = "Check FENICIA_DATABASE_URL and that the database server is running."

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, resolution: str | None = None) -> NoReturn:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    if resolution:
        typer.echo(resolution, err=True)
    raise typer.Exit(code=EXIT_FAILURE)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turns our errors (and an unreachable database) into ``fail``; anything else is a bug and keeps
    its traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FeniciaError as exc:
            fail(exc.message, exc.resolution)
        except OperationalError as exc:
            fail(f"The database cannot be used: {_first_line(exc)}", DATABASE_RESOLUTION)

    return wrapper


def load_settings() -> Settings:
    """Settings from the FENICIA_* environment, read afresh for every command; logging configured."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"FENICIA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"Invalid settings: {problems}.", "Fix the environment variables and run the command again.")
    configure_logging(settings)
    return settings
