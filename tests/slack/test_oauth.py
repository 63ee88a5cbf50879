"""Installing the app in a workspace with OAuth, and forgetting it when it is removed.

The bot runs as ``breakthrough slack`` does with ``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``
and no bot token: Bolt serves ``/slack/install`` and ``/slack/oauth_redirect``, exchanges
the code with the fake's ``oauth.v2.access`` and keeps the token in the bot's database,
where the commands, replies and nudges of that workspace find it.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from adapters.slack.install import Installations, NotInstalled
from core.dialogue.intents import DirectMessage, Say
from core.dialogue.model import Actor
from core.testing import FakeClock
from tests.databases import Database
from tests.slack.rig import ANN, TEAM, SlackRig, open_rig

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CLIENT_ID = "123.456"
INSTALLED_TOKEN = f"xoxb-installed-{TEAM}"
STATE_COOKIE = "slack-app-oauth-state"


@pytest.fixture
async def oauth_rig(
    database: Database, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[SlackRig]:
    """The bot over HTTP with OAuth install and no bot token, on SQLite and PostgreSQL."""
    rig = await open_rig(
        database, tmp_path, clock, bot_token=None, client_id=CLIENT_ID, client_secret="shh"
    )
    try:
        yield rig
    finally:
        await rig.close()


def base(rig: SlackRig) -> str:
    return f"http://127.0.0.1:{rig.service.port}"


def installations(rig: SlackRig) -> Installations:
    clients = rig.service.messenger.clients
    assert isinstance(clients, Installations)
    return clients


async def rows(rig: SlackRig, table: str) -> list[dict[str, Any]]:
    async with rig.runtime.store.engine.connect() as conn:
        result = await conn.execute(text(f"SELECT * FROM {table}"))
        return [dict(row) for row in result.mappings()]


async def not_installed(rig: SlackRig) -> bool:
    try:
        await installations(rig).client_for(TEAM)
    except NotInstalled:
        return True
    return False


async def forgotten(rig: SlackRig, table: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until ``table`` is empty and the workspace's cached client is dropped.

    The uninstall listeners run in Bolt's own background task, which ``rig.settle()``
    does not wait for (see ``test_an_acknowledged_uninstall_is_done_once_the_bot_is_idle``).
    """
    deadline = time.monotonic() + timeout
    while await rows(rig, table) or not await not_installed(rig):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{table} still has rows, or a client is cached, after {timeout}s")
        await asyncio.sleep(0.005)


async def begin_install(rig: SlackRig) -> tuple[str, str]:
    """Open /slack/install like a browser; return the Slack authorize URL and its state."""
    async with rig.http.get(f"{base(rig)}/slack/install", allow_redirects=False) as response:
        assert response.status == 200, await response.text()
        page = await response.text()
        cookies = response.headers.getall("Set-Cookie", [])
    links = re.findall(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert links, page
    url = html.unescape(links[0])
    (state,) = parse_qs(urlsplit(url).query)["state"]
    assert any(c.startswith(f"{STATE_COOKIE}={state};") for c in cookies), cookies
    return url, state


async def finish_install(
    rig: SlackRig, *, state: str, code: str = "abc", cookie_state: str | None = None
) -> tuple[int, str]:
    """Slack sends the browser back to /slack/oauth_redirect with the code and the state.

    The state cookie is set ``Secure``, so a client on plain HTTP would not send it back:
    the test sends the header a browser on HTTPS would send.
    """
    cookie = f"{STATE_COOKIE}={state if cookie_state is None else cookie_state}"
    async with rig.http.get(
        f"{base(rig)}/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"Cookie": cookie},
        allow_redirects=False,
    ) as response:
        return response.status, await response.text()


async def install(rig: SlackRig) -> None:
    _, state = await begin_install(rig)
    status, page = await finish_install(rig, state=state)
    assert status == 200, page


async def test_the_install_page_links_to_slack_with_our_scopes_and_a_state(
    oauth_rig: SlackRig,
) -> None:
    url, state = await begin_install(oauth_rig)
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"][0].split(",") == [
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "channels:history",
        "groups:history",
        "mpim:history",
        "users:read",
        "files:write",
    ]
    assert len(state) >= 16
    # The state is kept in the bot's database, where every replica can check it.
    stored = await rows(oauth_rig, "slack_oauth_states")
    assert [r["state"] for r in stored] == [state]
    assert oauth_rig.fake.calls == []  # nothing asked of Slack yet


