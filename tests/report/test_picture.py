"""The plan picture: a real PNG, growing with the plan, the same bytes for the same plan."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from core.report import PictureStyleError, picture_alt, plan_picture
from core.report.picture import PictureStyle

STYLES: tuple[PictureStyle, ...] = ("flowchart", "mindmap")
OUTCOME = "A finished garden shed that keeps the tools dry all winter"
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEXTS = (
    "Clear the corner of the garden",
    "Order timber and roofing felt, and ask the merchant about delivery on a weekday",
    "Ask Sam to help on Saturday",
    "Build the base",
    "Put up the frame and the walls",
    "Paint it green",
)


def plan(count: int) -> list[tuple[str, datetime | None]]:
    """``count`` steps, every fourth without a date."""
    return [
        (TEXTS[n % len(TEXTS)], None if n % 4 == 3 else START + timedelta(days=2 * n + 1))
        for n in range(count)
    ]


def picture(
    count: int, style: PictureStyle, *, outcome: str = OUTCOME, tz: str = "Europe/London"
) -> bytes:
    return plan_picture(outcome=outcome, steps=plan(count), style=style, tz=tz)


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("count", [0, 1, 6, 25, 30])
def test_every_size_of_plan_is_a_valid_png(style: PictureStyle, count: int) -> None:
    png = picture(count, style)
    image = opened(png)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.format == "PNG"
    assert image.mode == "RGB"
    assert image.width >= 400 and image.height >= 300


@pytest.mark.parametrize("style", STYLES)
def test_the_canvas_grows_with_the_number_of_steps(style: PictureStyle) -> None:
    areas = [opened(picture(n, style)).size for n in (1, 6, 12, 30)]

    assert [w * h for w, h in areas] == sorted(w * h for w, h in areas)
    assert areas[0][0] * areas[0][1] < areas[-1][0] * areas[-1][1]


def test_a_long_flow_chart_wraps_into_columns_instead_of_a_strip() -> None:
    width, height = opened(picture(30, "flowchart")).size

    assert width > 1000
    assert height < 3 * width


@pytest.mark.parametrize("style", STYLES)
def test_the_same_plan_gives_the_same_bytes(style: PictureStyle) -> None:
    assert picture(12, style) == picture(12, style)


@pytest.mark.parametrize("count", [0, 1, 6])
def test_the_two_styles_draw_different_pictures(count: int) -> None:
    flow, mind = picture(count, "flowchart"), picture(count, "mindmap")

    assert flow != mind
    assert opened(flow).size != opened(mind).size


@pytest.mark.parametrize("style", STYLES)
def test_dates_outcome_and_zone_are_drawn(style: PictureStyle) -> None:
    base = picture(3, style)
    moved = plan_picture(
        outcome=OUTCOME,
        steps=[(t, d + timedelta(days=1) if d else None) for t, d in plan(3)],
        style=style,
        tz="Europe/London",
    )

    assert moved != base
    assert picture(3, style, outcome="Something else entirely") != base
    # 09:00 UTC is still the day before in Pago Pago (UTC-11).
    assert picture(3, style, tz="Pacific/Pago_Pago") != base


@pytest.mark.parametrize("style", STYLES)
def test_an_empty_outcome_and_no_steps_still_draw(style: PictureStyle) -> None:
    empty = picture(0, style, outcome="")
    no_steps = picture(0, style)

    assert opened(empty).format == "PNG"
    assert empty != no_steps != picture(1, style)


@pytest.mark.parametrize("style", STYLES)
def test_very_long_step_text_is_cut_to_a_box(style: PictureStyle) -> None:
    long = [("word " * 60, START), ("x" * 500, None)]
    longer = [("word " * 400, START), ("x" * 5000, None)]

    def draw(steps: list[tuple[str, datetime | None]]) -> bytes:
        return plan_picture(outcome=OUTCOME * 10, steps=steps, style=style, tz="UTC")

    assert draw(long) == draw(longer)


@pytest.mark.parametrize("style", STYLES)
def test_characters_the_font_lacks_are_spelled_with_ones_it_has(style: PictureStyle) -> None:
    def draw(text: str) -> bytes:
        return plan_picture(outcome="Zoë’s shed", steps=[(text, START)], style=style, tz="UTC")

    assert draw("Paint it café green — über cool") == draw("Paint it cafe green - uber cool")
    assert draw("Celebrate 🎉") == draw("Celebrate")
    assert opened(draw("庭の小屋を建てる")).format == "PNG"


def test_naive_dates_are_taken_as_the_persons_wall_time() -> None:
    naive = plan_picture(
        outcome=OUTCOME, steps=[("Start", datetime(2026, 11, 22, 9))], style="flowchart", tz="UTC"
    )
    aware = plan_picture(
        outcome=OUTCOME,
        steps=[("Start", datetime(2026, 11, 22, 9, tzinfo=UTC))],
        style="flowchart",
        tz="UTC",
    )

    assert naive == aware


def test_an_unknown_style_is_refused() -> None:
    with pytest.raises(PictureStyleError):
        plan_picture(outcome=OUTCOME, steps=plan(2), style="timeline", tz="UTC")  # type: ignore[arg-type]
    with pytest.raises(PictureStyleError):
        picture_alt(outcome=OUTCOME, steps=plan(2), style="timeline", tz="UTC")  # type: ignore[arg-type]


# -- alt text -------------------------------------------------------------------------


def test_alt_text_reads_the_flow_chart_in_order() -> None:
    alt = picture_alt(outcome=OUTCOME, steps=plan(5), style="flowchart", tz="Europe/London")

    assert alt == (
        f"Flow chart of 5 steps towards {OUTCOME}: "
        "1. Clear the corner of the garden (by Sun 22 Nov); "
        "2. Order timber and roofing felt, and ask the merchant about delivery on a weekday "
        "(by Tue 24 Nov); "
        "3. Ask Sam to help on Saturday (by Thu 26 Nov); "
        "4. Build the base (no date yet); "
        "5. Put up the frame and the walls (by Mon 30 Nov)."
    )


def test_alt_text_of_a_mind_map_and_of_edge_cases() -> None:
    one = picture_alt(outcome=OUTCOME, steps=plan(1), style="mindmap", tz="UTC")
    none = picture_alt(outcome=OUTCOME, steps=[], style="flowchart", tz="UTC")
    bare = picture_alt(outcome="  ", steps=[], style="mindmap", tz="UTC")

    assert one.startswith(f"Mind map of 1 step around {OUTCOME}: 1. Clear the corner")
    assert none == f"Flow chart of a plan towards {OUTCOME}: no steps yet."
    assert bare == "Mind map: no steps yet."


def test_alt_text_shows_the_year_only_when_it_changes() -> None:
    steps: list[tuple[str, datetime | None]] = [
        ("Plan the party", datetime(2026, 12, 30, 12, tzinfo=UTC)),
        ("Hold it", datetime(2027, 1, 2, 12, tzinfo=UTC)),
    ]
    alt = picture_alt(outcome="A party", steps=steps, style="flowchart", tz="UTC")

    assert "(by Wed 30 Dec)" in alt
    assert "(by Sat 2 Jan 2027)" in alt


def test_alt_text_keeps_under_its_limit_and_says_what_it_left_out() -> None:
    alt = picture_alt(outcome=OUTCOME, steps=plan(30), style="flowchart", tz="UTC", limit=400)

    assert len(alt) <= 400
    assert alt.endswith("more steps.")
    assert alt.startswith(f"Flow chart of 30 steps towards {OUTCOME}: 1. ")
    assert len(picture_alt(outcome=OUTCOME, steps=plan(30), style="mindmap", tz="UTC")) <= 1000
