"""The chosen-zone cache every adapter uses: one database read a minute per person, and a
change made here seen at once."""

from __future__ import annotations

from adapters.chosen_zones import CHOICE_TTL, ChosenZones


async def test_a_zone_is_read_once_a_minute_and_a_change_here_is_seen_at_once() -> None:
    stored = {"slack:T1:U1": "Europe/Paris"}
    reads: list[str] = []
    now = [0.0]

    async def lookup(owner: str) -> str | None:
        reads.append(owner)
        return stored.get(owner)

    zones = ChosenZones(lookup, monotonic=lambda: now[0])
    assert await zones.get("slack:T1:U1") == "Europe/Paris"
    assert await zones.get("slack:T1:U1") == "Europe/Paris"
    assert await zones.get("slack:T1:U2") is None
    assert await zones.get("slack:T1:U2") is None  # "none chosen" is cached too
    assert reads == ["slack:T1:U1", "slack:T1:U2"]

    stored["slack:T1:U1"] = "Asia/Tokyo"  # changed through another replica
    now[0] += CHOICE_TTL + 1
    assert await zones.get("slack:T1:U1") == "Asia/Tokyo"  # within the minute

    stored["slack:T1:U1"] = "UTC"  # changed here
    zones.forget("slack:T1:U1")
    assert await zones.get("slack:T1:U1") == "UTC"  # at once

    stored["slack:T1:U2"] = "Europe/Oslo"
    zones.forget_prefix("slack:T1:")
    assert await zones.get("slack:T1:U2") == "Europe/Oslo"
