"""The environment conventions a user switching from the official SDKs relies on:
``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` (a gateway's address), ``OPENAI_ORG_ID`` /
``OPENAI_PROJECT_ID`` (sent as ``OpenAI-Organization`` / ``OpenAI-Project``, the openai
SDK's names), ``REQUESTS_CA_BUNDLE`` and OpenSSL's ``SSL_CERT_FILE``. Precedence: explicit
argument, then ``RELAY_LITE_*``, then the SDK's variable. ``Client(env=)`` is the only
environment read when given."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from relay_lite import Client, ConfigError, ConnectError, RetryPolicy
from relay_lite._config import ClientConfig
from relay_lite.testing import ChatScript, FakeServer, Reply

KEY = "sk-test-conventions-key"


# -- base URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "base_url", "expected"),
    [
        ({"OPENAI_BASE_URL": "https://gateway.test/v1/"}, None, "https://gateway.test/v1"),
        (
            {"OPENAI_BASE_URL": "https://gateway.test/v1", "RELAY_LITE_BASE_URL": "https://ours.test/v1"},
            None,
            "https://ours.test/v1",
        ),
        (
            {"OPENAI_BASE_URL": "https://gateway.test/v1"},
            "https://explicit.test/v1",
            "https://explicit.test/v1",
        ),
        ({"OPENAI_BASE_URL": "   "}, None, "https://api.openai.com/v1"),  # blank means unset
        ({}, None, "https://api.openai.com/v1"),
    ],
    ids=["sdk-variable", "relay-lite-beats-sdk", "argument-beats-all", "blank", "default"],
)
def test_openai_base_url_precedence(env: dict[str, str], base_url: str | None, expected: str) -> None:
    config = ClientConfig.resolve(provider="openai", api_key=KEY, base_url=base_url, env=env)
    assert config.base_url == expected


def test_anthropic_base_url_is_read_for_anthropic_only() -> None:
    env = {
        "ANTHROPIC_BASE_URL": "https://claude-gateway.test",
        "OPENAI_BASE_URL": "https://gpt-gateway.test/v1",
    }
    assert (
        ClientConfig.resolve(provider="anthropic", api_key=KEY, env=env).base_url
        == "https://claude-gateway.test"
    )
    assert (
        ClientConfig.resolve(provider="openai", api_key=KEY, env=env).base_url
        == "https://gpt-gateway.test/v1"
    )
    assert (
        ClientConfig.resolve(provider="openrouter", api_key=KEY, env=env).base_url
        == "https://openrouter.ai/api/v1"
    )
    assert (
        ClientConfig.resolve(provider="modelrelay", api_key=KEY, env=env).base_url
        == "https://api.modelrelay.ai/api/v1"
    )


def test_compatible_preset_takes_its_url_from_openai_base_url() -> None:
    config = ClientConfig.resolve(provider="compatible", env={"OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert config.base_url == "http://localhost:11434/v1"


def test_compatible_client_without_url_argument_reads_openai_base_url() -> None:
    with FakeServer.openai() as server:
        server.add(ChatScript(text="local"))
        with Client.compatible(model="m", env={"OPENAI_BASE_URL": server.url + "/v1"}) as client:
            assert client.chat().user("hi").send().text == "local"
    assert server.requests[0].path == "/v1/chat/completions"
    assert "authorization" not in server.requests[0].headers  # compatible reads no key variable


def test_compatible_preset_without_any_url_names_both_variables() -> None:
    with pytest.raises(ConfigError) as info:
        ClientConfig.resolve(provider="compatible", env={})
    assert (
        str(info.value)
        == "provider 'compatible' needs a base_url (or RELAY_LITE_BASE_URL or OPENAI_BASE_URL)"
    )


def test_bad_sdk_base_url_is_named_in_the_error() -> None:
    with pytest.raises(ConfigError) as info:
        ClientConfig.resolve(
            provider="anthropic", api_key=KEY, env={"ANTHROPIC_BASE_URL": "claude-gateway.test"}
        )
    assert (
        str(info.value)
        == "ANTHROPIC_BASE_URL='claude-gateway.test' must be an absolute http:// or https:// URL"
    )


def test_key_from_openai_api_key_goes_to_the_gateway_of_openai_base_url() -> None:
    # The bug this fixes: a gateway user's key went to api.openai.com instead.
    with FakeServer.openai() as server:
        server.add(ChatScript(text="via gateway"))
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.url + "/v1"}
        with Client(env=env) as client:
            assert client.config.provider == "openai"
            reply = client.chat().user("hi").send()
    assert reply.text == "via gateway"
    assert server.requests[0].path == "/v1/chat/completions"
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_anthropic_key_goes_to_the_gateway_of_anthropic_base_url() -> None:
    with FakeServer.anthropic() as server:
        server.add(ChatScript(text="via claude gateway"))
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.url}
        with Client(env=env) as client:
            assert client.config.provider == "anthropic"
            reply = client.chat().user("hi").send()
    assert reply.text == "via claude gateway"
    assert server.requests[0].path == "/v1/messages"
    assert server.requests[0].headers["x-api-key"] == KEY


def test_given_env_mapping_is_the_only_environment_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://from-os-environ.test/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-os-environ")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/no/such/bundle.pem")
    config = ClientConfig.resolve(provider="openai", api_key=KEY, env={})
    assert config.base_url == "https://api.openai.com/v1"
    assert config.organization is None
    assert config.ca_bundle is None


def test_os_environ_is_read_when_no_env_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://from-os-environ.test/v1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")
    config = ClientConfig.resolve(provider="openai", api_key=KEY)
    assert config.base_url == "https://from-os-environ.test/v1"
    assert config.project == "proj_env"


# -- organization and project -------------------------------------------------------------------


def test_org_and_project_variables_become_openai_headers_on_the_wire() -> None:
    with FakeServer.openai() as server:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.url + "/v1",
               "OPENAI_ORG_ID": "org-abc123", "OPENAI_PROJECT_ID": "proj_xyz789"}  # fmt: skip
        with Client(env=env) as client:
            client.chat("m").user("hi").send()
            with client.chat("m").user("hi").stream() as stream:
                stream.response  # noqa: B018
    for request in server.requests:
        assert request.headers["openai-organization"] == "org-abc123"
        assert request.headers["openai-project"] == "proj_xyz789"


def test_explicit_organization_and_project_beat_the_variables() -> None:
    env = {"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj_env"}
    config = ClientConfig.resolve(
        provider="openai", api_key=KEY, organization="org-arg", project="proj_arg", env=env
    )
    assert (config.organization, config.project) == ("org-arg", "proj_arg")
    assert config.account_headers() == {"OpenAI-Organization": "org-arg", "OpenAI-Project": "proj_arg"}


def test_org_variables_are_not_sent_to_other_providers() -> None:
    env = {"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj_env"}
    for provider, base_url in (
        ("openrouter", None),
        ("compatible", "http://localhost:8000/v1"),
        ("anthropic", None),
    ):
        config = ClientConfig.resolve(provider=provider, api_key=KEY, base_url=base_url, env=env)
        assert config.account_headers() == {}


def test_explicit_organization_works_on_compatible_servers() -> None:
    with FakeServer.openai() as server:
        with Client.compatible(server.url, model="m", organization="org-1", env={}) as client:
            client.chat().user("hi").send()
    assert server.requests[0].headers["openai-organization"] == "org-1"
    assert "openai-project" not in server.requests[0].headers


def test_organization_for_a_non_openai_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        Client.anthropic(KEY, organization="org-1", env={})
    assert (
        str(info.value)
        == "organization= and project= are OpenAI settings; provider 'anthropic' has no use for them"
    )


def test_user_headers_override_the_organization_header() -> None:
    with FakeServer.openai() as server:
        with Client.compatible(
            server.url, model="m", organization="org-1", headers={"OpenAI-Organization": "org-2"}, env={}
        ) as client:
            client.chat().user("hi").send()
    assert server.requests[0].headers["openai-organization"] == "org-2"


# -- CA bundles ---------------------------------------------------------------------------------


def test_ca_bundle_precedence(tmp_path: Path) -> None:
    ours, requests_bundle, explicit = (tmp_path / n for n in ("ours.pem", "requests.pem", "explicit.pem"))
    for path in (ours, requests_bundle, explicit):
        path.write_text("-----BEGIN CERTIFICATE-----\n")
    both = {"RELAY_LITE_CA_BUNDLE": str(ours), "REQUESTS_CA_BUNDLE": str(requests_bundle)}
    assert ClientConfig.resolve(
        api_key=KEY, env={"REQUESTS_CA_BUNDLE": str(requests_bundle)}
    ).ca_bundle == str(requests_bundle)
    assert ClientConfig.resolve(api_key=KEY, env=both).ca_bundle == str(ours)
    assert ClientConfig.resolve(api_key=KEY, ca_bundle=str(explicit), env=both).ca_bundle == str(explicit)


def test_missing_requests_ca_bundle_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.pem")
    with pytest.raises(ConfigError) as info:
        ClientConfig.resolve(api_key=KEY, env={"REQUESTS_CA_BUNDLE": missing})
    assert str(info.value) == f"REQUESTS_CA_BUNDLE={missing!r} is not a readable file"


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


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
def https_server(certificate: tuple[Path, Path]) -> Iterator[FakeServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FakeServer(ssl_context=context) as server:
        yield server


def https_client(server: FakeServer, env: dict[str, str]) -> Client:
    return Client.compatible(server.url + "/v1", model="m", retry=RetryPolicy(max_retries=0), env=env)


@needs_openssl
def test_requests_ca_bundle_makes_the_certificate_trusted(https_server: FakeServer, certificate) -> None:
    https_server.add(Reply.json({"choices": [{"message": {"content": "secure"}}]}))
    with https_client(https_server, {"REQUESTS_CA_BUNDLE": str(certificate[0])}) as client:
        assert client.chat().user("hi").send().text == "secure"


@needs_openssl
def test_ssl_cert_file_works_through_openssl_defaults(
    https_server: FakeServer, certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a CA bundle relay_lite passes none to urllib3, which then loads OpenSSL's
    # default verify paths; OpenSSL reads SSL_CERT_FILE from the process environment then.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    https_server.add(Reply.json({"choices": [{"message": {"content": "trusted by SSL_CERT_FILE"}}]}))
    with https_client(https_server, {}) as client:
        assert client.config.ca_bundle is None
        assert client.chat().user("hi").send().text == "trusted by SSL_CERT_FILE"


@needs_openssl
def test_a_configured_bundle_replaces_ssl_cert_file(
    https_server: FakeServer, certificate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
         "-keyout", str(tmp_path / "other.key"), "-out", str(other)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    with https_client(https_server, {"REQUESTS_CA_BUNDLE": str(other)}) as client:
        with pytest.raises(ConnectError) as info:
            client.chat().user("hi").send()
    assert "TLS handshake with 127.0.0.1" in str(info.value)


@needs_openssl
def test_without_any_bundle_the_self_signed_server_is_refused(https_server: FakeServer, monkeypatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with https_client(https_server, {}) as client:
        with pytest.raises(ConnectError):
            client.chat().user("hi").send()
    assert https_server.requests == []
