"""Nothing an attacker controls in a value can change the request: CR/LF and control
characters in headers, request ids and base URLs are refused before a byte is sent."""

from __future__ import annotations

import pytest

from relay_lite import Client, ConfigError
from relay_lite.testing import FakeServer


@pytest.fixture
def server():
    with FakeServer.openai() as fake:
        yield fake


@pytest.mark.parametrize(
    "suffix", ["/v1\r\nX-Evil: 1", "/v1\nX-Evil: 1", "/v1\tx", "/v 1", "/v1\x00", "/v1\x7f"]
)
def test_base_url_with_a_control_character_is_refused_before_sending(server, suffix):
    with pytest.raises(ConfigError) as info:
        Client.compatible(server.url + suffix, model="m")
    assert str(info.value) == "base_url contains a space or control character (CR, LF, tab, ...)"
    assert server.requests == []


def test_base_url_from_the_environment_with_crlf_names_the_variable(server):
    with pytest.raises(ConfigError) as info:
        Client("compatible", env={"RELAY_LITE_BASE_URL": server.url + "/v1\r\nX-Evil: 1"}, model="m")
    assert str(info.value).startswith("RELAY_LITE_BASE_URL contains a space or control character")


def test_surrounding_whitespace_of_a_pasted_base_url_is_trimmed(server):
    client = Client.compatible(f"  {server.url}/v1/ \n", model="m")
    assert client.config.base_url == f"{server.url}/v1"


@pytest.mark.parametrize(
    "build",
    [
        lambda c: c.chat().user("x").request_id("id\r\nX-Evil: 1"),
        lambda c: c.chat().user("x").headers({"X-Trace": "a\nX-Evil: 1"}),
        lambda c: c.chat().user("x").headers({"X-Bad\r\nName": "v"}),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_crlf_in_a_header_or_request_id_is_refused_before_sending(server, build, stream):
    client = Client.compatible(server.url, model="m")
    request = build(client)
    with pytest.raises(ConfigError) as info:
        request.stream() if stream else request.send()
    assert "contains CR, LF or another forbidden character" in str(info.value)
    assert server.requests == []
