"""The curl engine's pure parts: configuration, head parsing, error mapping, options."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator

import anyio
import pycurl
import pytest

import client_curl
from client_core import HttpClient, ProxyBuilder, engines
from client_core.engine import EngineCapability, HttpRequestData
from client_core.errors import (
    ConnectException,
    ConnectTimeoutException,
    HttpClientError,
    InvalidUrlException,
    ProtocolException,
    RequestBodyReplayException,
    SendCountExceedException,
)
from client_core.http import Headers, HttpMethod, Url
from client_curl import Curl, CurlEngineConfig
from client_curl._errors import CurlError, translate
from client_curl._head import HeadError, find_head, parse_fields, parse_fields_leniently
from client_curl._options import Options, proxy_url, url_text
from client_curl._resolver import Resolver, needs_lookup

# -- package surface -------------------------------------------------------------------


def test_exports() -> None:
    assert sorted(client_curl.__all__) == ["Curl", "CurlEngineConfig", "__version__"]
    assert client_curl.__version__ == "0.1.0"


def test_engine_identity() -> None:
    assert Curl.name == "curl"
    assert Curl.config_class is CurlEngineConfig
    assert {
        EngineCapability.TIMEOUT,
        EngineCapability.UNIX_SOCKET,
        EngineCapability.SOCKS_PROXY,
        EngineCapability.HTTP2,
    } <= Curl.capabilities
    assert EngineCapability.WEBSOCKET not in Curl.capabilities


def test_registered_entry_point() -> None:
    info = {e.name: e for e in engines()}["curl"]
    assert info.distribution == "client-curl"
    assert info.compatible


@pytest.mark.anyio
async def test_client_by_name_and_factory() -> None:
    async with HttpClient("curl") as client:
        assert isinstance(client.engine, Curl)
    engine = Curl.create(lambda c: setattr(c, "socket_timeout", 2.0), http_version="1.1")
    assert isinstance(engine, Curl)
    assert engine.config.http_version == "1.1"
    assert engine.config.socket_timeout == 2.0
    await engine.aclose()
    assert "closed" in repr(engine)


# -- configuration --------------------------------------------------------------------


def test_config_defaults() -> None:
    config = CurlEngineConfig()
    assert config.request_timeout == 15.0
    assert config.connect_timeout == 10.0
    assert config.socket_timeout is None
    assert config.http_version == "2"
    assert config.thread_count == 4
    assert config.verify is True


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("http_version", "4"),
        ("connect_timeout", -1),
        ("socket_timeout", "1"),
        ("max_connections", -1),
        ("buffer_size", 10),
        ("response_buffer_size", 0),
        ("max_idle_connections", 0),
        ("thread_count", 0),
        ("curl_options", [1, 2]),
    ],
)
def test_config_rejects(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option):
        CurlEngineConfig(**{option: value})  # type: ignore[arg-type]


def test_engine_validates_options_set_after_construction() -> None:
    with pytest.raises(ValueError, match="http_version"):
        Curl.create(http_version="9")


# -- heads ----------------------------------------------------------------------------


def lines(*items: bytes) -> list[bytes]:
    return [item + b"\r\n" for item in items]


def test_head_simple() -> None:
    head = find_head(lines(b"HTTP/1.1 200 OK", b"Content-Type: text/plain", b"X-A:  1 ", b""))
    assert head is not None
    assert (head.version, head.status, head.reason) == ("HTTP/1.1", 200, "OK")
    assert head.fields == [("Content-Type", "text/plain"), ("X-A", "1")]
    assert head.end == 4


def test_head_incomplete() -> None:
    assert find_head([]) is None
    assert find_head(lines(b"HTTP/1.1 200 OK", b"A: b")) is None


def test_head_skips_interim_responses() -> None:
    head = find_head(
        lines(
            b"HTTP/1.1 100 Continue",
            b"",
            b"HTTP/1.1 103 Early Hints",
            b"Link: </a>",
            b"",
            b"HTTP/1.1 404 Not Found",
            b"A: 1",
            b"",
        )
    )
    assert head is not None
    assert head.status == 404
    assert head.fields == [("A", "1")]
    assert find_head(lines(b"HTTP/1.1 100 Continue", b"")) is None


def test_head_http2_and_trailers() -> None:
    all_lines = lines(b"HTTP/2 200 ", b"content-type: x/y", b"", b"x-checksum: abc", b"")
    head = find_head(all_lines)
    assert head is not None
    assert (head.version, head.status, head.reason) == ("HTTP/2", 200, "")
    assert parse_fields([x for x in all_lines[head.end :] if x != b"\r\n"]) == [
        ("x-checksum", "abc")
    ]


def test_head_folding_and_latin1() -> None:
    fields = parse_fields(lines(b"X-Long: a", b"  b", b"\tc", b"X-Byte: \xe9"))
    assert fields == [("X-Long", "a b c"), ("X-Byte", "\xe9")]


@pytest.mark.parametrize(
    "bad",
    [
        lines(b"HTTP/1.1 abc Broken", b""),
        lines(b"SSH-2.0-OpenSSH", b""),
        lines(b"HTTP/1.1 42 Weird", b""),
    ],
)
def test_head_malformed(bad: list[bytes]) -> None:
    with pytest.raises(HeadError):
        find_head(bad)


def test_head_fields_are_parsed_on_demand() -> None:
    head = find_head(lines(b"HTTP/1.1 200 OK", b"no colon here", b"A: 1", b""))
    assert head is not None
    with pytest.raises(HeadError):
        head.fields  # noqa: B018
    assert head.lenient_fields() == [("A", "1")]
    assert parse_fields_leniently(lines(b" folded first", b"B: 2")) == [("B", "2")]


# -- errors ---------------------------------------------------------------------------


def test_every_curl_code_maps_to_a_client_error() -> None:
    codes = {getattr(pycurl, name) for name in dir(pycurl) if name.startswith("E_")}
    codes |= set(range(1, 102))
    for code in sorted(c for c in codes if 0 < c < 1000):
        error = translate(code, "some detail", "GET", "http://h/x", 1.5)
        assert isinstance(error, HttpClientError), code
        assert "GET" in str(error) and "http://h/x" in str(error), code
        assert isinstance(error.__cause__, CurlError)
        assert error.__cause__.code == code


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (pycurl.E_COULDNT_CONNECT, ConnectException),
        (pycurl.E_COULDNT_RESOLVE_HOST, ConnectException),
        (pycurl.E_COULDNT_RESOLVE_PROXY, ConnectException),
        (pycurl.E_OPERATION_TIMEDOUT, ConnectTimeoutException),
        (pycurl.E_SSL_CONNECT_ERROR, ConnectException),
        (pycurl.E_PEER_FAILED_VERIFICATION, ConnectException),
        (pycurl.E_SSL_CACERT_BADFILE, ConnectException),
        (97, ConnectException),  # CURLE_PROXY
        (pycurl.E_RECV_ERROR, ProtocolException),
        (pycurl.E_SEND_ERROR, ProtocolException),
        (pycurl.E_PARTIAL_FILE, ProtocolException),
        (pycurl.E_FTP_WEIRD_SERVER_REPLY, ProtocolException),  # 8: WEIRD_SERVER_REPLY
        (pycurl.E_HTTP2, ProtocolException),
        (92, ProtocolException),  # CURLE_HTTP2_STREAM
        (pycurl.E_GOT_NOTHING, ProtocolException),
        (100, ProtocolException),  # CURLE_TOO_LARGE
        (pycurl.E_TOO_MANY_REDIRECTS, SendCountExceedException),
        (pycurl.E_SEND_FAIL_REWIND, RequestBodyReplayException),
        (pycurl.E_URL_MALFORMAT, InvalidUrlException),
    ],
)
def test_error_classes(code: int, cls: type[HttpClientError]) -> None:
    error = translate(code, "libcurl says so", "POST", "https://example.org/a", 0.25)
    assert type(error) is cls
    if cls is ConnectTimeoutException:
        assert "connect_timeout=0.25s" in str(error)
        assert isinstance(error, TimeoutError)
    else:
        assert "libcurl says so" in str(error)


def test_certificate_message() -> None:
    error = translate(60, "SSL certificate problem", "GET", "https://h/", None)
    assert "certificate" in str(error)


# -- options ---------------------------------------------------------------------------


def test_proxy_url_has_no_credentials() -> None:
    proxy = ProxyBuilder.http("http://user:secret@proxy.example:3128")
    assert proxy_url(proxy) == "http://proxy.example:3128"
    socks = ProxyBuilder.socks("::1", 1080, user="u", password="p")
    assert proxy_url(socks) == "socks5h://[::1]:1080"


def test_url_text_without_credentials_and_with_server_name() -> None:
    url = Url("https://u:p@127.0.0.1:8443/a%20b?q=1#frag")
    assert url_text(url, None) == "https://127.0.0.1:8443/a%20b?q=1#frag"
    assert url_text(url, "test.example") == "https://test.example:8443/a%20b?q=1#frag"


def test_socks4a_to_an_ip_uses_plain_socks4() -> None:
    config = CurlEngineConfig(proxy=ProxyBuilder.socks("127.0.0.1", 1080, version=4))
    options = Options(config)
    assert options.proxy_for(Url("http://10.0.0.1/")).url.scheme == "socks4"  # type: ignore[union-attr]
    assert options.proxy_for(Url("http://name.test/")).url.scheme == "socks4a"  # type: ignore[union-attr]


def test_environment_proxy_is_cached_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    options = Options(CurlEngineConfig())
    first = options.proxy_for(Url("http://a.test/x"))
    assert first is not None and first.port == 9
    assert options.proxy_for(Url("http://a.test/y")) is first
    assert options.proxy_for(Url("https://a.test/")) is None
    assert Options(CurlEngineConfig(trust_env=False)).proxy_for(Url("http://a.test/")) is None


def test_static_options_are_accepted_by_libcurl(tmp_path: object) -> None:
    for config in (
        CurlEngineConfig(),
        CurlEngineConfig(verify=False, http_version="1.1", force_proxy_tunneling=True),
        CurlEngineConfig(
            http_version="3", max_idle_connections=10, curl_options={pycurl.INTERFACE: "lo"}
        ),
    ):
        handle = Options(config).new_handle()
        handle.close()


def test_header_lines_turn_off_libcurl_defaults() -> None:
    from client_curl._options import _header_lines

    request = HttpRequestData(
        method=HttpMethod.POST,
        url=Url("http://h/"),
        headers=Headers({"X-Empty": "", "X-Uni": "é", "X-Wide": "€"}),
        body=b"x",
        content_length=1,
    )
    assert _header_lines(request, True, None) == [
        "X-Empty;",
        b"X-Uni: \xe9",
        "X-Wide: €".encode(),
        "Accept:",
        "Expect:",
        "Content-Type:",
    ]
    get = HttpRequestData(
        method=HttpMethod.GET, url=Url("http://h:81/"), headers=Headers({"Accept": "*/*"})
    )
    assert _header_lines(get, False, "sni.test") == ["Accept: */*", "Host: h:81"]


# -- host-name lookups -------------------------------------------------------------------


def test_needs_lookup() -> None:
    assert not needs_lookup("127.0.0.1")
    assert not needs_lookup("::1")
    assert not needs_lookup("fe80::1%eth0")
    assert not needs_lookup("localhost")
    assert not needs_lookup("api.localhost")
    assert needs_lookup("example.org")


@pytest.mark.anyio
async def test_resolver_uses_at_most_thread_count_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lock = threading.Lock()
    running = peak = calls = 0

    def fake_getaddrinfo(host: str, port: int, *args: object) -> list[tuple[object, ...]]:
        nonlocal running, peak, calls
        with lock:
            running += 1
            calls += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    resolver = Resolver(threads=2, ttl=60)
    results: list[str] = []
    async with anyio.create_task_group() as group:
        for i in range(6):
            group.start_soon(lambda i=i: _append(results, resolver.lookup(f"h{i}.test", 80)))
        for _ in range(3):  # concurrent lookups of one name share one thread
            group.start_soon(lambda: _append(results, resolver.lookup("same.test", 443)))
    assert peak <= 2
    assert calls == 7
    assert "same.test:443:127.0.0.1,[::1]" in results
    assert resolver.cached("h1.test", 80) == "h1.test:80:127.0.0.1,[::1]"
    assert resolver.cached("other.test", 80) is None


async def _append(results: list[str], lookup: object) -> None:
    results.append(await lookup)  # type: ignore[misc]


@pytest.mark.anyio
async def test_resolver_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(OSError, match="not known"):
        await Resolver(threads=1, ttl=60).lookup("nowhere.test", 80)


def test_http3_capability_follows_libcurl() -> None:
    has_http3 = bool(pycurl.version_info()[4] & pycurl.VERSION_HTTP3)
    assert (EngineCapability.HTTP3 in Curl.capabilities) is has_http3


@pytest.mark.anyio
async def test_unfinished_upload_is_closed() -> None:
    from client_curl._transfer import Upload

    closed: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"a"
            yield b"b"
        finally:
            closed.append(True)

    upload = Upload(body(), None)
    await upload.pull("POST http://h/")
    assert upload.read(10) == b"a"
    await upload.aclose()
    assert closed == [True]
    assert upload.read(10) == b""  # the end, from now on


def test_bad_curl_options_fail_at_creation() -> None:
    with pytest.raises(ValueError, match="libcurl rejected"):
        Curl.create(curl_options={pycurl.SSLVERSION: 999})
