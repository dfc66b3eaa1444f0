"""lambda_deadline: the invocation's remaining time becomes a call's total deadline, and
the example handler answers before Lambda would kill it, against a dripping server."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from types import ModuleType

import pytest

import relay_lite
from relay_lite import ConfigError, DeadlineExceeded, Timeouts
from relay_lite.testing import FakeServer, Reply

ROOT = Path(__file__).resolve().parent.parent


class FixedContext:
    """A Lambda context whose remaining time is fixed (sans-I/O tests)."""

    def __init__(self, millis: object) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> object:
        return self.millis


class ClockContext:
    """A Lambda context counting down from ``seconds`` on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.ends_at = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends_at - time.monotonic()) * 1000))


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "aws_lambda_handler_example", ROOT / "examples/aws_lambda_handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_remaining_time_less_margin_becomes_the_total_deadline():
    timeouts = relay_lite.lambda_deadline(FixedContext(10_000), margin_s=2)
    assert timeouts == Timeouts(connect=5.0, read=60.0, total=8.0)


def test_connect_timeout_is_cut_to_the_time_left():
    timeouts = relay_lite.lambda_deadline(
        FixedContext(3_500), margin_s=0.5, base=Timeouts(connect=5, read=30)
    )
    assert timeouts == Timeouts(connect=3.0, read=30.0, total=3.0)


def test_a_shorter_base_total_is_kept():
    timeouts = relay_lite.lambda_deadline(FixedContext(60_000), base=Timeouts(connect=1, read=2, total=10))
    assert timeouts == Timeouts(connect=1.0, read=2.0, total=10.0)


def test_no_context_returns_the_base_unchanged():
    base = Timeouts(connect=1, read=2, total=3)
    assert relay_lite.lambda_deadline(None, base=base) is base
    assert relay_lite.lambda_deadline(None) == Timeouts()


def test_less_time_than_the_margin_raises_deadline_exceeded_at_once():
    with pytest.raises(DeadlineExceeded) as info:
        relay_lite.lambda_deadline(FixedContext(900), margin_s=1)
    assert info.value.message == (
        "only 0.900 s left in the Lambda invocation, not more than the 1 s margin kept for answering"
    )
    assert info.value.attempts == 0


def test_a_context_without_remaining_time_is_a_config_error():
    with pytest.raises(ConfigError, match=r"needs the Lambda context .* got dict"):
        relay_lite.lambda_deadline({"remaining": 5})


def test_a_context_answering_a_non_number_is_a_config_error():
    with pytest.raises(ConfigError, match=r"returned 'soon', not a number"):
        relay_lite.lambda_deadline(FixedContext("soon"))


@pytest.mark.parametrize("margin", [-1, float("inf"), True, "1"])
def test_a_bad_margin_is_a_config_error(margin: object):
    with pytest.raises(ConfigError, match="margin_s must be a finite number of seconds >= 0"):
        relay_lite.lambda_deadline(FixedContext(5_000), margin_s=margin)  # type: ignore[arg-type]


def test_a_request_with_the_lambda_deadline_stops_a_dripping_server_in_time():
    with FakeServer.openai() as server, relay_lite.Client.compatible(server.url, model="m") as client:
        server.add(Reply.drip(json.dumps({"choices": [], "pad": "." * 200}), 0.05))
        context = ClockContext(1.5)
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            client.chat().user("hi").timeout(relay_lite.lambda_deadline(context, margin_s=0.5)).send()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.2  # the 1.0 s deadline, with 0.5 s of the invocation to spare
    assert context.get_remaining_time_in_millis() > 250


def test_example_handler_answers_504_before_the_context_deadline_and_reuses_its_client():
    example = load_example()
    with FakeServer.openai() as server:
        example._client = relay_lite.Client.compatible(server.url, model="m")
        first = example.handler({"prompt": "ping"}, ClockContext(5.0))
        client = example.get_client()
        server.add(Reply.drip(json.dumps({"choices": [], "pad": "." * 200}), 0.05))
        context = ClockContext(1.6)  # the example keeps a 1 s margin: a 0.6 s deadline
        answer = example.handler({"prompt": "ping"}, context)
        left = context.get_remaining_time_in_millis()
        assert example.get_client() is client  # warm invocations share one client and pool
        client.close()
    assert first == {"statusCode": 200, "body": '{"text": "Echo: ping", "tokens": 3}'}
    assert answer == {
        "statusCode": 504,
        "body": '{"error": "the model did not answer in time", "attempts": 1}',
    }
    assert left > 700  # returned with most of the margin still left


def test_example_handler_called_by_hand_without_a_context_has_no_invocation_limit():
    example = load_example()
    with FakeServer.openai() as server:
        example._client = relay_lite.Client.compatible(server.url, model="m")
        answer = example.handler({"prompt": "hi"}, None)
        example._client.close()
    assert answer == {"statusCode": 200, "body": '{"text": "Echo: hi", "tokens": 3}'}
