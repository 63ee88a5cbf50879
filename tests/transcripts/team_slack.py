"""The Slack team driver: a team transcript played through the Slack adapter.

Four people (or however many the transcript names) are Slack users of the fake
workspace, each with the time zone and admin flag of the script (``users.info`` says so,
as Slack does); they run ``/breakthrough team …`` in a channel, write in the plan's
thread and in their DMs with the bot, and press buttons, all through the real Bolt app
over signed HTTP. What the bot posted is read back from the fake Slack and tagged by where
it went: ``[thread]``, ``[channel]``, ``[dm bob]``, and ``[private bob]`` for what came
back on a slash command's ``response_url`` (ephemeral, only Bob sees it).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.slack.escape import unescape
from core.store.repository import SqlStore
from core.testing import FakeClock
from tests.slack.fake_slack import Call, FakeSlack, Upload
from tests.slack.rig import TEAM, SlackRig, message_pieces
from tests.transcripts.team_runner import Person

__all__ = ["SlackTeamDriver", "slack_user"]

CHANNEL = "C0001"
_MENTION = re.compile(r"<@(U[A-Z0-9]+)>")


def slack_user(person: Person) -> str:
    """The Slack user id a transcript's person has: ``bob`` is ``UBOB``."""
    return "U" + re.sub(r"[^A-Z0-9]", "", person.key.upper())


def _users(people: list[Person]) -> dict[str, dict[str, Any]]:
    return {slack_user(p): {"real_name": p.name, "tz": p.tz, "is_admin": p.admin} for p in people}


class SlackTeamDriver:
    """Implements :class:`~tests.transcripts.team_runner.TeamDriver` over :class:`SlackRig`."""

    def __init__(self, rig: SlackRig, people: list[Person], *, channel: str = CHANNEL) -> None:
        self.rig = rig
        self.channel = channel
        self.ids = {p.key: slack_user(p) for p in people}
        self.who_is = {user: key for key, user in self.ids.items()}
        self.names = {slack_user(p): p.name for p in people}
        self.thread_ts: str | None = None
        self._seen = 0  # Web API calls already read back

    @classmethod
    async def open(
        cls,
        people: list[Person],
        *,
        database_url: str,
        tmp_path: Path,
        clock: FakeClock,
        store: SqlStore | None = None,
    ) -> SlackTeamDriver:
        fake = FakeSlack(team_id=TEAM, users=_users(people))
        await fake.start()
        try:
            rig = await SlackRig.open(
                database_url=database_url, tmp_path=tmp_path, clock=clock, store=store, fake=fake
            )
        except BaseException:
            await fake.close()
            raise
        rig.owns_fake = True  # closing the rig closes this fake too
        return cls(rig, people)

    async def close(self) -> None:
        await self.rig.close()

    # -- reading back what was shown ------------------------------------------------------

    def _where(self, channel: str | None, thread_ts: str | None) -> str:
        channel = channel or ""
        if channel.startswith("D"):
            user = channel[1:]
            return f"[dm {self.who_is.get(user, user)}]"
        if thread_ts is not None and thread_ts == self.thread_ts:
            return "[thread]"
        return "[channel]"

    def _upload_text(self, upload: Upload) -> str:
        if upload.filename.endswith(".md"):
            return f"[document {upload.filename}]\n{upload.content.decode()}"
        return f"[image {upload.filename}: {upload.alt_txt or ''}]"

    def _shown(self, response_url: str | None = None, who: Person | None = None) -> list[str]:
        """What the bot showed since the last read, in the order it was sent."""
        calls = self.rig.fake.calls[self._seen :]
        self._seen = len(self.rig.fake.calls)
        uploads = {u.file_id: u for u in self.rig.fake.uploads}
        lines: list[str] = []
        for call in calls:
            if not call.ok:
                continue
            if call.method == "chat.postMessage":
                where = self._where(call.response.get("channel"), call.args.get("thread_ts"))
                lines += [f"{where} {self._names(piece)}" for piece in message_pieces(call)]
            elif call.method == "files.completeUploadExternal":
                lines += self._uploads(call, uploads)
        if response_url is not None and who is not None:
            for body in self.rig.fake.responses_to(response_url):
                text = self._names(unescape(str(body.get("text") or "")))
                lines.append(f"[private {who.key}] {text}")
        return lines

    def _uploads(self, call: Call, uploads: dict[str, Upload]) -> list[str]:
        shown = []
        for item in call.args.get("files") or []:
            upload = uploads.get(str(item.get("id")))
            if upload is not None:
                where = self._where(upload.channel, upload.thread_ts)
                shown.append(f"{where} {self._upload_text(upload)}")
        return shown

    def _names(self, text: str) -> str:
        """A Slack mention as the neutral ``@Name``."""
        return _MENTION.sub(lambda m: "@" + self.names.get(m[1], m[1]), text)

    # -- acting ---------------------------------------------------------------------------

    async def start_team(self, who: Person, method: str, topic: str) -> list[str]:
        text = f"team {topic}" if method == "plan" else f"team {method} {topic}"
        url = await self.rig.command(text, user=self.ids[who.key], channel=self.channel)
        roots = self.rig.roots(self.channel)
        if roots:
            self.thread_ts = str(roots[-1].response["ts"])
        return self._shown(url, who)

    async def say(self, who: Person, text: str) -> list[str]:
        assert self.thread_ts is not None, "say before the team plan started"
        await self.rig.say(
            text, user=self.ids[who.key], channel=self.channel, thread_ts=self.thread_ts
        )
        return self._shown()

    async def dm(self, who: Person, text: str) -> list[str]:
        user = self.ids[who.key]
        await self.rig.say(text, user=user, channel=f"D{user}", channel_type="im")
        return self._shown()

    async def press(self, who: Person, label: str) -> list[str]:
        user = self.ids[who.key]
        for message in reversed(self.rig.fake.posted()):
            channel = str(message.response.get("channel") or "")
            if channel != self.channel and channel != f"D{user}":
                continue  # someone else's DM
            for block in message.args.get("blocks") or ():
                if block["type"] != "actions":
                    continue
                for element in block["elements"]:
                    shown = unescape(element.get("text", {}).get("text", ""))
                    if element["type"] == "button" and shown.startswith(label):
                        url = await self.rig.click(message, element["action_id"], user=user)
                        return self._shown(url, who)
        raise AssertionError(f"{who.key} sees no button labelled {label!r}")

    async def command(self, who: Person, text: str) -> list[str]:
        self.rig.clock.advance(timedelta(seconds=30))
        url = await self.rig.command(text, user=self.ids[who.key], channel=self.channel)
        return self._shown(url, who)

    async def advance(self, delta: timedelta) -> list[str]:
        """Move the clock on by ``delta``, delivering each nudge as it falls due."""
        clock = self.rig.clock
        end = clock.now() + delta
        dispatcher = self.rig.service.dispatcher
        for _ in range(1000):  # a nudge that stays due (deferred) must not loop forever
            upcoming = await self.rig.runtime.nudges.next_due()
            if upcoming is None or upcoming > end:
                break
            clock.set(max(upcoming, clock.now()))
            await dispatcher.tick()
        clock.set(end)
        await dispatcher.tick()
        await self.rig.settle()
        return self._shown()
