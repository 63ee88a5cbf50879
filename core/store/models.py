"""The tables, as SQLAlchemy 2.x typed models.

The repository writes through the Core :class:`~sqlalchemy.Table` objects behind these
classes (``SessionRow.__table__``), not the ORM unit of work: a turn is one upsert, and
the ORM's identity map would only add cost. The classes still give mypy, Alembic and
anyone exploring with an ORM ``Session`` one typed description of the schema.

Every timestamp column is :class:`UTCDateTime`: aware UTC in, aware UTC out, on SQLite
(which has no time zone type) as well as PostgreSQL (``timestamptz``). Every column that
can hold a person's words (topics, answers, commitments, steps, nudge payloads) is
:class:`~core.store.sealed.SealedText` or :class:`~core.store.sealed.SealedJSON`:
encrypted at rest when a data key is set. Names, ids, statuses and times are not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from core.store.errors import InvalidRecord
from core.store.sealed import SealedJSON, SealedText

__all__ = [
    "Base",
    "CommitmentRow",
    "FollowUpRow",
    "InboundEventRow",
    "NudgeRow",
    "PartnerRow",
    "Person",
    "PreferencesRow",
    "SessionRow",
    "TeamChannelRow",
    "TeamPlanRow",
    "TeamStepRow",
    "UTCDateTime",
    "commitments",
    "followups",
    "inbound_events",
    "nudges",
    "partners",
    "people",
    "preferences",
    "sessions",
    "team_channels",
    "team_plans",
    "team_steps",
]

_log = logging.getLogger(__name__)

# Stable constraint names, so a later migration can drop or alter them by name on both
# databases (SQLite otherwise leaves them unnamed and PostgreSQL invents its own).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC whenever Python sees it.

    SQLite stores it as naive UTC text (it has no zone type, and a fixed format keeps
    ``ORDER BY`` correct); PostgreSQL stores ``timestamptz``. A naive ``datetime`` is
    refused rather than guessed at: the caller's zone is unknowable here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidRecord(f"naive datetime {value!r}: the store needs timezone-aware times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base: the shared metadata Alembic compares migrations against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        str: String(),
    }


class Person(Base):
    """A person on one platform; ``key`` is :meth:`core.dialogue.model.Actor.key`."""

    __tablename__ = "people"

    key: Mapped[str] = mapped_column(primary_key=True)
    platform: Mapped[str]
    workspace: Mapped[str]
    user_id: Mapped[str]
    display_name: Mapped[str] = mapped_column(Text)
    tz: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionRow(Base):
    """A coaching session: the columns turns are looked up by, plus the engine's state.

    ``owner`` has no index of its own: the composite index leads with it, so it serves
    owner-only lookups too, and every index is paid for on each turn's upsert.
    """

    __tablename__ = "sessions"
    __table_args__ = (Index(None, "owner", "place", "status"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    owner: Mapped[str]
    place: Mapped[str] = mapped_column(index=True)
    method: Mapped[str]
    topic: Mapped[str] = mapped_column(SealedText("sessions.topic"))
    status: Mapped[str] = mapped_column(index=True)
    state: Mapped[dict[str, Any]] = mapped_column(SealedJSON("sessions.state"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CommitmentRow(Base):
    """A dated promise; deleted with its session."""

    __tablename__ = "commitments"

    id: Mapped[str] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(SealedText("commitments.text"))
    due_at: Mapped[datetime]
    tz: Mapped[str]
    status: Mapped[str]
    kind: Mapped[str]
    position: Mapped[int] = mapped_column(Integer)
    slips: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many times the commitment was moved to a later date."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FollowUpRow(Base):
    """A follow-up a method scheduled; deleted with its session."""

    __tablename__ = "followups"

    id: Mapped[str] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str] = mapped_column(index=True)
    kind: Mapped[str]
    text: Mapped[str] = mapped_column(SealedText("followups.text"))
    due_at: Mapped[datetime]
    tz: Mapped[str]
    recurrence: Mapped[str | None]
    extra: Mapped[dict[str, Any]] = mapped_column(SealedJSON("followups.extra"))
    created_at: Mapped[datetime]


class NudgeRow(Base):
    """A scheduled nudge (:class:`core.schedule.model.NudgeRecord`); ``key`` dedupes.

    Every index here is paid for on each insert, and a burst of scheduling inserts tens
    of thousands of rows, so there are only those the queries need: ``(status, due_at)``
    serves claiming and :meth:`~core.store.nudges.SqlNudgeStore.next_due` (an ordered
    range scan per status, never a sort of the backlog); ``target``, ``owner`` and
    ``session_id`` serve the cancellations (and the cascade) that filter on them.
    """

    __tablename__ = "nudges"
    __table_args__ = (Index(None, "status", "due_at"),)

    key: Mapped[str] = mapped_column(primary_key=True)
    kind: Mapped[str]
    owner: Mapped[str] = mapped_column(index=True)
    target: Mapped[str] = mapped_column(index=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]
    tz: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("nudges.payload"))
    status: Mapped[str]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None]
    claim_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(SealedText("nudges.error"))
    """Why delivery failed; a driver's message may quote someone's words, so sealed."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PreferencesRow(Base):
    """One person's nudge settings (:class:`core.schedule.model.Preferences`).

    Times of day are ``"HH:MM"`` text and ``working_days`` the sorted weekday digits
    (``"01234"`` for Monday to Friday): plain values both databases compare and show
    alike, where a ``TIME`` or an array type would differ between them.
    """

    __tablename__ = "preferences"

    owner: Mapped[str] = mapped_column(primary_key=True)
    tz: Mapped[str | None]
    quiet_start: Mapped[str | None]
    quiet_end: Mapped[str | None]
    working_days: Mapped[str]
    lead_minutes: Mapped[int | None] = mapped_column(Integer)
    morning: Mapped[str]
    paused_until: Mapped[datetime | None]
    nudges: Mapped[bool] = mapped_column(Boolean)
    share: Mapped[str] = mapped_column(default="ask", server_default="ask")
    """Whether a team step done is celebrated in the team's channel: ask, always, never."""
    updated_at: Mapped[datetime]


