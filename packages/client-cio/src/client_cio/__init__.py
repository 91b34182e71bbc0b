"""client-cio: the pure-Python CIO engine for client-core.

HTTP/1.1 on anyio and h11, with a connection pool, proxies (HTTP, SOCKS) and Unix
sockets; runs on asyncio and trio::

    from client_core import HttpClient
    from client_cio import CIO

    async with HttpClient(CIO) as client:
        response = await client.get("https://example.org")
"""

from client_cio._config import CIOEngineConfig, EndpointConfig
from client_cio._engine import CIO
from client_cio._version import __version__

__all__ = ["CIO", "CIOEngineConfig", "EndpointConfig", "__version__"]
