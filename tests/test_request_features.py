"""Request features as typed builder methods (issue 16): the exact JSON each protocol
sends, and the ConfigError naming the provider where a protocol has no such field."""

from __future__ import annotations

import base64
from typing import Any

import pytest

import relay_lite
from relay_lite import ConfigError, ImagePart
from relay_lite.testing import FakeServer

# The first bytes of a real PNG (signature + IHDR chunk of a 1x1 image).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
PNG_B64 = base64.b64encode(PNG).decode("ascii")


def body(provider: str, build: Any, *, stream: bool = False) -> Any:
    client = relay_lite.Client(provider, api_key="k", base_url="https://x.example/v1", model="m", env={})
    request = build(client.chat().user("hi"))
    return client.adapter.chat_call(request.params, stream=stream).body


def test_openai_sends_reasoning_effort_n_and_parallel_tool_calls() -> None:
    sent = body("openai", lambda r: r.reasoning_effort("low").n(2).parallel_tool_calls(False))
    assert sent == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "reasoning_effort": "low",
        "n": 2,
        "parallel_tool_calls": False,
    }


def test_anthropic_sends_thinking_and_disable_parallel_tool_use() -> None:
    sent = body("anthropic", lambda r: r.max_tokens(4096).thinking(2048).parallel_tool_calls(False))
    assert sent == {
        "model": "m",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    }


def test_anthropic_keeps_a_named_tool_choice_when_disabling_parallel_calls() -> None:
    sent = body("anthropic", lambda r: r.tool_choice("weather").parallel_tool_calls(False))
    assert sent["tool_choice"] == {"type": "tool", "name": "weather", "disable_parallel_tool_use": True}


def test_anthropic_parallel_tool_calls_true_sends_nothing() -> None:
    assert "tool_choice" not in body("anthropic", lambda r: r.parallel_tool_calls(True))


@pytest.mark.parametrize(
    ("provider", "build", "message"),
    [
        (
            "openai",
            lambda r: r.thinking(2048),
            "a thinking budget is an Anthropic setting; openai (OpenAI protocol) takes reasoning_effort",
        ),
        (
            "azure",
            lambda r: r.thinking(2048),
            "a thinking budget is an Anthropic setting; azure (OpenAI protocol) takes reasoning_effort",
        ),
        (
            "anthropic",
            lambda r: r.reasoning_effort("high"),
            "reasoning_effort is not supported by the Anthropic Messages API; use thinking(budget_tokens)",
        ),
        (
            "anthropic",
            lambda r: r.n(3),
            "the Anthropic Messages API returns one choice; n=3 is not supported",
        ),
        (
            "anthropic",
            lambda r: r.thinking(4096),
            "Anthropic needs the thinking budget (4096) below max_tokens (4096); raise max_tokens",
        ),
        ("modelrelay", lambda r: r.n(2), "n is not supported by ModelRelay /llm/proxy"),
        ("modelrelay", lambda r: r.thinking(2048), "thinking is not supported by ModelRelay /llm/proxy"),
    ],
)
def test_a_feature_the_protocol_lacks_is_refused_naming_the_provider(
    provider: str, build: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        body(provider, lambda r: build(r.max_tokens(4096)))
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda r: r.reasoning_effort("extreme"),
            "reasoning_effort must be one of minimal, low, medium, high, got 'extreme'",
        ),
        (lambda r: r.thinking(100), "thinking budget_tokens must be a whole number >= 1024, got 100"),
        (lambda r: r.n(0), "n must be a whole number >= 1, got 0"),
        (lambda r: r.n(True), "n must be a whole number >= 1, got True"),
        (lambda r: r.parallel_tool_calls("no"), "parallel_tool_calls must be True or False, got 'no'"),
    ],
)
def test_bad_feature_values_are_config_errors(build: Any, message: str) -> None:
    client = relay_lite.Client("openai", api_key="k", env={})
    with pytest.raises(ConfigError) as info:
        build(client.chat())
    assert str(info.value) == message


# -- raw image bytes ----------------------------------------------------------------------------


def test_raw_png_bytes_become_base64_with_the_sniffed_media_type_for_openai() -> None:
    sent = body("openai", lambda r: r.user("look", images=[PNG]))
    assert sent["messages"][1] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG_B64}},
        ],
    }


def test_raw_png_bytes_become_a_base64_source_for_anthropic() -> None:
    sent = body("anthropic", lambda r: r.user("look", images=[PNG]))
    # Anthropic needs alternating roles, so the two user turns are sent as one.
    assert sent["messages"][0]["content"][2] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
    }


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_image_bytes_media_type_is_read_from_the_signature(head: bytes, media_type: str) -> None:
    assert ImagePart(data=head).media_type == media_type  # type: ignore[arg-type]


def test_unknown_image_bytes_need_a_media_type() -> None:
    with pytest.raises(
        ConfigError, match="^ImagePart bytes are not PNG, JPEG, GIF or WebP; pass media_type="
    ):
        ImagePart(data=b"%PDF-1.7")  # type: ignore[arg-type]
    part = ImagePart(data=b"BM\x00", media_type="image/bmp")  # type: ignore[arg-type]
    assert (part.data, part.media_type) == ("Qk0A", "image/bmp")


def test_an_image_of_another_type_is_a_config_error_not_a_type_error() -> None:
    client = relay_lite.Client("openai", api_key="k", env={})
    with pytest.raises(ConfigError, match="^an image is a URL, bytes or an ImagePart, got int$"):
        client.chat().user("look", images=[42])  # type: ignore[list-item]


def test_raw_image_bytes_reach_the_server_as_json() -> None:
    with FakeServer.openai() as server:
        with relay_lite.Client.openai(api_key="k", base_url=server.url, env={}) as client:
            client.chat().user("look", images=[PNG]).send()
        part = server.requests[0].json()["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG_B64}}
