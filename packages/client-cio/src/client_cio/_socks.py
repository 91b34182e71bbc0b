"""Sans-IO SOCKS4/4a and SOCKS5 client messages (RFC 1928, RFC 1929, SOCKS4a)."""

from __future__ import annotations

import ipaddress
import struct
from typing import Final

__all__ = [
    "SocksError",
    "socks4_reply_size",
    "socks4_request",
    "socks5_auth_reply",
    "socks5_auth_request",
    "socks5_connect_request",
    "socks5_greeting",
    "socks5_method_reply",
    "socks5_reply_head",
    "socks5_reply_rest_size",
    "check_socks4_reply",
]

NO_AUTH: Final = 0x00
USER_PASSWORD: Final = 0x02
NO_ACCEPTABLE: Final = 0xFF

_SOCKS5_ERRORS: Final = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}
_SOCKS4_ERRORS: Final = {
    0x5B: "request rejected or failed",
    0x5C: "the SOCKS server cannot reach the client's identd",
    0x5D: "the client's identd reported a different user id",
}


class SocksError(Exception):
    """The SOCKS proxy refused the request or broke the protocol."""


def socks5_greeting(with_password: bool) -> bytes:
    """The client greeting: the authentication methods offered.

    Args:
        with_password: Offer user/password authentication as well as none.

    Returns:
        The message.
    """
    if with_password:
        return bytes((5, 2, NO_AUTH, USER_PASSWORD))
    return bytes((5, 1, NO_AUTH))


def socks5_method_reply(data: bytes, with_password: bool) -> int:
    """Parse the server's method choice (2 bytes).

    Args:
        data: The reply.
        with_password: Whether user/password was offered.

    Returns:
        The chosen method.

    Raises:
        SocksError: Not SOCKS5, or no acceptable method.
    """
    if len(data) != 2 or data[0] != 5:
        raise SocksError(f"not a SOCKS5 server (greeting reply {data!r})")
    method = data[1]
    if method == NO_AUTH or (method == USER_PASSWORD and with_password):
        return method
    if method == USER_PASSWORD:
        raise SocksError("the SOCKS5 proxy requires a user name and password")
    raise SocksError("the SOCKS5 proxy accepts none of the offered authentication methods")


def socks5_auth_request(user: str, password: str) -> bytes:
    """The user/password sub-negotiation request (RFC 1929).

    Args:
        user: The user name (at most 255 bytes in UTF-8).
        password: The password (at most 255 bytes in UTF-8).

    Returns:
        The message.

    Raises:
        SocksError: A field is too long.
    """
    u, p = user.encode(), password.encode()
    if len(u) > 255 or len(p) > 255:
        raise SocksError("SOCKS5 user name and password must be at most 255 bytes each")
    return bytes((1, len(u))) + u + bytes((len(p),)) + p


def socks5_auth_reply(data: bytes) -> None:
    """Check the user/password reply (2 bytes).

    Args:
        data: The reply.

    Raises:
        SocksError: Authentication failed.
    """
    if len(data) != 2 or data[1] != 0:
        raise SocksError("the SOCKS5 proxy rejected the user name and password")


def _address(host: str) -> bytes:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode("idna")
        if len(name) > 255:
            raise SocksError(f"host name too long for SOCKS5: {host[:40]}...") from None
        return bytes((3, len(name))) + name
    if ip.version == 4:
        return b"\x01" + ip.packed
    return b"\x04" + ip.packed


def socks5_connect_request(host: str, port: int) -> bytes:
    """The CONNECT request for ``host:port``; names are sent for the proxy to resolve.

    Args:
        host: A host name or IP address.
        port: The port.

    Returns:
        The message.
    """
    return b"\x05\x01\x00" + _address(host) + struct.pack(">H", port)


def socks5_reply_head(data: bytes) -> int:
    """Check the first 5 bytes of the CONNECT reply.

    Args:
        data: The first 5 bytes.

    Returns:
        How many more bytes the reply has (the bound address and port).

    Raises:
        SocksError: The proxy refused, or the reply is malformed.
    """
    if len(data) != 5 or data[0] != 5:
        raise SocksError(f"malformed SOCKS5 reply {data!r}")
    if data[1] != 0:
        reason = _SOCKS5_ERRORS.get(data[1], f"error {data[1]}")
        raise SocksError(f"the SOCKS5 proxy refused the connection: {reason}")
    return socks5_reply_rest_size(data[3], data[4])


def socks5_reply_rest_size(address_type: int, first: int) -> int:
    """How many bytes follow the first 5 of a reply with this address type.

    Args:
        address_type: 1 (IPv4), 3 (name) or 4 (IPv6).
        first: The fifth byte (first address byte, or the name length).

    Returns:
        The remaining size, port included.

    Raises:
        SocksError: An unknown address type.
    """
    if address_type == 1:
        return 4 - 1 + 2
    if address_type == 4:
        return 16 - 1 + 2
    if address_type == 3:
        return first + 2
    raise SocksError(f"malformed SOCKS5 reply: address type {address_type}")


def socks4_request(host: str, port: int, user: str | None, remote_dns: bool) -> bytes:
    """A SOCKS4 (IPv4 address) or SOCKS4a (host name) CONNECT request.

    Args:
        host: The target host; must be an IPv4 address unless ``remote_dns``.
        port: The target port.
        user: The user id.
        remote_dns: Send a host name for the proxy to resolve (SOCKS4a).

    Returns:
        The message.

    Raises:
        SocksError: SOCKS4 cannot reach this host as given.
    """
    userid = (user or "").encode() + b"\x00"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and ip.version == 4:
        return struct.pack(">BBH", 4, 1, port) + ip.packed + userid
    if ip is not None or not remote_dns:
        raise SocksError(f"SOCKS4 needs an IPv4 address, got {host!r}; use socks4a or socks5")
    return struct.pack(">BBH", 4, 1, port) + b"\x00\x00\x00\x01" + userid + host.encode() + b"\x00"


def socks4_reply_size() -> int:
    """The size of a SOCKS4 reply."""
    return 8


def check_socks4_reply(data: bytes) -> None:
    """Check a SOCKS4 reply (8 bytes).

    Args:
        data: The reply.

    Raises:
        SocksError: The proxy refused, or the reply is malformed.
    """
    if len(data) != 8 or data[0] != 0:
        raise SocksError(f"malformed SOCKS4 reply {data!r}")
    if data[1] != 0x5A:
        reason = _SOCKS4_ERRORS.get(data[1], f"error {data[1]:#x}")
        raise SocksError(f"the SOCKS4 proxy refused the connection: {reason}")
