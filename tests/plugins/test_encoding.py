"""ContentEncoding: streamed decoding, limits, missing modules, request compression."""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard

from client_core import (
    ContentDecodingException,
    HttpClient,
    HttpClientConfig,
    HttpStatusCode,
    RequestBodyReplayException,
)
from client_core.engine import HttpResponseData
from client_core.http import Headers
from client_core.plugins import (
    ContentEncoding,
    ContentEncodingConfig,
    HttpRedirect,
    HttpRequestRetry,
    compress,
)
from client_mock import MockEngine, MockRequest, respond
from tests.plugins.conftest import RecordingBody, agen

pytestmark = pytest.mark.anyio

TEXT = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(5000))

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": lambda data: brotli.compress(data, quality=5),
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def serving(data: bytes, encoding: str, chunk: int = 997, **headers: str) -> MockEngine:
    def handler(request: MockRequest) -> HttpResponseData:
        return respond(
            split(data, chunk),
            headers={"Content-Encoding": encoding, "Content-Type": "text/plain", **headers},
        )

    return MockEngine(handler)


def install(**options: object) -> Callable[[HttpClientConfig], None]:
    def configure(config: HttpClientConfig) -> None:
        config.install(ContentEncoding, **options)

    return configure


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
async def test_decodes_each_coding(encoding: str) -> None:
    engine = serving(ENCODERS[encoding](TEXT), encoding)
    async with HttpClient(engine, install()) as client:
        response = await client.get("http://e.test/")
        assert await response.body() == TEXT
        # headers stay as received
        assert response.headers["Content-Encoding"] == encoding
        async with client.stream("GET", "http://e.test/") as streamed:
            pieces = [piece async for piece in streamed.body_as_channel()]
    assert b"".join(pieces) == TEXT
    # bounded pieces (brotli may overshoot its output limit by one buffer growth step)
    assert max(len(p) for p in pieces) <= 2 * 64 * 1024


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
@pytest.mark.parametrize("chunk", [1, 4096])
async def test_highly_compressible_body_in_small_wire_chunks(encoding: str, chunk: int) -> None:
    data = b"abc" * 300_000  # ~900 KB from a few hundred wire bytes: pending output
    async with HttpClient(serving(ENCODERS[encoding](data), encoding, chunk=chunk), install()) as c:
        assert await (await c.get("http://e.test/")).body() == data


@pytest.mark.parametrize("chunk", [1, 2, 10, 100_000])
async def test_raw_deflate_is_accepted(chunk: int) -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = raw.compress(TEXT) + raw.flush()
    async with HttpClient(serving(deflated, "deflate", chunk=chunk), install()) as client:
        assert await (await client.get("http://e.test/")).body() == TEXT


async def test_multi_member_gzip() -> None:
    members = gzip.compress(b"first,") + gzip.compress(b"second")
    async with HttpClient(serving(members, "gzip", chunk=7), install()) as client:
        assert await (await client.get("http://e.test/")).body() == b"first,second"


async def test_stacked_codings_are_undone_in_reverse_order() -> None:
    data = ENCODERS["br"](gzip.compress(TEXT))
    async with HttpClient(serving(data, "gzip, br"), install()) as client:
        assert await (await client.get("http://e.test/")).body() == TEXT
    async with HttpClient(serving(gzip.compress(TEXT), "identity, gzip"), install()) as client:
        assert await (await client.get("http://e.test/")).body() == TEXT


async def test_accept_encoding() -> None:
    engine = MockEngine(lambda request: respond("ok"))

    def custom(config: HttpClientConfig) -> None:
        config.install(ContentEncoding, lambda c: (c.gzip(0.9), c.deflate(), c.identity(0.1)))

    async with HttpClient(engine, install()) as client:
        await client.get("http://e.test/")
        await client.get("http://e.test/", headers={"Accept-Encoding": "identity"})
    async with HttpClient(engine, custom) as client:
        await client.get("http://e.test/")
    async with HttpClient(engine, install(decompress_responses=False)) as client:
        await client.get("http://e.test/")
    sent = [r.headers.get("Accept-Encoding") for r in engine.request_history]
    assert sent == [
        "gzip, deflate, br, zstd",
        "identity",
        "gzip;q=0.9, deflate, identity;q=0.1",
        None,
    ]


async def test_not_decoded_when_decompression_is_off() -> None:
    data = gzip.compress(TEXT)
    async with HttpClient(serving(data, "gzip"), install(decompress_responses=False)) as client:
        assert await (await client.get("http://e.test/")).body() == data


async def test_bodiless_responses_are_left_alone() -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        status = 304 if request.url.path == "/cached" else 200
        return respond(b"", status=status, headers={"Content-Encoding": "br"})

    async with HttpClient(MockEngine(handler), install()) as client:
        assert await (await client.head("http://e.test/")).body() == b""
        assert await (await client.get("http://e.test/cached")).body() == b""
        assert await (await client.get("http://e.test/empty")).body() == b""


