"""The engine SPI: what engines implement, and how the core finds them.

An engine subclasses :class:`HttpClientEngine`, declares its :class:`EngineCapability`
set, and turns :class:`HttpRequestData` into :class:`HttpResponseData` whose body is a
:class:`ResponseBody`. Engines are registered under the ``client_core.engines``
entry-point group.
"""

from client_core.engine._base import (
    DEFAULT,
    ENGINE_API_VERSION,
    BytesResponseBody,
    EngineCapability,
    HttpClientEngine,
    HttpClientEngineFactory,
    HttpRequestData,
    HttpResponseData,
    Interrupt,
    RequestBody,
    ResponseBody,
    Timeouts,
)
from client_core.engine._config import (
    HttpClientEngineConfig,
    ProxyBuilder,
    ProxyConfig,
    apply_config,
    proxy_from_environment,
)
from client_core.engine._registry import ENGINE_GROUP, EngineInfo, engines, find_engine_factory

__all__ = [
    "DEFAULT",
    "ENGINE_API_VERSION",
    "ENGINE_GROUP",
    "BytesResponseBody",
    "EngineCapability",
    "EngineInfo",
    "HttpClientEngine",
    "HttpClientEngineConfig",
    "HttpClientEngineFactory",
    "HttpRequestData",
    "HttpResponseData",
    "Interrupt",
    "ProxyBuilder",
    "ProxyConfig",
    "RequestBody",
    "ResponseBody",
    "Timeouts",
    "apply_config",
    "engines",
    "find_engine_factory",
    "proxy_from_environment",
]
