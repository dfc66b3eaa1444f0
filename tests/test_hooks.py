"""Hooks: the request path and the stream pump report every call the same way, with exact
counts and values; a hook that raises never breaks a call; no hooks, no work."""

from __future__ import annotations

import logging

import pytest

import relay_lite
from relay_lite import ConfigError, ServerError, Usage
from relay_lite._hooks import (
    FirstToken,
    Hooks,
    RequestStart,
    ResponseReceived,
    RetryScheduled,
    StreamStats,
    UsageReport,
    gap_stats,
)
from relay_lite.testing import FakeServer, MockTransport, Reply

# An OpenAI chat completions stream as api.openai.com sends it with include_usage: role
# and first text together, a finish chunk, then the usage chunk with empty choices, [DONE].
OPENAI_STREAM = [
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"A"},"finish_reason":null}]}\n\n',
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"B"},"finish_reason":null}]}\n\n',
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"C"},"finish_reason":"stop"}]}\n\n',
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\n',
    b"data: [DONE]\n\n",
]

# OpenAI's non-streamed reply, as api.openai.com sends it (fields trimmed to those read).
OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
}


def recording_client(url: str, **options: object) -> tuple[relay_lite.Client, dict[str, list[object]]]:
    seen: dict[str, list[object]] = {}
    hooks = {
        event: (lambda info, e=event: seen.setdefault(e, []).append(info))
        for event in relay_lite._hooks.HOOK_EVENTS
    }
    client = relay_lite.Client.compatible(url, model="m", hooks=hooks, **options)  # type: ignore[arg-type]
    return client, seen


def test_gap_stats_are_mean_nearest_rank_percentiles_and_max():
    assert gap_stats([0.4, 0.1, 0.3, 0.2]) == (0.25, 0.2, 0.4, 0.4)
    assert gap_stats([0.5]) == (0.5, 0.5, 0.5, 0.5)
    assert gap_stats([]) == (None, None, None, None)


def test_a_retry_reports_each_attempt_its_status_and_the_server_chosen_wait():
    with FakeServer() as server:
        server.add(
            Reply.json(
                {"error": {"message": "busy", "type": "server_error"}},
                status=503,
                headers={"retry-after-ms": "20", "x-request-id": "req_1"},
            ),
            Reply.json(OPENAI_REPLY, headers={"x-request-id": "req_2"}),
        )
        client, seen = recording_client(server.url)
        with client:
            reply = client.chat().user("hi").send()
    url = server.url + "/chat/completions"
    assert reply.text == "hi"
    assert seen["request"] == [RequestStart("POST", url, 1, 3), RequestStart("POST", url, 2, 3)]
    responses = seen["response"]
    assert [(r.status, r.request_id, r.attempt) for r in responses] == [(503, "req_1", 1), (200, "req_2", 2)]  # type: ignore[attr-defined]
    assert all(isinstance(r, ResponseReceived) and 0 < r.elapsed < 1 for r in responses)
    assert seen["retry"] == [RetryScheduled("POST", url, 1, 0.02, "busy", 503, True)]
    assert seen["usage"] == [UsageReport(Usage(4, 1, 5), "gpt-4o-mini", "req_2")]
    assert "first_token" not in seen and "stream_end" not in seen


def test_a_connection_error_retry_reports_the_backoff_wait_and_no_status():
    with FakeServer() as server:
        server.add(Reply(drop=True), Reply.json(OPENAI_REPLY))
        client, seen = recording_client(server.url, retry=relay_lite.RetryPolicy(max_retries=1, backoff=0.01))
        with client:
            client.chat().user("hi").send()
    (retry,) = seen["retry"]
    assert isinstance(retry, RetryScheduled)
    assert (retry.attempt, retry.status, retry.server_asked) == (1, None, False)
    assert 0.005 <= retry.wait <= 0.01
    assert retry.reason.startswith("connection to 127.0.0.1:")
    assert [r.max_attempts for r in seen["request"]] == [2, 2]  # type: ignore[attr-defined]


def test_a_failed_call_reports_its_responses_but_no_usage():
    with FakeServer() as server:
        server.add(Reply.json({"error": {"message": "down"}}, status=500))
        client, seen = recording_client(server.url, retry=relay_lite.RetryPolicy(max_retries=0))
        with client, pytest.raises(ServerError):
            client.chat().user("hi").send()
    assert [r.status for r in seen["response"]] == [500]  # type: ignore[attr-defined]
    assert "retry" not in seen and "usage" not in seen


def test_stream_reports_first_token_stats_and_usage_with_known_gaps():
    with FakeServer() as server:
        server.add(Reply.sse(OPENAI_STREAM, chunk_delay=0.1, headers={"x-request-id": "req_s"}))
        client, seen = recording_client(server.url)
        with client, client.chat().user("x").stream() as stream:
            assert stream.stats is None  # nothing until it ends
            text = "".join(stream.text())
    assert text == "ABC"
    stats = stream.stats
    assert isinstance(stats, StreamStats)
    assert seen["stream_end"] == [stats]
    assert (stats.chunks, stats.bytes, stats.events, stats.ok, stats.request_id) == (5, 530, 4, True, "req_s")
    (first,) = seen["first_token"]
    assert isinstance(first, FirstToken) and first.ttft == stats.ttft and first.request_id == "req_s"
    assert stats.ttft is not None and 0.09 <= stats.ttft < stats.duration
    # Four reads made events (A, B, C+finish, usage), 0.1 s apart: three gaps of about 0.1 s.
    for figure in (stats.gap_mean, stats.gap_p50, stats.gap_p95, stats.gap_max):
        assert figure is not None and 0.09 <= figure < 0.16
    assert 0.45 <= stats.duration < 0.8
    assert seen["usage"] == [UsageReport(Usage(5, 3, 8), None, "req_s")]


