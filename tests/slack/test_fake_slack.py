"""The Slack fake speaks well enough for the real slack_sdk clients: Web API calls (JSON and
form bodies), scripted failures including 429, the three-step file upload, OAuth, response
URLs and Socket Mode envelopes with acks and a refresh-reconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack.fake_slack import FakeSlack

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello* Ann"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    users = {"UANN": {"tz": "Europe/London", "real_name": "Ann", "is_bot": False}}
    async with FakeSlack(users=users) as fake:
        yield fake


@pytest.fixture
async def web(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        yield AsyncWebClient(
            token="xoxb-test", base_url=fake.api_url, session=session, retry_handlers=[]
        )


async def test_post_message_is_recorded_with_blocks(fake: FakeSlack, web: AsyncWebClient) -> None:
    first = await web.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS)
    reply = await web.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C1"
    assert float(reply["ts"]) > float(first["ts"])
    assert reply["message"]["thread_ts"] == first["ts"]
    [call, _] = await fake.wait_posted(2)
    assert call.args["blocks"] == BLOCKS
    assert call.token == "xoxb-test"
    assert [m["text"] for m in fake.messages["C1"]] == ["hi", "again"]


async def test_form_encoded_json_values_are_decoded(fake: FakeSlack, web: AsyncWebClient) -> None:
    await web.api_call(
        "chat.postMessage",
        data={"channel": "C1", "text": "[not json", "blocks": json.dumps(BLOCKS)},
    )

    [call] = fake.posted()
    assert call.args == {"channel": "C1", "text": "[not json", "blocks": BLOCKS}


async def test_rate_limit_surfaces_retry_after(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"

    await web.chat_postMessage(channel="C1", text="hi")  # only the next call failed
    assert len(fake.calls_to("chat.postMessage")) == 2
    assert len(fake.posted()) == 1


async def test_channel_and_dm_errors(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.not_in_channel.add("CPRIV")
    fake.cannot_dm.add("UGONE")

    with pytest.raises(SlackApiError, match="not_in_channel"):
        await web.chat_postMessage(channel="CPRIV", text="hi")
    with pytest.raises(SlackApiError, match="user_disabled"):
        await web.conversations_open(users="UGONE")
    opened = await web.conversations_open(users="UANN")
    info = await web.conversations_info(channel="CPRIV")

    assert opened["channel"]["id"] == "DUANN"
    assert info["channel"]["is_member"] is False
    assert fake.posted() == []


async def test_files_upload_v2_records_bytes_and_thread(
    fake: FakeSlack, web: AsyncWebClient
) -> None:
    result = await web.files_upload_v2(
        channel="C1",
        thread_ts="1700000000.000100",
        content=b"\x89PNG fake",
        filename="week.png",
        title="Your week",
        alt_txt="A chart",
        initial_comment="Here it is",
    )

    assert result["file"]["name"] == "week.png"
    [upload] = fake.uploads
    assert upload.content == b"\x89PNG fake"
    assert (upload.channel, upload.thread_ts) == ("C1", "1700000000.000100")
    assert (upload.title, upload.alt_txt, upload.initial_comment) == (
        "Your week",
        "A chart",
        "Here it is",
    )


async def test_users_info_gives_the_time_zone(fake: FakeSlack, web: AsyncWebClient) -> None:
    ann = await web.users_info(user="UANN")

    assert ann["user"]["tz"] == "Europe/London"
    assert ann["user"]["real_name"] == "Ann"
    with pytest.raises(SlackApiError, match="user_not_found"):
        await web.users_info(user="UNOBODY")


# slack_sdk still builds aiohttp's deprecated BasicAuth for oauth.v2.access.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_bolt_oauth_flow_accepts_the_install(fake: FakeSlack, tmp_path: Path) -> None:
    settings = AsyncOAuthSettings(
        client_id="111.222",
        client_secret="secret",
        scopes=["chat:write"],
        installation_store=FileInstallationStore(base_dir=str(tmp_path / "installs")),
        state_store=FileOAuthStateStore(expiration_seconds=60, base_dir=str(tmp_path / "s")),
    )
    flow = AsyncOAuthFlow(client=AsyncWebClient(base_url=fake.api_url), settings=settings)

    installation = await flow.run_installation("the-code")

    assert installation is not None
    assert installation.team_id == "T0001"
    assert installation.bot_token == "xoxb-installed-T0001"
    assert installation.bot_id == "BBOT"
    [access] = fake.calls_to("oauth.v2.access")
    assert access.args["client_id"] == "111.222" and access.args["code"] == "the-code"


async def test_response_url_records_json(fake: FakeSlack) -> None:
    url = fake.response_url()

    response = await AsyncWebhookClient(url).send(text="done", replace_original=True)

    assert (response.status_code, response.body) == (200, "ok")
    assert fake.responses_to(url) == [{"text": "done", "replace_original": True}]


async def test_socket_mode_envelope_and_ack(fake: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    client = SocketModeClient(
        app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url)
    )
    client.socket_mode_request_listeners.append(listener)
    try:
        await client.connect()
        await fake.socket_connected()
        event = {"type": "event_callback", "event": {"type": "message", "text": "hi"}}
        first = await fake.send_envelope("events_api", event)
        ack = await fake.wait_ack(first)

        await fake.disconnect()  # Slack's refresh: the client must come back on its own
        await fake.socket_connected()
        second = await fake.send_envelope("slash_commands", {"command": "/checkin"})
        await fake.wait_ack(second)
    finally:
        await client.close()
        await asyncio.sleep(0)  # let the client's cancelled tasks finish

    assert ack == {"envelope_id": first}
    assert [r.type for r in received] == ["events_api", "slash_commands"]
    assert received[0].payload == event
    assert fake.connections == 2
    assert len(fake.calls_to("apps.connections.open")) == 2