async def test_the_redirect_stores_the_workspaces_token(oauth_rig: SlackRig) -> None:
    fake = oauth_rig.fake
    _, state = await begin_install(oauth_rig)
    status, page = await finish_install(oauth_rig, state=state, code="abc")
    assert status == 200, page
    assert "<h2>Thank you!</h2>" in page, page

    (exchange,) = fake.calls_to("oauth.v2.access")
    assert exchange.ok, exchange
    assert exchange.args["code"] == "abc"
    assert exchange.args["client_id"] == CLIENT_ID
    assert exchange.args["client_secret"] == "shh"

    (bot,) = await rows(oauth_rig, "slack_bots")
    assert bot["team_id"] == TEAM
    assert bot["bot_token"] == INSTALLED_TOKEN
    assert bot["bot_user_id"] == fake.bot_user_id
    (installation,) = await rows(oauth_rig, "slack_installations")
    assert installation["team_id"] == TEAM
    assert installation["bot_token"] == INSTALLED_TOKEN
    assert await rows(oauth_rig, "slack_oauth_states") == []  # the state is used up

    found = await installations(oauth_rig).store.async_find_bot(enterprise_id=None, team_id=TEAM)
    assert found is not None and found.bot_token == INSTALLED_TOKEN


async def test_after_install_a_command_works_with_the_installed_token(
    oauth_rig: SlackRig,
) -> None:
    await install(oauth_rig)
    await oauth_rig.command("plan Launch the beta")

    roots = oauth_rig.roots("C0001")
    assert len(roots) == 1, oauth_rig.fake.summary()
    ts = roots[0].response["ts"]
    assert len(oauth_rig.thread("C0001", ts)) == 1
    posts = oauth_rig.fake.calls_to("chat.postMessage")
    assert posts and all(c.token == INSTALLED_TOKEN for c in posts)
    lookups = oauth_rig.fake.calls_to("users.info")
    assert lookups and all(c.token == INSTALLED_TOKEN for c in lookups)

    await oauth_rig.say("I want the beta launched", thread_ts=ts)
    assert len(oauth_rig.thread("C0001", ts)) == 2
    assert all(c.token == INSTALLED_TOKEN for c in oauth_rig.fake.calls_to("chat.postMessage"))
    assert oauth_rig.service.bot.failures == 0


async def test_a_command_from_a_workspace_that_never_installed_posts_nothing(
    oauth_rig: SlackRig,
) -> None:
    url = await oauth_rig.command("plan Launch the beta")
    assert oauth_rig.fake.posted() == []
    assert await oauth_rig.runtime.store.list_sessions() == []
    # The person is told, privately, rather than left with silence.
    (told,) = oauth_rig.fake.responses_to(url)
    assert "reinstall this app" in told["text"]
    with pytest.raises(NotInstalled):
        await installations(oauth_rig).client_for(TEAM)


async def test_a_made_up_state_is_refused(oauth_rig: SlackRig) -> None:
    await begin_install(oauth_rig)
    status, page = await finish_install(oauth_rig, state="forged-state")
    assert status != 200
    assert "Thank you" not in page
    assert oauth_rig.fake.calls_to("oauth.v2.access") == []
    assert await rows(oauth_rig, "slack_bots") == []
    assert await rows(oauth_rig, "slack_installations") == []


async def test_a_state_without_the_browsers_cookie_is_refused(oauth_rig: SlackRig) -> None:
    _, state = await begin_install(oauth_rig)
    status, _ = await finish_install(oauth_rig, state=state, cookie_state="someone-else")
    assert status != 200
    assert oauth_rig.fake.calls_to("oauth.v2.access") == []
    assert await rows(oauth_rig, "slack_bots") == []