@pytest.mark.parametrize(
    ("encoding", "data", "match"),
    [
        ("gzip", b"definitely not gzip", "not valid gzip"),
        ("br", b"\xff\xff\xff\xff not brotli", "not valid br"),
        ("zstd", b"not zstd at all", "not valid zstd"),
        ("gzip", gzip.compress(TEXT)[:200], "truncated"),
        ("compress", b"xxx", "cannot decode"),
    ],
)
async def test_bad_bodies_fail_clearly(encoding: str, data: bytes, match: str) -> None:
    async with HttpClient(serving(data, encoding, chunk=50), install()) as client:
        with pytest.raises(ContentDecodingException, match=match) as info:
            await client.get("http://user:pw@e.test/file")
    assert "GET http://e.test/file" in str(info.value)


BOMB_SIZE = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    zeros = b"\0" * BOMB_SIZE
    return {
        "gzip": gzip.compress(zeros, 6),
        "br": brotli.compress(zeros, quality=5),
        "zstd": zstandard.ZstdCompressor().compress(zeros),
    }


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
async def test_decompression_bomb_hits_the_ratio_limit(
    encoding: str, bombs: dict[str, bytes]
) -> None:
    bodies: list[RecordingBody] = []

    def handler(request: MockRequest) -> HttpResponseData:
        body = RecordingBody(split(bombs[encoding], 4096))
        bodies.append(body)
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers({"Content-Encoding": encoding}),
            body=body,
        )

    async with HttpClient(MockEngine(handler), install()) as client:
        with pytest.raises(ContentDecodingException, match="max_ratio=200") as info:
            await client.get("http://e.test/bomb")
        assert "decompression bomb" in str(info.value)
        # streamed: fails while reading, having decoded only a few MiB
        async with client.stream("GET", "http://e.test/bomb") as response:
            seen = 0
            with pytest.raises(ContentDecodingException):
                async for piece in response.body_as_channel():
                    seen += len(piece)
            assert seen < 4 * 1024 * 1024
    assert all(body.closed for body in bodies)


async def test_a_bomb_in_one_large_piece_fails_as_early() -> None:
    # An engine may hand over a large encoded piece at once (curl's C driver: up to
    # 1 MiB): the ratio counts the encoded bytes fed so far, so the decoder is fed 16 KiB
    # at a time and stops about where it would with small pieces.
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), 6)
    assert len(bomb) > 3 * 16 * 1024  # fed whole, max_ratio=200 would allow 12 MiB

    def handler(request: MockRequest) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers({"Content-Encoding": "gzip"}),
            body=RecordingBody([bomb]),
        )

    async with (
        HttpClient(MockEngine(handler), install()) as client,
        client.stream("GET", "http://e.test/bomb") as response,
    ):
        seen = 0
        with pytest.raises(ContentDecodingException, match="max_ratio=200"):
            async for piece in response.body_as_channel():
                seen += len(piece)
        assert seen < 4 * 1024 * 1024


async def test_max_decoded_size(bombs: dict[str, bytes]) -> None:
    data = gzip.compress(TEXT)
    async with HttpClient(serving(data, "gzip"), install(max_decoded_size=1000)) as client:
        with pytest.raises(ContentDecodingException, match="max_decoded_size=1000"):
            await client.get("http://e.test/")
    engine = serving(bombs["zstd"], "zstd", chunk=65536)
    async with HttpClient(engine, install(max_ratio=None, max_decoded_size=10_000)) as client:
        with pytest.raises(ContentDecodingException, match="max_decoded_size=10000"):
            await client.get("http://e.test/")


async def test_limits_off_decode_everything() -> None:
    data = gzip.compress(b"\0" * (4 * 1024 * 1024))
    async with HttpClient(serving(data, "gzip"), install(max_ratio=None)) as client:
        assert len(await (await client.get("http://e.test/")).body()) == 4 * 1024 * 1024


async def test_missing_optional_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "brotli", None)
    with pytest.raises(ImportError, match=r"pip install 'client-core\[brotli\]'"):
        ContentEncodingConfig().br()
    engine = MockEngine(lambda request: respond("x"))
    async with HttpClient(engine, install()) as client:
        await client.get("http://e.test/")
    assert engine.request_history[0].headers["Accept-Encoding"] == "gzip, deflate, zstd"
    async with HttpClient(serving(ENCODERS["br"](TEXT), "br"), install()) as client:
        with pytest.raises(ContentDecodingException, match=r"client-core\[brotli\]") as info:
            await client.get("http://e.test/")
    assert "GET http://e.test/" in str(info.value)


