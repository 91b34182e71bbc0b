"""``HttpRedirect``: follow 3xx responses (installed while ``follow_redirects`` is true)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from client_core._content import EmptyContent, OutgoingContent
from client_core.errors import InvalidUrlException, RequestBodyReplayException
from client_core.errors import SendCountExceedException as _SendCountExceed
from client_core.http import HttpHeaders, HttpMethod, Url
from client_core.plugins._api import PluginBuilder, Proceed, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = ["HttpRedirect", "HttpRedirectConfig", "REDIRECT_ORDER"]

REDIRECT_ORDER: Final = 10
_REDIRECT_CODES: Final = frozenset({301, 302, 303, 307, 308})
_ALLOWED_METHODS: Final = frozenset({HttpMethod.GET, HttpMethod.HEAD})
_SENSITIVE: Final = (
    HttpHeaders.AUTHORIZATION,
    HttpHeaders.COOKIE,
    HttpHeaders.PROXY_AUTHORIZATION,
    HttpHeaders.HOST,  # a Host set by hand names the old origin
)
"""Headers dropped when a redirect changes the origin (scheme, host or port)."""
_BODY_HEADERS: Final = (HttpHeaders.CONTENT_TYPE, HttpHeaders.CONTENT_ENCODING)


@dataclass
class HttpRedirectConfig:
    """Configuration of :data:`HttpRedirect`.

    Attributes:
        check_http_method: Follow 301, 302, 307 and 308 only for GET and HEAD, as Ktor
            does (a 303 is always followed, as a GET). Set ``False`` to follow for every
            method: 301/302 then turn POST into GET without a body (as browsers do) and
            307/308 resend the method and body.
        allow_https_downgrade: Follow a redirect from https to http. Default ``False``:
            the redirect response is returned instead.
        max_redirects: The most redirects one call follows; one more raises
            ``SendCountExceedException``.
    """

    check_http_method: bool = True
    allow_https_downgrade: bool = False
    max_redirects: int = 20


def _install(plugin: PluginBuilder[HttpRedirectConfig]) -> None:
    config = plugin.config
    if config.max_redirects < 0:
        raise ValueError(f"max_redirects must be >= 0, got {config.max_redirects!r}")

    async def follow(request: HttpRequestBuilder, proceed: Proceed) -> HttpResponse:
        response = await proceed(request)
        if response.status not in _REDIRECT_CODES:  # an int: no .value call on the hot path
            return response
        history: list[HttpResponse] = []
        original_method = request.method
        while True:
            code = response.status.value
            if code not in _REDIRECT_CODES:
                break
            if config.check_http_method and code != 303 and original_method not in _ALLOWED_METHODS:
                break
            location = response.headers.get(HttpHeaders.LOCATION)
            if not location:
                break
            current = response.request.url
            try:
                target = current.resolve(location)
            except InvalidUrlException:
                break
            if target.scheme not in ("http", "https"):
                break
            if current.is_secure and not target.is_secure and not config.allow_https_downgrade:
                break
            if len(history) >= config.max_redirects:
                await response.discard()
                raise _SendCountExceed(
                    f"{original_method} {request.build_url().redacted()}: more than "
                    f"{config.max_redirects} redirects (max_redirects); last Location was "
                    f"{target.redacted()}"
                )
            next_request = _next_request(request, response, target)
            history.append(response)
            await response.discard()
            request = next_request
            response = await proceed(request)
        if history:
            response.redirect_history = history
        return response

    plugin.on_send(follow, order=REDIRECT_ORDER)


def _next_request(
    request: HttpRequestBuilder, response: HttpResponse, target: Url
) -> HttpRequestBuilder:
    code = response.status.value
    new = request.copy()
    new.attributes = request.attributes
    new.set_url(target)
    method = request.method
    keep_body = True
    if code == 303 and method != HttpMethod.HEAD:
        method, keep_body = HttpMethod.GET, False
    elif code in (301, 302) and method == HttpMethod.POST:
        method, keep_body = HttpMethod.GET, False
    new.method = method
    if not keep_body:
        new.body = EmptyContent()
        for name in _BODY_HEADERS:
            new.headers.remove(name)
    else:
        body = request.body
        if isinstance(body, OutgoingContent) and body.is_one_shot:
            raise RequestBodyReplayException(
                f"{request.method} {response.request.url.redacted()}: the {code} redirect to "
                f"{target.redacted()} needs the request body again, but it was a one-shot "
                "stream; send bytes to allow this, or disable follow_redirects"
            )
    if response.request.url.origin != target.origin:
        for name in _SENSITIVE:
            new.headers.remove(name)
    return new


HttpRedirect = create_client_plugin("HttpRedirect", HttpRedirectConfig, _install)
"""Follows redirects: 301, 302, 303, 307 and 308."""
