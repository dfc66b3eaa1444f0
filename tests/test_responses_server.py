"""``client.responses()`` end to end over real sockets against ``FakeServer.openai()``."""

# Wire bodies stay one line each, as sent.
# ruff: noqa: E501
from __future__ import annotations

from dataclasses import dataclass

import pytest

from relay_lite import (
    Client,
    ConfigError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    StreamError,
    TextDelta,
    ToolCall,
    TruncatedOutputError,
    Usage,
)
from relay_lite.testing import ChatScript, FakeServer, Reply


@dataclass
class Person:
    name: str
    age: int


@pytest.fixture
def server():
    with FakeServer.openai() as fake:
        yield fake


@pytest.fixture
def client(server):
    with Client.openai(
        api_key="sk-test", base_url=server.url + "/v1", model="gpt-5-mini", retry=RetryPolicy(backoff=0.01)
    ) as c:
        yield c


def test_send_posts_to_v1_responses_and_reads_the_reply(server, client) -> None:
    reply = client.responses().system("Be brief.").user("hello").temperature(0.5).send()
    assert reply.text == "Echo: hello"
    assert reply.id == "resp_echo_1"
    assert (reply.finish_reason, reply.status, reply.request_id) == ("stop", 200, "req_fake")
    request = server.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/responses")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json() == {
        "model": "gpt-5-mini",
        "instructions": "Be brief.",
        "input": [{"type": "message", "role": "user", "content": "hello"}],
        "temperature": 0.5,
    }


def test_chat_on_the_same_client_still_uses_chat_completions(server, client) -> None:
    client.responses().user("a").send()
    assert client.chat().user("b").send().text == "Echo: b"
    assert [r.path for r in server.requests] == ["/v1/responses", "/v1/chat/completions"]


def test_the_responses_request_shares_the_clients_pool_and_hooks(client) -> None:
    seen = []
    client.on("usage", seen.append)
    request = client.responses()
    assert request.client.transport is client.transport
    assert request.client.session.hooks is client.session.hooks
    request.user("hi").send()
    assert [u.usage.output_tokens for u in seen] == [2]


def test_stream_yields_text_and_the_reply_with_usage(server, client) -> None:
    server.add(
        ChatScript(
            text="Grüße aus Köln",
            thinking="Greeting in German.",
            usage=Usage(20, 8, 28, cached_input_tokens=16, reasoning_tokens=3),
            id="resp_s1",
        )
    )
    with client.responses().user("greet").reasoning_effort("low").stream() as stream:
        pieces = list(stream.text())
    assert pieces == ["Grüß", "e au", "s Kö", "ln"]
    reply = stream.response
    assert (reply.text, reply.thinking, reply.id) == ("Grüße aus Köln", "Greeting in German.", "resp_s1")
    assert reply.usage == Usage(20, 8, 28, cached_input_tokens=16, reasoning_tokens=3)
    body = server.requests[-1].json()
    assert (body["stream"], body["reasoning"]) == (True, {"effort": "low"})


def test_stream_sent_one_byte_per_chunk_reads_the_same(server, client) -> None:
    server.add(ChatScript(text="one byte at a time", split_bytes=1))
    with client.responses().user("x").stream() as stream:
        assert "".join(e.text for e in stream if isinstance(e, TextDelta)) == "one byte at a time"


