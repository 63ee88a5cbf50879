"""The engine: one inbound event in, the next state and the outbound intents out.

The engine is pure. It never touches a database, a clock or a platform: the caller loads
the state, passes ``now``, and persists what comes back (see
:class:`core.dialogue.coach.Coach`). That is what lets the same scripted conversation run
identically through the console, Slack and Discord, and what makes a turn cheap.

A turn has two halves: *accept* applies the reply to the current step (recording an
answer, growing a loop, holding a date for confirmation) and *present* moves on to the
next question, passing statements and steps whose condition does not hold, or finishes
the session. A breakthrough moment sits between the two: the engine pauses for
integration before it presents the next question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from core.dialogue import phrases
from core.dialogue.events import COMMANDS, Choose, Command, Event, NudgeDue, Reply, Start
from core.dialogue.intents import (
    Ask,
    Choice,
    Document,
    Image,
    Intent,
    PlanPicture,
    PlanStep,
    Say,
    ShowPlan,
)
from core.dialogue.model import Actor, Place
from core.dialogue.results import CommitmentDraft, CommitmentEffect, FollowUpDraft
from core.dialogue.state import SessionState
from core.dialogue.templates import Verbatim, date_answer, fill, fill_raw, next_occurrence
from core.errors import BreakthroughError
from core.language import (
    Deadline,
    detect_moment,
    is_no,
    is_nothing_else,
    is_yes,
    parse_deadline,
    parse_time_of_day,
    read_back,
    zone,
)
from core.methods.loader import MethodLibrary
from core.methods.schema import Condition, MethodSpec, StepSpec
from core.report.markdown import render_report, report_filename
from core.report.model import (
    Answer,
    DateAnswer,
    EachAnswer,
    FollowUpLine,
    MomentRecord,
    ReportInput,
)
from core.report.picture import picture_alt

__all__ = [
    "PRIVATE_ONLY",
    "TEAM",
    "Engine",
    "EngineError",
    "Turn",
    "command_word",
    "report_input",
]

_YES = Choice(value="yes", label="Yes")
_NO = Choice(value="no", label="No, another date")
_READY = Choice(value="ready", label="I'm ready")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


class EngineError(BreakthroughError):
    """The engine was asked something impossible (an unknown method, a finished session)."""


@dataclass(slots=True, kw_only=True)
class Turn:
    """What one turn produced: the new state, what to show, and what to persist besides."""

    state: SessionState
    intents: list[Intent] = field(default_factory=list)
    commitments: list[CommitmentDraft] = field(default_factory=list)
    effects: list[CommitmentEffect] = field(default_factory=list)
    followups: list[FollowUpDraft] = field(default_factory=list)


def command_word(text: str) -> str | None:
    """The conversation command a whole reply stands for ("back", "/skip", "Pause."), if any.

    Only a reply that is nothing but the command counts, so "I want to stop smoking" is an
    answer, not a stop.
    """
    word = text.strip().lower().lstrip("/!").rstrip(".!?")
    return word if word in COMMANDS else None


def _split_items(text: str) -> list[str]:
    """A pasted list ("- a\\n- b") becomes one item per line, markers stripped."""
    items = []
    for line in text.splitlines():
        item = _BULLET.sub("", line).strip()
        if item:
            items.append(item)
    return items


_ARTICLE = re.compile(r"^(?:a|an|the)\s+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _loose(text: str) -> str:
    """Lower case, no leading article, letters and digits only: "A flow chart" -> "flowchart"."""
    return _NOT_WORD.sub("", _ARTICLE.sub("", text.strip().lower()))


TEAM = "team"
"""Context flag of a team session: a facilitator answers for the team in a shared thread."""
PRIVATE_ONLY = "private_only"
"""Context flag of a member's private follow-up to a team session: only private steps."""


def _in_this_session(step: StepSpec, state: SessionState) -> bool:
    """A team session passes by individual reflections and the dates owners will set; a
    member's private follow-up asks only the individual reflections."""
    if state.context.get(PRIVATE_ONLY):
        return step.private
    if state.context.get(TEAM):
        return not step.private and not step.commit
    return True


def _holds(cond: Condition, answers: dict[str, Any]) -> bool:
    value = answers.get(cond.answer)
    if cond.is_set is not None:
        return (value not in (None, "", [])) == cond.is_set
    if cond.equals is not None:
        return value == cond.equals
    return cond.one_of is not None and value in cond.one_of


