"""TLS options, proxies (HTTP forward, CONNECT, SOCKS), proxies from the environment, Unix
sockets."""

from __future__ import annotations

import socket
import ssl

import pytest

from client_core import ConnectException, ProxyBuilder
from client_core.engine import EngineCapability
from tests.conformance.conftest import EngineUnderTest
from tests.servers.proxy import ProxyInfo
from tests.servers.tls import TLSFiles
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def test_https_with_ca_file(
    engine_factory: EngineUnderTest, https_server: ServerInfo, tls_files: TLSFiles
) -> None:
    async with engine_factory.client(ca_file=tls_files.ca_file) as client:
        for _ in range(2):
            echo = await (await client.post(https_server.url("/echo"), body=b"tls")).json()
            assert echo["body"] == "tls"
        response = await client.get(https_server.url("/bytes/300000"))
        assert len(await response.body()) == 300000


async def test_https_with_ssl_context(
    engine_factory: EngineUnderTest, https_server: ServerInfo, tls_files: TLSFiles
) -> None:
    context = ssl.create_default_context(cafile=tls_files.ca_file)
    async with engine_factory.client(ssl_context=context) as client:
        assert (await client.get(https_server.url("/status/201"))).status == 201


async def test_https_without_verification(
    engine_factory: EngineUnderTest, https_server: ServerInfo
) -> None:
    async with engine_factory.client(verify=False) as client:
        assert (await client.get(https_server.url("/status/200"))).status == 200


async def test_server_name_override(
    engine_factory: EngineUnderTest, https_server: ServerInfo, tls_files: TLSFiles
) -> None:
    async with engine_factory.client(ca_file=tls_files.ca_file, server_name="test.example") as c:
        assert (await c.get(https_server.url("/status/200"))).status == 200


async def test_client_certificate_is_accepted(
    engine_factory: EngineUnderTest, https_server: ServerInfo, tls_files: TLSFiles
) -> None:
    async with engine_factory.client(
        ca_file=tls_files.ca_file, client_cert=(tls_files.client_cert_file, None)
    ) as client:
        assert (await client.get(https_server.url("/status/200"))).status == 200


async def test_http_forward_proxy(
    engine_factory: EngineUnderTest, http_server: ServerInfo, proxy_server: ProxyInfo
) -> None:
    proxy = ProxyBuilder.http(f"http://127.0.0.1:{proxy_server.open_port}")
    async with engine_factory.client(proxy=proxy) as client:
        echo = await (await client.post(http_server.url("/echo?x=1"), body=b"via")).json()
    assert echo["body"] == "via"
    assert echo["args"] == {"x": "1"}


async def test_http_proxy_credentials(
    engine_factory: EngineUnderTest, http_server: ServerInfo, proxy_server: ProxyInfo
) -> None:
    user, password = proxy_server.user, proxy_server.password
    proxy = ProxyBuilder.http(f"http://{user}:{password}@127.0.0.1:{proxy_server.auth_port}")
    async with engine_factory.client(proxy=proxy) as client:
        assert (await client.get(http_server.url("/status/200"))).status == 200
    wrong = ProxyBuilder.http(f"http://127.0.0.1:{proxy_server.auth_port}")
    async with engine_factory.client(proxy=wrong) as client:
        assert (await client.get(http_server.url("/status/200"))).status == 407


async def test_connect_tunnel(
    engine_factory: EngineUnderTest,
    https_server: ServerInfo,
    tls_files: TLSFiles,
    proxy_server: ProxyInfo,
) -> None:
    user, password = proxy_server.user, proxy_server.password
    proxy = ProxyBuilder.http(f"http://{user}:{password}@127.0.0.1:{proxy_server.auth_port}")
    async with engine_factory.client(proxy=proxy, ca_file=tls_files.ca_file) as client:
        for _ in range(2):
            echo = await (await client.get(https_server.url("/echo"))).json()
            assert echo["path"] == "/echo"


async def test_connect_tunnel_refused(
    engine_factory: EngineUnderTest,
    https_server: ServerInfo,
    tls_files: TLSFiles,
    proxy_server: ProxyInfo,
) -> None:
    proxy = ProxyBuilder.http(f"http://127.0.0.1:{proxy_server.auth_port}")
    async with engine_factory.client(proxy=proxy, ca_file=tls_files.ca_file) as client:
        with pytest.raises(ConnectException, match="407"):
            await client.get(https_server.url("/echo"))


def needs_socks(engine: EngineUnderTest) -> None:
    if EngineCapability.SOCKS_PROXY not in engine.capabilities:
        pytest.skip("the engine does not support SOCKS proxies")


@pytest.mark.parametrize("version", [4, 5])
async def test_socks_proxy(
    engine_factory: EngineUnderTest,
    http_server: ServerInfo,
    proxy_server: ProxyInfo,
    version: int,
) -> None:
    needs_socks(engine_factory)
    proxy = ProxyBuilder.socks("127.0.0.1", proxy_server.open_port, version=version)  # type: ignore[arg-type]
    async with engine_factory.client(proxy=proxy) as client:
        echo = await (await client.post(http_server.url("/echo"), body=b"socks")).json()
    assert echo["body"] == "socks"


async def test_socks5_credentials_and_tls(
    engine_factory: EngineUnderTest,
    https_server: ServerInfo,
    tls_files: TLSFiles,
    proxy_server: ProxyInfo,
) -> None:
    needs_socks(engine_factory)
    proxy = ProxyBuilder.socks(
        "127.0.0.1",
        proxy_server.auth_port,
        user=proxy_server.user,
        password=proxy_server.password,
    )
    async with engine_factory.client(proxy=proxy, ca_file=tls_files.ca_file) as client:
        assert (await client.get(https_server.url("/status/200"))).status == 200
    wrong = ProxyBuilder.socks("127.0.0.1", proxy_server.auth_port, user="x", password="y")
    async with engine_factory.client(proxy=wrong) as client:
        with pytest.raises(ConnectException):
            await client.get(https_server.url("/status/200"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_environment_proxy_and_no_proxy(
    engine_factory: EngineUnderTest,
    http_server: ServerInfo,
    proxy_server: ProxyInfo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    async with engine_factory.client() as client:
        with pytest.raises(ConnectException):
            await client.get(http_server.url("/status/200"))
    async with engine_factory.client(trust_env=False) as client:
        assert (await client.get(http_server.url("/status/200"))).status == 200
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with engine_factory.client() as client:
        assert (await client.get(http_server.url("/status/200"))).status == 200
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_server.open_port}")
    async with engine_factory.client() as client:
        assert (await client.get(http_server.url("/status/200"))).status == 200


async def test_unix_socket(engine_factory: EngineUnderTest, unix_server: str) -> None:
    if EngineCapability.UNIX_SOCKET not in engine_factory.capabilities:
        pytest.skip("the engine does not support Unix sockets")
    async with engine_factory.client() as client:

        def via_socket(builder: object) -> None:
            builder.unix_socket = unix_server  # type: ignore[attr-defined]

        for _ in range(2):
            response = await client.get("http://localhost/echo", via_socket)
            echo = await response.json()
            assert echo["path"] == "/echo"
            assert ["host", "localhost"] in echo["headers"]
    if engine_factory.has_option("unix_socket"):
        async with engine_factory.client(unix_socket=unix_server) as client:
            assert (await client.get("http://localhost/status/202")).status == 202
