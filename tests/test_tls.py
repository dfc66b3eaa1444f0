"""TLS verification is always on; a custom CA bundle (corporate proxies) is honoured."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from relay_lite import Client, ConnectError, RetryPolicy, Timeouts
from relay_lite._config import ProxySettings
from relay_lite._transport import Transport
from relay_lite.testing import FakeServer, Reply

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_server(certificate: tuple[Path, Path]):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FakeServer(ssl_context=context) as server:
        yield server


def transport(ca_bundle: str | None = None) -> Transport:
    return Transport(
        timeouts=Timeouts(connect=2, read=5),
        retry=RetryPolicy(backoff=0.01),
        ca_bundle=ca_bundle,
        proxies=ProxySettings(),
    )


def test_self_signed_certificate_is_refused_and_not_retried(https_server: FakeServer) -> None:
    assert https_server.url.startswith("https://")
    with pytest.raises(ConnectError) as info:
        transport().request("GET", https_server.url + "/x")
    assert info.value.attempts == 1
    assert "TLS handshake with 127.0.0.1" in str(info.value)
    assert https_server.requests == []


def test_ca_bundle_makes_the_certificate_trusted(https_server: FakeServer, certificate) -> None:
    https_server.add(Reply.json({"secure": True}))
    response = transport(ca_bundle=str(certificate[0])).request("GET", https_server.url + "/x")
    assert response.json() == {"secure": True}


def test_ca_bundle_from_the_environment_reaches_the_connection(https_server: FakeServer, certificate) -> None:
    env = {"RELAY_LITE_CA_BUNDLE": str(certificate[0]), "RELAY_LITE_MAX_RETRIES": "0"}
    client = Client("compatible", base_url=https_server.url + "/v1", model="m", env=env)
    https_server.add(Reply.json({"choices": [{"message": {"content": "over TLS"}, "finish_reason": "stop"}]}))
    assert client.chat().user("x").send().text == "over TLS"
