"""The Markdown report of a session, laid out by the method's ``report`` section.

A method file decides the headings; this module only decides how each kind of answer
looks under them. The report is rendered whenever a session ends, is stopped, or a
draft is asked for, so it must cope with any subset of answers: a gap is said in words
("not answered in this session"), never left as a template placeholder or a crash.

The layout follows the session document's Output Format: a heading is followed by its
body without a blank line, sections are separated by one blank line, and a heading-only
section runs straight into its first sub-heading.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo

from core.methods.schema import Condition, MethodSpec, ReportSection, StepSpec
from core.report._dates import long_date, to_zone, zone
from core.report.model import Answer, DateAnswer, EachAnswer, ReportInput

__all__ = ["render_report", "report_filename"]

_NOT_ANSWERED = "not answered in this session"
_NOT_SET = "not set in this session"
_EMPTY = "_Not answered in this session._"
# A follow-ups section is filled by the scheduler, not by answers: "not answered" would
# suggest the person skipped a question.
_NO_FOLLOWUPS = "_Nothing is scheduled from this session._"
_STATUS_LINES = {
    "active": "_Draft: this session is still in progress._",
    "stopped": "_This session was stopped before the end; unanswered parts are marked._",
}
_MOMENT_NAMES = {
    "awareness": "Awareness",
    "insight": "Insight",
    "emotional": "Emotional shift",
    "action": "Action",
}
_WHITESPACE = re.compile(r"\s+")

# What a step's answer looks like once blanks are dropped and a single pick is unwrapped.
_Value = str | DateAnswer | list[str] | list[EachAnswer]


@dataclass(frozen=True, slots=True)
class _Entry:
    """One step's answer on its way into a section."""

    step: StepSpec
    value: _Value


def report_filename(method: MethodSpec, data: ReportInput) -> str:
    """The name a report is saved or uploaded under: the method and the session's local day.

    The day is the one the person saw when the session started, so a session begun late
    on Saturday in Auckland is not filed under Friday.
    """
    local = to_zone(data.started_at, zone(data.tz))
    return f"{method.id}-{local:%Y-%m-%d}.md"


def render_report(method: MethodSpec, data: ReportInput) -> str:
    """The whole report as Markdown text, ending with a newline.

    Called for finished sessions, for stopped ones and for drafts of active ones; the
    status line under the header tells the reader which.
    """
    return _Renderer(method, data).render()


def _one_line(text: str) -> str:
    """User text squeezed onto one line: for header lines, fields and table cells."""
    return _WHITESPACE.sub(" ", text).strip()


def _cell(text: str) -> str:
    """A table cell: one line, and a ``|`` in the person's words must not split the row."""
    return _one_line(text).replace("|", "\\|")


def _item(marker: str, text: str, indent: str = "") -> list[str]:
    """A list item whose later lines are indented, so a multi-line answer stays inside it.

    Later lines line up with the item's content ("- [ ] x" continues under "[", two
    spaces in): indenting them further would turn a second paragraph into a code block.
    """
    first, *rest = text.strip().splitlines() or [""]
    pad = indent + " " * (len(marker.split(" ", 1)[0]) + 1)
    return [f"{indent}{marker} {first}"] + [f"{pad}{line}" if line.strip() else "" for line in rest]


def _condition_holds(condition: Condition | None, answers: Mapping[str, Answer]) -> bool:
    """Whether a step's ``when`` lets it run, judged from the answers as they stand."""
    if condition is None:
        return True
    value = answers.get(condition.answer)
    if condition.is_set is not None:
        return _is_set(value) == condition.is_set
    if not isinstance(value, str):
        return False
    if condition.equals is not None:
        return value == condition.equals
    return value in (condition.one_of or [])


def _is_set(value: Answer | None) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, DateAnswer):
        return True
    return bool(value)


