"""Engine configuration shared by every engine: options, proxies, TLS, the environment."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import pytest

from client_core import InvalidUrlException, ProxyBuilder, Url
from client_core.engine import HttpClientEngineConfig, apply_config, proxy_from_environment


@dataclass(kw_only=True)
class Endpoint:
    max_connections_per_route: int = 100
    keep_alive_time: float = 5.0


@dataclass(kw_only=True)
class NestedConfig(HttpClientEngineConfig):
    endpoint: Endpoint = field(default_factory=Endpoint)


def test_defaults_build_with_no_arguments() -> None:
    config = HttpClientEngineConfig()
    assert config.thread_count == 4 and config.pipelining is False and config.proxy is None
    assert config.verify is True and config.ca_file is None and config.trust_env is True


def test_apply_options_block_and_nested_dicts() -> None:
    config = apply_config(
        NestedConfig(),
        lambda c: setattr(c, "pipelining", True),
        {"thread_count": 2, "endpoint": {"keep_alive_time": 1.5}},
    )
    assert config.thread_count == 2 and config.pipelining
    assert config.endpoint.keep_alive_time == 1.5
    assert config.endpoint.max_connections_per_route == 100


def test_unknown_option_lists_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"no option 'thread'.*thread_count"):
        apply_config(HttpClientEngineConfig(), None, {"thread": 1})
    with pytest.raises(TypeError):
        apply_config(HttpClientEngineConfig(), None, {"_ssl_cache": None})


def test_thread_count_validated() -> None:
    with pytest.raises(ValueError, match="thread_count"):
        HttpClientEngineConfig(thread_count=0)


def test_ssl_context_defaults_verify_and_is_cached() -> None:
    config = HttpClientEngineConfig()
    context = config.create_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert config.create_ssl_context() is context
    loose = HttpClientEngineConfig(verify=False).create_ssl_context()
    assert loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname
    mine = ssl.create_default_context()
    assert HttpClientEngineConfig(ssl_context=mine).create_ssl_context() is mine


def test_proxy_builders() -> None:
    proxy = ProxyBuilder.http("http://user:pw@proxy.test:3128")
    assert (proxy.type, proxy.host, proxy.port, proxy.user, proxy.password) == (
        "http",
        "proxy.test",
        3128,
        "user",
        "pw",
    )
    assert "pw" not in repr(proxy)
    socks = ProxyBuilder.socks("127.0.0.1", 1080, user="u", password="p")
    assert socks.type == "socks" and socks.port == 1080 and socks.socks_version == 5
    assert socks.remote_dns and socks.user == "u"
    socks4 = ProxyBuilder.socks("::1", 1081, version=4, remote_dns=False)
    assert socks4.socks_version == 4 and not socks4.remote_dns and socks4.host == "::1"
    with pytest.raises(InvalidUrlException):
        ProxyBuilder.http("ftp://proxy.test")
    with pytest.raises(ValueError, match="version"):
        ProxyBuilder.socks("h", 1, version=6)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("http://a.test/", {"HTTP_PROXY": "http://p:1"}, "http://p:1"),
        ("https://a.test/", {"HTTP_PROXY": "http://p:1"}, None),
        ("https://a.test/", {"HTTPS_PROXY": "p2:8080"}, "http://p2:8080"),
        (
            "https://a.test/",
            {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"},
            "http://low:1",
        ),
        ("http://a.test/", {"ALL_PROXY": "socks5://s:1080"}, "socks5://s:1080"),
        ("http://a.test/", {"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.test"}, None),
        ("http://x.a.test/", {"HTTP_PROXY": "http://p:1", "NO_PROXY": ".a.test"}, None),
        ("http://b.test/", {"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.test"}, "http://p:1"),
        ("http://10.1.2.3/", {"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, None),
        ("http://a.test/", {"HTTP_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
        ("http://a.test/", {}, None),
    ],
)
def test_proxy_from_environment(url: str, env: dict[str, str], expected: str | None) -> None:
    proxy = proxy_from_environment(Url(url), env)
    if expected is None:
        assert proxy is None
    else:
        assert proxy is not None and str(proxy.url).rstrip("/") == expected