async def test_streamed_decoding_does_not_read_ahead() -> None:
    body = RecordingBody(split(gzip.compress(TEXT), 1000))

    def handler(request: MockRequest) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers({"Content-Encoding": "gzip"}),
            body=body,
        )

    async with HttpClient(MockEngine(handler), install()) as client:
        async with client.stream("GET", "http://e.test/") as response:
            channel = response.body_as_channel()
            first = await channel.__anext__()
            assert TEXT.startswith(first)
            assert body.pulled <= 2 and len(body.chunks) > 10
        assert body.closed


# -- request compression ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
async def test_compress_a_request_body(encoding: str) -> None:
    engine = MockEngine(lambda request: respond("ok"))
    decoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.decompress,
        "deflate": zlib.decompress,
        "br": brotli.decompress,
        "zstd": lambda d: zstandard.ZstdDecompressor().decompressobj().decompress(d),
    }
    async with HttpClient(engine, install()) as client:
        await client.post("http://e.test/", lambda req: compress(req, encoding), body=TEXT)
        await client.post("http://e.test/", lambda req: compress(req, encoding), body=agen(TEXT))
    for sent in engine.request_history:
        assert sent.headers["Content-Encoding"] == encoding
        assert decoders[encoding](sent.body) == TEXT
    assert engine.request_history[0].content_length == len(engine.request_history[0].body)
    assert engine.request_history[1].content_length is None


async def test_compress_every_request_and_leave_encoded_or_empty_bodies_alone() -> None:
    engine = MockEngine(lambda request: respond("ok"))
    async with HttpClient(engine, install(compress_requests="gzip")) as client:
        await client.post("http://e.test/", body=b"plain")
        await client.post("http://e.test/", body=b"\x1f\x8bdone", headers={"Content-Encoding": "x"})
        await client.get("http://e.test/")
        await client.post("http://e.test/", lambda req: compress(req, "br", "gzip"), body=b"two")
    first, encoded, empty, stacked = engine.request_history
    assert gzip.decompress(first.body) == b"plain"
    assert encoded.body == b"\x1f\x8bdone" and encoded.headers["Content-Encoding"] == "x"
    assert empty.body == b"" and "Content-Encoding" not in empty.headers
    assert stacked.headers["Content-Encoding"] == "br, gzip"
    assert brotli.decompress(gzip.decompress(stacked.body)) == b"two"


async def test_large_bodies_are_compressed_off_the_event_loop() -> None:
    big = TEXT * 20
    engine = MockEngine(lambda request: respond("ok"))
    async with HttpClient(engine, install()) as client:
        await client.put("http://e.test/", lambda req: compress(req, "gzip"), body=big)
    assert gzip.decompress(engine.request_history[0].body) == big


async def test_compressed_body_survives_307_and_retry_once_compressed() -> None:
    answers = [503, 307, 200]

    def handler(request: MockRequest) -> HttpResponseData:
        status = answers.pop(0)
        return respond(b"", status=status, headers={"Location": "/next"} if status == 307 else {})

    async def no_sleep(seconds: float) -> None:
        pass

    def configure(config: HttpClientConfig) -> None:
        config.install(ContentEncoding)
        config.install(HttpRedirect, check_http_method=False)
        config.install(HttpRequestRetry, lambda r: setattr(r, "sleep", no_sleep))

    engine = MockEngine(handler)
    async with HttpClient(engine, configure) as client:
        await client.put("http://e.test/", lambda req: compress(req, "gzip"), body=b"data")
    bodies = [r.body for r in engine.request_history]
    assert len(bodies) == 3 and len(set(bodies)) == 1 and gzip.decompress(bodies[0]) == b"data"
    assert all(r.headers.get_all("Content-Encoding") == ["gzip"] for r in engine.request_history)


async def test_compressed_stream_is_still_one_shot() -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        return respond(b"", status=307, headers={"Location": "/again"})

    def configure(config: HttpClientConfig) -> None:
        config.install(ContentEncoding)
        config.install(HttpRedirect, check_http_method=False)

    async with HttpClient(MockEngine(handler), configure) as client:
        with pytest.raises(RequestBodyReplayException):
            await client.put("http://e.test/", lambda req: compress(req, "gzip"), body=agen(b"x"))


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError, match="cannot compress with 'lzma'"):
        HttpClient(MockEngine(), install(compress_requests="lzma"))
    with pytest.raises(ValueError, match="quality"):
        ContentEncodingConfig().gzip(2.0)
    with pytest.raises(ValueError, match="max_ratio"):
        HttpClient(MockEngine(), install(max_ratio=0.5))
    with pytest.raises(ValueError, match="max_decoded_size"):
        HttpClient(MockEngine(), install(max_decoded_size=-1))
