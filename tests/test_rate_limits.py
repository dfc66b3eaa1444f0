"""Rate-limit headers parsed into ``RateLimits`` (relay_lite._ratelimits), and status and
headers kept on replies and errors: sans-I/O parsing first, then over a real loopback
server for send(), streams and error statuses."""

from __future__ import annotations

import pytest

import relay_lite
from relay_lite import Client, RateLimitError, RetryPolicy
from relay_lite._errors import api_error
from relay_lite._ratelimits import RateLimits, parse_duration, parse_rate_limits, parse_rfc3339
from relay_lite.testing import ChatScript, FakeServer, Reply

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# OpenAI's chat completions answer with these six headers (values as its docs show them).
OPENAI_HEADERS = {
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-requests": "59",
    "x-ratelimit-remaining-tokens": "149984",
    "x-ratelimit-reset-requests": "1s",
    "x-ratelimit-reset-tokens": "6m0s",
}
# Anthropic's Messages API: RFC 3339 resets, with input/output token families too.
ANTHROPIC_HEADERS = {
    "anthropic-ratelimit-requests-limit": "1000",
    "anthropic-ratelimit-requests-remaining": "999",
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:30Z",
    "anthropic-ratelimit-tokens-limit": "96000",
    "anthropic-ratelimit-tokens-remaining": "96000",
    "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01.5Z",
    "anthropic-ratelimit-input-tokens-limit": "80000",
    "anthropic-ratelimit-input-tokens-remaining": "79000",
    "anthropic-ratelimit-input-tokens-reset": "2026-01-01T01:00:00+01:00",
    "anthropic-ratelimit-output-tokens-limit": "16000",
    "anthropic-ratelimit-output-tokens-remaining": "15000",
    "anthropic-ratelimit-output-tokens-reset": "2025-12-31T23:59:59Z",
}


# -- durations and timestamps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("7.66s", 7.66),  # Groq sends fractional seconds
        ("2m59.56s", 179.56),
        ("500us", 0.0005),
        ("1µs", 1e-6),
        ("3", 3.0),  # a bare number is seconds
        (" 1s ", 1.0),
    ],
)
def test_go_durations_become_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1x", "1s2", "-1s", "1 s", "inf", "nan", "1e400", "ms", "1.2.3s"])
def test_malformed_durations_are_none(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "stamp"),
    [
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01t00:00:00z", NOW),
        ("2026-01-01T00:00:00.25Z", NOW + 0.25),
        ("2026-01-01T02:00:00+02:00", NOW),
        ("2025-12-31T19:00:00-05:00", NOW),
        ("2025-12-31T23:59:60Z", NOW),  # a leap second is the next second's start
    ],
)
def test_rfc3339_times_become_timestamps(text: str, stamp: float) -> None:
    assert parse_rfc3339(text) == pytest.approx(stamp)


@pytest.mark.parametrize(
    "text",
    ["", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
     "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+24:00", "Thu, 01 Jan 2026 00:00:00 GMT", "1767225600"],
)  # fmt: skip
def test_malformed_rfc3339_times_are_none(text: str) -> None:
    assert parse_rfc3339(text) is None


# -- header families ------------------------------------------------------------------------


def test_openai_headers_give_requests_and_tokens() -> None:
    limits = parse_rate_limits(OPENAI_HEADERS, now=NOW)
    assert limits == RateLimits(
        requests_limit=60,
        requests_remaining=59,
        requests_reset=1.0,
        tokens_limit=150000,
        tokens_remaining=149984,
        tokens_reset=360.0,
        received_at=NOW,
    )
    assert limits is not None
    assert limits.requests_reset_at == NOW + 1
    assert limits.tokens_reset_at == NOW + 360
    assert limits.input_tokens_reset_at is None