class PartnerRow(Base):
    """``owner`` named ``partner`` as accountability partner; one link per owner."""

    __tablename__ = "partners"

    owner: Mapped[str] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(index=True)
    partner_name: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InboundEventRow(Base):
    """A platform event already handled (Slack's ``event_id``), kept to drop redeliveries."""

    __tablename__ = "inbound_events"

    key: Mapped[str] = mapped_column(primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class TeamPlanRow(Base):
    """A team session: its thread, its channel, its facilitator, and whether it runs.

    The dialogue itself is an ordinary session row (owned by the facilitator); this row
    is what outlives the dialogue: claims, nudges and digests go on until the facilitator
    (or a workspace admin) ends the plan. ``facilitator`` is ``None`` once that person
    asked to be forgotten; the plan stays the team's.
    """

    __tablename__ = "team_plans"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    place: Mapped[str] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(index=True)
    workspace: Mapped[str] = mapped_column(index=True)
    facilitator: Mapped[str | None] = mapped_column(index=True)
    facilitator_name: Mapped[str] = mapped_column(Text)
    method: Mapped[str]
    topic: Mapped[str] = mapped_column(SealedText("team_plans.topic"))
    status: Mapped[str]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TeamStepRow(Base):
    """One step of a team plan: who added it, who owns it. Its date and status are the
    owner's commitment (id ``<session>:team:<number>``), made when they set the date."""

    __tablename__ = "team_steps"

    id: Mapped[str] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("team_plans.session_id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(SealedText("team_steps.text"))
    author: Mapped[str | None] = mapped_column(index=True)
    author_name: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(index=True)
    owner_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TeamChannelRow(Base):
    """A team coaching channel's weekly digest: the day and time its members chose."""

    __tablename__ = "team_channels"

    channel: Mapped[str] = mapped_column(primary_key=True)
    digest_day: Mapped[int] = mapped_column(Integer)
    digest_time: Mapped[str]
    tz: Mapped[str]
    digest_on: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


people = _table(Person)
sessions = _table(SessionRow)
commitments = _table(CommitmentRow)
followups = _table(FollowUpRow)
nudges = _table(NudgeRow)
preferences = _table(PreferencesRow)
partners = _table(PartnerRow)
inbound_events = _table(InboundEventRow)
team_plans = _table(TeamPlanRow)
team_steps = _table(TeamStepRow)
team_channels = _table(TeamChannelRow)
