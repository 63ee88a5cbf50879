"""Bot tokens: one from the environment, or one per workspace from the OAuth install.

With ``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET`` the app can be installed in many
workspaces: Bolt runs the OAuth flow (``/slack/install`` → ``/slack/oauth_redirect``) and
keeps each workspace's bot token in slack-sdk's SQLAlchemy installation store, in the
bot's own database, where every replica finds it. Uninstalling the app, or revoking its
token, deletes that workspace's rows (:class:`UninstallListener`).

Nudges are sent outside any Slack request, so they cannot use Bolt's per-request client;
:class:`Installations` looks the token up by workspace instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import DeliveryRefused

__all__ = [
    "BOT_SCOPES",
    "Installations",
    "NotInstalled",
    "SingleWorkspace",
    "UninstallListener",
    "oauth_settings",
]

_log = logging.getLogger(__name__)

BOT_SCOPES: Final = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "channels:history",
    "groups:history",
    "mpim:history",
    "users:read",
    "files:write",
)
"""Exactly the scopes the app uses (``deploy/slack/manifest.yaml`` lists the same)."""

STATE_EXPIRY_SECONDS: Final = 600


class NotInstalled(DeliveryRefused):
    """No bot token for this workspace: the app was never installed there, or removed."""


class SingleWorkspace:
    """One workspace, one bot token (``SLACK_BOT_TOKEN``): every lookup gives one client."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def client_for(self, workspace: str) -> AsyncWebClient:
        return self.client

    def forget(self, workspace: str) -> None:
        """Nothing is cached per workspace."""


class Installations:
    """The bot token of each workspace that installed the app, from the installation store."""

    def __init__(
        self,
        store: AsyncSQLAlchemyInstallationStore,
        *,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.session = session
        self._clients: dict[str, AsyncWebClient] = {}

    async def client_for(self, workspace: str) -> AsyncWebClient:
        client = self._clients.get(workspace)
        if client is not None:
            return client
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=workspace)
        if bot is None or not bot.bot_token:
            raise NotInstalled(f"Breakthrough is not installed in workspace {workspace}")
        client = AsyncWebClient(token=bot.bot_token, base_url=self.base_url, session=self.session)
        self._clients[workspace] = client
        return client

    def forget(self, workspace: str) -> None:
        """Drop the cached client of ``workspace`` (its token was deleted)."""
        self._clients.pop(workspace, None)


def oauth_settings(
    *,
    engine: AsyncEngine,
    client_id: str,
    client_secret: str,
    redirect_uri: str | None = None,
    scopes: Sequence[str] = BOT_SCOPES,
) -> tuple[AsyncOAuthSettings, AsyncSQLAlchemyInstallationStore, AsyncSQLAlchemyOAuthStateStore]:
    """Bolt's OAuth settings with both stores in the bot's database (``engine``)."""
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRY_SECONDS, engine=engine)
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(scopes),
        redirect_uri=redirect_uri,
        installation_store=installations,
        state_store=states,
    )
    return settings, installations, states


class UninstallListener:
    """Deletes a workspace's tokens on ``app_uninstalled`` / ``tokens_revoked``.

    ``forget`` is told the workspace so caches of its clients, DMs and profiles go too.
    """

    def __init__(
        self, store: AsyncSQLAlchemyInstallationStore, forget: Callable[[str], None]
    ) -> None:
        self.store = store
        self.forget = forget

    async def app_uninstalled(self, context: AsyncBoltContext) -> None:
        await self.store.async_delete_all(
            enterprise_id=context.enterprise_id, team_id=context.team_id
        )
        self.forget(str(context.team_id))
        _log.info("app uninstalled; tokens deleted", extra={"team": context.team_id})

    async def tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        tokens = event.get("tokens") or {}
        for user_id in tokens.get("oauth") or ():
            await self.store.async_delete_installation(
                enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
            )
        if tokens.get("bot"):
            await self.store.async_delete_bot(
                enterprise_id=context.enterprise_id, team_id=context.team_id
            )
        self.forget(str(context.team_id))
        _log.info("tokens revoked; deleted", extra={"team": context.team_id})