def test_anthropic_headers_give_seconds_from_now_for_every_family() -> None:
    limits = parse_rate_limits(ANTHROPIC_HEADERS, now=NOW)
    assert limits == RateLimits(
        requests_limit=1000,
        requests_remaining=999,
        requests_reset=30.0,
        tokens_limit=96000,
        tokens_remaining=96000,
        tokens_reset=1.5,
        input_tokens_limit=80000,
        input_tokens_remaining=79000,
        input_tokens_reset=0.0,
        output_tokens_limit=16000,
        output_tokens_remaining=15000,
        output_tokens_reset=0.0,  # already past: never negative
        received_at=NOW,
    )
    assert limits is not None
    assert limits.requests_reset_at == NOW + 30
    assert limits.output_tokens_reset_at == NOW


def test_headers_without_rate_limits_give_none() -> None:
    assert parse_rate_limits({}) is None
    assert parse_rate_limits({"content-type": "application/json", "x-request-id": "r"}) is None
    # OpenAI's newer *_usage_based family alone names nothing relay_lite reports
    assert parse_rate_limits({"x-ratelimit-limit-tokens_usage_based": "5"}) is None


@pytest.mark.parametrize("value", ["", "abc", "-1", "1.5", "1e3", "٣", "9" * 5000, " ", "0x10", "+5", "NaN"])
def test_bad_counts_are_none_and_never_raise(value: str) -> None:
    headers = {
        "x-ratelimit-limit-requests": value,
        "x-ratelimit-remaining-requests": value,
        "x-ratelimit-reset-requests": value if value.strip() else "garbage",
        "x-ratelimit-remaining-tokens": "7",
    }
    limits = parse_rate_limits(headers, now=NOW)
    assert limits is not None
    assert limits.requests_limit is None
    assert limits.requests_remaining is None
    assert limits.tokens_remaining == 7


def test_bad_anthropic_reset_is_none_and_the_rest_is_kept() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-reset": "soon",
        "anthropic-ratelimit-tokens-reset": "2026-02-30T00:00:00Z",
    }
    limits = parse_rate_limits(headers, now=NOW)
    assert limits == RateLimits(requests_limit=50, received_at=NOW)


def test_rate_limits_are_immutable_values() -> None:
    limits = RateLimits(requests_limit=1, received_at=NOW)
    with pytest.raises(AttributeError):
        limits.requests_limit = 2  # type: ignore[misc]
    assert limits.replace(requests_limit=2).requests_limit == 2
    assert hash(limits) == hash(RateLimits(requests_limit=1, received_at=NOW))


def test_rate_limits_class_is_exported() -> None:
    assert relay_lite.RateLimits is RateLimits
    assert "RateLimits" in relay_lite.__all__


# -- errors keep status, headers and rate limits ------------------------------------------------


def test_api_error_keeps_lower_cased_headers_and_their_rate_limits() -> None:
    headers = {"X-Request-Id": "req_1", "X-RateLimit-Remaining-Requests": "0", "Retry-After": "2"}
    error = api_error(429, b'{"error": {"message": "slow down", "type": "requests"}}', headers)
    assert type(error) is RateLimitError
    assert error.status == 429
    assert error.headers == {
        "x-request-id": "req_1",
        "x-ratelimit-remaining-requests": "0",
        "retry-after": "2",
    }
    assert error.rate_limits is not None
    assert error.rate_limits.requests_remaining == 0
    assert error.rate_limits.requests_limit is None


def test_api_error_without_headers_has_empty_headers_and_no_rate_limits() -> None:
    error = api_error(500, b"oops")
    assert error.headers == {}
    assert error.rate_limits is None


# -- over the wire ------------------------------------------------------------------------------


