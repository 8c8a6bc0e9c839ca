"""``flask passlock ...``: check the configuration, list and delete passkeys, forget a user, run
the emulator.

The API key is never printed.
"""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from . import config as cfg
from ._text import clean_username
from .exceptions import Forbidden, InvalidUsername, NotFound, PasslockError
from .state import get_state
from .store import primary_key

passlock_cli = AppGroup("passlock", help="Flask-Passlock: passkeys backed by Passlock.")


def _user(name_or_id: str) -> Any:
    """The user with this username, else with this primary key; a clear error if none."""
    state = get_state()
    store = state.require_store()
    user = None
    try:
        user = state.extension.find_user_by_username(clean_username(name_or_id, max_length=256))
    except InvalidUsername:
        pass
    if user is None and store.user_model is not None:
        column = store.user_model.__mapper__.primary_key[0]
        try:
            user = store.session.get(store.user_model, column.type.python_type(name_or_id))
        except (TypeError, ValueError, NotImplementedError):
            user = None
    if user is None:
        raise click.ClickException(f"No user named or numbered {name_or_id!r}.")
    return user


def _name(user: Any) -> str:
    for attr in ("username", "email", "name"):
        value = getattr(user, attr, None)
        if isinstance(value, str) and value:
            return f"{value} ({primary_key(user)})"
    return str(primary_key(user))


@passlock_cli.command("check")
def check() -> None:
    """Check the config, that Passlock answers, and that it accepts the API key."""
    config = current_app.config
    client = get_state().client
    key = config[cfg.API_KEY]
    click.echo(f"Tenancy ID: {config[cfg.TENANCY_ID]}")
    click.echo(f"API key:    set ({len(key)} characters, not shown)")
    click.echo(f"Endpoint:   {client.origin}")
    click.echo(f"Client URL: {config[cfg.CLIENT_URL]}")
    try:
        client.list_passkeys()
    except Forbidden:
        raise click.ClickException("Passlock refused the API key or tenancy ID.") from None
    except PasslockError as error:
        raise click.ClickException(f"Passlock did not answer properly: {error}") from None
    click.echo("OK: Passlock is reachable and accepts the API key.")


@passlock_cli.command("list")
@click.option("--user", "who", default=None, help="Only this user's passkeys (username or id).")
def list_command(who: str | None) -> None:
    """List the linked passkeys."""
    store = get_state().require_store()
    if who is not None:
        rows = store.authenticators_for(_user(who))
    else:
        import sqlalchemy as sa

        model = store.authenticator_model
        rows = list(store.session.scalars(sa.select(model).order_by(model.created_at, model.id)))
    for row in rows:
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        created = row.created_at.isoformat(timespec="seconds")
        owner = _name(store.user_of(row)) if store.user_model is not None else row.user_id
        click.echo(f"{row.id}\t{owner}\t{row.label}\tcreated={created}\tused={used}")
    click.echo(f"{len(rows)} passkey(s)")


@passlock_cli.command("delete")
@click.argument("authenticator_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_command(authenticator_id: str, yes: bool) -> None:
    """Delete a passkey at Passlock and here.

    Passkey ids may start with '-': put '--' before such an id (delete --yes -- -abc).
    """
    state = get_state()
    store = state.require_store()
    row = store.find_authenticator(authenticator_id)
    if row is None:
        raise click.ClickException(f"No passkey {authenticator_id!r} here.")
    if not yes:
        owner = _name(store.user_of(row))
        click.confirm(f"Delete passkey {authenticator_id} of {owner}?", abort=True)
    try:
        state.client.delete_passkey(authenticator_id)
    except NotFound:
        click.echo("Passlock had no such passkey; deleting it here.")
    except PasslockError as error:
        raise click.ClickException(f"Passlock could not delete it, kept here: {error}") from None
    with store.transaction():
        store.delete([row])
    click.echo(f"Deleted {authenticator_id}.")


@passlock_cli.command("forget-user")
@click.argument("who")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget_user_command(who: str, yes: bool) -> None:
    """Delete every passkey of a user (username or id), at Passlock and here."""
    user = _user(who)
    if not yes:
        click.confirm(f"Delete every passkey of {_name(user)}?", abort=True)
    try:
        records = get_state().extension.forget_user(user)
    except PasslockError as error:
        raise click.ClickException(f"Passlock failed, nothing deleted here: {error}") from None
    click.echo(f"Forgot {_name(user)}: {len(records)} passkey(s) deleted at Passlock.")


@passlock_cli.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--tenancy-id", default=None, help="Default: the emulator's development tenancy.")
@click.option("--api-key", default=None, help="Default: the emulator's development key.")
@click.option("--state", default=None, help="Keep the emulator's state in this JSON file.")
def emulator_command(
    host: str, port: int, tenancy_id: str | None, api_key: str | None, state: str | None
) -> None:
    """Run a local Passlock emulator until interrupted."""
    from .emulator import PasslockEmulator

    options: dict[str, Any] = {"host": host, "port": port, "state_file": state}
    if tenancy_id:
        options["tenancy_id"] = tenancy_id
    if api_key:
        options["api_key"] = api_key
    PasslockEmulator(**options).serve_until_interrupted(echo=click.echo)
