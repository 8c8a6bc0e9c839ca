"""``SQLAlchemyStore.lock_user``: what makes two deletes at once unable to remove a user's last
passkey. The race itself is tested through gunicorn on PostgreSQL
(``test_last_passkey_race.py``); here, the lock: it holds exactly the user's passkeys, from
another connection's point of view, until the transaction ends."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from flask_passlock.state import get_state

from .helpers import app_parts


@pytest.fixture
def parts(emulator, database_url, tmp_path):
    """On SQLite, a database file: a second connection must see the first one's lock."""
    url = f"sqlite:///{tmp_path / 'lock.sqlite'}" if database_url == "sqlite://" else database_url
    with app_parts(emulator, url) as built:
        yield built


def test_lock_user_holds_the_users_passkeys_until_the_transaction_ends(parts, emulator):
    _, ada_id, (ada_key,) = parts.user_with_passkeys(emulator, "ada")
    _, _, (bob_key,) = parts.user_with_passkeys(emulator, "bob")
    with parts.app.app_context():
        store = get_state(parts.app).store
        engine = parts.db.engine
        store.lock_user(parts.db.session.get(parts.User, ada_id))
        try:
            if engine.dialect.name == "sqlite":  # no row locks: the database's write lock
                assert not _can_write(engine.url.database)
            else:
                assert not _can_lock(engine, ada_key)
                assert _can_lock(engine, bob_key)  # another user's passkeys are free
        finally:
            store.rollback()
        if engine.dialect.name == "sqlite":
            assert _can_write(engine.url.database)
        else:
            assert _can_lock(engine, ada_key)


def _can_lock(engine, passkey_id: str) -> bool:
    """Whether another connection can lock the passkey's row at once."""
    table = "passlock_authenticator"
    with engine.connect() as other:
        try:
            other.execute(
                sa.text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE NOWAIT"),  # noqa: S608
                {"id": passkey_id},
            )
        except sa.exc.OperationalError:
            return False
        finally:
            other.rollback()
    return True


def _can_write(path: str) -> bool:
    """Whether another connection can start writing to the SQLite file at once."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()
    return True
