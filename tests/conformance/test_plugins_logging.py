"""Logging and UserAgent on real engines: streams are logged without being consumed or
delayed, and what is logged is what was sent."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest

from client_core import HttpClientConfig
from client_core.plugins import (
    DEFAULT_LOGGER_NAME,
    DEFAULT_USER_AGENT,
    ContentEncoding,
    Logging,
    LogLevel,
    UserAgent,
)
from tests.conformance.conftest import EngineUnderTest
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=DEFAULT_LOGGER_NAME)


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DEFAULT_LOGGER_NAME]


def log_all(config: HttpClientConfig) -> None:
    config.install(Logging, level=LogLevel.ALL)


async def test_streamed_body_arrives_as_it_drips_and_is_logged_at_the_end(
    engine_factory: EngineUnderTest, http_server: ServerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_server.url("/drip?chunks=5&size=3&delay=0.15")
    arrivals: list[float] = []
    async with engine_factory.client(log_all) as client:
        started = time.monotonic()
        async with client.stream("GET", url) as response:
            assert len(messages(caplog)) == 2  # the request, the response head
            async for _ in response.body_as_channel():
                arrivals.append(time.monotonic() - started)
                if len(arrivals) == 1:
                    assert len(messages(caplog)) == 2  # the body is not logged yet
    # the first chunk reached the reader long before the last one was sent
    assert arrivals[0] < 0.5 and arrivals[-1] > 0.6
    body = messages(caplog)[-1]
    # application/octet-stream: counted, not dumped
    assert "[15-byte binary body omitted]" in body and "(15-byte body)" in body


async def test_unread_stream_is_not_consumed_by_logging(
    engine_factory: EngineUnderTest, http_server: ServerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    async with engine_factory.client(log_all) as client:
        started = time.monotonic()
        async with client.stream("GET", http_server.url("/drip?chunks=20&size=1&delay=0.2")):
            pass
        # leaving the block without reading closes the body at once
        assert time.monotonic() - started < 1.0
        # and the client still works
        assert (await client.get(http_server.url("/status/200"))).status == 200
    assert any("not read to the end" in m for m in messages(caplog))


async def test_logged_headers_are_sent_headers_and_decoded_body(
    engine_factory: EngineUnderTest, http_server: ServerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(Logging, level=LogLevel.ALL)
        config.install(ContentEncoding)
        config.install(UserAgent)

    async with engine_factory.client(configure) as client:
        response = await client.get(http_server.url("/gzip"), headers={"Authorization": "Basic x"})
        assert (await response.json())["gzipped"] is True
        echo = await (await client.get(http_server.url("/echo"))).json()
    request, head, body, *_ = messages(caplog)
    assert f"User-Agent: {DEFAULT_USER_AGENT}" in request and "Authorization: ***" in request
    assert "content-encoding: gzip" in head.lower()
    assert '"gzipped": true' in body
    assert [v for k, v in echo["headers"] if k == "user-agent"] == [DEFAULT_USER_AGENT]


async def test_streamed_upload_is_logged_once_sent(
    engine_factory: EngineUnderTest, http_server: ServerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> AsyncIterator[bytes]:
        for i in range(3):
            yield b"part%d " % i

    async with engine_factory.client(log_all) as client:
        echo = await (await client.post(http_server.url("/echo"), body=body())).json()
    assert echo["body"] == "part0 part1 part2 " and echo["chunked"]
    sent = [m for m in messages(caplog) if m.startswith("--> BODY")]
    assert sent and "part0 part1 part2" in sent[0]
