"""Request features as typed builder methods (issue 16): the exact JSON each protocol
sends, and the ConfigError naming the provider where a protocol has no such field."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import relay_lite
from relay_lite import ConfigError, DocumentPart, ImagePart
from relay_lite.testing import FakeServer, Reply

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


# -- prompt caching -----------------------------------------------------------------------------

TOOL = {"name": "weather", "description": "Weather by city", "parameters": {"type": "object"}}


def test_anthropic_cache_marks_on_system_message_and_tools() -> None:
    client = relay_lite.Client("anthropic", api_key="k", model="m", env={})
    request = (
        client.chat()
        .system("You are terse.", cache=True)
        .user("Long document ...")
        .cache()
        .user("Question?")
        .tools([TOOL], cache=True)
    )
    sent = client.adapter.chat_call(request.params, stream=False).body
    assert sent == {
        "model": "m",
        "max_tokens": 4096,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Long document ...", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Question?"},
                ],
            }
        ],
        "tools": [
            {
                "name": "weather",
                "description": "Weather by city",
                "input_schema": {"type": "object"},
                "cache_control": {"type": "ephemeral"},
            }
        ],
    }


def test_anthropic_unmarked_system_stays_a_string() -> None:
    client = relay_lite.Client("anthropic", api_key="k", model="m", env={})
    request = client.chat().system("a").system("b").user("hi").cache()
    sent = client.adapter.chat_call(request.params, stream=False).body
    assert sent["system"] == "a\n\nb"
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
    ]


def test_cache_before_any_message_is_a_config_error() -> None:
    client = relay_lite.Client("anthropic", api_key="k", env={})
    with pytest.raises(ConfigError, match="^cache\\(\\) marks the message added last; add a message first$"):
        client.chat().cache()


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            "openai",
            "cache marks are an Anthropic setting; openai (OpenAI protocol) caches long prompts by itself "
            "and reports usage.cached_input_tokens",
        ),
        ("modelrelay", "cache is not supported by ModelRelay /llm/proxy"),
    ],
)
def test_cache_marks_are_refused_where_the_protocol_has_none(provider: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        body(provider, lambda r: r.cache())
    assert str(info.value) == message


def test_cache_tokens_of_a_cached_anthropic_call_reach_usage_streamed_and_not() -> None:
    # Usage as the Messages API reports a cache read (docs: prompt caching, "Tracking
    # cache performance"): input_tokens excludes the cached and the newly cached tokens.
    usage = {
        "input_tokens": 21,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1888,
        "output_tokens": 5,
    }
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Short."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = (
        f"event: message_start\ndata: {json.dumps({'type': 'message_start', 'message': start})}\n\n"
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        '"content_block":{"type":"text","text":""}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"Short."}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
        '"stop_sequence":null},"usage":{"output_tokens":5}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    with FakeServer() as server:
        server.add(Reply.json(message), Reply.sse([events]))
        with relay_lite.Client.anthropic(api_key="k", base_url=server.url, env={}) as client:
            whole = client.chat().system("doc", cache=True).user("q").send()
            streamed = client.chat().system("doc", cache=True).user("q").stream().response
    for reply in (whole, streamed):
        assert (reply.text, reply.usage.input_tokens, reply.usage.output_tokens) == ("Short.", 21, 5)
        assert (reply.usage.cached_input_tokens, reply.usage.cache_creation_input_tokens) == (1888, 0)


# -- PDF documents ------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PDF_B64 = base64.b64encode(PDF).decode("ascii")


def test_openai_sends_pdf_bytes_as_a_file_part_with_base64_data() -> None:
    sent = body(
        "openai", lambda r: r.user("Summarise.", documents=[DocumentPart(data=PDF, filename="q3.pdf")])
    )  # type: ignore[arg-type]
    assert sent["messages"][1] == {
        "role": "user",
        "content": [
            {
                "type": "file",
                "file": {"filename": "q3.pdf", "file_data": "data:application/pdf;base64," + PDF_B64},
            },
            {"type": "text", "text": "Summarise."},
        ],
    }


def test_anthropic_sends_pdf_bytes_and_urls_as_document_blocks() -> None:
    client = relay_lite.Client("anthropic", api_key="k", model="m", env={})
    request = client.chat().user("Compare.", documents=[PDF, "https://example.com/a.pdf"])
    sent = client.adapter.chat_call(request.params, stream=False).body
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                },
                {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
                {"type": "text", "text": "Compare."},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("openai", "the OpenAI protocol takes PDF documents as data, not by URL; pass the PDF's bytes"),
        ("modelrelay", "ModelRelay /llm/proxy messages carry text only; documents are not supported"),
    ],
)
def test_a_pdf_by_url_is_refused_where_the_protocol_cannot_take_it(provider: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        body(provider, lambda r: r.user("x", documents=["https://example.com/a.pdf"]))
    assert str(info.value) == message


def test_bytes_that_are_not_a_pdf_are_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match="^DocumentPart bytes are not a PDF \\(they do not start with %PDF-\\)$"
    ):
        DocumentPart(data=PNG)  # type: ignore[arg-type]


def test_a_pdf_reaches_the_anthropic_fake_server() -> None:
    with FakeServer.anthropic() as server:
        with relay_lite.Client.anthropic(api_key="k", base_url=server.url, env={}) as client:
            client.chat().user("Summarise.", documents=[PDF]).send()
        block = server.requests[0].json()["messages"][0]["content"][0]
    assert block["source"]["data"] == PDF_B64


# -- logprobs -------------------------------------------------------------------------------------


def test_openai_sends_logprobs_and_top_logprobs() -> None:
    assert body("openai", lambda r: r.logprobs(top=2))["logprobs"] is True
    assert body("openai", lambda r: r.logprobs(top=2))["top_logprobs"] == 2
    plain = body("openai", lambda r: r.logprobs())
    assert (plain["logprobs"], "top_logprobs" in plain) == (True, False)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("anthropic", "logprobs are not supported by the Anthropic Messages API"),
        ("modelrelay", "logprobs is not supported by ModelRelay /llm/proxy"),
    ],
)
def test_logprobs_are_refused_where_the_protocol_has_none(provider: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        body(provider, lambda r: r.logprobs(1))
    assert str(info.value) == message


# A chat completion with logprobs=true, top_logprobs=1, as OpenAI documents it (the
# "logprobs" object of the chat completion reference; bytes are the token's UTF-8).
LOGPROBS_REPLY = (
    b'{"id":"chatcmpl-9","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"message":{"role":"assistant","content":"Hi!","refusal":null},'
    b'"logprobs":{"content":[{"token":"Hi","logprob":-0.0031,"bytes":[72,105],'
    b'"top_logprobs":[{"token":"Hi","logprob":-0.0031,"bytes":[72,105]}]},'
    b'{"token":"!","logprob":-1.2,"bytes":[33],"top_logprobs":[{"token":".","logprob":-0.4,"bytes":[46]}]}],'
    b'"refusal":null},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}'
)

# The same reply streamed: each chunk's choice carries the logprobs of its own tokens.
LOGPROBS_STREAM = (
    b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"","refusal":null},"logprobs":{"content":[],"refusal":null},'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,'
    b'"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.0031,"bytes":[72,105],'
    b'"top_logprobs":[{"token":"Hi","logprob":-0.0031,"bytes":[72,105]}]}],"refusal":null},'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,'
    b'"delta":{"content":"!"},"logprobs":{"content":[{"token":"!","logprob":-1.2,"bytes":[33],'
    b'"top_logprobs":[{"token":".","logprob":-0.4,"bytes":[46]}]}],"refusal":null},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,'
    b'"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)

EXPECTED_LOGPROBS = (
    relay_lite.TokenLogprob("Hi", -0.0031, (72, 105), (relay_lite.TokenLogprob("Hi", -0.0031, (72, 105)),)),
    relay_lite.TokenLogprob("!", -1.2, (33,), (relay_lite.TokenLogprob(".", -0.4, (46,)),)),
)


@pytest.mark.parametrize("chunk_size", [None, 1])
def test_logprobs_are_parsed_whole_and_streamed(chunk_size: Any) -> None:
    stream_chunks = (
        [LOGPROBS_STREAM]
        if chunk_size is None
        else [LOGPROBS_STREAM[i : i + 1] for i in range(len(LOGPROBS_STREAM))]
    )
    with FakeServer() as server:
        server.add(Reply(body=LOGPROBS_REPLY, headers={"Content-Type": "application/json"}))
        server.add(Reply.sse(list(stream_chunks)))
        with relay_lite.Client.openai(api_key="k", base_url=server.url, env={}) as client:
            whole = client.chat().user("hi").logprobs(1).send()
            streamed = client.chat().user("hi").logprobs(1).stream().response
    assert whole.logprobs == EXPECTED_LOGPROBS
    assert (streamed.text, streamed.logprobs) == ("Hi!", EXPECTED_LOGPROBS)


def test_a_reply_without_logprobs_has_none() -> None:
    with FakeServer.openai() as server:
        with relay_lite.Client.openai(api_key="k", base_url=server.url, env={}) as client:
            assert client.chat().user("hi").send().logprobs is None


def test_a_logprob_that_is_not_a_number_is_a_typed_error_not_a_type_error() -> None:
    bad = LOGPROBS_REPLY.replace(b'"logprob":-1.2', b'"logprob":"-1.2"')
    with FakeServer() as server:
        server.add(Reply(body=bad, headers={"Content-Type": "application/json"}))
        with relay_lite.Client.openai(api_key="k", base_url=server.url, env={}) as client:
            with pytest.raises(relay_lite.RelayError) as info:
                client.chat().user("hi").logprobs(1).send()
    assert "choices[0].logprobs.content[1].logprob" in str(info.value)


# -- end user id ------------------------------------------------------------------------------


def test_end_user_is_openais_user_and_anthropics_metadata_user_id() -> None:
    assert body("openai", lambda r: r.end_user("u-42"))["user"] == "u-42"
    sent = body("anthropic", lambda r: r.end_user("u-42"))
    assert sent["metadata"] == {"user_id": "u-42"}


def test_end_user_is_refused_by_modelrelay_and_must_be_text() -> None:
    with pytest.raises(ConfigError) as info:
        body("modelrelay", lambda r: r.end_user("u-42"))
    assert str(info.value) == "end_user is not supported by ModelRelay /llm/proxy"
    client = relay_lite.Client("openai", api_key="k", env={})
    with pytest.raises(ConfigError, match="^end_user needs a non-empty string id, got ''$"):
        client.chat().end_user("")


@pytest.mark.parametrize(
    "name", ["count_tokens", "client", "with_params", "send", "messages", "_client", "nope"]
)
def test_generate_refuses_a_keyword_that_is_not_a_parameter_setter(name: str) -> None:
    client = relay_lite.Client.compatible("http://127.0.0.1:9", api_key="k", model="m")
    with pytest.raises(relay_lite.ConfigError, match=f"generate\\(\\) got an unknown parameter '{name}'"):
        client.generate("hi", **{name: 1})
