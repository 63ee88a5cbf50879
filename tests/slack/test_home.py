"""The App Home tab: a person's sessions, commitments and settings, escaped, within
Slack's limits, and saying how much was left out when everything cannot fit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.slack.escape import unescape
from adapters.slack.home import COMMITMENTS_SHOWN, HOME_BLOCK_LIMIT, home_view
from adapters.slack.render import SECTION_LIMIT, text_size
from core.ports import CommitmentRecord, SessionRecord
from core.schedule.model import Preferences
from core.schedule.settings_text import describe

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
OWNER = "slack:T1:U1"
SETTINGS = describe(Preferences.defaults(OWNER), tz="Europe/Paris", now=NOW)


def session(
    topic: str = "Launch the beta",
    *,
    method: str = "plan",
    status: str = "active",
    updated: datetime = NOW - timedelta(hours=1),
    n: int = 1,
) -> SessionRecord:
    return SessionRecord(
        id=f"s{n}",
        owner=OWNER,
        place="slack:T1:C1:1.0",
        method=method,
        topic=topic,
        status=status,
        state={},
        created_at=updated,
        updated_at=updated,
    )


def commitment(text: str, due: datetime, *, n: int = 1) -> CommitmentRecord:
    return CommitmentRecord(
        id=f"c{n}",
        session_id="s1",
        owner=OWNER,
        text=text,
        due_at=due,
        tz="Europe/Paris",
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
    )


def view(**kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "sessions": (),
        "commitments": (),
        "settings_text": SETTINGS,
        "tz": "Europe/Paris",
        "now": NOW,
    }
    args.update(kwargs)
    return home_view(**args)


def texts(home: dict[str, Any]) -> list[str]:
    """Every text in the view, in order (sections and context elements)."""
    out: list[str] = []
    for block in home["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", ()):
            out.append(element["text"])
    return out


def everything(home: dict[str, Any]) -> str:
    return "\n".join(texts(home))


def section_with(home: dict[str, Any], needle: str) -> int:
    """The index of the first block whose text holds ``needle``."""
    for i, block in enumerate(home["blocks"]):
        if needle in block.get("text", {}).get("text", ""):
            return i
    raise AssertionError(f"{needle!r} not in the view")


def assert_within_limits(home: dict[str, Any]) -> None:
    assert home["type"] == "home"
    assert len(home["blocks"]) <= HOME_BLOCK_LIMIT
    for block in home["blocks"]:
        if block["type"] == "section":
            assert 0 < text_size(block["text"]["text"]) <= SECTION_LIMIT


def test_the_tab_has_a_header_and_the_three_parts_in_order() -> None:
    home = view(sessions=[session()], commitments=[commitment("Email Ana", NOW + timedelta(1))])
    assert home["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Breakthrough", "emoji": True},
    }
    active = section_with(home, "*Active sessions*")
    open_ = section_with(home, "*Open commitments*")
    settings = section_with(home, "*Your nudge settings*")
    assert active < open_ < settings
    assert {"type": "divider"} in home["blocks"][active:open_]
    assert {"type": "divider"} in home["blocks"][open_:settings]
    assert_within_limits(home)


def test_sessions_show_method_topic_status_and_last_activity() -> None:
    home = view(
        sessions=[
            session("Launch the beta", method="plan", n=1),
            session(
                "Stop missing deadlines",
                method="seven-step",
                status="paused",
                updated=datetime(2026, 11, 13, 9, 0, tzinfo=UTC),
                n=2,
            ),
        ]
    )
    first = home["blocks"][section_with(home, "Launch the beta")]["text"]["text"]
    second = home["blocks"][section_with(home, "Stop missing deadlines")]["text"]["text"]
    assert "PLAN" in first and "today" in first and "paused" not in first
    assert "Seven Step" in second and "paused" in second and "Friday 13 November" in second
    # Newest first, as given.
    assert section_with(home, "Launch the beta") < section_with(home, "Stop missing")


def test_a_topic_is_escaped_so_it_cannot_notify_anyone() -> None:
    home = view(sessions=[session("<!channel> launch & <@U123>")])
    text = everything(home)
    assert "&lt;!channel&gt; launch &amp; &lt;@U123&gt;" in text
    assert "<!channel>" not in text and "<@U123>" not in text


def test_a_session_without_a_topic_is_untitled() -> None:
    home = view(sessions=[session("  ")])
    assert "untitled" in home["blocks"][section_with(home, "PLAN")]["text"]["text"]


def test_no_sessions_says_how_to_start_one() -> None:
    text = everything(view())
    assert "No sessions running. Start one with `/breakthrough plan …`" in text


def test_commitments_are_listed_soonest_first_with_when_they_are_due() -> None:
    later = commitment("Ship it", datetime(2026, 11, 27, 16, 0, tzinfo=UTC), n=1)
    sooner = commitment("Email Ana", datetime(2026, 11, 22, 8, 0, tzinfo=UTC), n=2)
    text = everything(view(commitments=[later, sooner]))
    # Paris is UTC+1 in November.
    assert "☐ Email Ana — due tomorrow at 09:00" in text
    assert "☐ Ship it — due Friday 27 November at 17:00" in text
    assert text.index("Email Ana") < text.index("Ship it")


def test_overdue_commitments_are_marked_and_only_those() -> None:
    late = commitment("Call the bank", NOW - timedelta(days=1), n=1)
    fine = commitment("Book the venue", NOW + timedelta(hours=2), n=2)
    lines = everything(view(commitments=[late, fine])).splitlines()
    [late_line] = [line for line in lines if "Call the bank" in line]
    [fine_line] = [line for line in lines if "Book the venue" in line]
    assert "overdue" in late_line and "yesterday" in late_line
    assert "overdue" not in fine_line


def test_commitment_text_is_escaped() -> None:
    text = everything(view(commitments=[commitment("Ask <!here> & <@U9>", NOW + timedelta(1))]))
    assert "☐ Ask &lt;!here&gt; &amp; &lt;@U9&gt; — due" in text
    assert "<!here>" not in text


def test_no_commitments_says_nothing_is_open() -> None:
    home = view()
    after = home["blocks"][section_with(home, "*Open commitments*") + 1]
    assert after["text"]["text"] == "Nothing open."


def test_several_commitments_share_a_section() -> None:
    items = [commitment(f"Step {i}", NOW + timedelta(days=i), n=i) for i in range(1, 6)]
    home = view(commitments=items)
    block = home["blocks"][section_with(home, "Step 1")]["text"]["text"]
    assert block.count("☐") == 5


def test_settings_are_shown_escaped_with_how_to_change_them() -> None:
    home = view(settings_text="Time zone: Europe/Paris\nQuiet hours: <none> & more")
    text = everything(home)
    assert "Time zone: Europe/Paris" in text
    assert "Quiet hours: &lt;none&gt; &amp; more" in text
    context = [b for b in home["blocks"] if b["type"] == "context"]
    assert any(
        "`/breakthrough settings tz Europe/Paris`" in e["text"]
        and "quiet 22:00-07:00" in e["text"]
        and "pause until 2 Jan" in e["text"]
        for b in context
        for e in b["elements"]
    )


def test_the_real_settings_description_appears_in_full() -> None:
    text = unescape(everything(view()))
    for line in SETTINGS.splitlines():
        assert " ".join(line.split()) in text


def test_delivery_problems_are_shown_first_and_escaped() -> None:
    home = view(problems=["I couldn't open a DM with you: user_disabled", "<!channel> & x"])
    heading = section_with(home, "*Delivery problems*")
    assert heading < section_with(home, "*Active sessions*")
    text = everything(home)
    assert "I couldn't open a DM with you: user_disabled" in text
    assert "&lt;!channel&gt; &amp; x" in text


def test_no_problems_no_problems_section() -> None:
    assert "Delivery problems" not in everything(view())


def test_five_hundred_commitments_fit_and_say_how_many_are_left_out() -> None:
    items = [
        commitment(f"Commitment number {i} with some words", NOW + timedelta(hours=i), n=i)
        for i in range(500)
    ]
    home = view(sessions=[session()], commitments=items, problems=["x"])
    assert_within_limits(home)
    text = everything(home)
    shown = text.count("☐ ")
    match = re.search(r"…and (\d+) more", text)
    assert match is not None
    assert 0 < shown <= COMMITMENTS_SHOWN
    assert int(match.group(1)) == 500 - shown
    # The ones shown are the soonest due.
    assert "Commitment number 0 with" in text and "Commitment number 499 with" not in text
    # The settings still follow, after the list.
    assert section_with(home, "*Your nudge settings*") > section_with(home, "…and ")


def test_everything_that_fits_is_shown_without_a_more_line() -> None:
    items = [commitment(f"C{i}", NOW + timedelta(hours=i), n=i) for i in range(60)]
    text = everything(view(commitments=items))
    assert text.count("☐ ") == 60
    assert "more" not in text.split("*Your nudge settings*")[0]


def test_huge_commitments_are_shortened_visibly_and_sections_stay_in_limits() -> None:
    items = [commitment("&" * 5000, NOW + timedelta(days=i), n=i) for i in range(300)]
    home = view(commitments=items)
    assert_within_limits(home)
    text = everything(home)
    shown = text.count("☐ ")
    assert shown == COMMITMENTS_SHOWN
    assert "…" in text.split("☐ ", 2)[1]
    match = re.search(r"…and (\d+) more", text)
    assert match is not None and int(match.group(1)) == 300 - shown


def test_many_long_problems_fit_in_a_few_sections_and_are_counted() -> None:
    problems = [f"Problem {i}: " + "<x> " * 400 for i in range(60)]
    home = view(problems=problems)
    assert_within_limits(home)
    before = home["blocks"][: section_with(home, "*Active sessions*")]
    text = "\n".join(b["text"]["text"] for b in before if b["type"] == "section")
    shown = len(re.findall(r"Problem \d+:", text))
    match = re.search(r"…and (\d+) more", text)
    assert match is not None and shown > 0 and int(match.group(1)) == 60 - shown
    assert len(before) < 10  # problems do not crowd out the rest of the tab


def test_many_sessions_are_capped_and_counted() -> None:
    sessions = [session(f"Topic {i}", n=i) for i in range(40)]
    home = view(sessions=sessions, commitments=[commitment("Ship", NOW + timedelta(1))])
    assert_within_limits(home)
    text = everything(home)
    shown = len(re.findall(r"Topic \d+", text))
    match = re.search(r"…and (\d+) more", text)
    assert match is not None and int(match.group(1)) == 40 - shown
    assert "☐ Ship" in text


def test_an_unknown_time_zone_still_gives_a_tab() -> None:
    home = view(tz="Mars/Olympus", commitments=[commitment("Ship", NOW + timedelta(hours=3))])
    assert "☐ Ship — due today at 13:00" in everything(home)  # in UTC


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        view(now=NOW.replace(tzinfo=None))
