"""Who is typing: a Slack user as an :class:`~core.dialogue.model.Actor`, with their zone.

A person's time zone is the one they set with ``/breakthrough settings tz …``; until they
set one it is their Slack profile's (``users.info`` → ``tz``), so "tomorrow at 9" means
their 9 without any setup. The same profile says whether they are a workspace admin or
owner, which lets them list and end every team plan of the workspace. Profiles are cached
for an hour per process: ``users.info`` is rate limited (Tier 4) and a turn must not wait
on it every time (so a new admin waits up to an hour for ``team list``).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import aiohttp
from slack_sdk.errors import SlackApiError

from adapters.chosen_zones import ChosenZones
from adapters.slack.messenger import ClientSource
from core.dialogue.model import Actor
from core.language import UnknownTimeZone, zone

__all__ = ["PLATFORM", "Profile", "SlackPeople"]

_log = logging.getLogger(__name__)

PLATFORM: Final = "slack"
_TTL: Final = 3600.0
_SIZE: Final = 50_000


@dataclass(frozen=True, slots=True)
class Profile:
    """What Slack's profile tells us: a name to address the person by, a zone, and
    whether they administer the workspace (``is_admin`` or ``is_owner``)."""

    name: str
    tz: str | None
    admin: bool = False


class SlackPeople:
    """Builds actors; ``chosen_tz(owner_key)`` returns the zone the person set, if any."""

    def __init__(
        self,
        clients: ClientSource,
        *,
        chosen_tz: Callable[[str], Awaitable[str | None]],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.chosen_tz = chosen_tz
        self._monotonic = monotonic
        self._profiles: OrderedDict[tuple[str, str], tuple[float, Profile]] = OrderedDict()
        self._choices = ChosenZones(chosen_tz, monotonic=monotonic)

    async def actor(self, workspace: str, user: str) -> Actor:
        """The person ``user`` of ``workspace``, in the zone they chose or their profile's."""
        profile = await self.profile(workspace, user)
        key = Actor(platform=PLATFORM, workspace=workspace, user_id=user).key()
        tz = await self._choices.get(key) or profile.tz
        return Actor(
            platform=PLATFORM,
            workspace=workspace,
            user_id=user,
            display_name=profile.name,
            tz=tz,
        )

    async def is_admin(self, workspace: str, user: str) -> bool:
        """Whether ``user`` is an admin or owner of ``workspace`` (from the cached profile)."""
        return (await self.profile(workspace, user)).admin

    async def profile(self, workspace: str, user: str) -> Profile:
        """``users.info`` for ``user``, cached; a failed lookup gives a bare profile."""
        key = (workspace, user)
        now = self._monotonic()
        cached = self._profiles.get(key)
        if cached is not None and now - cached[0] < _TTL:
            return cached[1]
        profile = await self._fetch(workspace, user)
        self._profiles[key] = (now, profile)
        self._profiles.move_to_end(key)
        if len(self._profiles) > _SIZE:
            self._profiles.popitem(last=False)
        return profile

    async def _fetch(self, workspace: str, user: str) -> Profile:
        try:
            client = await self.clients.client_for(workspace)
            response = await client.users_info(user=user)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, LookupError) as exc:
            _log.warning("users.info failed; using the default time zone", exc_info=exc)
            return Profile(name=user, tz=None)
        info = response.get("user") or {}
        name = str(info.get("real_name") or info.get("name") or user)
        tz = info.get("tz")
        if isinstance(tz, str):
            try:
                zone(tz)
            except UnknownTimeZone:
                tz = None
        else:
            tz = None
        admin = bool(info.get("is_admin") or info.get("is_owner"))
        return Profile(name=name, tz=tz, admin=admin)

    def forget_choice(self, workspace: str, user: str) -> None:
        """Drop the cached chosen zone of one person (they changed their settings)."""
        self._choices.forget(Actor(platform=PLATFORM, workspace=workspace, user_id=user).key())

    def forget_person(self, workspace: str, user: str) -> None:
        """Drop everything cached about one person (they asked to be forgotten)."""
        self._profiles.pop((workspace, user), None)
        self._choices.forget(Actor(platform=PLATFORM, workspace=workspace, user_id=user).key())

    def forget_workspace(self, workspace: str) -> None:
        """Drop cached profiles of ``workspace`` (it uninstalled the app)."""
        for key in [k for k in self._profiles if k[0] == workspace]:
            del self._profiles[key]
        self._choices.forget_prefix(f"{PLATFORM}:{workspace}:")
