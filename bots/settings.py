"""Configuration from environment variables and an optional ``.env`` file.

Every setting has a sensible default so that ``make run`` works on a fresh machine with
nothing configured: SQLite in the user's data folder, the console, the system time zone.
Secrets are typed as ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.store.engine import default_database_url

__all__ = ["Settings", "system_time_zone"]


def system_time_zone() -> str:
    """The machine's IANA zone name (``TZ``, then ``/etc/localtime``), else ``UTC``."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz:
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    if marker in target:
        return target.split(marker, 1)[1]
    return "UTC"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "breakthrough"


class Settings(BaseSettings):
    """Breakthrough's settings; each maps to the ``BREAKTHROUGH_``-prefixed variable."""

    model_config = SettingsConfigDict(
        env_prefix="BREAKTHROUGH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    tz: str = Field(default_factory=system_time_zone)
    methods_dir: Path | None = None
    log_level: str = "WARNING"
    resume_after_hours: float = Field(default=24.0, gt=0)
    """Silence in an unfinished session before its one gentle resume nudge."""
    poll_seconds: float = Field(default=30.0, gt=0)
    """How often the dispatcher looks for nudges other replicas scheduled."""
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    """Socket Mode's app-level token (``xapp-…``); without it Slack runs over HTTP."""
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    """Verifies that HTTP requests come from Slack (required in HTTP mode)."""
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_CLIENT_SECRET"
    )
    """With the client id: OAuth install in many workspaces (HTTP mode)."""
    slack_redirect_uri: str | None = Field(default=None, validation_alias="SLACK_REDIRECT_URI")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    """Slack's Web API base URL (slack-sdk's ``base_url``): a proxy, GovSlack, tests."""
    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    """The Discord bot token (Developer Portal → Bot → Reset Token)."""
    discord_message_content: bool = Field(default=False, validation_alias="DISCORD_MESSAGE_CONTENT")
    """Read answers typed in threads (needs the Message Content intent switched on in the
    Developer Portal); without it every question has an Answer button."""
    discord_api_url: str | None = Field(default=None, validation_alias="DISCORD_API_URL")
    """Discord's REST base (``https://discord.com/api/v10``): a REST proxy, or tests."""
    discord_gateway_url: str | None = Field(default=None, validation_alias="DISCORD_GATEWAY_URL")
    """Discord's gateway address (``wss://gateway.discord.gg/``): a gateway proxy, or tests."""
    discord_shard_count: int | None = Field(
        default=None, ge=1, validation_alias="DISCORD_SHARD_COUNT"
    )
    """How many shards the bot has in all (discord.py's ``AutoShardedClient``); unset:
    one gateway connection for every server (Discord allows that up to 2,500 servers)."""
    discord_shard_ids: str | None = Field(default=None, validation_alias="DISCORD_SHARD_IDS")
    """The shards this process runs, e.g. ``0-3`` or ``0,2``; needs DISCORD_SHARD_COUNT."""

    environment: Literal["development", "production"] = "development"
    """``production`` turns on JSON logs and makes ``doctor`` strict about the data key."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """``auto``: JSON in production or when standard error is not a terminal, else text."""
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """Port of ``/healthz``, ``/readyz`` and ``/metrics`` while a chat bot runs; 0: off."""
    metrics_host: str = "0.0.0.0"
    """Address the health and metrics server listens on."""
    data_key: SecretStr | None = None
    """Encrypts answers and reflections at rest (``breakthrough db new-key`` makes one)."""
    old_data_keys: SecretStr | None = None
    """Earlier data keys, comma-separated: still read, never written (key rotation)."""
    retention_days: int | None = Field(default=None, ge=1)
    """Delete finished sessions older than this many days; unset: keep them."""
    shutdown_grace_seconds: float = Field(default=25.0, gt=0)
    """On SIGTERM, how long in-flight turns and deliveries get to finish."""

    @property
    def db_url(self) -> str:
        """The database URL; SQLite in ``data_dir`` when none is set."""
        return self.database_url or default_database_url(self.data_dir)

    @property
    def files_dir(self) -> Path:
        """Where the console saves reports and pictures."""
        return self.data_dir / "files"

    def configured_platforms(self) -> list[str]:
        """The chat platforms with a token set."""
        platforms = []
        if self.slack_bot_token or (self.slack_client_id and self.slack_client_secret):
            platforms.append("slack")
        if self.discord_token:
            platforms.append("discord")
        return platforms
