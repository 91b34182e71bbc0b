"""Configuration, factory and discovery."""

from __future__ import annotations

import pytest

import client_cio
from client_cio import CIO, CIOEngineConfig, EndpointConfig
from client_core import HttpClient, engines
from client_core.engine import EngineCapability, find_engine_factory


def test_exports() -> None:
    assert client_cio.__all__ == sorted(client_cio.__all__)
    assert set(client_cio.__all__) == {"CIO", "CIOEngineConfig", "EndpointConfig", "__version__"}
    assert client_cio.__version__ == "0.1.0"


def test_defaults_match_ktor() -> None:
    config = CIOEngineConfig()
    assert config.max_connections == 1000
    assert config.request_timeout == 15.0
    assert config.pipelining is False
    endpoint = config.endpoint
    assert endpoint.max_connections_per_route == 100
    assert endpoint.keep_alive_time == 5.0
    assert endpoint.pipeline_max_size == 20
    assert endpoint.connect_timeout == 5.0
    assert endpoint.connect_attempts == 1
    assert endpoint.socket_timeout is None
    assert config.verify is True


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"request_timeout": -1}, "request_timeout"),
        ({"max_response_head_size": 0}, "max_response_head_size"),
    ],
)
def test_validation(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CIOEngineConfig(**options)  # type: ignore[arg-type]


def test_endpoint_validation() -> None:
    with pytest.raises(ValueError, match="connect_attempts"):
        EndpointConfig(connect_attempts=0)
    with pytest.raises(ValueError, match="socket_timeout"):
        EndpointConfig(socket_timeout=-1)
    with pytest.raises(TypeError, match="EndpointConfig"):
        CIOEngineConfig(endpoint="fast")  # type: ignore[arg-type]


def test_create_with_nested_options_and_block() -> None:
    def block(config: CIOEngineConfig) -> None:
        config.endpoint.keep_alive_time = 1.5

    engine = CIO.create(block, max_connections=7, endpoint={"max_connections_per_route": 3})
    assert isinstance(engine, CIO)
    assert engine.config.max_connections == 7
    assert engine.config.endpoint.max_connections_per_route == 3
    assert engine.pool.max_per_route == 3
    assert engine.pool.keep_alive_time == 1.5
    engine.close()


def test_create_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="max_connections_per_route"):
        CIO.create(endpoint={"max_connections_per_route": 0})
    with pytest.raises(TypeError, match="no option"):
        CIO.create(max_connection=1)


def test_engine_class_attributes() -> None:
    assert CIO.name == "cio"
    assert CIO.capabilities == {
        EngineCapability.TIMEOUT,
        EngineCapability.UNIX_SOCKET,
        EngineCapability.SOCKS_PROXY,
    }


def test_discovered_through_entry_point() -> None:
    infos = {info.name: info for info in engines()}
    assert infos["cio"].distribution == "client-cio"
    assert infos["cio"].compatible
    assert find_engine_factory("cio") is CIO


@pytest.mark.anyio
async def test_http_client_with_factory_and_configure() -> None:
    async with HttpClient(CIO, lambda c: c.engine(max_connections=3)) as client:
        assert isinstance(client.engine, CIO)
        assert client.engine.config.max_connections == 3
    assert client.engine.is_closed