class _Renderer:
    """One rendering: the method, the data, and the person's zone and year, resolved once."""

    def __init__(self, method: MethodSpec, data: ReportInput) -> None:
        self.method = method
        self.data = data
        self.tz: tzinfo = zone(data.tz)
        self.year = to_zone(data.started_at, self.tz).year
        self.entries: dict[str, list[_Entry]] = {}
        self.reporting: dict[str, int] = {}
        for step in method.steps:
            if not step.report:
                continue
            self.reporting[step.report] = self.reporting.get(step.report, 0) + 1
            value = self.value(step)
            if value is not None:
                self.entries.setdefault(step.report, []).append(_Entry(step, value))

    # -- answers ---------------------------------------------------------------------

    def value(self, step: StepSpec) -> _Value | None:
        """The step's answer with blanks dropped; ``None`` when there is nothing to show.

        An ``order`` step that takes only the first item is a single pick, so it is shown
        as one value rather than a one-item list.
        """
        raw = self.data.answers.get(step.id)
        if raw is None or isinstance(raw, DateAnswer):
            return raw
        if isinstance(raw, str):
            return raw.strip() or None
        texts: list[str] = []
        eaches: list[EachAnswer] = []
        for element in raw:
            if isinstance(element, EachAnswer):
                eaches.append(element)
            elif element.strip():
                texts.append(element.strip())
        if eaches:
            return eaches
        if not texts:
            return None
        if step.kind == "order" and step.take == "first" and len(texts) == 1:
            return texts[0]
        return texts

    def text(self, step: StepSpec, answer: str) -> str:
        """A text answer as the person would recognise it: a choice shows its label."""
        if step.kind == "choice":
            for choice in step.choices:
                if choice.value == answer:
                    return choice.label
        return answer

    def scalar(self, step: StepSpec, value: str | DateAnswer) -> str:
        """A single answer (not a list) as shown in a paragraph or list item."""
        if isinstance(value, DateAnswer):
            return self.date(value)
        return self.text(step, value)

    def date(self, answer: DateAnswer) -> str:
        return long_date(answer.due, self.tz, year=self.year, with_time=answer.has_time)

    def each_value(self, value: str | DateAnswer) -> str:
        if isinstance(value, DateAnswer):
            return self.date(value)
        return value.strip() or _NOT_ANSWERED

    def inline(self, step: StepSpec, value: _Value) -> str:
        """Any answer on one line, for header lines and fields."""
        if isinstance(value, str):
            return _one_line(self.text(step, value))
        if isinstance(value, DateAnswer):
            return self.date(value)
        parts: list[str] = []
        for element in value:
            if isinstance(element, EachAnswer):
                parts.append(
                    f"{_one_line(element.item)}: {_one_line(self.each_value(element.value))}"
                )
            else:
                parts.append(_one_line(element))
        return ("; " if isinstance(value[0], EachAnswer) else ", ").join(parts)

    def commitment(self, step: StepSpec) -> str:
        """What a committed date step promises, in the person's own (unechoed) words.

        ``commit_text`` names earlier steps; when one of them has no answer (a stopped
        session, an edited method) the step's label stands in rather than a half-filled
        sentence.
        """
        fallback = step.label or "Commitment"
        if not step.commit_text:
            return fallback
        values: dict[str, str] = {}
        for name in {n for _, n, _, _ in string.Formatter().parse(step.commit_text) if n}:
            if name == "topic":
                values[name] = _one_line(self.data.topic)
            else:
                try:
                    source = self.method.step(name)
                except KeyError:
                    return fallback
                value = self.value(source)
                values[name] = "" if value is None else self.inline(source, value)
            if not values[name]:
                return fallback
        try:
            return step.commit_text.format_map(values)
        except (KeyError, IndexError, ValueError):
            return fallback

    # -- the document ----------------------------------------------------------------

    def render(self) -> str:
        report = self.method.report
        lines = [f"# {report.title}"]
        header = [f"{field.label}: {self.header_value(field.source)}" for field in report.header]
        # Two trailing spaces are a Markdown hard line break: without them a Markdown
        # viewer runs "Date: …" and "Challenge: …" together into one line.
        lines += [f"{line}  " for line in header[:-1]] + header[-1:]
        status = _STATUS_LINES.get(self.data.status)
        if status:
            lines += ["", status]
        after_heading_only = False
        for section in report.sections:
            if not after_heading_only:
                lines.append("")
            lines.append(f"{'#' * section.level} {section.heading}")
            after_heading_only = section.style == "heading"
            if not after_heading_only:
                lines += self.body(section)
        return "\n".join(lines) + "\n"

    def header_value(self, source: str) -> str:
        if source == "date":
            return long_date(self.data.started_at, self.tz, year=None)
        if source == "topic":
            return _one_line(self.data.topic) or _NOT_ANSWERED
        try:
            step = self.method.step(source)
        except KeyError:
            return _NOT_ANSWERED
        value = self.value(step)
        return _NOT_ANSWERED if value is None else self.inline(step, value)

    def body(self, section: ReportSection) -> list[str]:
        entries = self.entries.get(section.id or "", [])
        several = self.reporting.get(section.id or "", 0) > 1
        style = section.style
        if style == "fields":
            lines = self.fields(section)
        elif style == "moments":
            lines = self.moments() + self.bullets(entries, several)
        elif style == "followups":
            lines = self.followups() + self.bullets(entries, several)
        elif style == "paragraphs":
            lines = self.paragraphs(entries)
        elif style == "bullets":
            lines = self.bullets(entries, several)
        elif style == "numbered":
            lines = self.numbered(entries)
        elif style == "checklist":
            lines = self.checklist(entries)
        elif style == "table":
            lines = self.table(section, entries)
        else:
            lines = []
        if lines:
            return lines
        if section.empty:
            return [section.empty]
        return [_NO_FOLLOWUPS if style == "followups" else _EMPTY]

    # -- styles ----------------------------------------------------------------------

    def paragraphs(self, entries: list[_Entry]) -> list[str]:
        """Each answer a paragraph; a labelled answer leads with its label in bold."""
        blocks: list[list[str]] = []
        for entry in entries:
            label = entry.step.label
            value = entry.value
            if isinstance(value, list):
                block = [f"**{label}:**"] if label else []
                block += self.list_lines(entry.step, value, indent="")
            else:
                text = self.scalar(entry.step, value)
                block = [f"**{label}:** {text}" if label else text]
            blocks.append(block)
        lines: list[str] = []
        for block in blocks:
            if lines:
                lines.append("")
            lines += block
        return lines

    def list_lines(
        self, step: StepSpec, value: list[str] | list[EachAnswer], indent: str
    ) -> list[str]:
        lines: list[str] = []
        for element in value:
            if isinstance(element, EachAnswer):
                text = f"{_one_line(element.item)}: {self.each_value(element.value)}"
            else:
                text = self.text(step, element)
            lines += _item("-", text, indent)
        return lines

    def bullets(self, entries: list[_Entry], several: bool) -> list[str]:
        """One bullet per answer or list item; labels only where several steps share it."""
        lines: list[str] = []
        for entry in entries:
            label = entry.step.label if several else None
            value = entry.value
            if isinstance(value, list):
                if label:
                    lines.append(f"- **{label}:**")
                    lines += self.list_lines(entry.step, value, indent="  ")
                else:
                    lines += self.list_lines(entry.step, value, indent="")
                continue
            text = self.scalar(entry.step, value)
            lines += _item("-", f"**{label}:** {text}" if label else text)
        return lines

    def numbered(self, entries: list[_Entry]) -> list[str]:
        """One numbered item per insight, numbered on across the steps of the section."""
        texts: list[str] = []
        for entry in entries:
            label = entry.step.label
            value = entry.value
            if isinstance(value, list):
                for element in value:
                    if isinstance(element, EachAnswer):
                        texts.append(f"{_one_line(element.item)}: {self.each_value(element.value)}")
                    else:
                        texts.append(self.text(entry.step, element))
                continue
            text = self.scalar(entry.step, value)
            texts.append(f"{label}: {text}" if label else text)
        lines: list[str] = []
        for n, text in enumerate(texts, start=1):
            lines += _item(f"{n}.", text)
        return lines

    def checklist(self, entries: list[_Entry]) -> list[str]:
        """A box to tick per commitment, with its date when it has one."""
        lines: list[str] = []
        for entry in entries:
            step = entry.step
            value = entry.value
            if isinstance(value, DateAnswer):
                if step.commit:
                    text = f"{self.commitment(step)} — by {self.date(value)}"
                else:
                    text = f"{step.label or 'Due'}: {self.date(value)}"
                lines += _item("- [ ]", text)
            elif isinstance(value, str):
                lines += _item("- [ ]", self.text(step, value))
            else:
                for element in value:
                    if not isinstance(element, EachAnswer):
                        lines += _item("- [ ]", self.text(step, element))
                    elif isinstance(element.value, DateAnswer):
                        lines += _item("- [ ]", f"{element.item} — by {self.date(element.value)}")
                    else:
                        lines += _item("- [ ]", f"{element.item}: {self.each_value(element.value)}")
        return lines

    def table(self, section: ReportSection, entries: list[_Entry]) -> list[str]:
        """Two columns: an ``each`` step gives a row per item, a labelled answer one row."""
        rows: list[tuple[str, str]] = []
        for entry in entries:
            value = entry.value
            label = entry.step.label or ""
            if isinstance(value, list) and value and isinstance(value[0], EachAnswer):
                for element in value:
                    if isinstance(element, EachAnswer):
                        rows.append((element.item, self.each_value(element.value)))
            else:
                rows.append((label, self.inline(entry.step, value)))
        if not rows:
            return []
        left, right = section.columns
        return [
            f"| {left} | {right} |",
            f"|{'-' * (len(left) + 2)}|{'-' * (len(right) + 2)}|",
            *(f"| {_cell(a)} | {_cell(b)} |" for a, b in rows),
        ]

    def fields(self, section: ReportSection) -> list[str]:
        """``- Label: value`` for every field, saying so when the session did not set it.

        A field whose steps could not run (a check-in answered "done" never asks for a
        new date) is left out: "not set" would read as a question the person skipped.
        """
        lines: list[str] = []
        for label in section.fields:
            steps = [s for s in self.method.steps if s.label == label and s.report == section.id]
            steps = steps or [s for s in self.method.steps if s.label == label]
            applicable = [s for s in steps if _condition_holds(s.when, self.data.answers)]
            if steps and not applicable:
                continue
            shown = _NOT_SET
            for step in applicable:
                value = self.value(step)
                if value is not None:
                    shown = self.inline(step, value)
                    break
            lines.append(f"- {label}: {shown}")
        return lines

    def moments(self) -> list[str]:
        """Each breakthrough moment: what kind, the person's words, the question before."""
        lines: list[str] = []
        for moment in self.data.moments:
            quote = _one_line(moment.quote)
            if not quote:
                continue
            name = _MOMENT_NAMES.get(moment.type, moment.type.capitalize())
            line = f"- **{name}** — “{quote}”"
            question = _one_line(moment.question)
            if question:
                line += f" (after: {question})"
            lines.append(line)
            if moment.reflection.strip():
                lines += _item("- What it means to you:", moment.reflection, indent="  ")
        return lines

    def followups(self) -> list[str]:
        """What the session scheduled, and when the commitments' own check-ins come."""
        lines: list[str] = []
        for line in self.data.followups:
            due = long_date(line.due, self.tz, year=self.year, with_time=True)
            text = f"{_one_line(line.text)} — {due}"
            if line.recurrence:
                text += f" ({line.recurrence})"
            lines.append(f"- {text}")
        count = self.data.commitment_count
        if count == 1:
            lines.append("- A check-in comes when your dated step is due.")
        elif count > 1:
            lines.append(f"- A check-in comes when each of the {count} dated steps is due.")
        return lines
