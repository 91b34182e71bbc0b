"""``MockRequest``: the request a handler receives, its body already read into bytes."""

from __future__ import annotations

import codecs
import dataclasses
import json as _json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from client_core.engine import HttpRequestData
from client_core.http import ContentType, HttpHeaders, Parameters

__all__ = ["MockRequest"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MockRequest(HttpRequestData):
    """An :class:`~client_core.engine.HttpRequestData` whose ``body`` is ``bytes``.

    The mock engine reads a streamed request body fully before calling handlers, so a
    handler can be a plain function. Every other field is the request as the core built
    it; ``content_length`` is what the client declared (``None`` for a stream of unknown
    length), ``len(request.body)`` is what was sent.

    Attributes:
        body: The whole request body (``b""`` for none).
    """

    body: bytes = b""

    @classmethod
    def of(cls, request: HttpRequestData, body: bytes) -> MockRequest:
        """Copy ``request`` with ``body`` in place of its (maybe streamed) body.

        Args:
            request: The request the engine received.
            body: Its body, read.

        Returns:
            The request handlers see.
        """
        values = {
            f.name: getattr(request, f.name)
            for f in dataclasses.fields(HttpRequestData)
            if f.name != "body"
        }
        return cls(body=body, **values)

    @property
    def params(self) -> Parameters:
        """The decoded query parameters of the URL."""
        return self.url.parameters

    @property
    def content_type(self) -> ContentType | None:
        """The parsed ``Content-Type`` header, or ``None`` when absent or invalid."""
        value = self.headers.get(HttpHeaders.CONTENT_TYPE)
        if not value:
            return None
        try:
            return ContentType.parse(value)
        except ValueError:
            return None

    def _charset(self, charset: str | None) -> str:
        if charset is not None:
            return charset
        content_type = self.content_type
        declared = content_type.charset if content_type is not None else None
        if declared:
            try:
                return codecs.lookup(declared).name
            except LookupError:
                pass
        return "utf-8"

    def text(self, charset: str | None = None) -> str:
        """Return the body decoded as text.

        Args:
            charset: The charset; by default the one in ``Content-Type``, else UTF-8.

        Returns:
            The text; undecodable bytes are replaced.
        """
        return self.body.decode(self._charset(charset), "replace")

    def json(self, **loads_kwargs: Any) -> Any:
        """Return the body parsed as JSON.

        Args:
            **loads_kwargs: Passed to :func:`json.loads`.

        Returns:
            The parsed value.

        Raises:
            json.JSONDecodeError: The body is not JSON (a ``ValueError``).
        """
        return _json.loads(self.body, **loads_kwargs)

    def form(self) -> Parameters:
        """Return the body parsed as ``application/x-www-form-urlencoded`` fields.

        Returns:
            The fields in order; a repeated field keeps every value.
        """
        text = self.body.decode(self._charset(None), "replace")
        return Parameters(parse_qsl(text, keep_blank_values=True))

    def __repr__(self) -> str:
        return f"<MockRequest {self.method} {self.url.redacted()} body={len(self.body)} bytes>"
