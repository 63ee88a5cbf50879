"""The schema every method file is validated against when it is loaded.

A method is data: its questions, loops, dates, follow-ups and report layout live in a
YAML file, so a team can add its own method without touching Python. Validation happens
at load time, and :mod:`core.methods.loader` turns a failure into the file, the line and
what is wrong.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BUILTIN_NAMES",
    "ChoiceSpec",
    "Condition",
    "FieldSpec",
    "FollowUpSpec",
    "MethodSpec",
    "PhaseSpec",
    "PlanSpec",
    "ReportSection",
    "ReportSpec",
    "StepKind",
    "StepSpec",
    "TeamSpec",
    "template_names",
]

StepKind = Literal["say", "pause", "ask", "choice", "date", "time", "collect", "order", "each"]
SectionStyle = Literal[
    "heading",
    "paragraphs",
    "bullets",
    "numbered",
    "checklist",
    "table",
    "fields",
    "moments",
    "followups",
]

#: Names every question template may use besides earlier step ids.
BUILTIN_NAMES = frozenset({"topic", "last", "item", "n", "total", "count", "min", "name"})

_ID = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def template_names(template: str) -> list[str]:
    """The ``{name}`` placeholders of a question template, in order."""
    names = []
    for _, field_name, spec, conversion in string.Formatter().parse(template):
        if field_name is None:
            continue
        if spec not in ("", "wish") or conversion:
            raise ValueError(
                f"{{{field_name}:{spec}}} has an unknown filter; the only one is :wish "
                "(the outcome without a leading 'I want')"
            )
        names.append(field_name)
    return names


class ChoiceSpec(_Strict):
    """One option of a ``choice`` step. ``effect`` changes the commitment a check-in is about."""

    value: str = Field(pattern=_ID)
    label: str
    effect: Literal["done", "open", "blocked", "dropped"] | None = None


class Condition(_Strict):
    """Run a step only when an earlier answer matches. Give exactly one test."""

    answer: str
    equals: str | None = None
    one_of: list[str] | None = None
    is_set: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [t for t in (self.equals, self.one_of, self.is_set) if t is not None]
        if len(tests) != 1:
            raise ValueError("a condition needs exactly one of equals, one_of or is_set")
        return self


class StepSpec(_Strict):
    """One step of a method.

    Kinds: ``say`` (a statement, no answer), ``pause`` (any reply continues), ``ask``
    (free text), ``choice`` (one of ``choices``), ``date`` (a deadline, read back for
    confirmation), ``time`` (a time of day), ``collect`` (repeat until nothing else;
    ``again`` is the prompt after the first item and may echo ``{last}``; ``min_items``
    makes a counted list), ``order`` (first / next over the items of ``source``; new
    items may appear; ``take: first`` orders only the first, and a later order step
    ``continues`` it), ``each`` (one question per item of ``source``, text or a date).

    ``private`` marks an individual reflection: a team session passes it by in the shared
    thread, and each member may answer it alone, in their DMs, afterwards.
    """

    id: str = Field(pattern=_ID)
    kind: StepKind
    prompt: str
    phase: str = ""
    again: str | None = None
    hint: str | None = None
    choices: list[ChoiceSpec] = Field(default_factory=list)
    min_items: int = Field(default=0, ge=0)
    max_items: int | None = Field(default=None, ge=1)
    source: str | None = None
    continues: str | None = None
    take: Literal["first", "all"] = "all"
    expects: Literal["text", "date"] = "text"
    within_hours: int | None = Field(default=None, ge=1)
    not_before: str | None = None
    commit: bool = False
    commit_text: str | None = None
    effect: Literal["reschedule"] | None = None
    when: Condition | None = None
    report: str | None = None
    label: str | None = None
    ack: str | None = None
    private: bool = False

    @model_validator(mode="after")
    def _fits_kind(self) -> StepSpec:
        k = self.kind
        if k == "choice" and len(self.choices) < 2:
            raise ValueError("a choice step needs at least two choices")
        if k != "choice" and self.choices:
            raise ValueError(f"only choice steps have choices (this is a {k} step)")
        if k in ("order", "each") and not self.source:
            raise ValueError(f"an {k} step needs a source: the id of the step it takes items from")
        if k not in ("order", "each") and self.source:
            raise ValueError("only order and each steps take a source")
        if self.continues and k != "order":
            raise ValueError("only an order step can continue another")
        if self.take == "first" and k != "order":
            raise ValueError("take: first is for order steps")
        if self.again and k != "collect":
            raise ValueError("again is the follow-up prompt of a collect step")
        if (self.min_items or self.max_items) and k != "collect":
            raise ValueError("min_items and max_items are for collect steps")
        if (self.within_hours or self.not_before) and k != "date":
            raise ValueError("within_hours and not_before are for date steps")
        if self.commit and not (k == "date" or (k == "each" and self.expects == "date")):
            raise ValueError("commit is for date steps and each steps that expect a date")
        if self.commit and k == "date" and not self.commit_text:
            raise ValueError("a committed date step needs commit_text: what the commitment says")
        if self.expects == "date" and k != "each":
            raise ValueError("expects is for each steps (use kind: date for a single date)")
        if self.effect and k != "date":
            raise ValueError("effect: reschedule is for date steps")
        return self


class PhaseSpec(_Strict):
    """A named group of steps, as the source document groups its questions."""

    name: str
    steps: list[StepSpec] = Field(min_length=1)


class FollowUpSpec(_Strict):
    """Something a finished session schedules: a review after a date, a daily routine."""

    id: str = Field(pattern=_ID)
    kind: str = Field(pattern=_ID)
    text: str
    after: str | None = None
    offset_days: int = 0
    at: str | None = None
    time: str = "09:00"
    recurrence: Literal["daily", "weekly"] | None = None
    when: Condition | None = None

    @model_validator(mode="after")
    def _anchored(self) -> FollowUpSpec:
        if not self.after and not self.at:
            raise ValueError("a follow-up needs after (a date step) or at (a time step)")
        return self


class FieldSpec(_Strict):
    """A ``Label: value`` line; ``source`` is ``date``, ``topic`` or a step id."""

    label: str
    source: str


class ReportSection(_Strict):
    """A heading of the report and how the answers that land in it are shown."""

    heading: str
    id: str | None = Field(default=None, pattern=_ID)
    level: int = Field(default=2, ge=2, le=4)
    style: SectionStyle = "paragraphs"
    columns: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    empty: str | None = None

    @model_validator(mode="after")
    def _fits_style(self) -> ReportSection:
        if self.style == "table" and len(self.columns) != 2:
            raise ValueError("a table section needs two columns")
        if self.style == "fields" and not self.fields:
            raise ValueError("a fields section lists its field labels")
        if self.style not in ("heading",) and not self.id:
            raise ValueError(f"a {self.style} section needs an id for steps to report to")
        return self


class ReportSpec(_Strict):
    """The report a finished session produces, heading by heading."""

    title: str
    header: list[FieldSpec] = Field(default_factory=list)
    sections: list[ReportSection] = Field(min_length=1)


class PlanSpec(_Strict):
    """Which answers form the plan: the ordered steps, their dates, the record format."""

    steps: str
    dates: str | None = None
    outcome: str | None = None
    record: str | None = None


class TeamSpec(_Strict):
    """How a method runs as a team session: which answers become the team's steps.

    Each named answer (a text, or a list of texts) becomes one claimable step per text;
    the owner who claims a step sets its date. Steps that ``commit`` a date are passed by
    in a team session, since the team's dates come from the owners.
    """

    steps: list[str] = Field(min_length=1)
    intro: str = ""
    closing: str = ""


class MethodSpec(_Strict):
    """A whole coaching method, as loaded from one YAML file."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    summary: str
    source: str = ""
    personal: bool = True
    listed: bool = True  # offered to start; check-ins and reflections are opened by the bot
    report_at_end: bool = True  # a finished session sends its report
    intro: str = ""
    closing: str = ""
    phases: list[PhaseSpec] = Field(min_length=1)
    followups: list[FollowUpSpec] = Field(default_factory=list)
    plan: PlanSpec | None = None
    team: TeamSpec | None = None
    report: ReportSpec

    @property
    def steps(self) -> list[StepSpec]:
        """Every step in order, each knowing its phase."""
        cached: list[StepSpec] | None = self.__dict__.get("_steps")
        if cached is None:
            cached = [
                step.model_copy(update={"phase": phase.name})
                for phase in self.phases
                for step in phase.steps
            ]
            self.__dict__["_steps"] = cached
        return cached

    def step(self, step_id: str) -> StepSpec:
        """The step with this id (the loader guarantees ids are unique)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def section(self, section_id: str) -> ReportSection | None:
        """The report section with this id, or ``None``."""
        for sec in self.report.sections:
            if sec.id == section_id:
                return sec
        return None
