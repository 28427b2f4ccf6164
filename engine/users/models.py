"""Users, their roles and their training records.

A user name is never reused or reassigned (21 CFR Part 11 §11.100(a)): users are deactivated,
never deleted, and ``username`` is unique across active and inactive users alike.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow

ROLES = (
    "operator",
    "process_engineer",
    "production_manager",
    "qa_engineer",
    "qa_manager",
    "regulatory",
    "auditor",
    "admin",
)
LOCALES = ("zh_CN", "en")
TRAINING_METHODS = ("read_and_acknowledge", "classroom", "on_the_job", "e_learning")
TRAINING_RESULTS = ("pass", "fail")
PASSED_WHERE = "result = 'pass'"

_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)
_LOCALE_LIST = ", ".join(f"'{loc}'" for loc in LOCALES)


class User(Base):
    """A person who signs in and signs; ``printed_name`` is what a signature manifests."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"locale IN ({_LOCALE_LIST})", name="locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    printed_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin",
        order_by="UserRole.role",
    )
    training_records: Mapped[list[TrainingRecord]] = relationship(
        back_populates="user", foreign_keys="TrainingRecord.user_id", order_by="TrainingRecord.trained_on",
    )

    @property
    def roles(self) -> frozenset[str]:
        """The role names this user holds."""
        return frozenset(r.role for r in self.role_rows)

    # flask-login protocol; kept here so web/ needs no wrapper class
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class UserRole(Base):
    """One role a user holds."""

    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLE_LIST})", name="role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="role_rows")


class TrainingRecord(Base):
    """``user`` was trained on ``document_revision`` on ``trained_on`` (ISO 13485 §6.2).

    A failed assessment is recorded too (``result`` ``fail``) and may be followed by a passed
    one; at most one passed record per person and revision (a partial unique index).
    """

    __tablename__ = "training_records"
    __table_args__ = (
        CheckConstraint("result IN ('pass', 'fail')", name="result"),
        CheckConstraint("method IN ('read_and_acknowledge', 'classroom', 'on_the_job', 'e_learning')",
                        name="method"),
        Index("uq_training_records_passed", "user_id", "document_revision_id", unique=True,
              sqlite_where=text(PASSED_WHERE), postgresql_where=text(PASSED_WHERE)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    document_revision_id: Mapped[int] = mapped_column(ForeignKey("document_revisions.id"), index=True)
    trained_on: Mapped[date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(200), default="")
    method: Mapped[str] = mapped_column(String(32), default="classroom", server_default="classroom")
    result: Mapped[str] = mapped_column(String(8), default="pass", server_default="pass")
    score: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(back_populates="training_records", foreign_keys=[user_id])
    document_revision: Mapped["DocumentRevision"] = relationship()  # noqa: F821


class UserSession(Base):
    """A signed-in browser session, kept on the server so it can be ended from anywhere.

    The cookie carries a random token; only its SHA-256 is stored. A session is live while
    ``ended_at`` is empty: sign-out, a password change, a lockout, a role change or deactivation
    end it (``engine.users.sessions``), and a copied cookie stops working at once.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class DirectoryGroupRole(Base):
    """A directory group (its DN, lower case) grants a role to its members at sign-in."""

    __tablename__ = "directory_group_roles"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLE_LIST})", name="role"),)

    group_dn: Mapped[str] = mapped_column(String(500), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
