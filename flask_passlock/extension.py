"""The :class:`Passlock` extension object."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

from flask import Flask, current_app, has_app_context, session

from . import config as cfg
from .client import PasslockClient, Timeout
from .exceptions import (
    AlreadyLinked,
    IdTokenReplayed,
    LastPasskey,
    NoSuchPasskey,
    NotAPasskey,
    NotFound,
    UnknownPasskey,
    UnknownUser,
    UserDisabled,
)
from .models import make_authenticator_model, make_used_token_model
from .principal import Principal

F = TypeVar("F", bound=Callable[..., Any])

#: ``link_passkey`` hook: ``(user, principal) -> authenticator row (or any value)``.
LinkPasskey = Callable[[Any, Principal], Any]
#: ``current_user_loader`` hook: ``() -> user or None``.
CurrentUserLoader = Callable[[], Any]
#: ``login_user`` hook: ``(user) -> None``.
LoginUser = Callable[[Any], Any]
#: ``create_user`` hook: ``(username, principal) -> new user (added to the session)``.
CreateUser = Callable[[str, Principal], Any]
#: ``user_by_username`` hook: ``(username) -> user or None``.
UserByUsername = Callable[[str], Any]
#: ``has_other_sign_in`` hook: ``(user) -> bool``.
HasOtherSignIn = Callable[[Any], bool]

#: Session keys of the last passkey verification (step-up freshness); signed by Flask.
SESSION_VERIFIED_AT = "_passlock_verified_at"
SESSION_VERIFIED_USER = "_passlock_verified_user"

_NO_USER_LOADER = (
    "Flask-Passlock cannot tell who is signed in. Install and set up Flask-Login "
    "(LoginManager(app)), or register a loader with @passlock.current_user_loader that "
    "returns the signed-in user or None."
)


@dataclasses.dataclass
class _State:
    """What :meth:`Passlock.init_app` keeps for one app, in ``app.extensions["passlock"]``."""

    extension: Passlock
    client: PasslockClient
    db: Any
    user_model: type[Any] | None
    authenticator_model: type[Any] | None
    used_token_model: type[Any] | None = None
    verifier: Any = None


class Passlock:
    """Passkey registration backed by Passlock, for one or more Flask apps.

    ::

        passlock = Passlock(app, db=db, user_model=User)
        # or, with an application factory:
        passlock = Passlock(db=db, user_model=User)
        passlock.init_app(app)

    :param app: the app to set up now; leave out and call :meth:`init_app` later.
    :param db: the Flask-SQLAlchemy ``SQLAlchemy`` object holding the authenticator table.
    :param user_model: the app's user model; the default authenticator model gets a foreign
        key to its primary key.
    :param authenticator_model: your own model built on
        :class:`~flask_passlock.AuthenticatorMixin`, instead of the default one.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: Any = None,
        user_model: type[Any] | None = None,
        authenticator_model: type[Any] | None = None,
    ) -> None:
        self.db = db
        self.user_model = user_model
        self._authenticator_model = authenticator_model
        if authenticator_model is None and db is not None and user_model is not None:
            self._authenticator_model = make_authenticator_model(db, user_model)
        self._link_passkey: LinkPasskey | None = None
        self._current_user_loader: CurrentUserLoader | None = None
        self._login_user: LoginUser | None = None
        self._create_user: CreateUser | None = None
        self._user_by_username: UserByUsername | None = None
        self._has_other_sign_in: HasOtherSignIn | None = None
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        db: Any = None,
        user_model: type[Any] | None = None,
        authenticator_model: type[Any] | None = None,
    ) -> None:
        """Set up ``app``: read and check its config, build its Passlock client and register
        the ``passlock`` blueprint.

        Config keys (each documented in :mod:`flask_passlock.config` and the README):
        ``PASSLOCK_TENANCY_ID`` and ``PASSLOCK_API_KEY`` (required), ``PASSLOCK_ENDPOINT``,
        ``PASSLOCK_CLIENT_URL``, ``PASSLOCK_BROWSER_ENDPOINT``, ``PASSLOCK_URL_PREFIX``,
        ``PASSLOCK_TIMEOUT``, ``PASSLOCK_TRUSTED_ORIGINS``, ``PASSLOCK_REGISTER_REDIRECT``,
        ``PASSLOCK_LOGIN_VIEW``, ``PASSLOCK_LOGIN_REDIRECT``, ``PASSLOCK_REMEMBER``,
        ``PASSLOCK_FRESH_MAX_AGE``, ``PASSLOCK_MESSAGES``, ``PASSLOCK_VERIFY_ID_TOKEN`` and the
        ``PASSLOCK_ID_TOKEN_*`` / ``PASSLOCK_JWKS_MIN_REFRESH`` keys that tune it.

        :raises RuntimeError: the app already has a Passlock instance, or a required key is
            missing or empty.
        """
        if "passlock" in app.extensions:
            raise RuntimeError(
                "A 'Passlock' instance has already been registered on this Flask app. "
                "Import and use that instance instead."
            )
        for key, value in cfg.DEFAULTS.items():
            app.config.setdefault(key, value)
        for key in (cfg.TENANCY_ID, cfg.API_KEY):
            value = app.config.get(key)
            if not isinstance(value, str) or not value.strip():
                raise RuntimeError(
                    f"Flask-Passlock needs app.config[{key!r}] (from your Passlock console); "
                    "it is missing or empty."
                )
        timeout = _timeout(app.config[cfg.TIMEOUT])
        app.config[cfg.TIMEOUT] = timeout
        if app.config[cfg.CLIENT_URL] is None:
            app.config[cfg.CLIENT_URL] = cfg.DEFAULT_CLIENT_URL
        prefix = app.config[cfg.URL_PREFIX] or ""
        if prefix and not prefix.startswith("/"):
            raise RuntimeError(f"{cfg.URL_PREFIX} must start with '/', got {prefix!r}.")
        try:
            client = PasslockClient(
                app.config[cfg.TENANCY_ID].strip(),
                app.config[cfg.API_KEY].strip(),
                endpoint=app.config[cfg.ENDPOINT],
                timeout=timeout,
            )
        except ValueError as exc:
            raise RuntimeError(f"Flask-Passlock configuration: {exc}") from None

        db = db if db is not None else self.db
        user_model = user_model or self.user_model
        model = authenticator_model or self._authenticator_model
        if model is None and db is not None and user_model is not None:
            model = make_authenticator_model(db, user_model)
        state = _State(self, client, db, user_model, model)
        if app.config[cfg.VERIFY_ID_TOKEN]:
            state.verifier = _make_verifier(app, client)
            if db is None:
                raise RuntimeError(
                    f"{cfg.VERIFY_ID_TOKEN} needs db=: the id_token replay guard is a table."
                )
        if db is not None:
            state.used_token_model = make_used_token_model(db)
        app.extensions["passlock"] = state

        from .cli import passlock_cli
        from .views import blueprint

        app.register_blueprint(blueprint, url_prefix=prefix.rstrip("/") or None)
        app.cli.add_command(passlock_cli)

    # -- hooks ------------------------------------------------------------------------------

    def link_passkey(self, callback: F) -> F:
        """Register how a new passkey is linked to a user (decorator).

        The callback gets ``(user, principal)`` and returns the stored record. It runs in the
        request's database transaction: the blueprint commits after it returns and rolls back
        if it raises. Raise :class:`~flask_passlock.LinkError` (or a subclass) to refuse with
        a message for the user. :meth:`default_link_passkey` is the default, and can be
        called from your own hook.
        """
        self._link_passkey = cast(LinkPasskey, callback)
        return callback

    def current_user_loader(self, callback: F) -> F:
        """Register how the signed-in user is found (decorator); return the user or ``None``.

        Without one, Flask-Login's ``current_user`` is used when Flask-Login is set up.
        """
        self._current_user_loader = cast(CurrentUserLoader, callback)
        return callback

    def login_user(self, callback: F) -> F:
        """Register how a user is logged in after a passkey sign-in (decorator).

        Default: Flask-Login's ``login_user(user, remember=PASSLOCK_REMEMBER)``.
        """
        self._login_user = cast(LoginUser, callback)
        return callback

    def create_user(self, callback: F) -> F:
        """Register how passkey-first sign-up creates an account (decorator).

        The callback gets ``(username, principal)`` and returns the new user; it runs in the
        request's transaction (the passkey is linked and everything committed after it).
        Default: ``user_model(username=username)``, when the model has a ``username``.
        """
        self._create_user = cast(CreateUser, callback)
        return callback

    def user_by_username(self, callback: F) -> F:
        """Register how a user is found by username (decorator); return it or ``None``.

        Used by sign-up (taken?) and sign-in by username. Default: ``user_model.username``.
        """
        self._user_by_username = cast(UserByUsername, callback)
        return callback

    def has_other_sign_in(self, callback: F) -> F:
        """Register whether a user can sign in without passkeys (decorator).

        When it returns ``False``, deleting the user's last passkey is refused. Without this
        hook, deleting the last passkey is allowed.
        """
        self._has_other_sign_in = cast(HasOtherSignIn, callback)
        return callback

    # -- per-app state ----------------------------------------------------------------------

    @property
    def state(self) -> _State:
        return _get_state()

    @property
    def client(self) -> PasslockClient:
        """The current app's :class:`~flask_passlock.client.PasslockClient`."""
        return self.state.client

    @property
    def authenticator_model(self) -> type[Any]:
        """The model class of the authenticator table in use."""
        model = self.state.authenticator_model if has_app_context() else None
        model = model or self._authenticator_model
        if model is None:
            raise RuntimeError(
                "Flask-Passlock has no authenticator model: pass db= and user_model= (or "
                "authenticator_model=) to Passlock() or init_app()."
            )
        return model

    # -- operations -------------------------------------------------------------------------

    def get_current_user(self) -> Any:
        """The signed-in user, or ``None``."""
        if self._current_user_loader is not None:
            return self._current_user_loader()
        try:
            import flask_login
        except ImportError:
            raise RuntimeError(_NO_USER_LOADER) from None
        if not hasattr(current_app, "login_manager"):
            raise RuntimeError(_NO_USER_LOADER)
        user = flask_login.current_user
        if not user or not user.is_authenticated:
            return None
        return user._get_current_object()

    def link(self, user: Any, principal: Principal) -> Any:
        """Link ``principal``'s authenticator to ``user`` through the ``link_passkey`` hook."""
        hook = self._link_passkey or self.default_link_passkey
        return hook(user, principal)

    def default_link_passkey(self, user: Any, principal: Principal) -> Any:
        """Add an authenticator row for ``principal`` linked to ``user`` (flushed, not
        committed).

        :raises UnknownUser: ``user`` is not a stored row of the user model.
        :raises AlreadyLinked: the authenticator is already linked, to anyone.
        """
        from sqlalchemy import exc as sa_exc
        from sqlalchemy import inspect, select
        from sqlalchemy.orm import exc as orm_exc

        state = self.state
        model = self.authenticator_model
        if state.db is None or state.user_model is None:
            raise RuntimeError(
                "The default link_passkey needs db= and user_model=; pass them to Passlock() "
                "or register your own @passlock.link_passkey."
            )
        session = state.db.session
        user_id = _primary_key(user)
        if user_id is None:
            raise UnknownUser()
        if not (user in session and inspect(user).persistent):
            pk_column = inspect(state.user_model).primary_key[0]
            found = session.execute(select(pk_column).where(pk_column == user_id)).first()
            if found is None:
                raise UnknownUser()
        row = model(
            id=principal.authenticator_id,
            user_id=user_id,
            passlock_user_id=principal.user_id,
            user_verified=principal.user_verified,
            platform_name=principal.platform_name,
            label=(principal.platform_name or "Passkey")[:100],
        )
        session.add(row)
        try:
            session.flush()
        except (sa_exc.IntegrityError, orm_exc.FlushError):
            # Already linked (the primary key exists, maybe from a concurrent request), or
            # the user was deleted meanwhile (foreign key): tell which.
            session.rollback()
            if session.get(model, principal.authenticator_id) is not None:
                raise AlreadyLinked() from None
            raise UnknownUser() from None
        return row

    def authenticators_for(self, user: Any) -> list[Any]:
        """The passkeys linked to ``user``, oldest first."""
        from sqlalchemy import select

        model = self.authenticator_model
        query = (
            select(model)
            .where(model.user_id == _primary_key(user))
            .order_by(model.created_at, model.id)
        )
        return list(self.state.db.session.scalars(query))

    def find_authenticator(self, authenticator_id: str) -> Any:
        """The authenticator row with this ID, or ``None``."""
        return self.state.db.session.get(self.authenticator_model, authenticator_id)

    def user_of(self, authenticator: Any) -> Any:
        """The user an authenticator row belongs to."""
        user = getattr(authenticator, "user", None)
        if user is None and self.state.user_model is not None:
            user = self.state.db.session.get(self.state.user_model, authenticator.user_id)
        return user

    def find_user_by_username(self, username: str) -> Any:
        """The user with this username, or ``None`` (through the ``user_by_username`` hook)."""
        if self._user_by_username is not None:
            return self._user_by_username(username)
        from sqlalchemy import select

        user_model = self.state.user_model
        if user_model is None or not hasattr(user_model, "username"):
            raise RuntimeError(
                "Flask-Passlock cannot look users up by username: give the user model a "
                "'username' column or register @passlock.user_by_username."
            )
        query = select(user_model).where(user_model.username == username)
        return self.state.db.session.scalars(query).first()

    def new_user(self, username: str, principal: Principal) -> Any:
        """Create a user for passkey-first sign-up (through the ``create_user`` hook)."""
        if self._create_user is not None:
            user = self._create_user(username, principal)
        else:
            user_model = self.state.user_model
            if user_model is None or not hasattr(user_model, "username"):
                raise RuntimeError(
                    "Flask-Passlock cannot create users: give the user model a 'username' "
                    "column or register @passlock.create_user."
                )
            user = user_model(username=username)
        db = self.state.db
        if db is not None:
            if user not in db.session:
                db.session.add(user)
            db.session.flush()
        return user

    def authenticate(self, principal: Principal) -> tuple[Any, Any]:
        """Find the user a sign-in principal belongs to and mark the passkey used (not
        committed). Returns ``(user, authenticator)``.

        :raises NotAPasskey: the principal was not made by a passkey.
        :raises UnknownPasskey: the passkey is not linked to anyone here.
        :raises UserDisabled: the user's ``is_active`` is false.
        """
        if principal.authenticator_type != "passkey":
            raise NotAPasskey()
        authenticator = self.find_authenticator(principal.authenticator_id)
        if authenticator is None:
            raise UnknownPasskey()
        user = self.user_of(authenticator)
        if user is None:
            raise UnknownPasskey()
        if getattr(user, "is_active", True) is False:
            raise UserDisabled()
        authenticator.last_used_at = datetime.now(timezone.utc)
        return user, authenticator

    def log_in(self, user: Any) -> None:
        """Log ``user`` in (``login_user`` hook) and mark the passkey verification fresh."""
        if self._login_user is not None:
            self._login_user(user)
        else:
            try:
                import flask_login
            except ImportError:
                raise RuntimeError(
                    "Flask-Passlock cannot log users in: install and set up Flask-Login or "
                    "register @passlock.login_user."
                ) from None
            flask_login.login_user(user, remember=bool(current_app.config[cfg.REMEMBER]))
        self.mark_verified(user)

    def mark_verified(self, user: Any) -> None:
        """Record in the (signed) session that ``user`` just verified with a passkey."""
        session[SESSION_VERIFIED_AT] = int(time.time())
        session[SESSION_VERIFIED_USER] = _user_key(user)

    def verified_age(self, user: Any) -> float | None:
        """Seconds since ``user`` last verified with a passkey in this session, or ``None``."""
        at = session.get(SESSION_VERIFIED_AT)
        if not isinstance(at, int) or session.get(SESSION_VERIFIED_USER) != _user_key(user):
            return None
        return max(0.0, time.time() - at)

    def owned_authenticator(self, user: Any, authenticator_id: str) -> Any:
        """``user``'s authenticator with this ID; :class:`NoSuchPasskey` for anyone else's."""
        authenticator = self.find_authenticator(authenticator_id)
        if authenticator is None or authenticator.user_id != _primary_key(user):
            raise NoSuchPasskey()
        return authenticator

    def remove(self, user: Any, authenticator: Any) -> dict[str, Any] | None:
        """Delete a passkey at Passlock, then its row (not committed). Returns Passlock's
        record (``None`` if Passlock had no such passkey).

        :raises LastPasskey: it is the user's last passkey and ``has_other_sign_in`` says no.
        :raises PassLockUnavailable: Passlock could not delete it; the row is kept.
        """
        hook = self._has_other_sign_in
        if hook is not None and not hook(user) and len(self.authenticators_for(user)) <= 1:
            raise LastPasskey()
        try:
            record: dict[str, Any] | None = self.client.delete_passkey(authenticator.id)
        except NotFound:
            record = None
        self.state.db.session.delete(authenticator)
        self.state.db.session.flush()
        return record

    def consume_jti(self, principal: Principal) -> None:
        """Record an id_token's ``jti`` as used (in the request's transaction).

        :raises IdTokenReplayed: it was used before.
        """
        from sqlalchemy import delete
        from sqlalchemy.exc import IntegrityError
        from sqlalchemy.orm import exc as orm_exc

        state = self.state
        model = state.used_token_model
        if model is None:
            raise RuntimeError("The id_token replay guard needs db= on Passlock().")
        session = state.db.session
        if random.random() < 0.02:  # noqa: S311 - housekeeping, not security
            session.execute(delete(model).where(model.expires_at < datetime.now(timezone.utc)))
        session.add(model(jti=principal.id, expires_at=principal.expires_at))
        try:
            session.flush()  # the primary key refuses a jti seen before, by any worker
        except (IntegrityError, orm_exc.FlushError):
            session.rollback()
            raise IdTokenReplayed() from None

    def browser_config(self) -> dict[str, Any]:
        """What the browser needs (public values only; never the API key)."""
        config = current_app.config
        endpoint = config[cfg.BROWSER_ENDPOINT] or config[cfg.ENDPOINT]
        data: dict[str, Any] = {
            "tenancyId": config[cfg.TENANCY_ID].strip(),
            "endpoint": endpoint if endpoint.endswith("/") else endpoint + "/",
            "clientUrl": config[cfg.CLIENT_URL],
        }
        csrf = _flask_wtf_csrf_token()
        if csrf is not None:
            data["csrfToken"] = csrf
            data["csrfHeader"] = "X-CSRFToken"
        return data


