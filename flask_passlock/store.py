"""Storage: every query, commit and rollback Flask-Passlock makes, in one component.

:class:`SQLAlchemyStore` keeps passkeys in the authenticator table and the one-use guard in the
used-ceremony table, through the app's Flask-SQLAlchemy session. The extension and the views
never touch the database session themselves. Any database error leaves as
:class:`~flask_passlock.exceptions.StorageError` (503 ``storage_error``), after a rollback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from .exceptions import AlreadyLinked, IdTokenReplayed, StorageError, UnknownUser
from .principal import Principal

#: Seconds between two clean-ups of the used-ceremony table, per process.
PURGE_EVERY = 60.0


def primary_key(user: Any) -> Any:
    """The primary key of a mapped ``user`` instance, or ``None``."""
    try:
        identity = sa.inspect(user).identity
    except sa_exc.NoInspectionAvailable:
        return None
    return identity[0] if identity else None


class SQLAlchemyStore:
    """Passkeys, users and used ceremonies in the app's database.

    :param db: the Flask-SQLAlchemy ``SQLAlchemy`` object.
    :param user_model: the app's user model.
    :param authenticator_model: the passkey model (built on
        :class:`~flask_passlock.AuthenticatorMixin`).
    :param used_token_model: the model of the one-use guard (one row per ceremony accepted).
    """

    def __init__(
        self,
        db: Any,
        user_model: type[Any] | None,
        authenticator_model: type[Any],
        used_token_model: type[Any],
    ) -> None:
        self.db = db
        self.user_model = user_model
        self.authenticator_model = authenticator_model
        self.used_token_model = used_token_model
        self._purged_at = time.monotonic()

    @property
    def session(self) -> Any:
        return self.db.session

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit what the block wrote, or roll it all back. A database error becomes
        :class:`StorageError`. Objects stay loaded after the commit (nothing is expired), so
        what follows the commit in the request never goes back to the database."""
        try:
            yield
            self.commit()
        except sa_exc.SQLAlchemyError as error:
            self.rollback()
            raise StorageError(reason=type(error).__name__) from None
        except BaseException:
            self.rollback()
            raise

    def commit(self) -> None:
        session = self.session()
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        except sa_exc.SQLAlchemyError as error:
            raise StorageError(reason=type(error).__name__) from None
        finally:
            session.expire_on_commit = expire

    def rollback(self) -> None:
        """Roll back; never raises (the connection may be gone already)."""
        try:
            self.session.rollback()
        except sa_exc.SQLAlchemyError:
            pass

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn a database error in the block into :class:`StorageError` (after a rollback)."""
        try:
            yield
        except sa_exc.SQLAlchemyError as error:
            self.rollback()
            raise StorageError(reason=type(error).__name__) from None

    # -- users ------------------------------------------------------------------------------

    def user_by_username(self, username: str) -> Any:
        """The user whose ``username`` equals ``username``, ignoring case, or ``None``."""
        model = self._user_model("look users up by username", "user_by_username")
        found = self._matching_ignoring_case(model, "username", username)
        return found[0] if found else None

    def user_by_email(self, email: str) -> Any:
        """The user whose ``email`` equals ``email``, ignoring case, or ``None`` (also when
        several accounts share it in different cases and none has it exactly: recovery must
        never pick one of them by chance)."""
        model = self.user_model
        if model is None or not hasattr(model, "email"):
            raise RuntimeError(
                "Flask-Passlock cannot look users up by email: give the user model an "
                "'email' column or register @passlock.user_by_email."
            )
        found = self._matching_ignoring_case(model, "email", email)
        return found[0] if len(found) == 1 else None

    def new_user(self, username: str, email: str | None = None) -> Any:
        """A new user of the user model with this username, and this (confirmed) email when
        given and the model has an ``email`` column (added, not committed)."""
        model = self._user_model("create users", "create_user")
        if email is not None and hasattr(model, "email"):
            return model(username=username, email=email)
        return model(username=username)

    def add_user(self, user: Any) -> None:
        """Add ``user`` and flush, so that it has its primary key."""
        if user not in self.session:
            self.session.add(user)
        self.session.flush()

    def lock_user(self, user: Any) -> None:
        """Serialise writes to ``user``'s passkeys until the transaction ends (so two requests
        can't both see two passkeys and each delete one)."""
        model = self.authenticator_model
        mine = model.user_id == primary_key(user)
        if self.session.get_bind().dialect.name == "sqlite":
            # SQLite has no row locks: a write takes the database lock at once.
            self.session.execute(sa.update(model).where(mine).values(user_id=model.user_id))
        else:
            self.session.execute(sa.select(model.id).where(mine).with_for_update())

    def _matching_ignoring_case(self, model: type[Any], name: str, value: str) -> list[Any]:
        """Up to two users whose column ``name`` equals ``value`` ignoring case; when two
        differ only by case, only those that equal it exactly (the one meant)."""
        column = getattr(model, name)
        query = sa.select(model).where(sa.func.lower(column) == value.lower()).limit(2)
        found = list(self.session.scalars(query))
        if len(found) > 1:
            found = [u for u in found if getattr(u, name) == value]
        return found

    def _user_model(self, what: str, hook: str) -> type[Any]:
        model = self.user_model
        if model is None or not hasattr(model, "username"):
            raise RuntimeError(
                f"Flask-Passlock cannot {what}: give the user model a 'username' column or "
                f"register @passlock.{hook}."
            )
        return model

    # -- passkeys ---------------------------------------------------------------------------

    def authenticators_for(self, user: Any) -> list[Any]:
        """``user``'s passkeys, oldest first."""
        model = self.authenticator_model
        query = (
            sa.select(model)
            .where(model.user_id == primary_key(user))
            .order_by(model.created_at, model.id)
        )
        return list(self.session.scalars(query))

    def passkey_ids_for(self, user: Any) -> list[str]:
        """The ids of ``user``'s passkeys, oldest first."""
        model = self.authenticator_model
        query = (
            sa.select(model.id)
            .where(model.user_id == primary_key(user))
            .order_by(model.created_at, model.id)
        )
        return list(self.session.scalars(query))

    def find_authenticator(self, authenticator_id: str) -> Any:
        """The passkey with this id, or ``None``."""
        return self.session.get(self.authenticator_model, authenticator_id)

    def owned_authenticator(self, user: Any, authenticator_id: str) -> Any:
        """``user``'s passkey with this id, or ``None`` (also for anyone else's)."""
        authenticator = self.find_authenticator(authenticator_id)
        if authenticator is None or authenticator.user_id != primary_key(user):
            return None
        return authenticator

    def user_of(self, authenticator: Any) -> Any:
        """The user a passkey belongs to."""
        user = getattr(authenticator, "user", None)
        if user is None and self.user_model is not None:
            user = self.session.get(self.user_model, authenticator.user_id)
        return user

    def link(self, user: Any, principal: Principal, *, label: str, used: bool = False) -> Any:
        """Add a passkey row for ``principal`` linked to ``user`` (flushed, not committed).

        :raises UnknownUser: ``user`` is not a stored user.
        :raises AlreadyLinked: the passkey is linked already, to anyone.
        """
        user_id = primary_key(user)
        if user_id is None:
            raise UnknownUser(reason="not a stored user")
        if not (user in self.session and sa.inspect(user).persistent):
            if self.user_model is None or self.session.get(self.user_model, user_id) is None:
                raise UnknownUser(reason="no such user")
        now = datetime.now(timezone.utc)
        row = self.authenticator_model(
            id=principal.authenticator_id,
            user_id=user_id,
            passlock_user_id=principal.user_id,
            user_verified=principal.user_verified,
            platform_name=principal.platform_name[:255] if principal.platform_name else None,
            label=label,
            created_at=now,
            last_used_at=now if used else None,
        )
        self.session.add(row)
        try:
            self.session.flush()
        except (sa_exc.IntegrityError, orm_exc.FlushError):
            # Linked already (maybe by a concurrent request), or the user was deleted
            # meanwhile (foreign key): tell which. The whole request fails either way.
            self.rollback()
            if self.session.get(self.authenticator_model, principal.authenticator_id):
                raise AlreadyLinked() from None
            raise UnknownUser(reason="the user was deleted") from None
        return row

    def touch(self, authenticator: Any) -> None:
        """Mark the passkey used now."""
        authenticator.last_used_at = datetime.now(timezone.utc)

    def rename(self, authenticator: Any, label: str) -> None:
        authenticator.label = label

    def delete(self, authenticators: list[Any]) -> None:
        """Delete these passkey rows (flushed, not committed)."""
        for authenticator in authenticators:
            self.session.delete(authenticator)
        self.session.flush()

    # -- one ceremony, one use --------------------------------------------------------------

    def use_once(self, principal: Principal, *, keep_for: float) -> None:
        """Record that the ceremony ``principal`` came from was used (in the transaction).

        The row is kept until ``keep_for`` seconds past the principal's expiry (the id_token
        leeway), so no copy can be accepted again while it could still pass the checks.

        :raises IdTokenReplayed: it was used before (by any worker).
        """
        expires_at = principal.expires_at + timedelta(seconds=keep_for)
        self.use_key(principal.id, expires_at)

    def use_key(self, key: str, expires_at: datetime) -> None:
        """Record that ``key`` (a ceremony's id, or ``"challenge:<id>"``) was used, in the
        transaction; the row is kept until ``expires_at``.

        The row is written at once by a plain INSERT, not through the session's unit of work:
        nothing reads it back in the request, and a ceremony sign-in or registration then
        costs one ORM flush, like the same route written by hand. On PostgreSQL a second
        request with the same key waits for the first one's transaction, then fails here.

        :raises IdTokenReplayed: it was used before (by any worker).
        """
        now = time.monotonic()
        if now - self._purged_at > PURGE_EVERY:  # housekeeping: once a minute per process
            self._purged_at = now
            self.purge_used()
        insert, jti, expires = self._use_insert
        try:
            self.session.execute(insert, {jti: key, expires: expires_at})
        except sa_exc.IntegrityError:  # the primary key refuses a ceremony seen before
            self.rollback()
            raise IdTokenReplayed(reason="ceremony used before") from None

    @cached_property
    def _use_insert(self) -> tuple[Any, str, str]:
        """The used-ceremony INSERT and the parameter names of its two columns."""
        mapper = sa.inspect(self.used_token_model)
        columns = mapper.columns
        return mapper.local_table.insert(), columns["jti"].key, columns["expires_at"].key

    def was_used(self, key: str) -> bool:
        """Whether ``key`` (a ceremony's id) was recorded as used."""
        return self.session.get(self.used_token_model, key) is not None

    def purge_used(self, now: datetime | None = None) -> None:
        """Forget used ceremonies that can no longer pass the checks (in the transaction)."""
        model = self.used_token_model
        cutoff = now or datetime.now(timezone.utc)
        self.session.execute(sa.delete(model).where(model.expires_at < cutoff))
