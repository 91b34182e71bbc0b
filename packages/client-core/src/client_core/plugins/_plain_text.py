"""``HttpPlainText``: charsets for text bodies (Ktor's ``HttpPlainText``)."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from client_core._content import OutgoingContent, TextContent
from client_core._response import charset_of
from client_core.http import ContentType, HttpHeaders
from client_core.plugins._api import NOT_HANDLED, PluginBuilder, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = ["HttpPlainText", "HttpPlainTextConfig"]


def _check_charset(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown charset {name!r}") from None
    return name


@dataclass
class HttpPlainTextConfig:
    """Configuration of :data:`HttpPlainText` (installed by default).

    Attributes:
        send_charset: The charset for ``str`` request bodies whose ``Content-Type`` names
            none. Default UTF-8.
        response_charset_fallback: The charset for response text when ``Content-Type``
            names none. Default UTF-8.
        accepted: Charsets advertised in ``Accept-Charset`` with their quality (empty: no
            header is sent).
    """

    send_charset: str = "utf-8"
    response_charset_fallback: str = "utf-8"
    accepted: dict[str, float | None] = field(default_factory=dict)

    def register(self, charset: str, quality: float | None = None) -> None:
        """Advertise ``charset`` in ``Accept-Charset``.

        Args:
            charset: The charset.
            quality: Its quality, 0..1, or ``None``.

        Raises:
            ValueError: An unknown charset or a quality outside 0..1.
        """
        _check_charset(charset)
        if quality is not None and not 0.0 <= quality <= 1.0:
            raise ValueError(f"quality must be within 0..1, got {quality!r}")
        self.accepted[charset] = quality


def _install(plugin: PluginBuilder[HttpPlainTextConfig]) -> None:
    config = plugin.config
    send_charset = _check_charset(config.send_charset)
    fallback = _check_charset(config.response_charset_fallback)
    plugin.client.response_charset_fallback = fallback
    ordered = sorted(config.accepted.items(), key=lambda kv: -(kv[1] if kv[1] is not None else 1))
    accept_charset = ",".join(
        name if q is None else f"{name};q={round(q, 3)}" for name, q in ordered
    )

    if accept_charset:

        @plugin.on_request
        async def add_accept_charset(request: HttpRequestBuilder, content: Any) -> None:
            if HttpHeaders.ACCEPT_CHARSET not in request.headers:
                request.headers.set(HttpHeaders.ACCEPT_CHARSET, accept_charset)

    @plugin.transform_request_body
    async def encode_text(
        request: HttpRequestBuilder, body: Any, body_type: type | None
    ) -> OutgoingContent | None:
        if not isinstance(body, str):
            return None
        declared = request.headers.get(HttpHeaders.CONTENT_TYPE)
        content_type = ContentType.parse(declared) if declared else ContentType.Text.PLAIN
        if content_type.charset is None:
            content_type = content_type.with_charset(send_charset)
        return TextContent(body, content_type)

    # It passes on every body but str: the client may skip it for other bodies.
    plugin.client._str_only_converters.add(encode_text)

    @plugin.transform_response_body
    async def decode_text(response: HttpResponse, data: bytes, type_: Any) -> Any:
        if type_ is not str:
            return NOT_HANDLED
        return data.decode(charset_of(response.headers) or fallback, "replace")


HttpPlainText = create_client_plugin("HttpPlainText", HttpPlainTextConfig, _install)
"""Encodes ``str`` request bodies and decodes text responses with the right charset."""
