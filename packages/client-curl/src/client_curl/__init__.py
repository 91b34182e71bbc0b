"""The curl engine for ``client_core``: libcurl (through pycurl) driven by the event loop.

HTTP/2 (negotiated over TLS, multiplexed), HTTP/3 on request, HTTP/HTTPS/SOCKS proxies,
Unix sockets, and libcurl's speed::

    from client_core import HttpClient
    from client_curl import Curl

    async with HttpClient(Curl) as client:
        response = await client.get("https://example.org/")
"""

from client_curl._config import CurlEngineConfig
from client_curl._engine import Curl
from client_curl._version import __version__

__all__ = ["Curl", "CurlEngineConfig", "__version__"]