def test_stats_of_a_stream_closed_early_say_it_did_not_end_cleanly():
    with FakeServer() as server:
        server.add(Reply.sse(OPENAI_STREAM))
        client, seen = recording_client(server.url)
        with client, client.chat().user("x").stream() as stream:
            next(iter(stream))
    assert stream.stats is not None and stream.stats.ok is False
    assert seen["stream_end"] == [stream.stats]
    assert "usage" not in seen


def test_stream_stats_exist_without_hooks_and_no_reporter_is_built():
    with FakeServer() as server, relay_lite.Client.compatible(server.url, model="m") as client:
        server.add(Reply.sse(OPENAI_STREAM))
        with client.chat().user("x").stream() as stream:
            assert stream._pump.call_events is None
            stream.response  # noqa: B018 - reads to the end
    assert not client.session.hooks
    assert stream.stats is not None and (stream.stats.chunks, stream.stats.events) == (5, 4)


def test_stream_end_is_logged_at_debug_with_its_figures(caplog: pytest.LogCaptureFixture):
    with FakeServer() as server, relay_lite.Client.compatible(server.url, model="m") as client:
        server.add(Reply.sse(OPENAI_STREAM))
        with caplog.at_level(logging.DEBUG, logger="relay_lite"):
            client.chat().user("x").stream().response  # noqa: B018
    lines = [r.getMessage() for r in caplog.records if "ended" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("stream ended: 5 chunks, 530 bytes, 4 events in ")
    assert "; gaps mean/p50/p95/max " in lines[0]


def test_a_hook_that_raises_never_breaks_a_call_and_is_logged_once(caplog: pytest.LogCaptureFixture):
    calls: list[int] = []

    def broken(info: object) -> None:
        calls.append(1)
        raise RuntimeError("hook bug")

    with FakeServer.openai() as server, relay_lite.Client.compatible(server.url, model="m") as client:
        client.on("response", broken)
        with caplog.at_level(logging.WARNING, logger="relay_lite"):
            first = client.chat().user("one").send()
            second = client.chat().user("two").send()
    assert (first.text, second.text) == ("Echo: one", "Echo: two")
    assert len(calls) == 2
    warnings = [r for r in caplog.records if "hook" in r.getMessage()]
    assert len(warnings) == 1
    assert "response hook " in warnings[0].getMessage() and "broken" in warnings[0].getMessage()


def test_client_on_registers_later_and_mock_transport_reports_too():
    seen: list[object] = []
    transport = MockTransport(protocol="openai")
    client = relay_lite.Client.compatible("http://mock.invalid/v1", model="m", transport=transport)
    record = seen.append
    assert client.on("request", record) is record
    client.on("response", record)
    client.chat().user("hi").send()
    assert seen == [
        RequestStart("POST", "http://mock.invalid/v1/chat/completions", 1, 1),
        ResponseReceived("POST", "http://mock.invalid/v1/chat/completions", 200, 0.0, "req_fake", 1),
    ]


def test_a_url_with_user_info_reaches_hooks_redacted():
    seen: list[RequestStart] = []
    transport = MockTransport(protocol="openai")
    client = relay_lite.Client.compatible(
        "http://user:s3cret@mock.invalid/v1", model="m", transport=transport
    )
    client.on("request", seen.append)
    client.chat().user("hi").send()
    assert "s3cret" not in seen[0].url


def test_an_unknown_event_or_a_non_callable_hook_is_a_config_error():
    with pytest.raises(ConfigError, match="no hook event 'reponse'; known: request, response, retry"):
        Hooks({"reponse": print})
    with pytest.raises(ConfigError, match="a hook for 'retry' must be callable, got int"):
        Hooks().on("retry", 3)  # type: ignore[arg-type]


def _reply(text: str, prompt: int, completion: int, request_id: str) -> Reply:
    body = {
        "id": "chatcmpl-" + request_id,
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return Reply.json(body, headers={"x-request-id": request_id})


def test_a_structured_call_reports_one_usage_summed_over_its_reasks():
    with FakeServer() as server:
        server.add(_reply('{"age": "old"}', 10, 4, "req_a"), _reply('{"age": 41}', 30, 3, "req_b"))
        client, seen = recording_client(server.url)
        with client:
            result = (
                client.chat()
                .user("age?")
                .structured(
                    {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
                )
                .send()
            )
    assert result.value == {"age": 41} and result.attempts == 2
    assert seen["usage"] == [UsageReport(Usage(40, 7, 47), "gpt-4o-mini", "req_b", 2)]
    assert result.usage == Usage(40, 7, 47)


def test_a_structured_call_that_fails_validation_still_reports_the_tokens_it_spent():
    with FakeServer() as server:
        server.add(_reply("no json", 10, 2, "req_a"), _reply("still none", 20, 2, "req_b"))
        client, seen = recording_client(server.url)
        with client, pytest.raises(relay_lite.StructuredOutputError):
            client.chat().user("age?").structured({"type": "object"}, max_retries=1).send()
    assert seen["usage"] == [UsageReport(Usage(30, 4, 34), "gpt-4o-mini", "req_b", 2)]
