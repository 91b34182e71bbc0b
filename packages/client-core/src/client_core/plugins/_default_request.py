"""``DefaultRequest``: a base URL, headers and parameters for every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from client_core._attributes import Attributes
from client_core.http import HeadersBuilder, ParametersBuilder, Url
from client_core.plugins._api import HookOrder, PluginBuilder, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder

__all__ = ["DefaultRequest", "DefaultRequestConfig"]


@dataclass
class DefaultRequestConfig:
    """Configuration of :data:`DefaultRequest` (``config.default_request(...)``).

    Attributes:
        url: The base URL. A request's relative URL is resolved against it as RFC 3986
            says (as in a browser, and as Ktor does): with base ``https://api/v1/``,
            ``users`` gives ``https://api/v1/users`` and ``/users`` gives
            ``https://api/users``. Keep the trailing slash on a base path.
        headers: Headers added to requests that do not set them (a request's own value
            wins; nothing is appended to it).
        params: Query parameters added to requests that do not set them.
        attributes: Attributes copied into every request that does not set them.
    """

    url: str | Url | None = None
    headers: HeadersBuilder = field(default_factory=HeadersBuilder)
    params: ParametersBuilder = field(default_factory=ParametersBuilder)
    attributes: Attributes = field(default_factory=Attributes)

    def header(self, name: str, value: Any) -> None:
        """Add a default header.

        Args:
            name: The header name.
            value: The value.
        """
        self.headers.append(name, str(value))

    def parameter(self, name: str, value: Any) -> None:
        """Add a default query parameter.

        Args:
            name: The parameter name.
            value: The value.
        """
        self.params.append(name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        # Accept plain mappings for headers and params (install(..., headers={...})).
        if name == "headers" and not isinstance(value, HeadersBuilder):
            value = HeadersBuilder(value)
        elif name == "params" and not isinstance(value, ParametersBuilder):
            builder = ParametersBuilder()
            builder.append_all(value)
            value = builder
        object.__setattr__(self, name, value)


def _install(plugin: PluginBuilder[DefaultRequestConfig]) -> None:
    config = plugin.config
    base = Url(config.url) if config.url is not None else None
    headers = config.headers.build()
    params = config.params.build()
    attributes = config.attributes

    async def apply_defaults(request: HttpRequestBuilder, content: Any) -> None:
        if base is not None and request.relative_url is not None:
            request.resolve_url(base)
        if len(headers):
            target = request.headers
            for name in headers:
                if name not in target:
                    for value in headers.get_all(name):
                        target.append(name, value)
        if len(params):
            url_params = request.url.parameters
            for name in params:
                if name not in url_params:
                    for value in params.get_all(name):
                        url_params.append(name, value)
        if len(attributes):
            for key in list(attributes._data):
                if key not in request.attributes:
                    request.attributes[key] = attributes[key]

    plugin.on_request(apply_defaults, order=HookOrder.FIRST)


DefaultRequest = create_client_plugin("DefaultRequest", DefaultRequestConfig, _install)
"""Merges a base URL, headers, parameters and attributes into every request."""
