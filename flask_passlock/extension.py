"""The :class:`Passlock` extension object: set-up, hooks, and the flows the routes run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context, request

from . import config as cfg
from . import device, freshness
from ._startup import build_state, read_config
from .accounts import AccountFlows
from .client import PasslockClient
from .exceptions import (
    EmailInUse,
    LastPasskey,
    NotAPasskey,
    NotFound,
    UnknownPasskey,
    UserDisabled,
    UserNotVerified,
    WrongAccount,
)
from .mailbox import MailboxHooks
from .models import make_authenticator_model, make_used_token_model
from .principal import Principal
from .state import PasslockState, get_state
from .store import SQLAlchemyStore, primary_key
from .useragent import describe

F = TypeVar("F", bound=Callable[..., Any])

_NO_USER_LOADER = (
    "Flask-Passlock cannot tell who is signed in. Install and set up Flask-Login "
    "(LoginManager(app)), or register a loader with @passlock.current_user_loader that "
    "returns the signed-in user or None."
)
_NO_LOGIN = (
    "Flask-Passlock cannot log users in: install and set up Flask-Login or register "
    "@passlock.login_user."
)


class Passlock(MailboxHooks, AccountFlows):
    """Passkeys backed by Passlock, for one or more Flask apps.

    ::

        passlock = Passlock(app, db=db, user_model=User)
        # or, with an application factory:
        passlock = Passlock(db=db, user_model=User)
        passlock.init_app(app)

    :param app: the app to set up now; leave out and call :meth:`init_app` later.
    :param db: the Flask-SQLAlchemy ``SQLAlchemy`` object holding the passkey tables.
    :param user_model: the app's user model; the default passkey model gets a foreign key to
        its primary key.
    :param authenticator_model: your own model built on
        :class:`~flask_passlock.AuthenticatorMixin`, instead of the default one.
    :param send_email: how to send the emails of one-time codes (the ``send_email`` hook),
        given here when ``init_app`` runs before the hook could be registered.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: Any = None,
        user_model: type[Any] | None = None,
        authenticator_model: type[Any] | None = None,
        send_email: Callable[[str, str, str, str | None], None] | None = None,
    ) -> None:
        self.db = db
        self.user_model = user_model
        self._authenticator_model = authenticator_model
        if authenticator_model is None and db is not None and user_model is not None:
            self._authenticator_model = make_authenticator_model(db, user_model)
        self._hooks: dict[str, Callable[..., Any]] = {}
        if send_email is not None:
            self.send_email(send_email)
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
        """Set up ``app``: read and check its config, build its Passlock client, store and
        id_token verifier, and register the ``passlock`` blueprint and CLI.

        Config keys (each documented in :mod:`flask_passlock.config` and the README):
        ``PASSLOCK_TENANCY_ID`` and ``PASSLOCK_API_KEY`` (required), ``PASSLOCK_ENDPOINT``,
        ``PASSLOCK_BROWSER_ENDPOINT``, ``PASSLOCK_CLIENT_URL``, ``PASSLOCK_URL_PREFIX``,
        ``PASSLOCK_TIMEOUT``, ``PASSLOCK_TRUSTED_ORIGINS``, ``PASSLOCK_REGISTER_REDIRECT``,
        ``PASSLOCK_LOGIN_VIEW``, ``PASSLOCK_LOGIN_REDIRECT``, ``PASSLOCK_REMEMBER``,
        ``PASSLOCK_FRESH_MAX_AGE``, ``PASSLOCK_VERIFY_ID_TOKEN``,
        ``PASSLOCK_ID_TOKEN_ALGORITHMS``, ``PASSLOCK_ID_TOKEN_LEEWAY``,
        ``PASSLOCK_ID_TOKEN_ISSUER``, ``PASSLOCK_JWKS_MIN_REFRESH``,
        ``PASSLOCK_REQUIRE_USER_VERIFICATION``, ``PASSLOCK_MESSAGES``,
        ``PASSLOCK_BASE_TEMPLATE``, ``PASSLOCK_RATE_LIMITS``,
        ``PASSLOCK_RATE_LIMIT_STORAGE_URI``, ``PASSLOCK_RECOVERY``,
        ``PASSLOCK_SIGNUP_VERIFY_EMAIL``, ``PASSLOCK_MAIL_SUBJECT`` and
        ``PASSLOCK_MAIL_SENDER``.

        :raises RuntimeError: the app already has a Passlock instance, a key is missing,
            empty or invalid (the message names it), or codes are to be emailed and there is
            no way to send email (:mod:`flask_passlock.mail`).
        """
        if "passlock" in app.extensions:
            raise RuntimeError(
                "A 'Passlock' instance has already been registered on this Flask app. "
                "Import and use that instance instead."
            )
        prefix = read_config(app)
        store = self._make_store(db, user_model, authenticator_model)
        app.extensions["passlock"] = build_state(app, self, store, self._hooks.get("send_email"))
        freshness.connect_flask_login()

        from . import views  # noqa: F401 - registers the routes on the blueprint
        from .blueprint import blueprint
        from .cli import passlock_cli

        app.register_blueprint(blueprint, url_prefix=prefix or None)
        app.cli.add_command(passlock_cli)

    def _make_store(
        self, db: Any, user_model: type[Any] | None, authenticator_model: type[Any] | None
    ) -> SQLAlchemyStore | None:
        db = db if db is not None else self.db
        user_model = user_model or self.user_model
        model = authenticator_model or self._authenticator_model
        if model is None and db is not None and user_model is not None:
            model = make_authenticator_model(db, user_model)
        if db is None or model is None:
            return None
        return SQLAlchemyStore(db, user_model, model, make_used_token_model(db))

    # -- hooks ------------------------------------------------------------------------------

    def _hook(self, name: str, callback: F) -> F:
        self._hooks[name] = callback
        return callback

    def link_passkey(self, callback: F) -> F:
        """Register how a new passkey is linked to a user (decorator).

        The callback gets ``(user, principal)`` and returns the stored record. It runs in the
        request's database transaction: the blueprint commits after it returns and rolls back
        if it raises. Raise :class:`~flask_passlock.LinkError` (or a subclass) to refuse with
        a message for the user. :meth:`default_link_passkey` is the default, and can be
        called from your own hook.
        """
        return self._hook("link_passkey", callback)

    def current_user_loader(self, callback: F) -> F:
        """Register how the signed-in user is found (decorator); return the user or ``None``.

        Without one, Flask-Login's ``current_user`` is used when Flask-Login is set up.
        """
        return self._hook("current_user_loader", callback)

    def login_user(self, callback: F) -> F:
        """Register how a user is logged in after a passkey sign-in (decorator).

        Default: Flask-Login's ``login_user(user, remember=PASSLOCK_REMEMBER)``. Without
        Flask-Login, also call :meth:`forget_verification` in your logout view.
        """
        return self._hook("login_user", callback)

    def create_user(self, callback: F) -> F:
        """Register how passkey-first sign-up creates an account (decorator).

        The callback gets ``(username, principal)`` and returns the new user; it runs in the
        request's transaction (the passkey is linked and everything committed after it).
        Default: ``user_model(username=username)``, when the model has a ``username``.
        """
        return self._hook("create_user", callback)

    def user_by_username(self, callback: F) -> F:
        """Register how a user is found by username (decorator); return it or ``None``.

        Used by sign-up (taken?) and sign-in by username. The username it gets is already
        NFKC-normalised; compare case-insensitively, as the default does
        (``lower(user_model.username)``), so that ``Alice`` and ``alice`` are one account.
        """
        return self._hook("user_by_username", callback)

    def has_other_sign_in(self, callback: F) -> F:
        """Register whether a user can sign in without passkeys (decorator).

        When it returns ``False``, deleting the user's last passkey is refused. Without this
        hook, deleting the last passkey is allowed.
        """
        return self._hook("has_other_sign_in", callback)

    # -- per-app state ----------------------------------------------------------------------

    @property
    def state(self) -> PasslockState:
        """The current app's :class:`~flask_passlock.state.PasslockState`."""
        return get_state()

    @property
    def client(self) -> PasslockClient:
        """The current app's :class:`~flask_passlock.client.PasslockClient`."""
        return get_state().client

    @property
    def store(self) -> SQLAlchemyStore:
        """The current app's :class:`~flask_passlock.store.SQLAlchemyStore`."""
        return get_state().require_store()

    @property
    def authenticator_model(self) -> type[Any]:
        """The model class of the passkey table in use."""
        if has_app_context() and "passlock" in current_app.extensions:
            return get_state().require_store().authenticator_model
        if self._authenticator_model is None:
            raise RuntimeError(
                "Flask-Passlock has no authenticator model: pass db= and user_model= (or "
                "authenticator_model=) to Passlock() or init_app()."
            )
        return self._authenticator_model

    # -- users ------------------------------------------------------------------------------

    def get_current_user(self) -> Any:
        """The signed-in user, or ``None``."""
        loader = self._hooks.get("current_user_loader")
        if loader is not None:
            return loader()
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

    def find_user_by_username(self, username: str) -> Any:
        """The user with this username, or ``None`` (``user_by_username`` hook)."""
        hook = self._hooks.get("user_by_username")
        return hook(username) if hook else self.store.user_by_username(username)

    def new_user(self, username: str, principal: Principal) -> Any:
        """Create and add a user for passkey-first sign-up (``create_user`` hook), with the
        confirmed :attr:`signup_email` when there is one (:class:`EmailInUse` if an account
        has it already)."""
        hook = self._hooks.get("create_user")
        email = self.signup_email
        if email is not None and self.find_user_by_email(email) is not None:
            raise EmailInUse()
        user = hook(username, principal) if hook else self.store.new_user(username, email)
        self.store.add_user(user)
        return user

    def log_in(self, user: Any, how: str = "passkey") -> None:
        """Log ``user`` in (``login_user`` hook) and record how they proved it's them
        (``"passkey"``, or ``"recovery"``: never fresh for step-up). Touches no database: it
        runs after the commit."""
        hook = self._hooks.get("login_user")
        if hook is not None:
            hook(user)
        else:
            try:
                import flask_login
            except ImportError:
                raise RuntimeError(_NO_LOGIN) from None
            flask_login.login_user(user, remember=bool(current_app.config[cfg.REMEMBER]))
        freshness.start_login()
        freshness.mark_verified(user, how=how)

    def mark_verified(self, user: Any) -> None:
        """Record in the (signed) session that ``user`` just verified with a passkey."""
        freshness.mark_verified(user)

    def verified_age(self, user: Any) -> float | None:
        """Seconds since ``user`` last verified with a passkey in this login session."""
        return freshness.verified_age(user)

    def forget_verification(self) -> None:
        """Forget the passkey check of this session (call it on logout without
        Flask-Login; with Flask-Login it happens by itself)."""
        freshness.forget()

    # -- passkeys ---------------------------------------------------------------------------

    def authenticators_for(self, user: Any) -> list[Any]:
        """The passkeys linked to ``user``, oldest first."""
        return self.store.authenticators_for(user)

    def link(self, user: Any, principal: Principal) -> Any:
        """Link ``principal``'s passkey to ``user`` through the ``link_passkey`` hook."""
        hook: Callable[[Any, Principal], Any]
        hook = self._hooks.get("link_passkey") or self.default_link_passkey
        return hook(user, principal)

    def default_link_passkey(self, user: Any, principal: Principal) -> Any:
        """Add a passkey row for ``principal`` linked to ``user`` (flushed, not committed).

        Its name is the one the user typed, else Passlock's platform name, else the browser
        and system it was made on ("Chrome on Linux").

        :raises UnknownUser: ``user`` is not a stored row of the user model.
        :raises AlreadyLinked: the passkey is already linked, to anyone.
        """
        label = g.get("passlock_label") or principal.platform_name
        if not label and request:
            label = describe(request.user_agent.string)
        used = bool(g.get("passlock_signing_up"))
        return self.store.link(user, principal, label=(label or "Passkey")[:100], used=used)

    def authenticate(self, principal: Principal, username: str | None = None) -> tuple[Any, Any]:
        """The user a sign-in principal belongs to, and their passkey, marked used (not
        committed).

        :raises NotAPasskey: the principal was not made by a passkey.
        :raises UserNotVerified: ``PASSLOCK_REQUIRE_USER_VERIFICATION`` and no UV.
        :raises UnknownPasskey: the passkey is not linked to anyone here.
        :raises WrongAccount: ``username`` was typed and the passkey is someone else's.
        :raises UserDisabled: the user's ``is_active`` is false.
        """
        if principal.authenticator_type != "passkey":
            raise NotAPasskey(reason=f"authenticator type {principal.authenticator_type!r}")
        if current_app.config[cfg.REQUIRE_USER_VERIFICATION] and not principal.user_verified:
            raise UserNotVerified()
        store = self.store
        authenticator = store.find_authenticator(principal.authenticator_id)
        user = store.user_of(authenticator) if authenticator is not None else None
        if user is None:
            raise UnknownPasskey()
        if username is not None:
            named = self.find_user_by_username(username)
            if named is None or primary_key(named) != primary_key(user):
                raise WrongAccount()
        if getattr(user, "is_active", True) is False:
            raise UserDisabled()
        store.touch(authenticator)
        return user, authenticator

    def remove(self, user: Any, authenticator: Any) -> dict[str, Any] | None:
        """Delete a passkey at Passlock, then its row (not committed). Returns Passlock's
        record (``None`` if Passlock had no such passkey).

        :raises LastPasskey: it is the user's last passkey and ``has_other_sign_in`` says no.
        :raises PasslockUnavailable: Passlock could not delete it; the row is kept.
        """
        store = self.store
        if not self.can_delete_last(user):
            store.lock_user(user)  # two deletes at once must not both see two passkeys
            if len(store.passkey_ids_for(user)) <= 1:
                raise LastPasskey()
        try:
            record: dict[str, Any] | None = self.client.delete_passkey(authenticator.id)
        except NotFound:
            record = None
        store.delete([authenticator])
        return record

    def can_delete_last(self, user: Any) -> bool:
        """Whether ``user`` may delete their last passkey (``has_other_sign_in``)."""
        hook = self._hooks.get("has_other_sign_in")
        return hook is None or bool(hook(user))

    # -- the browser ------------------------------------------------------------------------

    def browser_config(self) -> dict[str, Any]:
        """What the page's script needs (public values only; never the API key)."""
        config = current_app.config
        endpoint = config[cfg.BROWSER_ENDPOINT] or config[cfg.ENDPOINT]
        data: dict[str, Any] = {
            "tenancyId": config[cfg.TENANCY_ID].strip(),
            "endpoint": endpoint if endpoint.endswith("/") else endpoint + "/",
            "clientUrl": config[cfg.CLIENT_URL],
            "accept": "id_token" if get_state().verifier is not None else "code",
            "device": device.pending(),
        }
        if "csrf" in current_app.extensions:
            from flask_wtf.csrf import generate_csrf

            data["csrfToken"] = generate_csrf()
            data["csrfHeader"] = "X-CSRFToken"
        return data