def test_tool_round_trip_sends_function_call_and_function_call_output_items(server, client) -> None:
    tools = [{"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    request = client.responses().tools(tools).user("cats")
    first = request.send()
    assert first.tool_calls == (ToolCall("call_echo_1", "lookup", {"q": "cats"}, '{"q": "cats"}'),)
    assert first.finish_reason == "tool_calls"
    second = request.messages([first.message]).tool_result("call_echo_1", {"found": 3}).send()
    assert second.text == 'Echo: tool said {"found": 3}'
    assert server.requests[-1].json()["input"][1:] == [
        {"type": "function_call", "call_id": "call_echo_1", "name": "lookup", "arguments": '{"q": "cats"}'},
        {"type": "function_call_output", "call_id": "call_echo_1", "output": '{"found": 3}'},
    ]
    assert server.requests[-1].json()["tools"][0]["strict"] is False


def test_streamed_tool_call_arrives_whole(server, client) -> None:
    call = ToolCall("call_7", "lookup", {"q": "a long query"}, '{"q": "a long query"}')
    server.add(ChatScript(tool_calls=[call], chunk_size=3))
    with client.responses().tools([{"name": "lookup"}]).user("x").stream() as stream:
        events = list(stream)
    assert stream.response.tool_calls == (call,)
    assert sum(1 for e in events if type(e).__name__ == "ToolCallDelta") == 1 + 7


def test_structured_output_goes_through_text_format(server, client) -> None:
    server.add(ChatScript(text='{"name": "John Doe", "age": 30}'))
    result = client.responses().user("John Doe is 30").structured(Person).send()
    assert result.value == Person("John Doe", 30)
    assert server.requests[-1].json()["text"]["format"]["type"] == "json_schema"
    assert server.requests[-1].json()["text"]["format"]["name"] == "Person"


def test_structured_stream_yields_updates_and_the_value(server, client) -> None:
    server.add(ChatScript(text='{"name": "Ann", "age": 7}'))
    updates = list(client.responses().user("x").structured(Person).stream())
    assert updates[-1].done and updates[-1].value == Person("Ann", 7)
    assert updates[-1].complete_fields == ("name", "age")


def test_incomplete_structured_reply_raises_truncated_output_error(server, client) -> None:
    server.add(ChatScript(text='{"name": "Jo', finish_reason="length"))
    with pytest.raises(TruncatedOutputError, match="cut off by the token limit"):
        client.responses().user("x").max_tokens(5).structured(Person).send()
    assert server.requests[-1].json()["max_output_tokens"] == 5
    server.add(ChatScript(text='{"name": "Jo', finish_reason="length"))
    with pytest.raises(TruncatedOutputError):
        list(client.responses().user("x").structured(Person).stream())


def test_previous_response_id_and_store_are_sent_from_extra_body(server, client) -> None:
    first = client.responses().user("My name is Ann.").send()
    client.responses().user("What is my name?").extra_body(
        {"previous_response_id": first.id, "store": True}
    ).send()
    body = server.requests[-1].json()
    assert (body["previous_response_id"], body["store"]) == ("resp_echo_1", True)


def test_error_event_mid_stream_raises_a_typed_error_with_the_partial_reply(server, client) -> None:
    error = {"type": "tokens", "code": "rate_limit_exceeded", "message": "Rate limit reached."}
    server.add(ChatScript(text="Half of it", error=error, error_after=2))
    with pytest.raises(RateLimitError) as caught:
        with client.responses().user("x").stream() as stream:
            list(stream)
    assert caught.value.partial.text == "Half of "
    assert (caught.value.code, caught.value.request_id) == ("rate_limit_exceeded", "req_fake")


def test_response_failed_mid_stream_raises_a_typed_error_with_the_partial_reply(server, client) -> None:
    server.add(ChatScript(text="abcdefgh", error={"code": "server_error", "message": "Boom."}, error_after=1))
    with pytest.raises(ServerError, match="Boom.") as caught:
        list(client.responses().user("x").stream())
    assert caught.value.partial.text == "abcd"


def test_a_stream_cut_before_response_completed_is_a_stream_error_with_the_partial(server, client) -> None:
    server.add(ChatScript(text="abcdefgh", cut_after=5))
    with pytest.raises(StreamError) as caught:
        list(client.responses().user("x").stream())
    assert caught.value.partial.text == "abcd"


def test_http_error_statuses_map_as_on_openai(server, client) -> None:
    body = {"error": {"message": "Quota gone.", "type": "insufficient_quota", "code": "insufficient_quota"}}
    server.add(Reply.json(body, status=429))
    with pytest.raises(RateLimitError) as caught:
        client.responses().user("x").send()
    assert caught.value.quota_exhausted


def test_hand_written_incomplete_stream_over_the_wire_raises_truncated_output_error(server, client) -> None:
    # The shape OpenAI sends when max_output_tokens runs out mid-JSON.
    server.add(
        Reply.sse(
            [
                b'event: response.created\ndata: {"type":"response.created","sequence_number":0,'
                b'"response":{"id":"resp_t","object":"response","status":"in_progress","model":"gpt-5-mini","output":[]}}\n\n',
                b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,'
                b'"item_id":"msg_1","output_index":0,"content_index":0,"delta":"{\\"name\\": \\"J","logprobs":[]}\n\n',
                b'event: response.incomplete\ndata: {"type":"response.incomplete","sequence_number":2,'
                b'"response":{"id":"resp_t","object":"response","status":"incomplete",'
                b'"incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-5-mini","output":[],'
                b'"usage":{"input_tokens":9,"output_tokens":5,"total_tokens":14}}}',  # no final blank line
            ]
        )
    )
    with pytest.raises(TruncatedOutputError) as caught:
        list(client.responses().user("x").structured(Person).stream())
    assert caught.value.responses[0].text == '{"name": "J'
    assert caught.value.responses[0].usage == Usage(9, 5, 14)


def test_responses_on_an_anthropic_client_is_a_config_error() -> None:
    client = Client.anthropic(api_key="k", model="m")
    with pytest.raises(ConfigError) as caught:
        client.responses()
    assert str(caught.value) == "responses() needs an OpenAI-protocol client; 'anthropic' speaks 'anthropic'"


def test_chat_settings_without_a_responses_field_are_refused_before_sending(server, client) -> None:
    with pytest.raises(ConfigError, match="has no stop sequences"):
        client.responses().user("x").stop("END").send()
    assert server.requests == []


def test_import_relay_lite_loads_neither_the_responses_adapter_nor_its_fake() -> None:
    import subprocess
    import sys

    code = (
        "import sys, relay_lite; relay_lite.Client.compatible('http://127.0.0.1:9', model='m');"
        "print([m for m in ('relay_lite.protocols.openai_responses', 'relay_lite._fake_responses') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_responses_snippet_runs_and_prints_what_its_comments_say() -> None:
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("## OpenAI Responses API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    expected = [line.split("  # ", 1)[1] for line in snippet.splitlines() if "print(" in line]
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, check=True).stdout
    assert (
        out.splitlines() == expected == ["Echo: My name is Ann. resp_echo_1", "Echo: What is my name?", "9"]
    )


def test_a_refusal_part_makes_structured_raise_refusal_error(server, client) -> None:
    from relay_lite import RefusalError

    server.add(ChatScript(text="I can't help with that.", finish_reason="refusal"))
    with pytest.raises(RefusalError, match="I can't help with that."):
        client.responses().user("x").structured(Person).send()
    server.add(ChatScript(text="No.", finish_reason="refusal"))
    with client.responses().user("x").stream() as stream:
        assert list(stream.text()) == []
    assert (stream.response.refusal, stream.response.text) == ("No.", "")


def test_a_preset_naming_the_openai_responses_protocol_sends_chat_to_responses(server) -> None:
    from relay_lite import Preset, register_preset
    from relay_lite._config import PRESETS

    register_preset(
        Preset("responses-local", "openai_responses", server.url + "/v1", None, "m", key_required=False)
    )
    try:
        with Client("responses-local") as local:
            assert local.chat().user("hi").send().text == "Echo: hi"
            assert local.responses().user("again").send().text == "Echo: again"
    finally:
        del PRESETS["responses-local"]
    assert [r.path for r in server.requests] == ["/v1/responses", "/v1/responses"]


def test_count_tokens_posts_to_responses_input_tokens_and_reads_the_count(server, client) -> None:
    request = (
        client.responses()
        .system("Be brief.")
        .user("how many tokens here")
        .temperature(0.2)
        .max_tokens(50)
        .extra_body({"store": False})
    )
    # fake count: 3 + 2 words (instructions) + 3 + 4 words (the user message)
    assert request.count_tokens() == 12
    sent = server.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/responses/input_tokens")
    assert sent.json() == {
        "model": "gpt-5-mini",
        "instructions": "Be brief.",
        "input": [{"type": "message", "role": "user", "content": "how many tokens here"}],
    }


def test_the_fake_input_tokens_endpoint_refuses_a_field_it_does_not_take(server, client) -> None:
    import json

    import urllib3

    body = json.dumps({"model": "m", "input": "hi", "stream": True}).encode()
    with urllib3.PoolManager() as pool:
        answer = pool.request("POST", server.url + "/v1/responses/input_tokens", body=body)
    assert answer.status == 400
    assert json.loads(answer.data) == {
        "error": {
            "message": "Unknown parameter: 'stream'.",
            "type": "invalid_request_error",
            "param": "stream",
            "code": "unknown_parameter",
        }
    }


def test_a_tool_result_with_an_image_reaches_the_server_as_input_items(server, client) -> None:
    from relay_lite import ImagePart, Message, TextPart

    call = ToolCall("call_1", "chart", {}, "{}")
    result = Message("tool", (TextPart("chart:"), ImagePart(url="https://x/c.png")), tool_call_id="call_1")
    reply = client.responses().user("draw").assistant("", tool_calls=(call,)).with_message(result).send()
    assert reply.text == "Echo: tool said chart:"
    assert server.requests[-1].json()["input"][2] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": [
            {"type": "input_text", "text": "chart:"},
            {"type": "input_image", "image_url": "https://x/c.png", "detail": "auto"},
        ],
    }


def test_a_failed_whole_reply_says_status_200(server, client) -> None:
    failed = {
        "id": "resp_f",
        "object": "response",
        "status": "failed",
        "error": {"code": "server_error", "message": "The model failed to generate a response."},
        "output": [],
    }
    server.add(Reply.json(failed))
    with pytest.raises(ServerError) as caught:
        client.responses().user("hi").send()
    assert str(caught.value) == (
        "The model failed to generate a response. (status 200, code server_error, after 1 attempt)"
    )
