from tests.servers.fixtures import (  # noqa: F401  (fixtures)
    hostile,
    hostile_server,
    http_server,
    https_server,
    tls_files,
)
