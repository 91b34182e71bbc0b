"""Writing plugins: ``create_client_plugin`` and the hooks a plugin body registers.

A plugin is a :class:`ClientPlugin`: a name, a factory for its configuration, and a body
run once per client that registers hooks on a :class:`PluginBuilder`::

    def body(plugin: PluginBuilder[MyConfig]) -> None:
        @plugin.on_request
        async def add_header(request, content):
            request.headers.set("X-Token", plugin.config.token)

    MyPlugin = create_client_plugin("MyPlugin", MyConfig, body)
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from client_core._attributes import AttributeKey

if TYPE_CHECKING:
    from client_core._client import HttpClient
    from client_core._content import OutgoingContent
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = [
    "NOT_HANDLED",
    "ClientPlugin",
    "HookOrder",
    "Hooks",
    "OnRequest",
    "OnResponse",
    "OnSend",
    "PluginBuilder",
    "Proceed",
    "TransformRequestBody",
    "TransformResponseBody",
    "create_client_plugin",
]

TConfig = TypeVar("TConfig")
F = TypeVar("F", bound=Callable[..., Any])


class _NotHandled:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_HANDLED"


NOT_HANDLED: Final = _NotHandled()
"""Returned by a ``transform_response_body`` hook that does not handle the type."""

OnRequest = Callable[["HttpRequestBuilder", Any], Awaitable[None]]
TransformRequestBody = Callable[
    ["HttpRequestBuilder", Any, "type | None"], Awaitable["OutgoingContent | None"]
]
Proceed = Callable[["HttpRequestBuilder"], Awaitable["HttpResponse"]]
OnSend = Callable[["HttpRequestBuilder", Proceed], Awaitable["HttpResponse"]]
OnResponse = Callable[["HttpResponse"], Awaitable[None]]
TransformResponseBody = Callable[["HttpResponse", bytes, Any], Awaitable[Any]]


class HookOrder:
    """Where a hook runs relative to others; lower runs first, ties in install order."""

    FIRST: Final = 0
    """Before everything (``DefaultRequest`` fills in the URL here)."""
    NORMAL: Final = 50
    """The default."""
    LAST: Final = 100
    """After everything else."""


def _as_async(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    if inspect.iscoroutinefunction(handler):
        return handler

    async def wrapper(*args: Any) -> Any:
        return handler(*args)

    wrapper.__name__ = getattr(handler, "__name__", "hook")
    return wrapper


@dataclass
class Hooks:
    """Every hook installed on a client, in run order. Owned by the client."""

    on_request: list[tuple[int, int, OnRequest]] = field(default_factory=list)
    transform_request_body: list[tuple[int, int, TransformRequestBody]] = field(
        default_factory=list
    )
    on_send: list[tuple[int, int, OnSend]] = field(default_factory=list)
    on_response: list[tuple[int, int, OnResponse]] = field(default_factory=list)
    transform_response_body: list[tuple[int, int, TransformResponseBody]] = field(
        default_factory=list
    )
    on_close: list[Callable[[], Any]] = field(default_factory=list)
    _counter: int = 0
    version: int = 0

    def add(self, kind: list[tuple[int, int, Any]], order: int, handler: Any) -> None:
        """Insert ``handler`` into ``kind`` by ``order`` then install order.

        Args:
            kind: One of the hook lists.
            order: A :class:`HookOrder` value.
            handler: The async hook.
        """
        self._counter += 1
        kind.append((order, self._counter, handler))
        kind.sort(key=lambda item: (item[0], item[1]))
        self.version += 1


class PluginBuilder(Generic[TConfig]):
    """What a plugin body receives: the client, the plugin's config, and hook registration.

    Every ``on_*`` method takes a sync or async function and returns it unchanged, so it
    can be used as a decorator.

    Attributes:
        client: The client the plugin is installed on.
        config: The plugin's configuration, after every config block ran.
        plugin: The plugin being installed.
    """

    def __init__(self, client: HttpClient, config: TConfig, plugin: ClientPlugin[TConfig]):
        self.client = client
        self.config = config
        self.plugin = plugin
        self._hooks: Hooks = client._hooks

    def on_request(self, handler: F, *, order: int = HookOrder.NORMAL) -> F:
        """Run ``handler(request, content)`` before a request's body is rendered.

        Args:
            handler: May change the :class:`~client_core.HttpRequestBuilder`.
            order: A :class:`HookOrder` value.

        Returns:
            ``handler``.
        """
        self._hooks.add(self._hooks.on_request, order, _as_async(handler))
        return handler

    def transform_request_body(self, handler: F, *, order: int = HookOrder.NORMAL) -> F:
        """Run ``handler(request, body, body_type)`` to render a body the core cannot.

        The first hook returning an ``OutgoingContent`` wins; ``None`` passes.

        Args:
            handler: The renderer.
            order: A :class:`HookOrder` value.

        Returns:
            ``handler``.
        """
        self._hooks.add(self._hooks.transform_request_body, order, _as_async(handler))
        return handler

    def on_send(self, handler: F, *, order: int = HookOrder.NORMAL) -> F:
        """Wrap sending: ``handler(request, proceed)`` returns the response.

        ``await proceed(request)`` sends through the rest of the chain and the engine; it
        may be called several times (redirects, retries, auth). Responses not returned must
        be discarded (``await response.discard()``); the client also releases any left over
        when the call ends.

        Args:
            handler: The interceptor.
            order: A :class:`HookOrder` value; lower wraps higher.

        Returns:
            ``handler``.
        """
        self._hooks.add(self._hooks.on_send, order, _as_async(handler))
        return handler

    def on_response(self, handler: F, *, order: int = HookOrder.NORMAL) -> F:
        """Run ``handler(response)`` for every response the engine returns.

        Runs before the body is read, so it may wrap the body (``response.wrap_body``).

        Args:
            handler: The hook.
            order: A :class:`HookOrder` value.

        Returns:
            ``handler``.
        """
        self._hooks.add(self._hooks.on_response, order, _as_async(handler))
        return handler

    def transform_response_body(self, handler: F, *, order: int = HookOrder.NORMAL) -> F:
        """Run ``handler(response, data, type_)`` for ``response.body(type_)``.

        Return the converted value, or ``NOT_HANDLED``.

        Args:
            handler: The converter.
            order: A :class:`HookOrder` value.

        Returns:
            ``handler``.
        """
        self._hooks.add(self._hooks.transform_response_body, order, _as_async(handler))
        return handler

    def on_close(self, handler: Callable[[], Any]) -> Callable[[], Any]:
        """Run ``handler()`` (sync) when the client closes.

        Args:
            handler: The hook.

        Returns:
            ``handler``.
        """
        self._hooks.on_close.append(handler)
        return handler


class ClientPlugin(Generic[TConfig]):
    """A plugin: a name, a configuration factory, and a body that installs hooks.

    Args:
        name: The plugin's name (also its identity in ``install`` and ``client.plugin``).
        config_factory: Builds a fresh configuration object.
        body: Runs once per client with a :class:`PluginBuilder`; what it returns is the
            plugin instance ``client.plugin(Plugin)`` gives back (the builder when ``None``).
    """

    def __init__(
        self,
        name: str,
        config_factory: Callable[[], TConfig],
        body: Callable[[PluginBuilder[TConfig]], Any],
    ) -> None:
        self.name = name
        self.config_factory = config_factory
        self.body = body
        self.key: AttributeKey[Any] = AttributeKey(name)

    def create_config(self) -> TConfig:
        """Return a fresh configuration object."""
        return self.config_factory()

    def install(self, client: HttpClient, config: TConfig) -> Any:
        """Install on ``client`` with ``config``.

        Args:
            client: The client.
            config: The prepared configuration.

        Returns:
            The plugin instance.
        """
        builder = PluginBuilder(client, config, self)
        result = self.body(builder)
        return builder if result is None else result

    def __repr__(self) -> str:
        return f"<ClientPlugin {self.name}>"


class _Configurable(Protocol):
    pass


def create_client_plugin(
    name: str,
    config_factory: Callable[[], TConfig],
    body: Callable[[PluginBuilder[TConfig]], Any],
) -> ClientPlugin[TConfig]:
    """Create a plugin, Ktor 2 style (``createClientPlugin``).

    Args:
        name: The plugin's name.
        config_factory: Builds its configuration (a dataclass is typical); options given
            to ``install(plugin, **options)`` are set as its attributes.
        body: Registers hooks on the :class:`PluginBuilder` it receives.

    Returns:
        The plugin, ready for ``config.install(...)``.
    """
    return ClientPlugin(name, config_factory, body)
