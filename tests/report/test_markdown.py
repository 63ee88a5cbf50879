"""The Markdown report, as the person reading it would check it.

The session report must keep the source document's Output Format: its headings are read
from the document itself when it sits beside the clone (``../shared``), and from a copy
kept here otherwise, so the test means the same thing in CI and on a laptop.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.methods.loader import MethodLibrary
from core.methods.schema import MethodSpec, StepSpec
from core.report import render_report, report_filename
from core.report.model import (
    Answer,
    DateAnswer,
    EachAnswer,
    FollowUpLine,
    MomentRecord,
)
from tests.report.fill import START, answer_text, full_answers, report_input

DOCUMENT = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "methods"
    / "breakthrough-coaching-session.md"
)

# The Output Format block of breakthrough-coaching-session.md, verbatim.
OUTPUT_FORMAT = """\
# Breakthrough Coaching Session Report
Date: [Date]
Challenge: [Brief description]

## Challenge Exploration
### Root Issue
[Core challenge identified]

### Impact Assessment
[How it's affecting their life]

### Pattern Recognition
[Recurring themes/patterns discovered]

## Key Insights
1. [Major insight 1]
2. [Major insight 2]
3. [Major insight 3]

## Breakthrough Moments
[Significant shifts in perspective or understanding]

## Action Plan
### Immediate Actions (48 hours)
- [ ] [Specific action]

### Weekly Commitments
- [ ] [Weekly action]

### Support Needed
- [Support required]

### Success Measures
- [How progress will be tracked]

## Potential Obstacles & Solutions
| Obstacle | Response Strategy |
|----------|-------------------|
| [Obstacle] | [Strategy] |

## Follow-up Plan
- Review Date: [Date]
- Check-in Method: [Method]
- Celebration Plan: [How success will be celebrated]

## Session Reflection
[User's reflection on the session and commitments]
"""

# "[Date]" is a placeholder; "[ ]" (a checkbox) is not.
PLACEHOLDER = re.compile(r"\[[^\]\s][^\]]*\]")
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")

METHOD_IDS = ("session", "plan", "seven-step", "checkin")
CHOICES = {
    "session": {"checkins": "weekly"},
    "plan": {"motivated": "partly", "record": "flowchart"},
    "seven-step": {},
    "checkin": {"status": "blocked"},
}


@pytest.fixture(scope="module")
def library() -> MethodLibrary:
    return MethodLibrary.load()


def method_of(library: MethodLibrary, method_id: str) -> MethodSpec:
    return library.get(method_id)


def document_block() -> str | None:
    """The Output Format block of the document, or ``None`` when it is not beside us."""
    if not DOCUMENT.exists():
        return None
    text = DOCUMENT.read_text(encoding="utf-8")
    section = text[text.index("## Output Format") :]
    match = re.search(r"```markdown\n(.*?)```", section, re.DOTALL)
    assert match, "the Output Format section has no ```markdown block"
    return match.group(1)


def skeletons() -> list[object]:
    """The embedded copy, and the document's own block when the document is here."""
    found = document_block()
    params = [pytest.param(OUTPUT_FORMAT, id="copy")]
    if found is not None:
        params.append(pytest.param(found, id="document"))
    return params


def headings(markdown: str) -> list[tuple[int, str]]:
    found = []
    for line in markdown.splitlines():
        match = HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def bodies(markdown: str) -> dict[str, list[str]]:
    """Each heading's own lines (up to the next heading), blank lines dropped."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in markdown.splitlines():
        match = HEADING.match(line)
        if match:
            current = match.group(2)
            out[current] = []
        elif line.strip():
            out.setdefault(current, []).append(line.rstrip())
    return out


def body(markdown: str, heading: str) -> str:
    return "\n".join(bodies(markdown)[heading])


def moment(**changes: str) -> MomentRecord:
    values = {
        "type": "insight",
        "cue": "realise",
        "quote": "I realise I was waiting for permission",
        "question": "What do you believe is really behind this challenge?",
        "reflection": "I can start without asking anyone",
    }
    values.update(changes)
    return MomentRecord(
        type=values["type"],  # type: ignore[arg-type]
        cue=values["cue"],
        quote=values["quote"],
        question=values["question"],
        reflection=values["reflection"],
        at=START,
    )


def full_report(library: MethodLibrary, method_id: str, **extra: object) -> str:
    method = method_of(library, method_id)
    answers = full_answers(method, CHOICES[method_id])
    return render_report(method, report_input(method, answers, **extra))  # type: ignore[arg-type]


# -- the session report keeps the document's Output Format ----------------------------


def test_the_embedded_output_format_is_the_documents() -> None:
    found = document_block()
    if found is None:
        pytest.skip(f"{DOCUMENT} is not beside this clone")
    assert found == OUTPUT_FORMAT, "the document changed: update OUTPUT_FORMAT and session.yaml"


@pytest.mark.parametrize("skeleton", skeletons())
def test_a_full_session_report_has_the_documents_headings_in_order(
    library: MethodLibrary, skeleton: str
) -> None:
    report = full_report(library, "session")

    assert headings(report) == headings(skeleton)


@pytest.mark.parametrize("skeleton", skeletons())
def test_a_full_session_report_fills_every_line_of_the_skeleton(
    library: MethodLibrary, skeleton: str
) -> None:
    report = full_report(library, "session", moments=(moment(),))
    got = bodies(report)
    for heading, lines in bodies(skeleton).items():
        for line in lines:
            # Each skeleton line, with its [placeholders] as "anything", is in the section.
            pattern = PLACEHOLDER.sub("\0", line)
            regex = re.escape(pattern).replace("\0", ".+")
            assert any(re.fullmatch(regex, have) for have in got[heading]), (heading, line)


def test_the_session_header_lines_follow_the_title_as_in_the_document(
    library: MethodLibrary,
) -> None:
    report = full_report(library, "session")
    first = [line.rstrip() for line in report.splitlines()[:3]]

    assert first == [
        "# Breakthrough Coaching Session Report",
        "Date: Saturday 21 November 2026",
        f"Challenge: {answer_text('challenge')}",
    ]


def test_the_session_table_and_follow_up_lines_are_the_documents(
    library: MethodLibrary,
) -> None:
    report = full_report(library, "session")
    obstacles = bodies(report)["Potential Obstacles & Solutions"]
    follow_up = bodies(report)["Follow-up Plan"]

    assert obstacles[:2] == ["| Obstacle | Response Strategy |", "|----------|-------------------|"]
    assert [line.split(":")[0] for line in follow_up] == [
        "- Review Date",
        "- Check-in Method",
        "- Celebration Plan",
    ]


@pytest.mark.parametrize("method_id", METHOD_IDS)
def test_no_report_ever_shows_a_template_placeholder(
    library: MethodLibrary, method_id: str
) -> None:
    method = method_of(library, method_id)
    for answers in (full_answers(method, CHOICES[method_id]), {}):
        report = render_report(method, report_input(method, answers))
        assert not PLACEHOLDER.search(report.replace("- [ ]", "")), report


# -- every method, fully answered: answers land under their headings ------------------


@pytest.mark.parametrize("method_id", METHOD_IDS)
def test_every_answer_appears_under_its_steps_heading(
    library: MethodLibrary, method_id: str
) -> None:
    method = method_of(library, method_id)
    answers = full_answers(method, CHOICES[method_id])
    report = render_report(method, report_input(method, answers))
    sections = {s.id: s.heading for s in method.report.sections if s.id}
    checked = 0
    for step in method.steps:
        answer = answers.get(step.id)
        if not step.report or answer is None:
            continue
        under = body(report, sections[step.report])
        for expected in _words_of(step, answer):
            assert expected in under, (step.id, expected, under)
            checked += 1
    assert checked >= 3


def _words_of(step: StepSpec, answer: Answer) -> list[str]:
    """Text of an answer that must show up verbatim; a choice shows its label."""
    if isinstance(answer, str):
        labels = [c.label for c in step.choices if c.value == answer]
        return labels or ([answer] if step.kind == "ask" else [])
    if isinstance(answer, DateAnswer):
        return []
    return [a.item if isinstance(a, EachAnswer) else a for a in answer]


@pytest.mark.parametrize("method_id", METHOD_IDS)
def test_a_full_report_has_no_unanswered_section_but_the_optional_ones(
    library: MethodLibrary, method_id: str
) -> None:
    report = full_report(library, method_id, moments=(moment(),))

    assert "_Not answered in this session._" not in report
    assert "not set in this session" not in report
    assert "_Draft" not in report
    assert "stopped before the end" not in report


def test_a_full_session_report_numbers_key_insights_and_ticks_commitments(
    library: MethodLibrary,
) -> None:
    report = full_report(library, "session")
    insights = bodies(report)["Key Insights"]
    weekly = bodies(report)["Weekly Commitments"]

    assert [line.split(".")[0] for line in insights] == [str(n) for n in range(1, 17)]
    assert "1. What you'd tell your best friend: My words for best friend" in insights
    assert "12. insights 1" in insights
    assert weekly == ["- [ ] weekly 1", "- [ ] weekly 2", "- [ ] weekly 3"]


def test_a_committed_date_becomes_a_checklist_line_with_its_date(
    library: MethodLibrary,
) -> None:
    report = full_report(library, "session")

    assert bodies(report)["Immediate Actions (48 hours)"] == [
        f"- [ ] {answer_text('first_step')} — by Friday 27 November at 15:00"
    ]


def test_the_commitment_is_in_the_persons_own_words_not_echoed(
    library: MethodLibrary,
) -> None:
    method = method_of(library, "session")
    answers = full_answers(method, CHOICES["session"])
    answers["first_step"] = "I will call my sister"
    report = render_report(method, report_input(method, answers))

    assert "- [ ] I will call my sister — by Friday 27 November at 15:00" in report


def test_plan_steps_are_a_checklist_with_each_steps_date(library: MethodLibrary) -> None:
    report = full_report(library, "plan")

    assert bodies(report)["Plan"] == [
        "- [ ] needs 1 — by Tuesday 24 November at 15:00",
        "- [ ] needs 2 — by Thursday 26 November",
        "- [ ] needs 3 — by Saturday 28 November",
    ]


def test_labelled_paragraphs_and_lists_under_their_label(library: MethodLibrary) -> None:
    report = full_report(library, "seven-step")
    response = body(report, "Step 2 — The Response")

    assert f"**How you responded before:** {answer_text('past_response')}" in response
    assert "**Ways you could respond:**\n- responses 1\n- responses 2\n- responses 3" in response
    # A single pick from a list reads as one answer, not a one-item list.
    assert "**The response you choose:** responses 1" in response


def test_choices_show_their_label_not_their_value(library: MethodLibrary) -> None:
    plan = full_report(library, "plan")
    session = full_report(library, "session")

    assert "**Genuinely motivated:** Partly" in plan
    assert "- Recorded as: A flow chart" in plan
    assert "- Check-in Method: A weekly check-in in my DMs" in session


def test_bullets_carry_labels_only_when_several_steps_share_the_section(
    library: MethodLibrary,
) -> None:
    report = full_report(library, "session")

    assert f"- **Accountability:** {answer_text('accountable')}" in bodies(report)["Support Needed"]
    assert bodies(report)["Success Measures"] == [f"- {answer_text('measures')}"]


def test_table_rows_come_from_each_items_and_labelled_answers(library: MethodLibrary) -> None:
    report = full_report(library, "session")
    rows = bodies(report)["Potential Obstacles & Solutions"][2:]

    assert rows == [
        "| obstacles 1 | Handle obstacles 1 calmly |",
        "| obstacles 2 | Handle obstacles 2 calmly |",
        "| obstacles 3 | Handle obstacles 3 calmly |",
        f"| Resistance or setbacks | {answer_text('setbacks')} |",
        f"| Motivation wanes | {answer_text('motivation')} |",
    ]


def test_table_cells_keep_a_pipe_and_a_line_break_from_breaking_the_row(
    library: MethodLibrary,
) -> None:
    method = method_of(library, "seven-step")
    answers = full_answers(method)
    answers["block_responses"] = [
        EachAnswer(item="Tired | bored", value="  Go for a walk,\nthen start\n\n"),
    ]
    report = render_report(method, report_input(method, answers))

    assert "| Tired \\| bored | Go for a walk, then start |" in report


def test_an_each_item_without_an_answer_says_so(library: MethodLibrary) -> None:
    method = method_of(library, "seven-step")
    answers = full_answers(method)
    answers["block_responses"] = [EachAnswer(item="Tired", value="")]
    report = render_report(method, report_input(method, answers))

    assert "| Tired | not answered in this session |" in report


def test_moments_show_kind_quote_question_and_reflection(library: MethodLibrary) -> None:
    quiet = moment(type="awareness", quote="Oh.\nIt was fear all along", reflection="")
    report = full_report(library, "plan", moments=(moment(), quiet))

    assert bodies(report)["Breakthrough Moments"] == [
        "- **Insight** — “I realise I was waiting for permission” "
        "(after: What do you believe is really behind this challenge?)",
        "  - What it means to you: I can start without asking anyone",
        "- **Awareness** — “Oh. It was fear all along” "
        "(after: What do you believe is really behind this challenge?)",
    ]


def test_follow_ups_show_their_dates_recurrence_and_the_commitment_check_ins(
    library: MethodLibrary,
) -> None:
    followups = (
        FollowUpLine(kind="review", text="Review your plan", due=START + timedelta(days=10)),
        FollowUpLine(
            kind="visualisation",
            text="Time to visualise",
            due=datetime(2026, 11, 22, 7, 30, tzinfo=UTC),
            recurrence="daily",
        ),
    )
    report = full_report(library, "plan", followups=followups, commitment_count=3)

    assert bodies(report)["Check-ins"] == [
        "- Review your plan — Tuesday 1 December at 10:00",
        "- Time to visualise — Sunday 22 November at 07:30 (daily)",
        "- A check-in comes when each of the 3 dated steps is due.",
    ]


def test_one_commitment_gets_a_singular_check_in_line(library: MethodLibrary) -> None:
    report = full_report(library, "seven-step", commitment_count=1)

    assert bodies(report)["Scheduled follow-ups"] == [
        "- A check-in comes when your dated step is due."
    ]


def test_nothing_scheduled_is_said_in_words(library: MethodLibrary) -> None:
    report = full_report(library, "plan")

    assert bodies(report)["Check-ins"] == ["_Nothing is scheduled from this session._"]


# -- every method, barely answered ----------------------------------------------------


@pytest.mark.parametrize("method_id", METHOD_IDS)
def test_a_barely_answered_report_marks_every_gap(library: MethodLibrary, method_id: str) -> None:
    method = method_of(library, method_id)
    first = next(s for s in method.steps if s.kind == "ask")
    answers: dict[str, Answer] = {first.id: "Just this one thing"}
    report = render_report(method, report_input(method, answers, status="stopped"))
    got = bodies(report)

    assert "_This session was stopped before the end; unanswered parts are marked._" in report
    for section in method.report.sections:
        lines = got[section.heading]
        if section.style == "heading":
            assert lines == []
        elif section.style == "fields":
            assert all(line.endswith(": not set in this session") for line in lines), lines
        elif first.report == section.id:
            assert any("Just this one thing" in line for line in lines)
        else:
            expected = section.empty or (
                "_Nothing is scheduled from this session._"
                if section.style == "followups"
                else "_Not answered in this session._"
            )
            assert lines == [expected], (section.heading, lines)


@pytest.mark.parametrize("method_id", METHOD_IDS)
def test_a_report_with_no_answers_at_all_renders(library: MethodLibrary, method_id: str) -> None:
    method = method_of(library, method_id)
    report = render_report(method, report_input(method, {}, topic=""))
    header = report.splitlines()[1:3]

    assert header[0].startswith("Date: Saturday 21 November 2026")
    assert header[1].endswith(": not answered in this session")
    assert report.endswith("\n")


def test_blank_answers_count_as_unanswered(library: MethodLibrary) -> None:
    method = method_of(library, "session")
    answers: dict[str, Answer] = {"challenge": "   ", "weekly": ["", "  "], "behind": "\n"}
    report = render_report(method, report_input(method, answers))

    assert "Challenge: not answered in this session" in report
    assert bodies(report)["Weekly Commitments"] == ["_Not answered in this session._"]
    assert bodies(report)["Root Issue"] == ["_Not answered in this session._"]


def test_a_draft_says_so_under_the_header(library: MethodLibrary) -> None:
    method = method_of(library, "plan")
    report = render_report(method, report_input(method, {}, status="active"))
    lines = report.splitlines()

    assert lines[3:6] == ["", "_Draft: this session is still in progress._", ""]


def test_a_commitment_without_its_words_falls_back_to_a_label(library: MethodLibrary) -> None:
    method = method_of(library, "session")
    due = DateAnswer(due=START + timedelta(days=1), has_time=False, text="tomorrow")
    report = render_report(method, report_input(method, {"first_step_date": due}))

    assert bodies(report)["Immediate Actions (48 hours)"] == [
        "- [ ] Commitment — by Sunday 22 November"
    ]


# -- check-in fields follow the branch that was taken ---------------------------------


def test_a_done_check_in_shows_what_helped_and_no_other_branch(library: MethodLibrary) -> None:
    method = method_of(library, "checkin")
    answers: dict[str, Answer] = {"status": "done", "what_helped": "Doing it first thing"}
    report = render_report(method, report_input(method, answers))

    assert bodies(report)["Check-in"] == [
        "- Status: Done",
        "- What helped: Doing it first thing",
    ]
    assert "Commitment: Finish the garden shed" in report


def test_a_not_yet_check_in_shows_the_new_date(library: MethodLibrary) -> None:
    method = method_of(library, "checkin")
    new_date = DateAnswer(
        due=datetime(2027, 1, 8, 9, 0, tzinfo=UTC), has_time=False, text="8 January"
    )
    answers: dict[str, Answer] = {"status": "not_yet", "new_date": new_date}
    report = render_report(method, report_input(method, answers))

    assert bodies(report)["Check-in"] == [
        "- Status: Not yet",
        "- New date: Friday 8 January 2027",
    ]


def test_a_branch_asked_but_unanswered_is_marked_not_set(library: MethodLibrary) -> None:
    method = method_of(library, "checkin")
    report = render_report(method, report_input(method, {"status": "blocked"}, status="stopped"))

    assert bodies(report)["Check-in"] == [
        "- Status: Blocked",
        "- What is in the way: not set in this session",
        "- Smallest next step: not set in this session",
        "- When: not set in this session",
    ]


# -- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "has_time", "shown"),
    [
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), True, "Friday 27 November at 15:00"),
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), False, "Friday 27 November"),
        (datetime(2027, 2, 5, 9, 0, tzinfo=UTC), False, "Friday 5 February 2027"),
        # 23:30 UTC on the 27th is already Saturday morning in Auckland.
        (datetime(2026, 11, 27, 23, 30, tzinfo=UTC), True, "Saturday 28 November at 12:30"),
    ],
)
def test_dates_are_shown_in_the_persons_zone(
    library: MethodLibrary, due: datetime, has_time: bool, shown: str
) -> None:
    method = method_of(library, "seven-step")
    answers = full_answers(method)
    answers["first_action_date"] = DateAnswer(due=due, has_time=has_time, text="then")
    tz = "Pacific/Auckland" if due.hour == 23 else "UTC"
    started = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    report = render_report(method, report_input(method, answers, tz=tz, started_at=started))

    assert f"**When:** {shown}" in body(report, "Step 6 — The Plan")


def test_an_unknown_zone_falls_back_to_utc(library: MethodLibrary) -> None:
    method = method_of(library, "plan")
    started = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    report = render_report(method, report_input(method, {}, tz="Mars/Olympus", started_at=started))

    assert "Date: Saturday 21 November 2026" in report


# -- user text ------------------------------------------------------------------------


def test_a_multi_line_answer_stays_inside_its_list_item(library: MethodLibrary) -> None:
    method = method_of(library, "session")
    answers: dict[str, Answer] = {"weekly": ["Run twice\n\nand stretch", "Sleep by 11"]}
    report = render_report(method, report_input(method, answers))

    assert bodies(report)["Weekly Commitments"] == [
        "- [ ] Run twice",
        "  and stretch",
        "- [ ] Sleep by 11",
    ]


def test_header_values_stay_on_one_line(library: MethodLibrary) -> None:
    method = method_of(library, "session")
    report = render_report(method, report_input(method, {"challenge": "Starting\n  things"}))

    assert "Challenge: Starting things\n" in report


# -- file name ------------------------------------------------------------------------


def test_the_file_name_is_the_method_and_the_local_day(library: MethodLibrary) -> None:
    method = method_of(library, "plan")
    london = report_input(method, {})
    auckland = report_input(
        method, {}, tz="Pacific/Auckland", started_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    )

    assert report_filename(method, london) == "plan-2026-11-21.md"
    assert report_filename(method, auckland) == "plan-2026-11-22.md"
