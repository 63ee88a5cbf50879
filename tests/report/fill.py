"""Plausible answers for every step of a method, shaped as :mod:`core.report.model` says.

Report tests build their :class:`ReportInput` by hand from a method's steps; this fills
them the way a cooperative person would, so each test only states what it varies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.methods.schema import Condition, MethodSpec, StepSpec
from core.report.model import (
    Answer,
    DateAnswer,
    EachAnswer,
    FollowUpLine,
    MomentRecord,
    ReportInput,
)

__all__ = ["START", "TZ", "answer_text", "full_answers", "report_input"]

TZ = "Europe/London"
#: Saturday 21 November 2026, 10:00 in London.
START = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo(TZ))


def answer_text(step_id: str) -> str:
    """The text answer the helpers give to an ``ask`` step: easy to find in a report."""
    return f"My words for {step_id.replace('_', ' ')}"


def _holds(condition: Condition | None, answers: Mapping[str, Answer]) -> bool:
    if condition is None:
        return True
    value = answers.get(condition.answer)
    if condition.is_set is not None:
        return (value is not None) == condition.is_set
    if condition.equals is not None:
        return value == condition.equals
    return value in (condition.one_of or [])


def _date(days: int, has_time: bool) -> DateAnswer:
    due = START + timedelta(days=days)
    due = due.replace(hour=15, minute=0) if has_time else due.replace(hour=9, minute=0)
    return DateAnswer(due=due, has_time=has_time, text=f"in {days} days")


def _answer(step: StepSpec, answers: Mapping[str, Answer], choices: Mapping[str, str]) -> Answer:
    if step.kind == "pause":
        return "ready"
    if step.kind == "ask":
        return answer_text(step.id)
    if step.kind == "choice":
        return choices.get(step.id, step.choices[0].value)
    if step.kind == "time":
        return "07:30"
    if step.kind == "date":
        return _date(6, has_time=True)
    if step.kind == "collect":
        count = max(step.min_items, 3)
        return [f"{step.id.replace('_', ' ')} {n}" for n in range(1, count + 1)]
    if step.kind == "order":
        source = answers.get(step.source or "")
        items = list(source) if isinstance(source, list) else []
        texts = [i for i in items if isinstance(i, str)]
        if step.take == "first":
            return texts[:1]
        done = answers.get(step.continues or "")
        first = [i for i in done if isinstance(i, str)] if isinstance(done, list) else []
        return first + [t for t in texts if t not in first]
    # each
    source = answers.get(step.source or "")
    items = [i for i in source if isinstance(i, str)] if isinstance(source, list) else []
    if step.expects == "date":
        return [
            EachAnswer(item=item, value=_date(3 + 2 * n, has_time=n == 0))
            for n, item in enumerate(items)
        ]
    return [EachAnswer(item=item, value=f"Handle {item} calmly") for item in items]


def full_answers(method: MethodSpec, choices: Mapping[str, str] | None = None) -> dict[str, Answer]:
    """An answer for every step that would run, choosing ``choices[step_id]`` for choices."""
    answers: dict[str, Answer] = {}
    for step in method.steps:
        if step.kind == "say" or not _holds(step.when, answers):
            continue
        answers[step.id] = _answer(step, answers, choices or {})
    return answers


def report_input(
    method: MethodSpec,
    answers: dict[str, Answer],
    *,
    status: str = "done",
    topic: str = "Finish the garden shed",
    tz: str = TZ,
    started_at: datetime = START,
    moments: tuple[MomentRecord, ...] = (),
    followups: tuple[FollowUpLine, ...] = (),
    commitment_count: int = 0,
) -> ReportInput:
    """A report input for ``method``, by default started at :data:`START` in :data:`TZ`."""
    return ReportInput(
        method_id=method.id,
        topic=topic,
        tz=tz,
        started_at=started_at,
        status=status,
        answers=answers,
        moments=moments,
        followups=followups,
        commitment_count=commitment_count,
    )
