"""The doctor's chat-platform checks: does each token work, and may it do what the bot needs?

A token can look right and still be refused, or work and lack a scope or intent the bot
needs later, in the middle of someone's session. These checks ask the platform itself,
with the same base URLs the bot uses (a proxy, GovSlack, the tests' fakes), one request
per question, each given at most the doctor's timeout. Every failure is a ``FAIL`` line
saying where in the platform's settings to fix it; none raises.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bots.doctor import Report
from bots.settings import Settings

__all__ = [
    "DISCORD_API_URL",
    "MESSAGE_CONTENT_FLAGS",
    "check_discord",
    "check_shards",
    "check_slack",
]

DISCORD_API_URL = "https://discord.com/api/v10"

# Application flags (https://discord.com/developers/docs/resources/application#application-
# object-application-flags): GATEWAY_MESSAGE_CONTENT once verified, _LIMITED before (under
# 100 servers). Either one lets the gateway deliver message text.
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)

# Slack's answers that mean the token itself is no good (not a network or Slack problem).
_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)

# ----------------------------------------------------------------------------- Slack


async def check_slack(settings: Settings, report: Report, *, time_limit: float) -> None:
    """The Slack settings as a whole, then each token against Slack's Web API."""
    from bots.slack import SlackConfig, SlackConfigError

    config = SlackConfig.from_settings(settings)
    try:
        config.check()
    except SlackConfigError as exc:
        report.fail("Slack settings", str(exc))
    _check_oauth(settings, report)
    if config.bot_token:
        await _check_bot_token(config.bot_token, config.api_url, report, time_limit=time_limit)
    if config.app_token:
        await _check_app_token(config.app_token, config.api_url, report, time_limit=time_limit)
    elif config.signing_secret:
        report.ok(
            "Slack HTTP mode",
            "requests are verified with SLACK_SIGNING_SECRET; Slack's Request URLs must point "
            "at https://YOUR-HOST/slack/events",
        )


def _check_oauth(settings: Settings, report: Report) -> None:
    client_id, secret = settings.slack_client_id, settings.slack_client_secret
    redirect = settings.slack_redirect_uri
    if bool(client_id) != bool(secret):
        report.fail(
            "Slack OAuth",
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (Basic Information → App "
            "Credentials): set both to let workspaces install the app, or neither",
        )
        return
    if not client_id:
        if redirect:
            report.warn(
                "Slack OAuth",
                "SLACK_REDIRECT_URI is set but OAuth install is off (it needs SLACK_CLIENT_ID "
                "and SLACK_CLIENT_SECRET): unset it, or set those two",
            )
        return
    if redirect is None:
        report.ok(
            "Slack OAuth",
            "workspaces install the app at /slack/install; Slack sends them back to the "
            "app's Redirect URL",
        )
        return
    if not redirect.startswith("https://"):
        report.fail(
            "Slack OAuth",
            f"SLACK_REDIRECT_URI ({redirect}) must start with https://: Slack accepts no other",
        )
    elif not redirect.rstrip("/").endswith("/slack/oauth_redirect"):
        report.warn(
            "Slack OAuth",
            f"SLACK_REDIRECT_URI ({redirect}) should end in /slack/oauth_redirect, where the "
            "bot finishes installs; list the same URL under OAuth & Permissions → Redirect URLs",
        )
    else:
        report.ok("Slack OAuth", f"installs come back to {redirect}")


async def _check_bot_token(token: str, api_url: str, report: Report, *, time_limit: float) -> None:
    from adapters.slack.install import BOT_SCOPES

    if not token.startswith("xoxb-"):
        report.fail(
            "Slack bot token",
            "SLACK_BOT_TOKEN is not a bot token (those start with xoxb-): copy the Bot User "
            "OAuth Token from OAuth & Permissions",
        )
        return
    client = AsyncWebClient(token=token, base_url=api_url, timeout=max(1, round(time_limit)))
    try:
        async with asyncio.timeout(time_limit):
            response = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error", "an error"))
        if error in _REFUSED:
            report.fail(
                "Slack bot token",
                f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token "
                "again from OAuth & Permissions (reinstall the app if it was removed)",
            )
        else:
            report.fail("Slack bot token", f"Slack answered auth.test with {error}")
        return
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        report.fail("Slack bot token", _unreachable("Slack", api_url, exc, time_limit))
        return
    data: Any = response.data
    report.ok(
        "Slack bot token",
        f"works: @{data.get('user')} in workspace {data.get('team')} ({data.get('team_id')})",
    )
    scopes = _header(response.headers, "x-oauth-scopes")
    if scopes is None:
        report.warn(
            "Slack scopes",
            "Slack did not say which scopes the token has; check OAuth & Permissions → Bot "
            f"Token Scopes lists {', '.join(BOT_SCOPES)}",
        )
        return
    granted = {s.strip() for s in scopes.split(",") if s.strip()}
    missing = [s for s in BOT_SCOPES if s not in granted]
    if missing:
        report.fail(
            "Slack scopes",
            f"the bot token lacks {', '.join(missing)}: add them under OAuth & Permissions → "
            "Bot Token Scopes (deploy/slack/manifest.yaml lists every scope and why), then "
            "reinstall the app to the workspace",
        )
    else:
        report.ok("Slack scopes", f"the bot token has all {len(BOT_SCOPES)} scopes it needs")


async def _check_app_token(token: str, api_url: str, report: Report, *, time_limit: float) -> None:
    how = (
        "make an app-level token with the connections:write scope under Basic Information → "
        "App-Level Tokens, and turn on Socket Mode"
    )
    if not token.startswith("xapp-"):
        report.fail(
            "Slack Socket Mode",
            f"SLACK_APP_TOKEN is not an app-level token (those start with xapp-): {how}",
        )
        return
    client = AsyncWebClient(base_url=api_url, timeout=max(1, round(time_limit)))
    try:
        async with asyncio.timeout(time_limit):
            # Hands out a WebSocket URL and nothing else: no connection is opened here.
            await client.apps_connections_open(app_token=token)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "an error"))
        report.fail("Slack Socket Mode", f"Slack refused SLACK_APP_TOKEN ({error}): {how}")
        return
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        report.fail("Slack Socket Mode", _unreachable("Slack", api_url, exc, time_limit))
        return
    report.ok("Slack Socket Mode", "SLACK_APP_TOKEN may open Socket Mode connections")


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


