"""``flask passlock ...``: check the configuration, list and delete passkeys, run the emulator.

The API key is never printed.
"""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from . import config as cfg
from .exceptions import Forbidden, NotFound, PasslockError

passlock_cli = AppGroup("passlock", help="Flask-Passlock: passkeys backed by Passlock.")


def _extension() -> Any:
    from .extension import _get_state

    return _get_state().extension


@passlock_cli.command("check")
def check() -> None:
    """Check the config, that Passlock answers, and that it accepts the API key."""
    config = current_app.config
    extension = _extension()
    key = config[cfg.API_KEY]
    click.echo(f"Tenancy ID: {config[cfg.TENANCY_ID]}")
    click.echo(f"API key:    set ({len(key)} characters, not shown)")
    click.echo(f"Endpoint:   {extension.client.origin}")
    click.echo(f"Client URL: {config[cfg.CLIENT_URL]}")
    try:
        extension.client.list_passkeys()
    except Forbidden:
        raise click.ClickException("Passlock refused the API key or tenancy ID.") from None
    except PasslockError as error:
        raise click.ClickException(f"Passlock did not answer properly: {error}") from None
    click.echo("OK: Passlock is reachable and accepts the API key.")


@passlock_cli.command("list")
@click.option("--user", "user_id", default=None, help="Only this user's passkeys (user id).")
def list_command(user_id: str | None) -> None:
    """List the linked passkeys."""
    from sqlalchemy import select

    extension = _extension()
    model = extension.authenticator_model
    query = select(model).order_by(model.created_at, model.id)
    if user_id is not None:
        column = model.__table__.c.user_id
        value: Any = user_id
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = str
        try:
            value = python_type(user_id)
        except (TypeError, ValueError):
            raise click.BadParameter(f"not a valid user id: {user_id!r}") from None
        query = query.where(model.user_id == value)
    rows = list(extension.state.db.session.scalars(query))
    for row in rows:
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        created = row.created_at.isoformat(timespec="seconds")
        click.echo(f"{row.id}\tuser={row.user_id}\t{row.label}\tcreated={created}\tused={used}")
    click.echo(f"{len(rows)} passkey(s)")


@passlock_cli.command("delete")
@click.argument("authenticator_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_command(authenticator_id: str, yes: bool) -> None:
    """Delete a passkey at Passlock and here.

    Passkey ids may start with '-': put '--' before such an id (delete --yes -- -abc).
    """
    extension = _extension()
    row = extension.find_authenticator(authenticator_id)
    if row is None:
        raise click.ClickException(f"No passkey {authenticator_id!r} here.")
    if not yes:
        click.confirm(f"Delete passkey {authenticator_id} of user {row.user_id}?", abort=True)
    try:
        extension.client.delete_passkey(authenticator_id)
    except NotFound:
        click.echo("Passlock had no such passkey; deleting it here.")
    except PasslockError as error:
        raise click.ClickException(f"Passlock could not delete it, kept here: {error}") from None
    session = extension.state.db.session
    session.delete(row)
    session.commit()
    click.echo(f"Deleted {authenticator_id}.")


@passlock_cli.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--tenancy-id", default="emulator", show_default=True)
@click.option("--api-key", default=None, help="Default: a random one, printed.")
def emulator_command(host: str, port: int, tenancy_id: str, api_key: str | None) -> None:
    """Run a local Passlock emulator until interrupted."""
    from .emulator import PasslockEmulator

    PasslockEmulator(tenancy_id, api_key, host=host, port=port).serve_until_interrupted(
        echo=click.echo
    )