class _TurnContext:
    """The working set of a single turn: state, method, time, and the intents so far."""

    def __init__(self, state: SessionState, method: MethodSpec, now: datetime) -> None:
        self.state = state
        self.method = method
        self.now = now
        self.turn = Turn(state=state)
        self.moment_noted = False
        self.by = ""  # a team member who added this turn's item, for the echo

    # -- output -------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.turn.intents.append(Say(to=self.state.place, text=text))

    def ask(self, prompt: str, **kwargs: Any) -> None:
        self.turn.intents.append(Ask(to=self.state.place, prompt=prompt, **kwargs))

    # -- helpers ------------------------------------------------------------------------
    @property
    def step(self) -> StepSpec | None:
        steps = self.method.steps
        return steps[self.state.cursor] if self.state.cursor < len(steps) else None

    def fill(self, template: str, **extra: Any) -> str:
        return fill(template, self.state, extra)

    def record(self, step: StepSpec, value: Any) -> None:
        """Record the current step's answer and move past it."""
        if value is not None:
            self.state.answers[step.id] = value
        self.state.history.append(self.state.cursor)
        self.state.cursor += 1
        self.state.work = {}

    def skip_step(self) -> None:
        self.state.history.append(self.state.cursor)
        self.state.cursor += 1
        self.state.work = {}

    def notice_moment(self, text: str, step: StepSpec) -> None:
        """Note a breakthrough moment in a free-text answer, to pause on it after accepting."""
        sign = detect_moment(text)
        if sign is None:
            return
        self.state.moments.append(
            {
                "type": sign.type,
                "cue": sign.cue,
                "quote": text.strip(),
                "question": self.fill(step.prompt),
                "reflection": "",
                "at": self.now.isoformat(),
            }
        )
        self.moment_noted = True


