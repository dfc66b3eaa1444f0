"""Converse and ConverseStream end to end: relay_lite's client against FakeServer.bedrock()
over a real loopback socket, signed with SigV4 (checked by the fake) or a Bedrock API key."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest

import relay_lite
from relay_lite import RetryPolicy
from relay_lite._fake_bedrock import (
    FAKE_ACCESS_KEY_ID,
    FAKE_API_KEY,
    FAKE_SECRET_ACCESS_KEY,
    encode_message,
    error_reply,
    event_message,
)
from relay_lite._sigv4 import AWSCredentials, SigV4Authorizer
from relay_lite.testing import ChatScript, FakeServer, MockTransport, Reply

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
AWS_ENV = {
    "AWS_REGION": "us-west-2",
    "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
}
FAST_RETRY = RetryPolicy(max_retries=2, backoff=0.01, max_backoff=0.02)


@pytest.fixture
def server():
    with FakeServer.bedrock() as fake:
        yield fake


def client_for(server: FakeServer, **options) -> relay_lite.Client:
    options.setdefault("env", AWS_ENV)
    return relay_lite.Client.bedrock(model=MODEL, base_url=server.url, **options)


def test_converse_text_reply_over_sigv4_with_the_model_id_encoded_in_the_path(server):
    server.add(ChatScript(text="Hello from Bedrock", headers={"x-request-id": "req-123"}))
    reply = client_for(server).chat().system("Be brief.").user("Hi").temperature(0.5).max_tokens(64).send()
    assert reply.text == "Hello from Bedrock"
    assert (reply.finish_reason, reply.raw_finish_reason) == ("stop", "end_turn")
    assert reply.usage == relay_lite.Usage(input_tokens=10, output_tokens=5, total_tokens=15)
    assert reply.request_id == "req-123"
    assert reply.raw["metrics"] == {"latencyMs": 42}
    request = server.requests[0]
    # ":" of the model id is percent-encoded on the wire (and signed as %253A).
    assert request.path == "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={FAKE_ACCESS_KEY_ID}/")
    assert "/us-west-2/bedrock/aws4_request, SignedHeaders=" in request.headers["authorization"]
    assert request.json() == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.5},
    }


def test_an_arn_model_id_is_one_encoded_path_segment(server):
    arn = (
        "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    )
    assert client_for(server).chat(arn).user("Hi").send().text == "Echo: Hi"
    assert server.requests[0].path == (
        "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile"
        "%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    )


def test_a_wrong_secret_is_refused_by_the_fake_as_aws_does(server):
    env = dict(AWS_ENV, AWS_SECRET_ACCESS_KEY="not-the-secret")
    with pytest.raises(relay_lite.AuthenticationError) as info:
        client_for(server, env=env).chat().user("Hi").send()
    assert info.value.status == 403
    assert info.value.code == "InvalidSignatureException"
    assert info.value.message.startswith("The request signature we calculated does not match")
    assert "not-the-secret" not in str(info.value)


def test_a_bedrock_api_key_is_sent_as_a_bearer_token(server):
    client = client_for(server, env={"AWS_REGION": "eu-central-1", "AWS_BEARER_TOKEN_BEDROCK": FAKE_API_KEY})
    assert client.chat().user("Hi").send().text == "Echo: Hi"
    assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    assert FAKE_API_KEY not in repr(client)


def test_converse_stream_text_arrives_in_pieces_with_usage_and_latency(server):
    server.add(ChatScript(text="Hello there, world", chunk_size=5))
    with client_for(server).chat().user("Hi").stream() as stream:
        pieces = list(stream.text())
    assert pieces == ["Hello", " ther", "e, wo", "rld"]
    response = stream.response
    assert response.text == "Hello there, world"
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "end_turn")
    assert response.usage.total_tokens == 15
    assert response.raw == {
        "stopReason": "end_turn",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 42},
    }
    assert server.requests[0].path.endswith("%3A0/converse-stream")
    assert server.requests[0].headers["accept"] == "application/vnd.amazon.eventstream"


def test_converse_stream_split_into_three_byte_reads_decodes_the_same(server):
    server.add(ChatScript(text="Split across frames", split_bytes=3))
    with client_for(server).chat().user("Hi").stream() as stream:
        assert "".join(stream.text()) == "Split across frames"


def test_tool_calls_with_streamed_input_fragments_and_a_round_trip(server):
    call = relay_lite.ToolCall.from_json("tooluse_abc123", "get_weather", '{"city": "Paris", "unit": "C"}')
    server.add(ChatScript(tool_calls=[call], chunk_size=6))
    weather = relay_lite.ToolSpec(
        "get_weather", "Weather by city", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    client = client_for(server)
    request = client.chat().user("Weather in Paris?").tools([weather]).tool_choice("any")
    with request.stream() as stream:
        deltas = [e for e in stream if isinstance(e, relay_lite.ToolCallDelta)]
    assert deltas[0] == relay_lite.ToolCallDelta(0, "tooluse_abc123", "get_weather", '{"city')
    assert "".join(d.arguments_delta for d in deltas) == '{"city": "Paris", "unit": "C"}'
    reply = stream.response
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_calls[0].arguments == {"city": "Paris", "unit": "C"}
    assert server.requests[0].json()["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
                    "description": "Weather by city",
                }
            }
        ],
        "toolChoice": {"any": {}},
    }

    answer = request.messages([reply.message]).tool_result("tooluse_abc123", {"temperature_c": 18}).send()
    assert answer.text == 'Echo: tool said {"temperature_c": 18}'
    sent = server.requests[1].json()["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [
            {
                "toolUse": {
                    "toolUseId": "tooluse_abc123",
                    "name": "get_weather",
                    "input": {"city": "Paris", "unit": "C"},
                }
            }
        ],
    }
    assert sent[2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tooluse_abc123", "content": [{"text": '{"temperature_c": 18}'}]}}
        ],
    }


@dataclass
class City:
    name: str
    population: int


def test_structured_output_goes_through_a_forced_tool(server):
    call = relay_lite.ToolCall.from_json("tooluse_1", "City", '{"name": "Lyon", "population": 522000}')
    server.add(ChatScript(tool_calls=[call]))
    result = client_for(server).chat().user("Lyon's population?").structured(City).send()
    assert result.value == City("Lyon", 522000)
    tool_config = server.requests[0].json()["toolConfig"]
    assert tool_config["toolChoice"] == {"tool": {"name": "City"}}
    assert [t["toolSpec"]["name"] for t in tool_config["tools"]] == ["City"]


def test_structured_output_streams_through_a_forced_tool(server):
    call = relay_lite.ToolCall.from_json("tooluse_1", "City", '{"name": "Lyon", "population": 522000}')
    server.add(ChatScript(tool_calls=[call], chunk_size=7))
    updates = list(client_for(server).chat().user("Lyon?").structured(City).stream())
    assert updates[-1].done is True
    assert updates[-1].value == City("Lyon", 522000)


def test_an_exception_inside_the_stream_raises_its_error_with_the_partial_reply(server):
    server.add(
        ChatScript(
            text="The answer is forty-two",
            chunk_size=4,
            error={"type": "throttlingException", "message": "Too many tokens, please wait."},
            error_after=3,
            headers={"x-request-id": "req-stream-1"},
        )
    )
    with pytest.raises(relay_lite.RateLimitError) as info:
        with client_for(server).chat().user("Hi").stream() as stream:
            for _ in stream:
                pass
    error = info.value
    assert error.message == "Too many tokens, please wait."
    assert (error.status, error.code, error.request_id) == (None, "throttlingException", "req-stream-1")
    assert error.partial.text == "The answer i"
    assert len(server.requests) == 1  # never retried once the stream has begun


@pytest.mark.parametrize(
    ("exception", "cls"),
    [
        ("modelStreamErrorException", relay_lite.ServerError),
        ("validationException", relay_lite.BadRequestError),
        ("internalServerException", relay_lite.ServerError),
        ("serviceUnavailableException", relay_lite.ServerError),
    ],
)
def test_each_in_stream_exception_maps_to_its_error_class(server, exception, cls):
    server.add(ChatScript(text="abc", error={"type": exception, "message": "boom"}, error_after=1))
    with pytest.raises(cls) as info:
        _ = client_for(server).chat().user("Hi").stream().response
    assert type(info.value) is cls
    assert (info.value.code, info.value.message, info.value.partial.text) == (exception, "boom", "abc"[:4])


def stream_reply(*frames: bytes) -> Reply:
    return Reply(headers={"Content-Type": "application/vnd.amazon.eventstream"}, chunks=list(frames))


HEAD = (
    event_message("messageStart", {"role": "assistant"}),
    event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello "}}),
)
STOP = event_message("contentBlockStop", {"contentBlockIndex": 0})


def test_a_body_ending_inside_a_frame_raises_stream_error_with_the_partial_reply(server):
    server.add(stream_reply(*HEAD, STOP[:20]))
    with pytest.raises(relay_lite.StreamError) as info:
        _ = client_for(server).chat().user("Hi").stream().response
    offset = len(b"".join(HEAD))
    assert (
        info.value.message
        == f"event stream ended inside a message at byte {offset}: 20 of {len(STOP)} bytes arrived"
    )
    assert info.value.partial.text == "Hello "


def test_a_body_ending_between_frames_before_metadata_raises_stream_error(server):
    server.add(stream_reply(*HEAD, STOP, event_message("messageStop", {"stopReason": "end_turn"})))
    with pytest.raises(relay_lite.StreamError) as info:
        _ = client_for(server).chat().user("Hi").stream().response
    assert info.value.message == "stream ended before its terminator"
    assert (info.value.partial.text, info.value.partial.finish_reason) == ("Hello ", "stop")


def test_a_corrupt_frame_in_the_stream_raises_stream_error_with_the_partial_reply(server):
    corrupt = bytearray(STOP)
    corrupt[-6] ^= 0x01
    server.add(stream_reply(*HEAD, bytes(corrupt)))
    with pytest.raises(relay_lite.StreamError, match="message CRC mismatch") as info:
        _ = client_for(server).chat().user("Hi").stream().response
    assert info.value.partial.text == "Hello "


def test_a_connection_cut_mid_stream_raises_stream_error_with_the_partial_reply(server):
    server.add(ChatScript(text="Hello world", chunk_size=3, cut_after=3))
    with pytest.raises(relay_lite.StreamError) as info:
        _ = client_for(server).chat().user("Hi").stream().response
    assert info.value.message.startswith("connection broke while reading the response")
    assert info.value.partial.text == "Hello "


def test_throttling_is_retried_and_each_attempt_carries_a_fresh_signature(server):
    server.add(
        error_reply(429, "ThrottlingException", "Too many requests, please wait before trying again."),
        error_reply(503, "ServiceUnavailableException", "Service unavailable"),
        ChatScript(text="third time lucky"),
    )
    seconds = itertools.count(1_764_000_000, 7)  # each attempt signs at a later second
    signer = SigV4Authorizer(
        "us-west-2",
        "bedrock",
        AWSCredentials(FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY),
        clock=lambda: next(seconds),
    )
    client = client_for(server, authorizer=signer, retry=FAST_RETRY, env={"AWS_REGION": "us-west-2"})
    reply = client.chat().user("Hi").send()
    assert (reply.text, reply.attempts) == ("third time lucky", 3)
    dates = [r.headers["x-amz-date"] for r in server.requests]
    signatures = [r.headers["authorization"].rpartition("Signature=")[2] for r in server.requests]
    assert len(set(dates)) == 3 and len(set(signatures)) == 3


def test_a_model_timeout_is_retried_as_a_server_error(server):
    server.add(error_reply(408, "ModelTimeoutException", "Model has timed out"), ChatScript(text="ok"))
    assert client_for(server, retry=FAST_RETRY).chat().user("Hi").send().attempts == 2


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "ValidationException", relay_lite.BadRequestError),
        (403, "AccessDeniedException", relay_lite.PermissionDeniedError),
        (404, "ResourceNotFoundException", relay_lite.NotFoundError),
        (429, "ThrottlingException", relay_lite.RateLimitError),
        (500, "InternalServerException", relay_lite.ServerError),
    ],
)
def test_error_statuses_map_by_their_error_type(server, status, error_type, cls):
    server.add(error_reply(status, error_type, "it went wrong", request_id="req-err-9"))
    with pytest.raises(cls) as info:
        client_for(server, retry=RetryPolicy(max_retries=0)).chat().user("Hi").send()
    error = info.value
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        error_type,
        "it went wrong",
        "req-err-9",
    )


def test_an_error_status_on_a_stream_request_raises_before_streaming(server):
    server.add(error_reply(400, "ValidationException", "The provided model identifier is invalid."))
    with pytest.raises(relay_lite.BadRequestError, match="The provided model identifier is invalid."):
        client_for(server).chat("bad-model").user("Hi").stream()


def test_images_are_sent_as_base64_bytes_with_their_format(server):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
    client_for(server).chat().user("What is this?", images=[png]).send()
    content = server.requests[0].json()["messages"][0]["content"]
    assert content == [
        {"text": "What is this?"},
        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgoAAAAAAAAAAA=="}}},
    ]


def test_reasoning_content_becomes_thinking_whole_and_streamed(server):
    server.add(
        ChatScript(text="42", thinking="Six times seven."), ChatScript(text="42", thinking="Six times seven.")
    )
    client = client_for(server)
    reply = client.chat().user("6*7?").send()
    assert reply.thinking == "Six times seven."
    assert reply.thinking_blocks == (
        relay_lite.ThinkingBlock("Six times seven.", "fake-reasoning-signature"),
    )
    with client.chat().user("6*7?").stream() as stream:
        thinking = [e.text for e in stream if isinstance(e, relay_lite.ThinkingDelta)]
    assert "".join(thinking) == "Six times seven."
    assert stream.response.thinking_blocks == reply.thinking_blocks


def test_mock_transport_speaks_bedrock_too():
    mock = MockTransport(protocol="bedrock")
    mock.add(ChatScript(text="mocked"))
    client = relay_lite.Client.bedrock("us-east-1", model=MODEL, api_key=FAKE_API_KEY, transport=mock, env={})
    assert client.chat().user("Hi").send().text == "mocked"
    assert mock.requests[0].path == "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    with client.chat().user("Hi").stream() as stream:
        assert "".join(stream.text()) == "Echo: Hi"


def test_a_mislabelled_event_stream_is_recognised_by_its_prelude(server):
    event = encode_message(
        {":event-type": "messageStart", ":content-type": "application/json", ":message-type": "event"},
        json.dumps({"role": "assistant"}).encode(),
    )
    server.add(Reply(headers={"Content-Type": "application/octet-stream"}, chunks=[event]))
    with pytest.raises(relay_lite.StreamError, match="stream ended before its terminator"):
        _ = client_for(server).chat().user("Hi").stream().response


def test_lambda_role_credentials_with_a_session_token_are_signed_and_accepted(server):
    env = dict(AWS_ENV, AWS_SESSION_TOKEN="IQoJb3JpZ2luX2VjEXAMPLETOKEN")
    assert client_for(server, env=env).chat().user("Hi").send().text == "Echo: Hi"
    request = server.requests[0]
    assert request.headers["x-amz-security-token"] == "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
    assert "x-amz-security-token" in request.headers["authorization"].partition("SignedHeaders=")[2]


def test_an_unknown_access_key_is_refused_as_unrecognized(server):
    env = dict(AWS_ENV, AWS_ACCESS_KEY_ID="AKIAOTHERKEY")
    with pytest.raises(relay_lite.AuthenticationError) as info:
        client_for(server, env=env).chat().user("Hi").send()
    assert (info.value.status, info.value.code) == (403, "UnrecognizedClientException")


def test_a_request_without_credentials_is_refused_with_aws_missing_token_error(server):
    client = relay_lite.Client("bedrock", base_url=server.url, model=MODEL)
    with pytest.raises(relay_lite.AuthenticationError) as info:
        client.chat().user("Hi").send()
    assert (info.value.status, info.value.code, info.value.message) == (
        403,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )


def test_other_paths_of_a_bedrock_fake_get_an_unknown_operation_404(server):
    client = relay_lite.Client("bedrock", base_url=server.url + "/elsewhere", model=MODEL)
    with pytest.raises(relay_lite.NotFoundError) as info:
        client.chat().user("Hi").send()
    assert info.value.code == "UnknownOperationException"


def test_a_bedrock_api_key_echoed_in_an_error_is_scrubbed(server):
    server.add(error_reply(400, "ValidationException", f"bad token {FAKE_API_KEY} in request"))
    client = client_for(server, env={"AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": FAKE_API_KEY})
    with pytest.raises(relay_lite.BadRequestError) as info:
        client.chat().user("Hi").send()
    assert FAKE_API_KEY not in str(info.value) + repr(info.value) + json.dumps(info.value.body)
    assert info.value.message == "bad token [REDACTED] in request"


def test_a_secret_key_echoed_inside_the_stream_is_scrubbed(server):
    server.add(
        ChatScript(text="Hi", error={"type": "validationException", "message": FAKE_SECRET_ACCESS_KEY})
    )
    with pytest.raises(relay_lite.BadRequestError) as info:
        _ = client_for(server).chat().user("Hi").stream().response
    assert FAKE_SECRET_ACCESS_KEY not in str(info.value) + repr(info.value.body)


def test_a_whole_json_reply_to_a_stream_request_streams_as_its_events(server):
    # A gateway (or a cache) may answer ConverseStream with a plain Converse reply.
    whole = {
        "output": {"message": {"role": "assistant", "content": [{"text": "all at once"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 3, "totalTokens": 4},
    }
    server.add(Reply.json(whole, headers={"x-amzn-RequestId": "req-whole"}))
    with client_for(server).chat().user("Hi").stream() as stream:
        assert list(stream.text()) == ["all at once"]
    assert (stream.response.usage.total_tokens, stream.response.request_id) == (4, "req-whole")


# Every StopReason of botocore's bedrock-runtime service model (2023-09-30) and its neutral
# finish reason; malformed_model_output and malformed_tool_use pass through unchanged.
@pytest.mark.parametrize(
    ("raw", "neutral"),
    [
        ("end_turn", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("malformed_model_output", "malformed_model_output"),
        ("malformed_tool_use", "malformed_tool_use"),
    ],
)
def test_a_streamed_reply_gets_the_same_finish_reason_as_a_whole_one(server, raw, neutral):
    server.add(ChatScript(text="x", finish_reason=raw), ChatScript(text="x", finish_reason=raw))
    client = client_for(server)
    whole = client.chat().user("Hi").send()
    with client.chat().user("Hi").stream() as stream:
        assert "".join(stream.text()) == "x"
    streamed = stream.response
    assert (whole.finish_reason, whole.raw_finish_reason) == (neutral, raw)
    assert (streamed.finish_reason, streamed.raw_finish_reason) == (neutral, raw)


def refused_by_the_fake(server: FakeServer, messages: list) -> relay_lite.BadRequestError:
    """Send ``messages`` as the wire's ``messages`` (past relay_lite's own checks)."""
    request = client_for(server, retry=RetryPolicy(max_retries=0)).chat().user("Hi")
    with pytest.raises(relay_lite.BadRequestError) as info:
        request.extra_body({"messages": messages}).send()
    assert (info.value.status, info.value.code) == (400, "ValidationException")
    return info.value


def test_the_fake_refuses_a_turn_without_content_as_bedrock_does(server):
    error = refused_by_the_fake(
        server,
        [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": []},
            {"role": "user", "content": [{"text": "?"}]},
        ],
    )
    # Bedrock's wording for an empty content list.
    assert error.message == (
        "The content field in the Message object at messages.1 is empty. "
        "Add a ContentBlock object to the content field and try again."
    )


@pytest.mark.parametrize("text", ["", " \n\t"])
def test_the_fake_refuses_blank_text_as_bedrock_does(server, text):
    error = refused_by_the_fake(server, [{"role": "user", "content": [{"text": "Hi"}, {"text": text}]}])
    # Bedrock's wording for an empty or whitespace-only text block.
    assert error.message == (
        "The text field in the ContentBlock object at messages.0.content.1 is blank. "
        "Add text to the text field, and try again."
    )


def test_an_empty_user_message_is_refused_before_anything_is_sent(server):
    with pytest.raises(relay_lite.ConfigError, match=r"^message 0 \(user\) has no content"):
        client_for(server).chat().user(" ").send()
    assert server.requests == []


def test_the_fake_refuses_a_tool_result_for_a_call_the_previous_turn_did_not_make(server):
    call = relay_lite.ToolCall.from_value("tooluse_abc", "get_weather", {"city": "Paris"})
    server.add(ChatScript(tool_calls=[call]))
    weather = relay_lite.ToolSpec("get_weather", "Weather", {"type": "object"})
    request = client_for(server, retry=RetryPolicy(max_retries=0)).chat().user("Weather?").tools([weather])
    reply = request.send()
    follow_up = request.messages([reply.message]).tool_result("tooluse_abc", "sunny")
    with pytest.raises(relay_lite.BadRequestError) as info:
        follow_up.tool_result("tooluse_other", "rainy").send()
    assert (info.value.status, info.value.code) == (400, "ValidationException")
    assert info.value.message == (
        "messages.2.content.1: the toolResult toolUseId tooluse_other matches no toolUse block "
        "of the previous turn (tooluse_abc)."
    )
    assert follow_up.send().text == "Echo: tool said sunny"


def test_the_fake_refuses_a_tool_result_in_the_first_turn(server):
    error = refused_by_the_fake(
        server,
        [{"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}}]}],
    )
    assert error.message == (
        "messages.0.content.0: the toolResult toolUseId t1 matches no toolUse block "
        "of the previous turn (none)."
    )


def test_an_empty_tool_result_reaches_the_model_as_a_placeholder(server):
    call = relay_lite.ToolCall.from_value("tooluse_abc", "ping", {})
    server.add(ChatScript(tool_calls=[call]))
    request = client_for(server).chat().user("Ping?").tools([relay_lite.ToolSpec("ping")])
    reply = request.send()
    assert request.messages([reply.message]).tool_result("tooluse_abc", "").send().text == (
        "Echo: tool said (empty)"
    )
