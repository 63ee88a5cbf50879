"""Method files: the built-in ones load, and a broken file names its file, line and fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.methods.loader import (
    MethodError,
    MethodLibrary,
    builtin_method_files,
    check_file,
    load_text,
)

PLAN_DOC_QUESTIONS = [
    "What would you like to happen in this situation?",
    "And what needs to happen for",
    "What needs to happen first for",
    "What needs to happen next?",
]


def test_every_builtin_method_loads() -> None:
    library = MethodLibrary.load()
    assert {m.id for m in library} >= {"plan", "seven-step", "session", "checkin"}
    for f in builtin_method_files():
        assert check_file(f) == []


def test_plan_keeps_the_documents_questions_in_order() -> None:
    plan = MethodLibrary.load().get("plan")
    prompts = [s.prompt for s in plan.steps]
    positions = [next(i for i, p in enumerate(prompts) if q in p) for q in PLAN_DOC_QUESTIONS]
    assert positions == sorted(positions)
    assert [p.name for p in plan.phases] == ["Purpose", "Plan", "Action"]
    assert {c.value for c in plan.step("record").choices} == {"list", "flowchart", "mindmap"}


def test_session_has_the_six_phases_in_order() -> None:
    session = MethodLibrary.load().get("session")
    assert [p.name for p in session.phases] == [
        "Challenge identification",
        "Deeper exploration",
        "Perspective shifts",
        "Solution generation",
        "Commitment and action",
        "Integration and follow-up",
    ]
    assert session.step("ideas").min_items == 10
    assert session.step("first_step_date").within_hours == 48


def test_seven_step_schedules_the_review_after_the_plan_date() -> None:
    seven = MethodLibrary.load().get("seven-step")
    review = next(f for f in seven.followups if f.kind == "review")
    assert review.after == "review_date"
    assert seven.step("review_date").not_before == "first_action_date"
    assert any(f.recurrence == "daily" for f in seven.followups)


GOOD = """\
id: tiny
title: Tiny
summary: A tiny method.
phases:
  - name: One
    steps:
      - id: wish
        kind: ask
        prompt: What do you want?
        report: main
report:
  title: Tiny
  sections:
    - {heading: Main, id: main}
"""


def test_a_minimal_method_loads() -> None:
    spec = load_text(GOOD, file="tiny.yaml")
    assert spec.steps[0].phase == "One"


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        (GOOD.replace("kind: ask", "kind: asks"), 8, "kind"),
        (GOOD.replace("prompt: What do you want?", "prompt: What about {later}?"), 9, "{later}"),
        (GOOD.replace("report: main", "report: nowhere"), 10, "nowhere"),
        (
            GOOD.replace("        report: main\n", "        report: main\n        colour: red\n"),
            11,
            "colour",
        ),
        (GOOD.replace("title: Tiny\nsummary", "title: [unclosed\nsummary"), 3, "YAML"),
        (GOOD.replace("      - id: wish\n", "      - id: wish\n        source: x\n"), 7, "source"),
    ],
)
def test_a_broken_method_names_file_line_and_fault(broken: str, line: int, words: str) -> None:
    with pytest.raises(MethodError) as caught:
        load_text(broken, file="tiny.yaml")
    problem = caught.value.problems[0]
    assert problem.file == "tiny.yaml"
    assert problem.line == line, str(caught.value)
    assert words in problem.message


def test_check_file_reports_a_mismatched_id(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(GOOD)
    problems = check_file(path)
    assert problems and "file name" in problems[0].message


def test_a_teams_own_folder_adds_methods(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(GOOD)
    library = MethodLibrary.load([tmp_path])
    assert "tiny" in library and "plan" in library
