"""Base URLs with a query string, and Anthropic base URLs ending in /v1 (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

import relay_lite
from relay_lite._urls import join_url, split_query
from relay_lite.testing import FakeServer


def test_query_goes_after_the_path_not_into_it() -> None:
    base, query = split_query("https://x.example/openai/deployments/d?api-version=2024-10-21")
    url = join_url(base, query, "/chat/completions")
    assert url == "https://x.example/openai/deployments/d/chat/completions?api-version=2024-10-21"


def test_query_of_the_call_is_appended_after_the_base_urls() -> None:
    base, query = split_query("https://x.example/v1?tenant=acme&region=eu")
    assert (
        join_url(base, query, "/models?limit=5")
        == "https://x.example/v1/models?tenant=acme&region=eu&limit=5"
    )


def test_slash_before_query_and_fragment_are_dropped() -> None:
    assert split_query("https://x.example/v1/?a=1#frag") == ("https://x.example/v1", "a=1")


def test_base_url_without_query_is_joined_unchanged() -> None:
    assert join_url(*split_query("https://x.example/v1"), "/chat/completions") == (
        "https://x.example/v1/chat/completions"
    )


def test_percent_encoded_query_is_sent_byte_for_byte() -> None:
    base, query = split_query("https://x.example/v1?sig=a%2Fb%3D&x=%20")
    assert join_url(base, query, "/p") == "https://x.example/v1/p?sig=a%2Fb%3D&x=%20"


@pytest.mark.parametrize("provider", ["openai", "compatible", "openrouter"])
def test_openai_protocol_keeps_the_query_on_every_request(provider: str) -> None:
    with FakeServer.openai() as server:
        client = relay_lite.Client(provider, api_key="k", base_url=server.url + "/v1?tenant=acme", model="m")
        with client:
            client.chat().user("hi").send()
            client.chat().user("hi").stream().text()
        assert [r.path for r in server.requests] == ["/v1/chat/completions?tenant=acme"] * 2


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_anthropic_base_url_with_or_without_v1_gives_v1_messages(suffix: str) -> None:
    with FakeServer.anthropic() as server:
        with relay_lite.Client.anthropic(api_key="k", base_url=server.url + suffix) as client:
            assert client.chat().user("hi").send().text
        assert server.requests[0].path == "/v1/messages"


def test_anthropic_base_url_with_v1_and_query_keeps_the_query() -> None:
    with FakeServer.anthropic() as server:
        with relay_lite.Client.anthropic(api_key="k", base_url=server.url + "/v1/?beta=1") as client:
            client.chat().user("hi").send()
        assert server.requests[0].path == "/v1/messages?beta=1"


def test_anthropic_gateway_path_ending_in_v1_keeps_its_prefix() -> None:
    with FakeServer.anthropic() as server:
        options: dict[str, Any] = {"api_key": "k", "base_url": server.url + "/gateway/anthropic/v1"}
        with relay_lite.Client.anthropic(**options) as client:
            client.chat().user("hi").send()
        assert server.requests[0].path == "/gateway/anthropic/v1/messages"
