"""Logging: levels, sanitizing, filters, and bodies logged without consuming streams."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable

import anyio
import pytest

from client_core import ConnectException, HttpClient, HttpClientConfig
from client_core.engine import HttpResponseData
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import (
    DEFAULT_LOGGER_NAME,
    ContentEncoding,
    Logging,
    LogLevel,
    is_sensitive_header,
)
from client_mock import MockEngine, MockRequest, respond
from tests.plugins.conftest import RecordingBody, agen

pytestmark = pytest.mark.anyio


def json_answer(request: MockRequest) -> HttpResponseData:
    return respond(
        '{"ok": true}', headers={"Content-Type": "application/json", "Set-Cookie": "sid=s3cret"}
    )


def install(**options: object) -> Callable[[HttpClientConfig], None]:
    def configure(config: HttpClientConfig) -> None:
        config.install(Logging, **options)

    return configure


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DEFAULT_LOGGER_NAME]


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=DEFAULT_LOGGER_NAME)


async def test_headers_level_is_the_default_and_masks_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with HttpClient(MockEngine(json_answer), install()) as client:
        await client.post(
            "http://u:pw@l.test/items?q=1",
            json={"a": 1},
            headers={"Authorization": "Bearer t0ken", "Cookie": "c=1", "X-Trace": "abc"},
        )
    request, response = messages(caplog)
    assert request.splitlines()[0] == "--> POST http://l.test/items?q=1"
    assert "Authorization: ***" in request and "Cookie: ***" in request
    assert "X-Trace: abc" in request and "Content-Type: application/json" in request
    assert "Content-Length: 7" in request and "t0ken" not in request and "pw" not in request
    assert response.startswith("<-- 200 OK POST http://l.test/items?q=1 (")
    assert "Set-Cookie: ***" in response and "s3cret" not in response
    assert '{"a":1}' not in request and '{"ok": true}' not in response


async def test_info_level(caplog: pytest.LogCaptureFixture) -> None:
    async with HttpClient(MockEngine(json_answer), install(level=LogLevel.INFO)) as client:
        await client.get("http://l.test/", headers={"X-Trace": "abc"})
    request, response = messages(caplog)
    assert request == "--> GET http://l.test/\n--> END GET"
    assert response.splitlines()[0].startswith("<-- 200 OK GET http://l.test/")
    assert "X-Trace" not in request and "Content-Type" not in response


async def test_all_level_logs_bodies(caplog: pytest.LogCaptureFixture) -> None:
    async with HttpClient(MockEngine(json_answer), install(level=LogLevel.ALL)) as client:
        await client.post("http://l.test/", json={"a": 1})
    request, _, body = messages(caplog)
    assert '{"a":1}' in request and "X-" not in body
    assert body.splitlines() == [
        "<-- BODY 200 OK POST http://l.test/",
        '{"ok": true}',
        "<-- END BODY (12-byte body)",
    ]


async def test_body_level_has_no_headers(caplog: pytest.LogCaptureFixture) -> None:
    async with HttpClient(MockEngine(json_answer), install(level=LogLevel.BODY)) as client:
        await client.post("http://l.test/", body="hello")
    request, response, body = messages(caplog)
    assert "hello" in request and "Content-Type" not in request
    assert "Set-Cookie" not in response and '{"ok": true}' in body


async def test_none_level_and_disabled_logger_do_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = MockEngine(json_answer)
    async with HttpClient(engine, install(level=LogLevel.NONE)) as client:
        await client.get("http://l.test/")
    async with HttpClient(engine, install(level=LogLevel.ALL, log_level=logging.DEBUG)) as client:
        await client.get("http://l.test/")
    assert messages(caplog) == []


async def test_custom_logger_level_filter_and_sanitizer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("my.http")
    caplog.set_level(logging.DEBUG, logger="my.http")

    def configure(config: HttpClientConfig) -> None:
        config.install(Logging, logger=logger, log_level=logging.DEBUG)
        config.install(Logging, lambda c: c.filter(lambda req: req.url.host == "keep.test"))
        config.install(Logging, lambda c: c.sanitize_header(lambda n: n.lower() == "x-key", "<k>"))

    async with HttpClient(MockEngine(json_answer), configure) as client:
        await client.get("http://keep.test/", headers={"X-Key": "123", "Cookie": "c"})
        await client.get("http://drop.test/")
    records = [r for r in caplog.records if r.name == "my.http"]
    assert len(records) == 2 and all(r.levelno == logging.DEBUG for r in records)
    text = "\n".join(r.getMessage() for r in records)
    assert "X-Key: <k>" in text and "Cookie: ***" in text and "drop.test" not in text


async def test_sensitive_defaults_can_be_cleared(caplog: pytest.LogCaptureFixture) -> None:
    assert is_sensitive_header("AUTHORIZATION") and not is_sensitive_header("X-Api")

    def configure(config: HttpClientConfig) -> None:
        config.install(Logging, lambda c: c.sanitizers.clear())

    async with HttpClient(MockEngine(json_answer), configure) as client:
        await client.get("http://l.test/", headers={"Authorization": "Bearer visible"})
    assert "Authorization: Bearer visible" in messages(caplog)[0]


async def test_streamed_response_is_logged_only_when_the_reader_finishes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        return respond(
            [b"one ", b"two ", b"three"], chunk_delay=0.01, headers={"Content-Type": "text/plain"}
        )

    async with (
        HttpClient(MockEngine(handler), install(level=LogLevel.BODY)) as client,
        client.stream("GET", "http://l.test/stream") as response,
    ):
        channel = response.body_as_channel()
        assert await channel.__anext__() == b"one "
        assert len(messages(caplog)) == 2  # request and response head, no body yet
        rest = [chunk async for chunk in channel]
        assert rest == [b"two ", b"three"]
        body = messages(caplog)[2]
    assert "one two three" in body and "(13-byte body)" in body


async def test_logging_never_reads_a_stream_the_user_does_not_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = RecordingBody([b"a" * 10, b"b" * 10, b"c" * 10])

    def handler(request: MockRequest) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers({"Content-Type": "text/plain"}),
            body=body,
        )

    async with (
        HttpClient(MockEngine(handler), install(level=LogLevel.ALL)) as client,
        client.stream("GET", "http://l.test/") as response,
    ):
        channel = response.body_as_channel()
        await channel.__anext__()
        await anyio.sleep(0.01)
        assert body.pulled == 1
    assert body.pulled == 1 and body.closed
    logged = messages(caplog)[-1]
    assert "aaaaaaaaaa" in logged and "bbb" not in logged
    assert "(10-byte body, not read to the end)" in logged


async def test_streamed_request_body_is_logged_when_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = MockEngine(json_answer)
    async with HttpClient(engine, install(level=LogLevel.ALL)) as client:
        await client.post("http://l.test/", body=agen(b"chunk-1 ", b"chunk-2"))
    assert engine.request_history[0].body == b"chunk-1 chunk-2"
    request, sent, *_ = messages(caplog)
    assert "[streamed body: logged when sent]" in request
    assert sent.splitlines()[1] == "chunk-1 chunk-2"


async def test_body_limit_binary_and_encoded_bodies(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        if request.url.path == "/bin":
            return respond(b"\x00\x01\x02\xff" * 10, headers={"Content-Type": "image/png"})
        return respond("x" * 100, headers={"Content-Type": "text/plain"})

    def configure(config: HttpClientConfig) -> None:
        config.install(Logging, level=LogLevel.BODY, body_log_limit=10)

    async with HttpClient(MockEngine(handler), configure) as client:
        await client.get("http://l.test/text")
        await client.get("http://l.test/bin")
        await client.post(
            "http://l.test/up", body=b"\x00" * 5, headers={"Content-Encoding": "gzip"}
        )
    logged = messages(caplog)
    assert "x" * 10 + "\n[... 90 more bytes not logged]" in logged[2]
    assert "[40-byte binary body omitted]" in logged[5]
    assert "[5-byte gzip-encoded body not logged]" in logged[6]


async def test_decoded_body_is_logged_with_content_encoding(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        return respond(
            gzip.compress(b"readable text"),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        )

    def configure(config: HttpClientConfig) -> None:
        config.install(Logging, level=LogLevel.ALL)
        config.install(ContentEncoding)

    async with HttpClient(MockEngine(handler), configure) as client:
        assert await (await client.get("http://l.test/")).text() == "readable text"
    assert "readable text" in messages(caplog)[-1]
    assert "Content-Encoding: gzip" in messages(caplog)[1]


async def test_failures_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        raise ConnectException("GET http://l.test/: connection refused")

    async with HttpClient(MockEngine(handler), install(level=LogLevel.INFO)) as client:
        with pytest.raises(ConnectException):
            await client.get("http://l.test/")
    assert messages(caplog)[-1].startswith(
        "<-- HTTP FAILED: GET http://l.test/: ConnectException: "
    )


async def test_each_redirect_hop_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        if request.url.path == "/old":
            return respond(b"", status=301, headers={"Location": "/new"})
        return respond("here")

    async with HttpClient(MockEngine(handler), install(level=LogLevel.INFO)) as client:
        await client.get("http://l.test/old")
    lines = [m.splitlines()[0] for m in messages(caplog)]
    assert lines[0] == "--> GET http://l.test/old" and lines[2] == "--> GET http://l.test/new"
    assert lines[1].startswith("<-- 301") and lines[3].startswith("<-- 200")


def test_invalid_configuration() -> None:
    with pytest.raises(TypeError, match="LogLevel"):
        HttpClient(MockEngine(), install(level="ALL"))
    with pytest.raises(ValueError, match="body_log_limit"):
        HttpClient(MockEngine(), install(body_log_limit=-1))