def _get_state() -> _State:
    try:
        return cast(_State, current_app.extensions["passlock"])
    except KeyError:
        raise RuntimeError(
            "Passlock is not registered on this app; did you forget to call passlock.init_app(app)?"
        ) from None


def _primary_key(user: Any) -> Any:
    from sqlalchemy import inspect
    from sqlalchemy.exc import NoInspectionAvailable

    try:
        identity = inspect(user).identity
    except NoInspectionAvailable:
        return None
    return identity[0] if identity else None


def _user_key(user: Any) -> str:
    get_id = getattr(user, "get_id", None)
    if callable(get_id):
        return str(get_id())
    return str(_primary_key(user))


def _make_verifier(app: Flask, client: PasslockClient) -> Any:
    config = app.config
    try:
        from .tokens import IdTokenVerifier

        return IdTokenVerifier(
            client.jwks_url,
            client.tenancy_id,
            session=client.session,
            timeout=client.timeout,
            issuer=config[cfg.ID_TOKEN_ISSUER],
            algorithms=tuple(config[cfg.ID_TOKEN_ALGORITHMS]),
            leeway=float(config[cfg.ID_TOKEN_LEEWAY]),
            min_refresh=float(config[cfg.JWKS_MIN_REFRESH]),
        )
    except ImportError:
        raise RuntimeError(
            f"{cfg.VERIFY_ID_TOKEN} needs PyJWT: pip install 'flask-passlock[jwt]'."
        ) from None
    except ValueError as exc:
        raise RuntimeError(f"{cfg.ID_TOKEN_ALGORITHMS}: {exc}") from None


def _timeout(value: Any) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return (float(value), float(value))
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return (float(value[0]), float(value[1]))
    raise RuntimeError(
        f"{cfg.TIMEOUT} must be a positive number of seconds or a (connect, read) pair, "
        f"got {value!r}."
    )


def _flask_wtf_csrf_token() -> str | None:
    if "csrf" not in current_app.extensions:
        return None
    from flask_wtf.csrf import generate_csrf

    return cast(str, generate_csrf())


__all__ = ["Passlock", "LinkPasskey", "CurrentUserLoader", "Timeout"]