async def test_a_state_is_used_once(oauth_rig: SlackRig) -> None:
    _, state = await begin_install(oauth_rig)
    status, _ = await finish_install(oauth_rig, state=state, code="abc")
    assert status == 200
    status, _ = await finish_install(oauth_rig, state=state, code="again")
    assert status != 200
    assert len(oauth_rig.fake.calls_to("oauth.v2.access")) == 1
    assert len(await rows(oauth_rig, "slack_installations")) == 1
    assert len(await rows(oauth_rig, "slack_bots")) == 1


async def test_uninstalling_deletes_the_token_and_nothing_is_sent_afterwards(
    oauth_rig: SlackRig,
) -> None:
    await install(oauth_rig)
    # A command first, so the workspace's client, profiles and DM are cached.
    await oauth_rig.command("plan Launch the beta")
    ann = await oauth_rig.service.bot.people.actor(TEAM, ANN)
    await oauth_rig.service.messenger.open_dm(TEAM, ANN)
    assert len(oauth_rig.fake.posted()) == 2

    status = await oauth_rig.event({"type": "app_uninstalled"})
    assert status == 200
    await forgotten(oauth_rig, "slack_bots")
    assert await rows(oauth_rig, "slack_installations") == []

    with pytest.raises(NotInstalled):
        await installations(oauth_rig).client_for(TEAM)
    # A nudge for someone in that workspace cannot be delivered: it is refused, not retried.
    nudge = Say(to=DirectMessage(actor=ann), text="A reminder: “Fix the login bug” is due today.")
    with pytest.raises(NotInstalled):
        await oauth_rig.service.messenger.deliver([nudge])

    posted = len(oauth_rig.fake.posted())
    url = await oauth_rig.command("plan Try again")
    assert len(oauth_rig.fake.posted()) == posted
    assert len(await oauth_rig.runtime.store.list_sessions()) == 1
    (told,) = oauth_rig.fake.responses_to(url)  # told why, privately
    assert "reinstall this app" in told["text"]
    assert oauth_rig.service.bot.failures == 0


async def test_uninstalling_forgets_the_workspaces_cached_profiles_and_dms(
    oauth_rig: SlackRig,
) -> None:
    await install(oauth_rig)
    await oauth_rig.command("plan Launch the beta")
    await oauth_rig.service.messenger.open_dm(TEAM, ANN)
    await oauth_rig.event({"type": "app_uninstalled"})
    await forgotten(oauth_rig, "slack_installations")

    # Installed again: the profile and the DM are looked up afresh with the new token.
    oauth_rig.fake.calls.clear()
    await install(oauth_rig)
    owner = Actor(platform="slack", workspace=TEAM, user_id=ANN)
    await oauth_rig.service.bot.people.actor(owner.workspace, owner.user_id)
    await oauth_rig.service.messenger.open_dm(TEAM, ANN)
    assert [c.args["user"] for c in oauth_rig.fake.calls_to("users.info")] == [ANN]
    assert [c.args["users"] for c in oauth_rig.fake.calls_to("conversations.open")] == [ANN]


async def test_a_revoked_bot_token_is_deleted(oauth_rig: SlackRig) -> None:
    await install(oauth_rig)
    await oauth_rig.command("plan Launch the beta")  # caches the workspace's client
    assert await installations(oauth_rig).client_for(TEAM)

    status = await oauth_rig.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
    assert status == 200
    await forgotten(oauth_rig, "slack_bots")
    assert await rows(oauth_rig, "slack_bots") == []
    with pytest.raises(NotInstalled):
        await installations(oauth_rig).client_for(TEAM)
    assert oauth_rig.service.bot.failures == 0


async def test_an_acknowledged_uninstall_is_done_once_the_bot_is_idle(
    oauth_rig: SlackRig,
) -> None:
    """``SlackBot.idle()`` (what ``SlackService.close()`` and ``rig.settle()`` wait for)
    promises that every request acknowledged so far has been handled. The uninstall must
    be too: otherwise a shutdown right after the ack loses it (Slack will not send it
    again), and a nudge sent meanwhile still goes out with the deleted token."""
    await install(oauth_rig)
    await oauth_rig.command("plan Launch the beta")  # caches the workspace's client
    await oauth_rig.event({"type": "app_uninstalled"})  # acked, then waits for idle()
    with pytest.raises(NotInstalled):
        await installations(oauth_rig).client_for(TEAM)
    assert await rows(oauth_rig, "slack_bots") == []