# ----------------------------------------------------------------------------- Discord


async def check_discord(settings: Settings, report: Report, *, time_limit: float) -> None:
    """The token (``GET /users/@me``) and the Message Content intent (``/applications/@me``)."""
    import discord

    assert settings.discord_token is not None
    base = (settings.discord_api_url or DISCORD_API_URL).rstrip("/")
    python = sys.version_info
    headers = {
        "Authorization": f"Bot {settings.discord_token.get_secret_value()}",
        # The form discord.py sends, which Discord asks every bot to send.
        "User-Agent": f"DiscordBot (https://github.com/Rapptz/discord.py {discord.__version__}) "
        f"Python/{python[0]}.{python[1]} aiohttp/{aiohttp.__version__}",
    }
    try:
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=time_limit)
        ) as http:
            status, me = await _get(http, f"{base}/users/@me", time_limit)
            if status == 401:
                report.fail(
                    "Discord token",
                    "Discord refused DISCORD_TOKEN: reset it under Developer Portal → your "
                    "app → Bot → Reset Token, and set the new one",
                )
                return
            if status != 200:
                report.fail("Discord token", f"Discord answered GET /users/@me with HTTP {status}")
                return
            report.ok("Discord token", f"works: bot {me.get('username')} ({me.get('id')})")
            status, app = await _get(http, f"{base}/applications/@me", time_limit)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        report.fail("Discord token", _unreachable("Discord", base, exc, time_limit))
        return
    if status != 200:
        report.warn(
            "Discord intents",
            f"could not read the app's settings (HTTP {status}), so the Message Content "
            "intent was not checked",
        )
        return
    _check_message_content(settings, int(app.get("flags") or 0), report)


def _check_message_content(settings: Settings, flags: int, report: Report) -> None:
    allowed = bool(flags & MESSAGE_CONTENT_FLAGS)
    if settings.discord_message_content and not allowed:
        report.fail(
            "Discord intents",
            "DISCORD_MESSAGE_CONTENT is on but the Message Content intent is off: switch on "
            "Developer Portal → your app → Bot → Message Content Intent, or unset "
            "DISCORD_MESSAGE_CONTENT (people then answer with a button)",
        )
    elif settings.discord_message_content:
        report.ok("Discord intents", "the Message Content intent is on: typed answers are read")
    elif allowed:
        report.ok(
            "Discord intents",
            "answers come through buttons; the Message Content intent is on, so "
            "DISCORD_MESSAGE_CONTENT=true would let people type them in the thread",
        )
    else:
        report.ok("Discord intents", "answers come through buttons (no Message Content intent)")


async def _get(http: aiohttp.ClientSession, url: str, time_limit: float) -> tuple[int, Any]:
    async with asyncio.timeout(time_limit), http.get(url) as response:
        if response.status != 200:
            return response.status, {}
        # discord.py reads JSON only with exactly this type; so do we, leniently.
        return 200, await response.json(content_type=None)


def _unreachable(platform: str, url: str, exc: BaseException, time_limit: float) -> str:
    why = f"no answer within {time_limit:g} s" if isinstance(exc, TimeoutError) else ""
    why = why or type(exc).__name__
    return f"could not reach {platform} at {url} ({why}): check the network, a proxy or firewall"


# ----------------------------------------------------------------------------- shards


def check_shards(settings: Settings, report: Report) -> None:
    """DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS, by the rules ``breakthrough discord`` uses."""
    from bots.shards import ShardError, parse_shards

    try:
        shards = parse_shards(settings.discord_shard_count, settings.discord_shard_ids)
    except ShardError as exc:
        report.fail("Discord shards", str(exc))
        return
    if shards.ids is not None:
        report.ok(
            "Discord shards",
            f"this process runs shards {settings.discord_shard_ids} of {shards.count}",
        )
    elif shards.count is not None:
        report.ok("Discord shards", f"this process runs all {shards.count} shards")
