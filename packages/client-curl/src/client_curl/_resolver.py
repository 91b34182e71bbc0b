"""Host-name lookups on a bounded number of worker threads (``thread_count``).

libcurl's threaded resolver starts threads of its own. Instead, the engine looks names up
itself with ``getaddrinfo`` on at most ``thread_count`` worker threads (anyio's thread
pool behind a capacity limiter) and hands the addresses to libcurl as ``CURLOPT_RESOLVE``
entries, so libcurl never resolves on its own. Results are reused for
``dns_cache_timeout`` seconds; concurrent lookups of one name share one thread. IP
literals and ``localhost`` (which libcurl answers itself) need no lookup.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Final

import anyio

__all__ = ["Resolver", "needs_lookup"]

_MAX_ENTRIES: Final = 1024


def needs_lookup(host: str) -> bool:
    """Whether ``host`` must be looked up (not an IP literal nor a ``localhost`` name).

    Args:
        host: A host name or address, IPv6 without brackets.

    Returns:
        True for names that need DNS.
    """
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return True
    return False


class Resolver:
    """Looks names up on worker threads and keeps the results for a while.

    Args:
        threads: The most lookups at once.
        ttl: Seconds a result is reused.
    """

    def __init__(self, threads: int, ttl: float) -> None:
        self._threads = threads
        self._ttl = ttl
        self._limiter: anyio.CapacityLimiter | None = None
        self._kind: dict[str, bool] = {}
        self._entries: dict[tuple[str, int], tuple[str, float]] = {}
        self._pending: dict[tuple[str, int], anyio.Event] = {}

    def reset(self) -> None:
        """Forget the worker-thread limiter (the event loop changed)."""
        self._limiter = None
        self._pending.clear()

    def needs_lookup(self, host: str) -> bool:
        """Like :func:`needs_lookup`, cached per host."""
        kind = self._kind.get(host)
        if kind is None:
            if len(self._kind) >= _MAX_ENTRIES:
                self._kind.clear()
            kind = self._kind[host] = needs_lookup(host)
        return kind

    def cached(self, host: str, port: int) -> str | None:
        """The ``CURLOPT_RESOLVE`` entry for ``host:port`` if a fresh one is known."""
        entry = self._entries.get((host, port))
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        return None

    async def lookup(self, host: str, port: int) -> str:
        """Return the ``CURLOPT_RESOLVE`` entry for ``host:port``, looking it up if needed.

        Args:
            host: The host name.
            port: The port.

        Returns:
            ``"host:port:addr[,addr...]"``.

        Raises:
            OSError: The name cannot be resolved (a ``socket.gaierror``).
        """
        key = (host, port)
        while True:
            entry = self.cached(host, port)
            if entry is not None:
                return entry
            pending = self._pending.get(key)
            if pending is None:
                break
            await pending.wait()
        event = self._pending[key] = anyio.Event()
        try:
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(self._threads)
            infos = await anyio.to_thread.run_sync(
                socket.getaddrinfo,
                host,
                port,
                0,
                socket.SOCK_STREAM,
                abandon_on_cancel=True,
                limiter=self._limiter,
            )
            addresses: list[str] = []
            for family, _, _, _, sockaddr in infos:
                address = str(sockaddr[0])
                text = f"[{address}]" if family == socket.AF_INET6 else address
                if text not in addresses:
                    addresses.append(text)
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "no addresses")
            entry = f"{host}:{port}:{','.join(addresses)}"
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (entry, time.monotonic() + self._ttl)
            return entry
        finally:
            self._pending.pop(key, None)
            event.set()
