"""Commands that create workspaces, users and API tokens (the first ones, before anyone can log in)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.accounts.models import Workspace
from fenicia.accounts.services import create_api_token, create_user, create_workspace
from fenicia.cli.errors import friendly_errors, load_settings
from fenicia.core.errors import NotFoundError, ValidationFailed
from fenicia.db.engine import Database
from fenicia.runtime import check_migrated

SLUG_JUNK = re.compile(r"[^a-z0-9]+")
MAX_SLUG_LENGTH = 100


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    staff = "staff"


def slugify(name: str) -> str:
    slug = SLUG_JUNK.sub("-", name.lower()).strip("-")[:MAX_SLUG_LENGTH].strip("-")
    if not slug:
        raise ValidationFailed(f"Cannot make a slug from {name!r}.", resolution="Pass one with --slug.")
    return slug


@contextmanager
def _session() -> Iterator[Session]:
    """One write transaction on the migrated app database of the current settings."""
    settings = load_settings()
    check_migrated(settings)
    db = Database(settings.app_database_url())
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


def _workspace_id(session: Session, slug: str) -> int:
    workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    if workspace_id is None:
        raise NotFoundError(f"There is no workspace with the slug '{slug}'.", resolution="Check the slug.")
    return workspace_id


@friendly_errors
def create_workspace_command(
    name: Annotated[str, typer.Argument(help="Display name, e.g. 'Acme Outdoor'.")],
    email: Annotated[str, typer.Option("--email", help="Where notifications about failed syncs go.")],
    slug: Annotated[str | None, typer.Option(help="Short id used in URLs and commands; default from NAME.")] = None,
) -> None:
    """Create a workspace (one merchant)."""
    with _session() as session:
        workspace = create_workspace(session, name, slug or slugify(name), email)
        workspace_id, workspace_slug = workspace.id, workspace.slug
    typer.echo(f"Workspace '{name}' created: id {workspace_id}, slug {workspace_slug}.")


@friendly_errors
def create_user_command(
    workspace: Annotated[str, typer.Argument(help="The workspace's slug.")],
    email: Annotated[str, typer.Argument(help="The user's email, used to log in.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
    ],
    role: Annotated[Role, typer.Option(help="What the user may do.")] = Role.owner,
) -> None:
    """Create a user who logs in to the dashboard of WORKSPACE."""
    with _session() as session:
        user = create_user(session, _workspace_id(session, workspace), email, password, role.value)
        user_email = user.email
    typer.echo(f"User {user_email} created in workspace {workspace} ({role.value}).")


@friendly_errors
def create_token_command(
    workspace: Annotated[str, typer.Argument(help="The workspace's slug.")],
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'erp-integration'.")],
) -> None:
    """Create an API token for WORKSPACE and print it (only this once; Fenicia keeps only its hash)."""
    with _session() as session:
        _, token = create_api_token(session, _workspace_id(session, workspace), name)
    typer.echo(token)
    typer.echo("Store this token now: it is shown only once.", err=True)
