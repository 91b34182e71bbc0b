"""Test certificates made with trustme: a CA, and a server certificate for loopback."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for a TLS test server and its clients."""

    ca_file: str
    cert_file: str
    key_file: str
    client_cert_file: str

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        return context


def make_tls_files(directory: Path) -> TLSFiles:
    """Write a CA and a server certificate valid for localhost and 127.0.0.1."""
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1", "test.example")
    client = ca.issue_cert("client@example.org")
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    client_file = directory / "client.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server.private_key_pem.write_to_path(str(key_file))
    server.cert_chain_pems[0].write_to_path(str(cert_file))
    for pem in server.cert_chain_pems[1:]:
        pem.write_to_path(str(cert_file), append=True)
    client.private_key_and_cert_chain_pem.write_to_path(str(client_file))
    return TLSFiles(str(ca_file), str(cert_file), str(key_file), str(client_file))