def test_send_keeps_status_headers_and_rate_limits() -> None:
    with FakeServer.openai() as server:
        server.add(ChatScript(text="hi", headers={"x-request-id": "req_9", **OPENAI_HEADERS}))
        with Client.compatible(server.url, model="m") as client:
            reply = client.chat().user("hello").send()
    assert reply.text == "hi"
    assert reply.status == 200
    assert reply.headers["x-request-id"] == "req_9"
    assert reply.headers["x-ratelimit-reset-tokens"] == "6m0s"
    assert all(name == name.lower() for name in reply.headers)
    limits = reply.rate_limits
    assert limits is not None
    assert (limits.requests_limit, limits.requests_remaining, limits.requests_reset) == (60, 59, 1.0)
    assert (limits.tokens_limit, limits.tokens_remaining, limits.tokens_reset) == (150000, 149984, 360.0)
    # kept out of the reply's repr and equality: they describe the HTTP exchange
    assert "rate_limits" not in repr(reply)
    assert reply == reply.replace(rate_limits=None, status=None, headers={})


def test_send_without_rate_limit_headers_has_none() -> None:
    with FakeServer.openai() as server:
        server.add(ChatScript(text="hi"))
        with Client.compatible(server.url, model="m") as client:
            reply = client.chat().user("hello").send()
    assert reply.status == 200
    assert reply.rate_limits is None


@pytest.mark.parametrize("split_bytes", [None, 1])
def test_stream_response_keeps_status_headers_and_rate_limits(split_bytes: int | None) -> None:
    with FakeServer.anthropic() as server:
        # Resets in the future, so nothing is clamped to "already past".
        headers = {
            name: value.replace("2026-01-01", "2099-01-01") for name, value in ANTHROPIC_HEADERS.items()
        }
        server.add(
            ChatScript(text="streamed", split_bytes=split_bytes, headers={"request-id": "req_a", **headers})
        )
        with Client.anthropic("sk-ant-test-key", base_url=server.url, model="claude") as client:
            with client.chat().user("hello").stream() as stream:
                assert "".join(stream.text()) == "streamed"
            reply = stream.response
    assert reply.status == 200
    assert reply.headers["request-id"] == "req_a"
    assert reply.rate_limits is not None
    assert reply.rate_limits.requests_remaining == 999
    assert reply.rate_limits.output_tokens_limit == 16000
    assert reply.rate_limits.requests_reset_at == pytest.approx(parse_rfc3339("2099-01-01T00:00:30Z"))


def test_broken_stream_partial_keeps_status_and_headers() -> None:
    with FakeServer.openai() as server:
        server.add(ChatScript(text="abcdefgh", chunk_size=2, cut_after=2, headers=dict(OPENAI_HEADERS)))
        with Client.compatible(server.url, model="m") as client:
            stream = client.chat().user("hello").stream()
            with pytest.raises(relay_lite.StreamError) as info:
                list(stream)
    partial = info.value.partial
    assert partial.status == 200
    assert partial.headers["x-ratelimit-limit-requests"] == "60"
    assert partial.rate_limits.requests_limit == 60


def test_rate_limited_error_carries_headers_and_rate_limits() -> None:
    # OpenAI's 429 body; the headers say the request budget is spent for 20 ms.
    body = (
        b'{\n    "error": {\n        "message": "Rate limit reached for gpt-4o-mini on requests per min '
        b'(RPM): Limit 3, Used 3, Requested 1.",\n        "type": "requests",\n        "param": null,\n'
        b'        "code": "rate_limit_exceeded"\n    }\n}\n'
    )
    headers = {
        "Content-Type": "application/json",
        "x-request-id": "req_429",
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "20ms",
    }
    with FakeServer() as server:
        server.add(Reply(status=429, headers=headers, body=body))
        with Client.compatible(server.url, model="m", retry=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(RateLimitError) as info:
                client.chat().user("hello").send()
    error = info.value
    assert error.status == 429
    assert error.code == "rate_limit_exceeded"
    assert error.headers["x-request-id"] == "req_429"
    assert error.headers["content-type"] == "application/json"
    assert error.rate_limits is not None
    assert (error.rate_limits.requests_limit, error.rate_limits.requests_remaining) == (3, 0)
    assert error.rate_limits.requests_reset == pytest.approx(0.02)
