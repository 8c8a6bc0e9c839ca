"""The default tables match docs/migrations.rst; the mixin works for an app's own table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passlock import AuthenticatorMixin, Passlock, SQLAlchemyStore
from flask_passlock.exceptions import IdTokenReplayed, StorageError
from flask_passlock.testing import PasslockTestClient


def test_default_tables_match_the_documented_migration(parts):
    with parts.app.app_context():
        inspector = sa.inspect(parts.db.engine)
        columns = {c["name"]: c for c in inspector.get_columns("passlock_authenticator")}
        assert set(columns) == {
            "id",
            "user_id",
            "passlock_user_id",
            "created_at",
            "last_used_at",
            "user_verified",
            "platform_name",
            "label",
        }
        assert not columns["user_id"]["nullable"] and not columns["label"]["nullable"]
        assert inspector.get_pk_constraint("passlock_authenticator")["constrained_columns"] == [
            "id"
        ]
        (fk,) = inspector.get_foreign_keys("passlock_authenticator")
        assert fk["referred_table"] == "account" and fk["constrained_columns"] == ["user_id"]
        indexed = {
            tuple(i["column_names"]) for i in inspector.get_indexes("passlock_authenticator")
        }
        assert ("user_id",) in indexed
        tokens = {c["name"] for c in inspector.get_columns("passlock_used_token")}
        assert tokens == {"jti", "expires_at"}


def test_lookup_by_authenticator_id_uses_the_primary_key(parts):
    with parts.app.app_context():
        session = parts.db.session
        if parts.db.engine.dialect.name == "sqlite":
            plan = session.execute(
                sa.text("EXPLAIN QUERY PLAN SELECT * FROM passlock_authenticator WHERE id = 'x'")
            ).all()
            assert any("PRIMARY KEY" in str(row) or "USING INDEX" in str(row) for row in plan), plan
        else:
            session.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = session.execute(
                sa.text("EXPLAIN SELECT * FROM passlock_authenticator WHERE id = 'x'")
            ).all()
            assert any("Index" in str(row) for row in plan), plan
            session.rollback()


class Base(DeclarativeBase):
    pass


def test_own_model_with_the_mixin(emulator, tmp_path):
    db = SQLAlchemy(model_class=Base)

    class Member(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "member"
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(sa.String(50))
        is_authenticated = True

        def get_id(self):
            return str(self.id)

    class Key(AuthenticatorMixin, db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "member_key"
        user_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), index=True)

    app = Flask(__name__)
    app.test_client_class = PasslockTestClient
    app.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'own.sqlite'}",
        **emulator.app_config(),
    )
    db.init_app(app)
    passlock = Passlock(app, db=db, user_model=Member, authenticator_model=Key)
    current = {}
    passlock.current_user_loader(lambda: current.get("user"))
    with app.app_context():
        db.create_all()
        member = Member(username="ada")
        db.session.add(member)
        db.session.commit()
        current["user"] = member
        client = app.test_client(user=member.id)
        issued = emulator.issue_code()
        response = client.post("/passkey/register", json={"code": issued.code})
        assert response.status_code == 201, response.get_json()
        row = db.session.get(Key, issued.authenticator_id)
        assert row.user_id == member.id
        assert passlock.authenticator_model is Key
        # and signs in with it: the model has no ``user`` relationship to follow
        signed_in = []
        passlock.login_user(lambda user, remember=False: signed_in.append(user))
        code = emulator.issue_code(authenticator_id=issued.authenticator_id).code
        response = app.test_client().post("/passkey/login", json={"code": code})
        assert response.status_code == 200, response.get_json()
        assert [user.id for user in signed_in] == [member.id]
        db.engine.dispose()


def test_the_store_guards_with_a_used_model_of_its_own(tmp_path):
    """SQLAlchemyStore writes its one-use rows by column, whatever the model calls them."""
    db = SQLAlchemy(model_class=Base)

    class GuardedKey(AuthenticatorMixin, db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "guarded_key"
        user_id: Mapped[int] = mapped_column()

    class Seen(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "seen"
        jti: Mapped[str] = mapped_column("ceremony", sa.String(255), primary_key=True)
        expires_at: Mapped[datetime] = mapped_column("until", sa.DateTime(timezone=True))

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'seen.sqlite'}"
    db.init_app(app)
    store = SQLAlchemyStore(db, None, GuardedKey, Seen)
    until = datetime.now(timezone.utc) + timedelta(minutes=5)
    with app.app_context():
        db.create_all()
        with store.transaction():
            store.use_key("ceremony-1", until)
        with pytest.raises(IdTokenReplayed):
            with store.transaction():
                store.use_key("ceremony-1", until)
        with store.transaction():
            store.use_key("ceremony-2", until)
        rows = db.session.execute(sa.text("SELECT ceremony FROM seen ORDER BY ceremony")).all()
        assert [row[0] for row in rows] == ["ceremony-1", "ceremony-2"]
        db.engine.dispose()


@pytest.mark.parametrize("outcome", ["commit", "error"])
def test_the_store_leaves_the_session_as_it_found_it(parts, outcome):
    """The store commits without expiring what the request loaded, and then gives the app its
    session back with its own expire_on_commit, whether the commit worked or not."""
    with parts.app.app_context():
        store = parts.passlock.store
        session = parts.db.session()
        assert session.expire_on_commit is True
        if outcome == "error":
            session.execute(sa.text("SELECT 1"))
            sa.event.listen(session, "before_commit", _refuse, once=True)
            with pytest.raises(StorageError):
                store.commit()
        else:
            store.commit()
        assert session.expire_on_commit is True


def _refuse(session):
    raise sa.exc.OperationalError("COMMIT", {}, Exception("the server went away"))
