"""Client.gemini(): Google's OpenAI-compatible endpoint as a preset (issue 16)."""

from __future__ import annotations

import relay_lite
from relay_lite.testing import FakeServer


def test_gemini_preset_points_at_googles_openai_endpoint() -> None:
    client = relay_lite.Client.gemini(env={"GEMINI_API_KEY": "gem-key-123"})
    assert client.config.base_url == "https://generativelanguage.googleapis.com/v1beta/openai"
    assert (client.config.protocol, client.config.model) == ("openai", "gemini-2.5-flash")
    assert client.config.api_key == "gem-key-123"


def test_google_api_key_is_read_when_gemini_api_key_is_unset() -> None:
    client = relay_lite.Client.gemini(env={"GOOGLE_API_KEY": "google-key-456"})
    assert client.config.api_key == "google-key-456"


def test_gemini_api_key_wins_over_google_api_key() -> None:
    client = relay_lite.Client.gemini(env={"GEMINI_API_KEY": "gem", "GOOGLE_API_KEY": "google"})
    assert client.config.api_key == "gem"


def test_gemini_sends_a_bearer_key_and_max_tokens_to_chat_completions() -> None:
    with FakeServer.openai() as server:
        with relay_lite.Client.gemini(api_key="gem-key", base_url=server.url, env={}) as client:
            client.chat().user("hi").max_tokens(50).reasoning_effort("low").send()
        request = server.requests[0]
    assert request.path == "/chat/completions"
    assert request.headers["authorization"] == "Bearer gem-key"
    assert request.json() == {
        "model": "gemini-2.5-flash",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 50,
        "reasoning_effort": "low",
    }