class Engine:
    """Runs methods turn by turn. One instance serves every session: it holds no session data."""

    def __init__(self, methods: MethodLibrary) -> None:
        self.methods = methods

    # -- entry points -------------------------------------------------------------------
    def start(
        self,
        *,
        session_id: str,
        actor: Actor,
        place: Place,
        event: Start,
        now: datetime,
        tz: str | None = None,
    ) -> Turn:
        """Open a session: the method's introduction and its first question."""
        method = self.methods.get(event.method)
        zone_name = tz or actor.tz or "UTC"
        zone(zone_name)  # fail early on a zone the person typed wrongly
        state = SessionState(
            session_id=session_id,
            method=method.id,
            topic=event.topic.strip(),
            owner=actor,
            place=place,
            tz=zone_name,
            started_at=now,
            updated_at=now,
            context=dict(event.context),
            answers=dict(event.answers),
        )
        if state.context.get(TEAM) and method.team is None:
            raise EngineError(f"{method.title} cannot be run as a team session")
        ctx = _TurnContext(state, method, now)
        header = method.title
        if state.topic:
            header += f": {fill('{topic}', state, {})}"
        intro = method.team.intro if method.team and state.context.get(TEAM) else method.intro
        ctx.say(f"{header}\n{intro}".strip() if intro else header)
        self._present(ctx)
        state.turns = 1
        return ctx.turn

    def handle(self, state: SessionState, event: Event, *, now: datetime) -> Turn:
        """Apply one event to a loaded session."""
        method = self.methods.get(state.method)
        ctx = _TurnContext(state, method, now)
        state.turns += 1
        state.updated_at = now
        if isinstance(event, Start):
            raise EngineError("a Start event opens a new session; use Engine.start")
        if isinstance(event, NudgeDue):
            self._present(ctx)
            return ctx.turn
        if state.finished:
            ctx.say(phrases.FINISHED)
            return ctx.turn
        if isinstance(event, Reply):
            ctx.by = event.by
            word = command_word(event.text)
            if word is not None:
                self._command(ctx, word)
            else:
                self._reply(ctx, event.text, None)
        elif isinstance(event, Command):
            self._command(ctx, event.name)
        elif isinstance(event, Choose):
            self._choose(ctx, event)
        return ctx.turn

    # -- commands -----------------------------------------------------------------------
    def _command(self, ctx: _TurnContext, name: str) -> None:
        state = ctx.state
        if name == "help":
            ctx.say(phrases.HELP)
            self._present(ctx)
        elif name == "pause":
            state.status = "paused"
            ctx.say(phrases.PAUSED)
        elif name == "resume":
            if state.status == "paused":
                state.status = "active"
                ctx.say(phrases.WELCOME_BACK)
            self._present(ctx)
        elif name == "status":
            ctx.say(self._status_text(ctx))
            if state.status != "paused":
                self._present(ctx)
        elif name == "report":
            data = report_input(ctx.method, state)
            ctx.turn.intents.append(
                Document(
                    to=state.place,
                    title=f"{ctx.method.report.title} (so far)",
                    filename=report_filename(ctx.method, data),
                    markdown=render_report(ctx.method, data),
                )
            )
            self._present(ctx)
        elif name == "stop":
            state.pending = "stop"
            self._present(ctx)
        elif name == "skip":
            state.status = "active"
            self._skip(ctx)
            self._present(ctx)
        elif name == "back":
            state.status = "active"
            self._back(ctx)
            self._present(ctx)
        else:
            ctx.say(phrases.HELP)
            self._present(ctx)

    def _status_text(self, ctx: _TurnContext) -> str:
        state, method = ctx.state, ctx.method
        answered = sum(1 for s in method.steps if s.id in state.answers)
        step = ctx.step
        where = f"{step.phase}" if step else "the end"
        paused = " (paused)" if state.status == "paused" else ""
        return (
            f"{method.title}{paused}: you're at {where}, with {answered} "
            f"answer{'s' if answered != 1 else ''} recorded so far."
        )

    def _skip(self, ctx: _TurnContext) -> None:
        state, step = ctx.state, ctx.step
        if state.pending == "integration":
            state.pending = None
            return
        if step is None:
            return
        work = state.work
        if step.kind == "collect" and work.get("items"):
            ctx.record(step, list(work["items"]))
        elif step.kind == "order" and work.get("ordered"):
            ctx.record(step, list(work["ordered"]) + list(work.get("remaining", [])))
        elif step.kind == "each":
            items = self._items(ctx, step)
            values = list(work.get("values", []))
            values.append({"item": items[len(values)], "value": None})
            if len(values) >= len(items):
                ctx.record(step, values)
            else:
                state.work = {"step": step.id, "values": values}
        else:
            ctx.skip_step()

    def _back(self, ctx: _TurnContext) -> None:
        state, step = ctx.state, ctx.step
        if state.pending is not None:
            state.pending = None
            return
        work = state.work
        if step is not None and work:
            if step.kind == "collect" and work.get("items"):
                removed = work["items"].pop()
                ctx.say(f"Taken out: {removed}")
                return
            if step.kind == "order" and work.get("picked"):
                last = work["picked"].pop()
                work["ordered"].remove(last)
                work["remaining"].insert(0, last)
                return
            if step.kind == "each" and (work.get("pending") or work.get("values")):
                if work.get("pending"):
                    work.pop("pending")
                else:
                    work["values"].pop()
                return
            if step.kind == "date" and work.get("pending"):
                state.work = {}
                return
        if not state.history:
            ctx.say(phrases.BACK_AT_START)
            return
        state.cursor = state.history.pop()
        state.work = {}
        previous = ctx.method.steps[state.cursor]
        answer = state.answers.get(previous.id)
        if previous.kind == "collect" and isinstance(answer, list):
            state.work = {"step": previous.id, "items": list(answer)}
        elif previous.kind == "order" and isinstance(answer, list) and answer:
            self._enter(ctx, previous)
            last = state.work["picked"].pop() if state.work.get("picked") else None
            if last is not None:
                state.work["ordered"].remove(last)
                state.work["remaining"].insert(0, last)
        elif previous.kind == "each" and isinstance(answer, list) and answer:
            state.work = {"step": previous.id, "values": list(answer[:-1])}
        elif answer is not None and previous.kind in ("ask", "choice", "time", "date"):
            shown = answer["text"] if isinstance(answer, dict) else answer
            ctx.say(f"Your answer was: {shown}\nSay it again, or give a new answer.")

    # -- replies ------------------------------------------------------------------------
    def _choose(self, ctx: _TurnContext, event: Choose) -> None:
        state, step = ctx.state, ctx.step
        if event.action_id == "stop" and state.pending == "stop":
            self._reply(ctx, event.value, None)
            return
        if event.action_id == "command":
            self._command(ctx, event.value)
            return
        expected = {step.id, f"{step.id}:confirm"} if step else set()
        if state.pending or event.action_id not in expected:
            ctx.say(phrases.STALE_BUTTON)
            self._present(ctx)
            return
        self._reply(ctx, None, event.value)

    def _reply(self, ctx: _TurnContext, text: str | None, choice: str | None) -> None:
        state = ctx.state
        if state.status == "paused":
            state.status = "active"
        if state.pending == "stop":
            answer = choice if choice is not None else (text or "")
            if answer == "yes" or is_yes(answer):
                self._stop(ctx)
                return
            state.pending = None
            if choice is not None or is_no(answer) or not answer.strip():
                ctx.say(phrases.STOP_KEPT)
                self._present(ctx)
                return
            # Anything else was meant as an answer to the question: keep it.
        if state.pending == "integration":
            if state.moments:
                state.moments[-1]["reflection"] = (text or choice or "").strip()
            state.pending = None
            ctx.say(phrases.INTEGRATION_THANKS)
            self._present(ctx)
            return
        step = ctx.step
        if step is None:
            self._present(ctx)
            return
        handler = getattr(self, f"_accept_{step.kind}")
        handler(ctx, step, text, choice)
        if ctx.moment_noted and not state.finished:
            state.pending = "integration"
            moment_type = state.moments[-1]["type"]
            ctx.ask(
                phrases.INTEGRATION_EMOTIONAL
                if moment_type == "emotional"
                else phrases.INTEGRATION,
                expects="text",
                action_id="moment",
            )
            return
        self._present(ctx)

    def _accept_pause(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, _c: str | None
    ) -> None:
        value = text.strip() if text and step.report else None
        ctx.record(step, value or None)

    def _accept_ask(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        answer = (text if text is not None else choice or "").strip()
        if not answer:
            ctx.say(phrases.EMPTY_ANSWER)
            return
        ctx.notice_moment(answer, step)
        ctx.record(step, answer)
        if step.ack:
            ctx.say(ctx.fill(step.ack))

    def _accept_choice(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        value = self._match_choice(step, text, choice)
        if value is None:
            ctx.say(phrases.PICK_ONE)
            return
        ctx.record(step, value)
        commitment_id = ctx.state.context.get("commitment_id")
        effect = next((c.effect for c in step.choices if c.value == value), None)
        if effect and commitment_id:
            ctx.turn.effects.append(CommitmentEffect(commitment_id=commitment_id, status=effect))
        if step.ack:
            ctx.say(ctx.fill(step.ack))

    @staticmethod
    def _match_choice(step: StepSpec, text: str | None, choice: str | None) -> str | None:
        """The choice a reply names: its number, its value or its label, loosely spelled."""
        values = [c.value for c in step.choices]
        if choice is not None:
            return choice if choice in values else None
        reply = _loose(text or "")
        if not reply:
            return None
        if reply.isdigit() and 1 <= int(reply) <= len(values):
            return values[int(reply) - 1]
        for c in step.choices:
            if reply in (_loose(c.value), _loose(c.label)):
                return c.value
        starts = [c.value for c in step.choices if _loose(c.label).startswith(reply)]
        if len(starts) == 1:
            return starts[0]
        if "yes" in values and is_yes(text or ""):
            return "yes"
        return None

    def _accept_time(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        parsed = parse_time_of_day((text or choice or "").strip())
        if parsed is None:
            ctx.say(
                'I couldn\'t read that as a time of day. Could you say it like "7am" or "21:30"?'
            )
            return
        value = parsed.strftime("%H:%M")
        ctx.record(step, value)
        ctx.say(f"Every day at {value}: noted.")

    def _accept_date(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        answer = self._date_reply(ctx, step, text, choice, ctx.state.work)
        if answer is None:
            return
        ctx.record(step, answer)
        commitment_id = ctx.state.context.get("commitment_id")
        if step.effect == "reschedule" and commitment_id:
            ctx.turn.effects.append(
                CommitmentEffect(
                    commitment_id=commitment_id,
                    status="open",
                    due=datetime.fromisoformat(answer["due"]),
                )
            )

    def _date_reply(
        self,
        ctx: _TurnContext,
        step: StepSpec,
        text: str | None,
        choice: str | None,
        work: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Handle one reply to a date question; return the confirmed answer, or ``None``.

        A date is always read back for confirmation. "No" asks again; a different date in
        place of yes/no is read back in turn. Nothing else already given is touched.
        """
        pending = work.get("pending")
        reply = (text or "").strip()
        if pending is not None and choice is None and reply in ("1", "2"):
            choice = "yes" if reply == "1" else "no"
        if pending is not None:
            if choice == "yes" or (choice is None and is_yes(reply)):
                work.pop("pending")
                return dict(pending)
            if choice == "no" or (choice is None and is_no(reply)) or not reply:
                work.pop("pending")
                return None
        if not reply:
            ctx.say(phrases.EMPTY_ANSWER)
            return None
        state = ctx.state
        parsed = parse_deadline(reply, now=ctx.now, tz=state.tz)
        if not isinstance(parsed, Deadline):
            work.pop("pending", None)
            if parsed.reason == "past" and parsed.due is not None:
                ctx.say(
                    f"{read_back(parsed.due, now=ctx.now)} has already passed. "
                    "When would you like it done by?"
                )
            else:
                ctx.say(
                    f"I couldn't read \u201c{reply}\u201d as a date. Could you say it another "
                    'way, like "next Friday", "3 Dec" or "in two weeks"?'
                )
            return None
        if step.within_hours and parsed.due > ctx.now + timedelta(hours=step.within_hours):
            work.pop("pending", None)
            ctx.say(
                f"{read_back(parsed.due, now=ctx.now, has_time=parsed.has_time)} is more than "
                f"{step.within_hours} hours away. What could you do within the next "
                f"{step.within_hours} hours?"
            )
            return None
        if step.not_before:
            earlier = state.answers.get(step.not_before)
            if isinstance(earlier, dict) and parsed.due < datetime.fromisoformat(earlier["due"]):
                earliest = read_back(datetime.fromisoformat(earlier["due"]), now=ctx.now)
                work.pop("pending", None)
                ctx.say(f"That's before {earliest}, when you'll act. When after that?")
                return None
        work["step"] = step.id
        work["pending"] = {
            "due": parsed.due.isoformat(),
            "has_time": parsed.has_time,
            "text": reply,
        }
        return None

    def _accept_collect(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        state = ctx.state
        work = state.work
        items: list[str] = work.setdefault("items", [])
        work["step"] = step.id
        reply = (text or choice or "").strip()
        if is_nothing_else(reply):
            if len(items) < step.min_items:
                ctx.say(
                    f"That's {len(items)} so far. Let's get to at least {step.min_items}: "
                    "wild and impractical ideas count too."
                )
                return
            ctx.record(step, list(items))
            return
        for item in _split_items(reply):
            items.append(item)
            ctx.notice_moment(item, step)
        if step.max_items and len(items) >= step.max_items:
            ctx.record(step, list(items))

    def _enter(self, ctx: _TurnContext, step: StepSpec) -> None:
        """Prepare the working set of a loop step when the person first reaches it."""
        state = ctx.state
        if state.work.get("step") == step.id:
            return
        if step.kind == "order":
            ordered = list(state.answers.get(step.continues, [])) if step.continues else []
            source = state.answers.get(step.source or "", [])
            remaining = [i for i in source if i not in ordered]
            state.work = {"step": step.id, "ordered": ordered, "picked": [], "remaining": remaining}
        elif step.kind == "each":
            state.work = {"step": step.id, "values": []}
        else:
            state.work = {"step": step.id}

    def _accept_order(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        self._enter(ctx, step)
        work = ctx.state.work
        remaining: list[str] = work["remaining"]
        reply = (text or "").strip()
        picked: str | None = None
        if choice is not None:
            if choice.isdigit() and 1 <= int(choice) <= len(remaining):
                picked = remaining[int(choice) - 1]
        elif is_nothing_else(reply):
            if not work["picked"] and step.take == "first" and remaining:
                ctx.say("Which one comes first? Pick a number, or say it in your own words.")
                return
            if remaining:
                ctx.say("I've put the rest in the order you listed them.")
            ctx.record(step, work["ordered"] + remaining)
            return
        elif reply.isdigit():
            if not 1 <= int(reply) <= len(remaining):
                ctx.say(
                    f"Please pick a number from 1 to {len(remaining)}, or say it in your own words."
                )
                return
            picked = remaining[int(reply) - 1]
        else:
            picked = next((i for i in remaining if i.lower() == reply.lower()), None)
            if picked is None:
                picked = reply
                ctx.notice_moment(reply, step)
        if not picked:
            ctx.say(phrases.PICK_ONE)
            return
        if picked in remaining:
            remaining.remove(picked)
        work["ordered"].append(picked)
        work["picked"].append(picked)
        if step.take == "first":
            ctx.record(step, [picked])
        elif not remaining:
            ctx.record(step, list(work["ordered"]))

    def _items(self, ctx: _TurnContext, step: StepSpec) -> list[str]:
        items = ctx.state.answers.get(step.source or "", [])
        return [str(i) for i in items] if isinstance(items, list) else []

    def _accept_each(
        self, ctx: _TurnContext, step: StepSpec, text: str | None, choice: str | None
    ) -> None:
        self._enter(ctx, step)
        work = ctx.state.work
        items = self._items(ctx, step)
        values: list[dict[str, Any]] = work["values"]
        item = items[len(values)]
        value: Any
        if step.expects == "date":
            value = self._date_reply(ctx, step, text, choice, work)
            if value is None:
                return
        else:
            value = (text or choice or "").strip()
            if not value:
                ctx.say(phrases.EMPTY_ANSWER)
                return
            ctx.notice_moment(value, step)
        values.append({"item": item, "value": value})
        if len(values) >= len(items):
            ctx.record(step, list(values))

    # -- presenting ---------------------------------------------------------------------
    def _present(self, ctx: _TurnContext) -> None:
        """Ask the current question, passing statements and steps that do not apply."""
        state, method = ctx.state, ctx.method
        if state.finished:
            ctx.say(phrases.FINISHED)
            return
        if state.status == "paused":
            ctx.say(phrases.PAUSED)
            return
        if state.pending == "stop":
            ctx.ask(
                phrases.STOP_CONFIRM,
                expects="choice",
                choices=(_YES, Choice(value="no", label="No, carry on")),
                action_id="stop",
            )
            return
        if state.pending == "integration":
            ctx.ask(phrases.INTEGRATION, expects="text", action_id="moment")
            return
        steps = method.steps
        while state.cursor < len(steps):
            step = steps[state.cursor]
            if not _in_this_session(step, state) or (
                step.when is not None and not _holds(step.when, state.answers)
            ):
                state.cursor += 1
                state.work = {}
                continue
            if step.kind == "say":
                ctx.say(ctx.fill(step.prompt))
                state.cursor += 1
                continue
            if step.kind in ("order", "each"):
                self._enter(ctx, step)
                if step.kind == "order" and not state.work["remaining"] and state.work["ordered"]:
                    ctx.record(step, list(state.work["ordered"]))
                    continue
                if step.kind == "each" and not self._items(ctx, step):
                    ctx.record(step, [])
                    continue
            self._ask_step(ctx, step)
            return
        self._finish(ctx, status="done")

    def _ask_step(self, ctx: _TurnContext, step: StepSpec) -> None:
        state = ctx.state
        work = state.work
        hint = step.hint or ""
        if step.kind == "pause":
            ctx.ask(ctx.fill(step.prompt), expects="any", choices=(_READY,), action_id=step.id)
        elif step.kind == "choice":
            choices = tuple(Choice(value=c.value, label=c.label) for c in step.choices)
            ctx.ask(
                ctx.fill(step.prompt),
                expects="choice",
                choices=choices,
                action_id=step.id,
                hint=hint,
            )
        elif step.kind == "time":
            ctx.ask(ctx.fill(step.prompt), expects="time", action_id=step.id, hint=hint)
        elif step.kind == "date":
            self._ask_date(ctx, step, ctx.fill(step.prompt), work)
        elif step.kind == "collect":
            items = work.get("items") or []
            if items and step.again:
                last = fill("{last}", state, {"last": items[-1]})
                if ctx.by:
                    last += f" (from {ctx.by})"
                prompt = ctx.fill(
                    step.again, last=Verbatim(last), count=len(items), min=step.min_items
                )
            else:
                prompt = ctx.fill(step.prompt, count=len(items), min=step.min_items)
            ctx.ask(prompt, expects="item", action_id=step.id, hint=hint)
        elif step.kind == "order":
            remaining = work["remaining"]
            choices = tuple(
                Choice(value=str(i + 1), label=item) for i, item in enumerate(remaining)
            )
            ctx.ask(
                ctx.fill(step.prompt), expects="item", choices=choices, action_id=step.id, hint=hint
            )
        elif step.kind == "each":
            items = self._items(ctx, step)
            n = len(work["values"])
            prompt = ctx.fill(step.prompt, item=items[n], n=n + 1, total=len(items))
            if step.expects == "date":
                self._ask_date(ctx, step, prompt, work)
            else:
                ctx.ask(prompt, expects="text", action_id=step.id, hint=hint)
        else:
            ctx.ask(ctx.fill(step.prompt), expects="text", action_id=step.id, hint=hint)

    def _ask_date(
        self, ctx: _TurnContext, step: StepSpec, prompt: str, work: dict[str, Any]
    ) -> None:
        pending = work.get("pending")
        if pending is not None:
            due = datetime.fromisoformat(pending["due"])
            ctx.ask(
                f"{read_back(due, now=ctx.now, has_time=pending['has_time'])} \u2014 right?",
                expects="choice",
                choices=(_YES, _NO),
                action_id=f"{step.id}:confirm",
                hint="Or tell me another date.",
            )
        else:
            ctx.ask(prompt, expects="date", action_id=step.id, hint=step.hint or "")

    # -- the end ------------------------------------------------------------------------
    def _stop(self, ctx: _TurnContext) -> None:
        ctx.state.pending = None
        ctx.say(phrases.STOPPED)
        self._finish(ctx, status="stopped")

    def _finish(self, ctx: _TurnContext, *, status: str) -> None:
        """Close the session: commitments, follow-ups, the plan, the report, the picture."""
        state, method = ctx.state, ctx.method
        state.status = status
        state.work = {}
        ctx.turn.commitments.extend(self._commitments(ctx))
        followups = self._followups(ctx) if status == "done" else []
        ctx.turn.followups.extend(followups)
        state.followups = [
            {
                "kind": f.kind,
                "text": f.text,
                "due": f.due.isoformat(),
                "recurrence": f.recurrence,
            }
            for f in followups
        ]
        private = bool(state.context.get(PRIVATE_ONLY))
        if status == "done" and private:
            ctx.say(phrases.PRIVATE_DONE)
        elif status == "done" and method.team and method.team.closing and state.context.get(TEAM):
            ctx.say(method.team.closing)
        elif status == "done" and method.closing:
            ctx.say(method.closing)
        plan_steps = [] if private else self._plan_steps(ctx)
        if plan_steps:
            title = self._outcome(ctx) or method.title
            ctx.turn.intents.append(
                ShowPlan(
                    to=state.place,
                    title=title or method.title,
                    steps=tuple(plan_steps),
                    tz=state.tz,
                )
            )
        if method.report_at_end:
            data = report_input(method, state, commitment_count=len(ctx.turn.commitments))
            ctx.turn.intents.append(
                Document(
                    to=state.place,
                    title=method.report.title,
                    filename=report_filename(method, data),
                    markdown=render_report(method, data),
                )
            )
        record = (
            state.answers.get(method.plan.record) if method.plan and method.plan.record else None
        )
        if plan_steps and record in ("flowchart", "mindmap"):
            outcome = self._outcome(ctx)
            pairs = [(s.text, s.due) for s in plan_steps]
            local_day = state.started_at.astimezone(zone(state.tz)).date().isoformat()
            style: Literal["flowchart", "mindmap"] = (
                "flowchart" if record == "flowchart" else "mindmap"
            )
            ctx.turn.intents.append(
                Image(
                    to=state.place,
                    picture=PlanPicture(
                        outcome=outcome, steps=tuple(pairs), style=style, tz=state.tz
                    ),
                    alt=picture_alt(outcome=outcome, steps=pairs, style=style, tz=state.tz),
                    filename=f"plan-{local_day}-{style}.png",
                )
            )

    @staticmethod
    def _outcome(ctx: _TurnContext) -> str:
        """The plan's outcome in the person's own words (first person kept), or ``""``."""
        plan = ctx.method.plan
        if plan is None or not plan.outcome:
            return ""
        return fill_raw(f"{{{plan.outcome}}}", ctx.state)

    def _plan_steps(self, ctx: _TurnContext) -> list[PlanStep]:
        plan, answers = ctx.method.plan, ctx.state.answers
        if plan is None:
            return []
        steps = answers.get(plan.steps)
        if not isinstance(steps, list):
            return []
        dues: dict[str, datetime] = {}
        if plan.dates and isinstance(answers.get(plan.dates), list):
            for entry in answers[plan.dates]:
                if isinstance(entry.get("value"), dict):
                    dues[entry["item"]] = datetime.fromisoformat(entry["value"]["due"])
        return [PlanStep(text=str(s), due=dues.get(str(s))) for s in steps]

    def _commitments(self, ctx: _TurnContext) -> list[CommitmentDraft]:
        state, method = ctx.state, ctx.method
        drafts: list[CommitmentDraft] = []
        for step in method.steps:
            if not step.commit or step.id not in state.answers:
                continue
            if step.when is not None and not _holds(step.when, state.answers):
                continue
            answer = state.answers[step.id]
            if step.kind == "date" and isinstance(answer, dict):
                drafts.append(
                    CommitmentDraft(
                        key=f"{step.id}:0",
                        text=fill_raw(step.commit_text or "", state),
                        due=datetime.fromisoformat(answer["due"]),
                        position=len(drafts),
                    )
                )
            elif step.kind == "each" and isinstance(answer, list):
                for i, entry in enumerate(answer):
                    if isinstance(entry.get("value"), dict):
                        drafts.append(
                            CommitmentDraft(
                                key=f"{step.id}:{i}",
                                text=entry["item"],
                                due=datetime.fromisoformat(entry["value"]["due"]),
                                position=len(drafts),
                            )
                        )
        return drafts

    def _followups(self, ctx: _TurnContext) -> list[FollowUpDraft]:
        state, method = ctx.state, ctx.method
        out: list[FollowUpDraft] = []
        tzinfo = zone(state.tz)
        for spec in method.followups:
            if spec.when is not None and not _holds(spec.when, state.answers):
                continue
            due: datetime | None = None
            if spec.after:
                anchor = date_answer(state.answers.get(spec.after))
                if anchor is None:
                    continue
                hour, minute = (int(x) for x in spec.time.split(":"))
                local_day = anchor.astimezone(tzinfo).date() + timedelta(days=spec.offset_days)
                due = datetime(
                    local_day.year, local_day.month, local_day.day, hour, minute, tzinfo=tzinfo
                )
            elif spec.at:
                at = state.answers.get(spec.at)
                if not isinstance(at, str):
                    continue
                due = next_occurrence(at, ctx.now, tzinfo)
            if due is None:
                continue
            out.append(
                FollowUpDraft(
                    key=spec.id,
                    kind=spec.kind,
                    text=fill(spec.text, state, {}),
                    due=due,
                    recurrence=spec.recurrence,
                )
            )
        return out


def report_input(
    method: MethodSpec, state: SessionState, *, commitment_count: int = 0
) -> ReportInput:
    """The report's view of a session: answers that still apply, moments and follow-ups."""
    answers: dict[str, Answer] = {}
    for step in method.steps:
        if step.id not in state.answers:
            continue
        if step.when is not None and not _holds(step.when, state.answers):
            continue
        value = state.answers[step.id]
        if isinstance(value, dict):
            answers[step.id] = _date(value)
        elif isinstance(value, list) and step.kind == "each":
            answers[step.id] = [
                EachAnswer(
                    item=str(e["item"]),
                    value=_date(e["value"])
                    if isinstance(e["value"], dict)
                    else str(e["value"] or ""),
                )
                for e in value
                if e.get("value") is not None
            ]
        elif isinstance(value, list):
            answers[step.id] = [str(v) for v in value]
        else:
            answers[step.id] = str(value)
    return ReportInput(
        method_id=method.id,
        topic=state.topic,
        tz=state.tz,
        started_at=state.started_at,
        status="done"
        if state.status == "done"
        else ("stopped" if state.status == "stopped" else "active"),
        answers=answers,
        moments=tuple(
            MomentRecord(
                type=m["type"],
                cue=m["cue"],
                quote=m["quote"],
                question=m["question"],
                reflection=m.get("reflection", ""),
                at=datetime.fromisoformat(m["at"]),
            )
            for m in state.moments
        ),
        followups=tuple(
            FollowUpLine(
                kind=f["kind"],
                text=f["text"],
                due=datetime.fromisoformat(f["due"]),
                recurrence=f.get("recurrence"),
            )
            for f in state.followups
        ),
        commitment_count=commitment_count,
    )


def _date(value: dict[str, Any]) -> DateAnswer:
    return DateAnswer(
        due=datetime.fromisoformat(value["due"]),
        has_time=bool(value.get("has_time")),
        text=str(value.get("text", "")),
    )
