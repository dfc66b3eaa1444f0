"""``Client.map``: bounded workers over one pool, paced by rate-limit headers, stopped cleanly.

The server is a ``FakeServer`` with a handler that answers like OpenAI's chat completions
and keeps its own thread-safe counts: arrivals per rate-limit window, 429s served, and
the time of each arrival (``time.monotonic()``, the same clock as the client's, since
both run in this process). Each reply echoes its request's text, which names the input's
index, so a result crossed between workers shows as a wrong echo.

Timing figures here are lower bounds produced by the code under test (a pause it must
wait out), never upper bounds on how fast a machine runs.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import pytest

import relay_lite
from relay_lite import (
    BadRequestError,
    Client,
    ConfigError,
    DeadlineExceeded,
    RateLimitError,
    RateLimits,
    RetryPolicy,
    Timeouts,
)
from relay_lite._bulk import (
    HELD_PER_WORKER,
    LOOKAHEAD_PER_WORKER,
    ItemCancelled,
    MapProgress,
    MapResult,
    MapRun,
    _Pacer,
)
from relay_lite.testing import ChatScript, FakeServer, RecordedRequest, Reply

ROOT = Path(__file__).resolve().parent.parent


def map_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("relay-lite-map")]


def open_sockets_to(port: int) -> Optional[int]:
    """How many of this process's TCP sockets are connected to ``port`` (None off Linux)."""
    if not os.path.exists("/proc/net/tcp"):
        return None
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            # 01 = ESTABLISHED, 08 = CLOSE_WAIT
            if int(fields[2].split(":")[1], 16) == port and fields[9] in inodes and fields[3] in ("01", "08"):
                count += 1
    return count


def item_of(request: RecordedRequest) -> int:
    """The input index named by the request's last message ("item 17")."""
    return int(request.json()["messages"][-1]["content"].split()[-1])


def openai_reply(text: str, headers: Optional[dict[str, str]] = None) -> Reply:
    # The shape of OpenAI's chat.completion object (id, object, created, model, choices
    # with message/logprobs/finish_reason, usage), as its API reference shows it.
    body = {
        "id": "chatcmpl-map",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    return Reply.json(body, headers={"x-request-id": "req_map", **(headers or {})})


def openai_429(retry_after_ms: Optional[int], code: str = "rate_limit_exceeded") -> Reply:
    # OpenAI's 429 body: an error object with type "requests" and code
    # "rate_limit_exceeded" ("insufficient_quota" when the account is out of credit).
    error = {
        "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 200, Used 200.",
        "type": "requests",
        "param": None,
        "code": code,
    }
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    return Reply.json({"error": error}, status=429, headers=headers)


class RateLimitedEcho:
    """OpenAI-like limits: ``limit`` requests per fixed ``window`` of seconds.

    Every reply carries ``x-ratelimit-{limit,remaining,reset}-requests`` as OpenAI sends
    them (the reset a Go-style duration such as ``"37ms"``, rounded up); a request over
    the limit gets a 429 with ``retry-after-ms`` until the window ends.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.arrivals: dict[int, int] = {}  # window number -> requests that arrived in it
        self.refused = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        now = time.monotonic() - self.started
        number = int(now // self.window)
        with self.lock:
            used = self.arrivals.get(number, 0) + 1
            self.arrivals[number] = used
            if used > self.limit:
                self.refused += 1
        reset_ms = max(1, math.ceil(((number + 1) * self.window - now) * 1000))
        headers = {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(max(0, self.limit - used)),
            "x-ratelimit-reset-requests": f"{reset_ms}ms",
        }
        if used > self.limit:
            reply = openai_429(reset_ms)
            reply.headers.update(headers)
            return reply
        return openai_reply(f"Echo: item {item_of(request)}", headers)


def client_for(server: FakeServer, **options: Any) -> Client:
    options.setdefault("timeouts", Timeouts(connect=5, read=20))
    return Client.compatible(server.url + "/v1", model="gpt-4o-mini", **options)


# -- the must-shows ------------------------------------------------------------------------


def test_2000_requests_over_16_workers_each_matched_to_its_input_within_the_rate_limit() -> None:
    threads_before = set(threading.enumerate())
    limiter = RateLimitedEcho(limit=200, window=0.2)
    with FakeServer(limiter) as server:
        client = client_for(server, pool_size=16)
        port = int(server.url.rsplit(":", 1)[1])
        requests = [client.chat().user(f"item {i}") for i in range(2000)]
        seen: list[MapProgress] = []
        results = list(client.map(requests, workers=16, progress=seen.append))

        assert [result.index for result in results] == list(range(2000))
        wrong = [r.index for r in results if not r.ok or r.response.text != f"Echo: item {r.index}"]
        assert wrong == []
        assert all(result.request is requests[result.index] for result in results)
        # Paced from the headers: no window ever saw more than its limit, none was refused.
        assert max(limiter.arrivals.values()) <= 200
        assert limiter.refused == 0
        assert len(server.requests) == 2000
        assert seen[-1] == MapProgress(done=2000, failed=0, in_flight=0, tokens=10_000, total=2000)
        assert [p.done for p in seen] == list(range(1, 2001))
        # The workers are gone; the pool kept at most one connection per worker.
        assert map_threads() == []
        sockets = open_sockets_to(port)
        assert sockets is None or 0 < sockets <= 16
        client.close()
        assert open_sockets_to(port) in (None, 0)
    # The server's connection threads end once the client hung up.
    for _ in range(50):
        if set(threading.enumerate()) <= threads_before:
            break
        time.sleep(0.05)
    assert set(threading.enumerate()) <= threads_before


def test_a_429_storm_pauses_every_worker_for_its_retry_after_and_requeues_the_items() -> None:
    lock = threading.Lock()
    arrivals: list[float] = []
    refused: list[int] = []

    def handler(request: RecordedRequest) -> Reply:
        with lock:
            arrivals.append(time.monotonic())
            number = len(arrivals)
        if number in (200, 201, 202):  # a storm: three 429s asking for 400 ms
            refused.append(item_of(request))
            return openai_429(400)
        return openai_reply(f"Echo: item {item_of(request)}")

    with FakeServer(handler) as server, client_for(server, pool_size=16) as client:
        requests = [client.chat().user(f"item {i}") for i in range(400)]
        results = list(client.map(requests, workers=16))

    assert all(r.ok and r.response.text == f"Echo: item {r.index}" for r in results)
    assert sorted(r.index for r in results if r.attempts == 2) == sorted(refused)
    assert all(r.attempts == 1 for r in results if r.index not in refused)
    # The transport did not retry the 429 by itself: the map ran the item again.
    assert all(results[i].response.attempts == 1 for i in refused)
    assert len(arrivals) == 403
    # Every worker waited: the server heard nothing for most of the 400 ms asked.
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert max(gaps) >= 0.3


def test_anthropic_requests_remaining_zero_holds_the_next_start_until_its_reset_time() -> None:
    # Anthropic's rate-limit headers: anthropic-ratelimit-requests-{limit,remaining,reset},
    # the reset an RFC 3339 time in whole seconds.
    reset_at = math.ceil(time.time() + 0.5)
    arrivals: list[float] = []

    def handler(request: RecordedRequest) -> Reply:
        arrivals.append(time.time())
        body = {
            "id": "msg_map",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset_at))
        headers = {
            "request-id": "req_map",
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0" if len(arrivals) == 1 else "49",
            "anthropic-ratelimit-requests-reset": stamp,
        }
        return Reply.json(body, headers=headers)

    with FakeServer(handler) as server:
        client = Client.anthropic(api_key="k", base_url=server.url, model="claude-sonnet-4-5")
        results = list(client.map([client.chat().user("a"), client.chat().user("b")], workers=1))
        client.close()

    assert [r.response.text for r in results] == ["ok", "ok"]
    assert results[0].response.rate_limits.requests_remaining == 0
    assert arrivals[1] >= reset_at - 0.02  # the second call waited for the reset


def test_a_429_saying_the_quota_is_gone_fails_its_item_without_a_requeue() -> None:
    def handler(request: RecordedRequest) -> Reply:
        if item_of(request) == 3:
            return openai_429(10, code="insufficient_quota")
        return openai_reply(f"Echo: item {item_of(request)}")

    with FakeServer(handler) as server, client_for(server) as client:
        results = list(client.map([client.chat().user(f"item {i}") for i in range(6)], workers=2))
        assert len(server.requests) == 6

    assert [r.ok for r in results] == [True, True, True, False, True, True]
    error = results[3].error
    assert isinstance(error, RateLimitError) and error.code == "insufficient_quota"
    assert results[3].attempts == 1


def test_an_item_refused_on_every_run_fails_after_max_attempts_with_the_429() -> None:
    def handler(request: RecordedRequest) -> Reply:
        if item_of(request) == 1:
            return openai_429(5)
        return openai_reply(f"Echo: item {item_of(request)}")

    with FakeServer(handler) as server, client_for(server) as client:
        results = list(client.map([client.chat().user(f"item {i}") for i in range(3)], max_attempts=3))
        assert sum(1 for r in server.requests if item_of(r) == 1) == 3

    assert isinstance(results[1].error, RateLimitError)
    assert results[1].attempts == 3
    assert results[0].ok and results[2].ok


def test_the_deadline_stops_the_run_reports_what_never_ran_and_leaves_no_thread() -> None:
    def slow(request: RecordedRequest) -> Reply:
        reply = openai_reply(f"Echo: item {item_of(request)}")
        reply.delay = 0.3
        return reply

    with FakeServer(slow) as server, client_for(server) as client:
        requests = [client.chat().user(f"item {i}") for i in range(100)]
        run = client.map(requests, workers=4, deadline=0.5)
        results: list[MapResult] = []
        with pytest.raises(DeadlineExceeded) as raised:
            for result in run:
                results.append(result)
        assert map_threads() == []
        sent = len(server.requests)

    assert "map deadline of 0.5 s passed with inputs left" in str(raised.value)
    assert run.stop_reason == "deadline"
    # Every input pulled (up to 4 workers x 4 ahead of those yielded) got exactly one
    # result, in input order; the rest were never pulled from the list.
    assert [r.index for r in results] == list(range(len(results)))
    assert 16 <= len(results) <= 20
    finished = [r for r in results if r.ok]
    timed_out = [r for r in results if isinstance(r.error, DeadlineExceeded) and r.attempts == 1]
    never_ran = [r for r in results if isinstance(r.error, DeadlineExceeded) and r.attempts == 0]
    assert len(finished) == 4  # the first four, back after 0.3 s
    assert len(finished) + len(timed_out) == sent  # every request sent is reported
    assert len(finished) + len(timed_out) + len(never_ran) == len(results)
    assert str(never_ran[0].error) == "map deadline of 0.5 s passed before this item ran"


def test_a_deadline_after_every_input_was_pulled_ends_the_loop_without_raising() -> None:
    def slow(request: RecordedRequest) -> Reply:
        reply = openai_reply(f"Echo: item {item_of(request)}")
        reply.delay = 0.2 if item_of(request) else 5
        return reply

    with FakeServer(slow) as server, client_for(server) as client:
        run = client.map([client.chat().user(f"item {i}") for i in range(3)], deadline=0.6)
        results = list(run)

    assert [r.ok for r in results] == [False, True, True]
    assert isinstance(results[0].error, DeadlineExceeded)  # its call's total was cut to the deadline
    # Every input has its result, so the loop ended normally; the slow call may have
    # timed out a hair before the run's own check, so stop_reason is None or "deadline".
    assert run.stop_reason in (None, "deadline")
    assert map_threads() == []


def test_ctrl_c_in_the_progress_callback_stops_cleanly_and_every_started_call_is_reported() -> None:
    def interrupt(progress: MapProgress) -> None:
        if progress.done == 5:
            raise KeyboardInterrupt

    with FakeServer.openai() as server, client_for(server) as client:
        requests = [client.chat().user(f"item {i}") for i in range(500)]
        run = client.map(requests, workers=4, ordered=False, progress=interrupt)
        yielded: list[MapResult] = []
        with pytest.raises(KeyboardInterrupt):
            for result in run:
                yielded.append(result)
        assert map_threads() == []
        sent = len(server.requests)

    assert run.stop_reason == "interrupted"
    assert run.progress.done == len(yielded) + sum(
        1 for r in run.leftovers if not isinstance(r.error, ItemCancelled)
    )
    assert run.progress.in_flight == 0
    reported = yielded + run.leftovers
    assert sorted(r.index for r in reported) == list(range(len(reported)))  # none lost
    ran = [r for r in reported if not isinstance(r.error, ItemCancelled)]
    assert len(ran) == sent and all(r.ok for r in ran)
    cancelled = [r for r in run.leftovers if isinstance(r.error, ItemCancelled)]
    assert cancelled and all(r.error.reason == "interrupted" and r.attempts == 0 for r in cancelled)  # type: ignore[union-attr]
    assert len(reported) < 500


SIGINT_CHILD = """
import threading
import relay_lite
from relay_lite.testing import FakeServer, Reply

def slow(request):
    reply = Reply.json({"id": "c", "object": "chat.completion", "model": "m",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                     "finish_reason": "stop"}]})
    reply.delay = 0.2
    return reply

with FakeServer(slow) as server:
    client = relay_lite.Client.compatible(server.url, model="m")
    try:
        with client.map([client.chat().user(str(i)) for i in range(200)], workers=4) as run:
            for result in run:
                if result.index == 0:
                    print("first result", flush=True)
    except KeyboardInterrupt:  # wherever it landed: waiting in the run or in this loop
        left = [t.name for t in threading.enumerate() if t.name.startswith("relay-lite-map")]
        print("interrupted", run.stop_reason, left, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_a_real_sigint_while_the_consumer_waits_stops_the_run_and_joins_every_worker() -> None:
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", SIGINT_CHILD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "first result\n"
    child.send_signal(signal.SIGINT)  # the main thread is waiting for the next result
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out.splitlines()[-1] == "interrupted interrupted []"


def test_ctrl_c_in_the_loop_body_stops_the_run_through_its_context_manager() -> None:
    with FakeServer.openai() as server, client_for(server) as client:
        requests = [client.chat().user(f"item {i}") for i in range(500)]
        with pytest.raises(KeyboardInterrupt):
            with client.map(requests, workers=4) as run:
                for result in run:
                    if result.index == 10:
                        raise KeyboardInterrupt
        assert map_threads() == []
        sent = len(server.requests)

    assert run.stop_reason == "interrupted"
    assert sum(1 for r in run.leftovers if not isinstance(r.error, ItemCancelled)) + 11 == sent
    with pytest.raises(StopIteration):
        next(run)


def test_breaking_out_of_the_loop_and_closing_stops_submitting() -> None:
    with FakeServer.openai() as server, client_for(server) as client:
        run = client.map((client.chat().user(f"item {i}") for i in range(10_000)), workers=2)
        for result in run:
            if result.index == 3:
                break
        run.close()
        assert map_threads() == []
        assert len(server.requests) <= 4 + 2 * 4  # what was pulled ahead, never the 10,000
    assert run.stop_reason == "closed"
    assert run.progress.total is None


def test_a_loop_left_by_break_without_close_still_joins_the_workers() -> None:
    def first_four(client: Client) -> list[int]:
        seen = []
        for result in client.map((client.chat().user(f"item {i}") for i in range(10_000)), workers=4):
            seen.append(result.index)
            if result.index == 3:
                break  # no close(): dropping the run must stop it
        return seen

    with FakeServer.openai() as server, client_for(server) as client:
        assert first_four(client) == [0, 1, 2, 3]
        assert map_threads() == []
        # Far from the 10,000 inputs: what was yielded, plus what the run may hold back
        # behind a slow first item (ordered mode) and the unfinished window beyond it.
        assert len(server.requests) <= 4 + 4 * HELD_PER_WORKER + 4 * LOOKAHEAD_PER_WORKER


def test_ordered_yields_in_input_order_and_as_completed_yields_the_fast_ones_first() -> None:
    def handler(request: RecordedRequest) -> Reply:
        reply = openai_reply(f"Echo: item {item_of(request)}")
        reply.delay = 0.3 if item_of(request) == 0 else 0.0
        return reply

    with FakeServer(handler) as server, client_for(server) as client:
        requests = [client.chat().user(f"item {i}") for i in range(12)]
        in_order = [r.index for r in client.map(requests, workers=4)]
        as_completed = [r.index for r in client.map(requests, workers=4, ordered=False)]

    assert in_order == list(range(12))
    assert sorted(as_completed) == list(range(12))
    assert as_completed[-1] == 0  # the slow first item came last


def test_a_failed_item_carries_its_error_and_the_others_go_on() -> None:
    def handler(request: RecordedRequest) -> Reply:
        if item_of(request) == 5:
            error = {"message": "bad item", "type": "invalid_request_error", "param": None, "code": None}
            return Reply.json({"error": error}, status=400)
        return openai_reply(f"Echo: item {item_of(request)}")

    with FakeServer(handler) as server, client_for(server) as client:
        run = client.map([client.chat().user(f"item {i}") for i in range(20)], workers=4)
        results = list(run)

    assert [r.index for r in results if not r.ok] == [5]
    assert isinstance(results[5].error, BadRequestError) and results[5].error.message == "bad item"
    with pytest.raises(BadRequestError):
        results[5].get()
    assert results[6].get().text == "Echo: item 6"
    assert run.progress.failed == 1 and run.stop_reason is None


def test_stop_on_error_raises_the_first_error_after_the_calls_on_the_wire_end() -> None:
    def handler(request: RecordedRequest) -> Reply:
        if item_of(request) == 5:
            error = {"message": "bad item", "type": "invalid_request_error", "param": None, "code": None}
            return Reply.json({"error": error}, status=400)
        return openai_reply(f"Echo: item {item_of(request)}")

    with FakeServer(handler) as server, client_for(server) as client:
        run = client.map([client.chat().user(f"item {i}") for i in range(200)], workers=4, stop_on_error=True)
        yielded: list[MapResult] = []
        with pytest.raises(BadRequestError, match="bad item"):
            for result in run:
                yielded.append(result)
        assert map_threads() == []
        sent = len(server.requests)

    assert run.stop_reason == "error"
    assert 5 not in [r.index for r in yielded]
    assert isinstance(next(r for r in run.leftovers if r.index == 5).error, BadRequestError)
    reported = yielded + run.leftovers
    assert sorted(r.index for r in reported) == list(range(len(reported)))
    assert sum(1 for r in reported if not isinstance(r.error, ItemCancelled)) == sent
    assert sent < 200


def test_a_raising_progress_callback_is_logged_once_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def broken(progress: MapProgress) -> None:
        calls.append(progress.done)
        raise ValueError("progress bar bug")

    with FakeServer.openai() as server, client_for(server) as client:
        with caplog.at_level(logging.WARNING, logger="relay_lite"):
            results = list(client.map([client.chat().user(f"item {i}") for i in range(10)], progress=broken))

    assert [r.response.text for r in results] == [f"Echo: item {i}" for i in range(10)]
    assert calls == list(range(1, 11))
    warnings = [r for r in caplog.records if "progress callback" in r.getMessage()]
    assert len(warnings) == 1
    assert "broken raised; ignored (logged once)" in warnings[0].getMessage()


def test_structured_requests_callables_and_bad_items_mix_in_one_run() -> None:
    from dataclasses import dataclass

    @dataclass
    class Person:
        name: str
        age: int

    class Job:
        def send(self) -> str:
            return "sent"

    with FakeServer.openai() as server, client_for(server) as client:
        server.add(ChatScript(text='{"name": "Ann", "age": 3}'))
        items: list[Any] = [
            client.chat().user("Ann is 3").structured(Person),
            lambda: 42,
            Job(),
            17,
        ]
        results = list(client.map(items, workers=1))

    assert results[0].value == Person("Ann", 3)
    assert results[0].response.attempts == 1
    assert (results[1].value, results[2].value) == (42, "sent")
    assert isinstance(results[3].error, ConfigError)
    assert (
        str(results[3].error) == "map() runs ChatRequests, objects with a send() method or callables, got int"
    )


def test_map_refuses_more_workers_than_pooled_connections_and_bad_arguments() -> None:
    client = Client.compatible("http://127.0.0.1:9/v1", model="m")
    with pytest.raises(ConfigError) as raised:
        client.map([], workers=16)
    assert str(raised.value) == (
        "map() workers=16 exceeds this client's pool_size=10: build the client with "
        "pool_size=16 (or RELAY_LITE_POOL_SIZE) or use fewer workers"
    )
    bad = [
        ({"workers": 0}, "map() workers must be a whole number >= 1, got 0"),
        ({"workers": True}, "map() workers must be a whole number >= 1, got True"),
        ({"deadline": -1}, "map() deadline must be a positive number, got -1"),
        (
            {"max_requests_per_second": float("nan")},
            "map() max_requests_per_second must be a positive number, got nan",
        ),
        ({"max_attempts": 0}, "map() max_attempts must be a whole number >= 1, got 0"),
        ({"progress": 5}, "map() progress must be callable, got int"),
    ]
    for options, message in bad:
        with pytest.raises(ConfigError) as raised:
            client.map([], **options)
        assert str(raised.value) == message
    with pytest.raises(ConfigError, match="map\\(\\) needs an iterable of requests, got str"):
        client.map("item 1")  # type: ignore[arg-type]
    assert map_threads() == []  # nothing starts before the run is iterated


def test_the_signature_defaults_are_the_named_constants() -> None:
    import inspect

    from relay_lite._bulk import DEFAULT_MAP_MAX_ATTEMPTS, DEFAULT_MAP_WORKERS

    parameters = inspect.signature(Client.map).parameters
    assert parameters["workers"].default == DEFAULT_MAP_WORKERS
    assert parameters["max_attempts"].default == DEFAULT_MAP_MAX_ATTEMPTS


def test_an_empty_run_starts_no_thread() -> None:
    client = Client.compatible("http://127.0.0.1:9/v1", model="m")
    run = client.map([])
    assert isinstance(run, MapRun)
    assert list(run) == []
    assert run.progress == MapProgress(total=0)


def test_the_map_module_loads_only_when_map_is_called() -> None:
    code = (
        "import sys, relay_lite\n"
        "client = relay_lite.Client.compatible('http://127.0.0.1:9/v1', model='m')\n"
        "client.chat().user('hi')\n"
        "print('relay_lite._bulk' in sys.modules, 'concurrent.futures' in sys.modules)\n"
        "client.map([])\n"
        "print('relay_lite._bulk' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout == "False False\nTrue\n"


def test_the_map_names_are_exported_lazily() -> None:
    assert relay_lite.MapResult is MapResult
    assert relay_lite.MapProgress is MapProgress
    assert relay_lite.ItemCancelled is ItemCancelled
    assert relay_lite.MapRun is MapRun


# -- the pacer, sans-I/O -------------------------------------------------------------------


def limits(**fields: Any) -> RateLimits:
    return RateLimits(received_at=time.time(), **fields)


def test_pacer_spends_the_reported_request_budget_less_the_calls_in_flight() -> None:
    pacer = _Pacer(0.0)
    now = 100.0
    pacer.learn(limits(requests_remaining=3, requests_reset=1.0), now, others_in_flight=1)
    assert pacer.wait(now) == 0.0
    pacer.take(now)
    assert pacer.wait(now) == 0.0
    pacer.take(now)
    assert 0.99 < pacer.wait(now) <= 1.0  # 3 left, 1 still on the wire, 2 spent: wait for the reset
    assert pacer.wait(now + 1.0) == 0.0  # refilled


def test_pacer_budget_never_rises_within_a_known_window() -> None:
    pacer = _Pacer(0.0)
    pacer.learn(limits(requests_remaining=1, requests_reset=1.0), 100.0, others_in_flight=0)
    pacer.learn(limits(requests_remaining=50, requests_reset=1.0), 100.0, others_in_flight=0)  # a late reply
    pacer.take(100.0)
    assert pacer.wait(100.0) > 0.9
    # Once the window is over, the next reply starts a new one with its own count.
    pacer.learn(limits(requests_remaining=50, requests_reset=1.0), 101.5, others_in_flight=0)
    assert pacer.budget == 50


def test_pacer_pauses_until_the_token_reset_when_tokens_run_short() -> None:
    pacer = _Pacer(0.0)
    pacer.count_tokens(500)
    pacer.learn(limits(tokens_remaining=400, tokens_reset=0.5), 100.0, others_in_flight=0)
    assert 0.49 < pacer.wait(100.0) <= 0.5
    relaxed = _Pacer(0.0)
    relaxed.count_tokens(500)
    relaxed.learn(limits(tokens_remaining=4000, tokens_reset=0.5), 100.0, others_in_flight=0)
    assert relaxed.wait(100.0) == 0.0


def test_pacer_spaces_starts_by_the_request_rate_cap_and_honours_a_pause() -> None:
    pacer = _Pacer(0.25)
    pacer.take(100.0)
    assert pacer.wait(100.0) == 0.25
    assert pacer.wait(100.25) == 0.0
    pacer.pause(103.0)
    assert pacer.wait(101.0) == 2.0


def test_the_map_rate_cap_holds_on_the_wire() -> None:
    with FakeServer.openai() as server, client_for(server) as client:
        started = time.monotonic()
        results = list(
            client.map([client.chat().user(f"item {i}") for i in range(6)], max_requests_per_second=20)
        )
        took = time.monotonic() - started
    assert all(r.ok for r in results)
    assert took >= 0.25  # six starts, 50 ms apart at least


def test_readme_map_snippet_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Many requests: client.map", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "0 Echo: Classify: apples\n1 Echo: Classify: pears\n2 Echo: Classify: plums\n"
    assert out.stderr.splitlines()[-1] == "3 done, 0 failed"


def test_other_retryable_statuses_are_still_retried_by_the_transport_inside_a_map() -> None:
    with FakeServer(lambda request: openai_reply(f"Echo: item {item_of(request)}")) as server:
        client = client_for(server, retry=RetryPolicy(max_retries=1, backoff=0.01))
        server.add(Reply(status=503))
        (result,) = list(client.map([client.chat().user("item 0")], workers=1))
        client.close()
    assert result.response.text == "Echo: item 0"
    assert (result.attempts, result.response.attempts) == (1, 2)  # one map run, two HTTP attempts
    assert client.config.retry.retry_statuses >= {429, 503}  # the client's own policy is untouched


# -- robustness: worker faults, stops from anywhere, slow inputs ---------------------------


def offline_client() -> Client:
    """A client for runs of plain callables: nothing goes on the wire."""
    return Client.compatible("http://127.0.0.1:9/v1", model="m")


def consume_in_thread(run: MapRun, seconds: float = 5.0) -> list[MapResult]:
    """Iterate ``run`` on a helper thread so a hang fails the test instead of stalling it."""
    results: list[MapResult] = []
    consumer = threading.Thread(target=lambda: results.extend(run), daemon=True)
    consumer.start()
    consumer.join(seconds)
    assert not consumer.is_alive(), "the run hung"
    return results


def test_a_result_whose_properties_raise_is_kept_and_the_run_still_ends() -> None:
    class Awkward:
        @property
        def rate_limits(self) -> Any:
            raise RuntimeError("bug in the caller's result object")

        @property
        def usage(self) -> Any:
            raise RuntimeError("bug in the caller's result object")

    awkward = Awkward()
    run = offline_client().map([lambda: awkward, lambda: 1], workers=2)
    results = consume_in_thread(run)

    assert [(r.index, r.ok) for r in results] == [(0, True), (1, True)]
    assert results[0].response is awkward
    assert run.progress == MapProgress(done=2, failed=0, in_flight=0, tokens=0, total=2)
    assert map_threads() == []


def test_a_result_property_raising_a_base_exception_fails_only_that_item() -> None:
    class Fatal(BaseException):
        pass

    class Doomed:
        @property
        def rate_limits(self) -> Any:
            raise Fatal("not an Exception")

    run = offline_client().map([Doomed, lambda: 1], workers=2)
    results = consume_in_thread(run)

    assert isinstance(results[0].error, Fatal)
    assert results[0].response is None
    assert results[1].value == 1
    assert run.progress == MapProgress(done=2, failed=1, in_flight=0, tokens=0, total=2)
    assert map_threads() == []


def test_ctrl_c_from_the_callback_while_deadline_results_are_reported_keeps_every_pulled_item() -> None:
    def interrupt(progress: MapProgress) -> None:
        if progress.done == 3:
            raise KeyboardInterrupt

    def slow() -> str:
        time.sleep(0.3)
        return "late"

    run = offline_client().map([slow] * 10, workers=2, deadline=0.1, progress=interrupt)
    yielded: list[MapResult] = []
    with pytest.raises(KeyboardInterrupt):
        for result in run:
            yielded.append(result)

    assert run.stop_reason == "interrupted"
    accounted = sorted(r.index for r in yielded + run.leftovers)
    assert len(accounted) >= 3
    assert accounted == list(range(len(accounted)))  # every pulled item, once
    assert run.progress.done == len(accounted)
    assert map_threads() == []


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_a_second_ctrl_c_while_stopping_records_the_running_calls_as_abandoned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import signal

    release = threading.Event()
    first_interrupt = threading.Event()
    started = threading.Semaphore(0)

    def fast() -> str:
        started.acquire(timeout=5)  # item 1 is on the wire before this one ends
        return "fast"

    def blocked() -> str:
        started.release()
        release.wait(5)
        return "released"

    def interrupt(progress: MapProgress) -> None:
        first_interrupt.set()
        raise KeyboardInterrupt

    def second_ctrl_c() -> None:
        if first_interrupt.wait(5):
            time.sleep(0.2)  # the consumer is joining the blocked workers by now
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    sender = threading.Thread(target=second_ctrl_c, daemon=True)
    sender.start()
    run = offline_client().map([fast] + [blocked] * 5, workers=2, progress=interrupt)
    try:
        with caplog.at_level(logging.WARNING, logger="relay_lite"), pytest.raises(KeyboardInterrupt):
            with run:
                for _ in run:
                    pass
        sender.join(5)
        leftovers = list(run.leftovers)
        still_running = map_threads()
    finally:
        release.set()
        for _ in range(100):
            if not map_threads():
                break
            time.sleep(0.05)

    assert run.stop_reason == "interrupted"
    # Every pulled item (how many depends on the consumer's pace) is kept exactly once.
    assert [r.index for r in leftovers] == list(range(len(leftovers)))
    assert leftovers[0].value == "fast"
    reasons = {r.index: r.error.reason for r in leftovers[1:] if isinstance(r.error, ItemCancelled)}
    assert sorted(reasons) == list(range(1, len(leftovers)))
    abandoned = [index for index, reason in reasons.items() if reason == "abandoned"]
    assert 1 in abandoned and len(abandoned) <= 2  # at most one call per worker was running
    assert all(reason == "interrupted" for index, reason in reasons.items() if index not in abandoned)
    assert str(leftovers[1].error) == (
        "the map run was interrupted again while this item's call was running; its outcome is abandoned"
    )
    assert still_running  # left to end on their own, and said so
    assert any("interrupted again while stopping" in r.getMessage() for r in caplog.records)
    assert map_threads() == []


def test_close_from_another_thread_ends_the_consumers_loop_and_keeps_the_leftovers() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocked() -> str:
        started.release()
        release.wait(5)
        return "released"

    run = offline_client().map([blocked] * 4, workers=2)
    outcome: list[Optional[BaseException]] = []

    def closer() -> None:
        started.acquire(timeout=5)
        started.acquire(timeout=5)  # both workers busy: the consumer waits in the run
        try:
            run.close()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        release.set()

    threading.Thread(target=closer, daemon=True).start()
    results = consume_in_thread(run)

    assert outcome == [None]
    assert results == []
    assert run.stop_reason == "closed"
    # The two calls on the wire ended and were kept; what was pulled but never ran is
    # cancelled (how many were pulled by then depends on the consumer's pace).
    assert [(r.index, r.ok) for r in run.leftovers[:2]] == [(0, True), (1, True)]
    assert [r.index for r in run.leftovers] == list(range(len(run.leftovers)))
    assert all(getattr(r.error, "reason", None) == "closed" for r in run.leftovers[2:])
    assert map_threads() == []
    run.close()  # again, from the consumer's thread: nothing left to do
    assert run.stop_reason == "closed"


def test_close_from_the_progress_callback_stops_the_run_once_the_callback_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    holder: list[MapRun] = []

    def stop_at_two(progress: MapProgress) -> None:
        if progress.done == 2:
            holder[0].close()

    with FakeServer.openai() as server, client_for(server) as client:
        run = client.map(
            [client.chat().user(f"item {i}") for i in range(40)], workers=2, progress=stop_at_two
        )
        holder.append(run)
        with caplog.at_level(logging.WARNING, logger="relay_lite"):
            yielded = list(run)
        sent = len(server.requests)

    assert [r for r in caplog.records if "progress callback" in r.getMessage()] == []
    assert run.stop_reason == "closed"
    assert len(yielded) <= 2
    reported = yielded + run.leftovers
    assert sorted(r.index for r in reported) == list(range(len(reported)))
    assert sum(1 for r in reported if not isinstance(r.error, ItemCancelled)) == sent
    assert sent < 40
    assert map_threads() == []


def test_close_after_a_finished_run_leaves_its_stop_reason_alone() -> None:
    run = offline_client().map([lambda: 1])
    assert [r.value for r in run] == [1]
    run.close()
    assert run.stop_reason is None
    assert run.leftovers == []


def test_pacer_caps_a_header_pause_at_max_wait_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    # A reset hours away (Anthropic's RFC 3339 reset from a skewed server clock) or
    # OpenAI's "7m12s" token reset would otherwise hold every worker that long.
    pacer = _Pacer(0.0, max_wait=60.0)
    with caplog.at_level(logging.INFO, logger="relay_lite"):
        pacer.learn(limits(requests_remaining=0, requests_reset=7200.0), 100.0, others_in_flight=0)
        pacer.learn(limits(requests_remaining=0, requests_reset=7200.0), 100.0, others_in_flight=0)
    assert 59.9 < pacer.wait(100.0) <= 60.0
    assert pacer.wait(160.0) == 0.0  # the capped window is over: the next reply says more
    messages = [r.getMessage() for r in caplog.records if r.name == "relay_lite"]
    # Once per pause, not per reply.
    assert messages == [
        "map: rate-limit headers report no requests left for 7200 s; "
        "every worker pauses 60.00 s (capped at max_retry_after)"
    ]

    tokens = _Pacer(0.0, max_wait=60.0)
    with caplog.at_level(logging.INFO, logger="relay_lite"):
        tokens.learn(limits(tokens_remaining=0, tokens_reset=432.0), 100.0, others_in_flight=0)
    assert 59.9 < tokens.wait(100.0) <= 60.0

    short = _Pacer(0.0, max_wait=60.0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="relay_lite"):
        short.learn(limits(requests_remaining=0, requests_reset=2.0), 100.0, others_in_flight=0)
    assert [r.getMessage() for r in caplog.records] == [
        "map: rate-limit headers report no requests left; every worker pauses 2.00 s"
    ]


def test_a_run_caps_header_pauses_at_its_clients_max_retry_after() -> None:
    client = offline_client()
    assert client.map([])._state._pacer.max_wait == 60.0
    strict = Client.compatible("http://127.0.0.1:9/v1", model="m", retry=RetryPolicy(max_retry_after=5))
    assert strict.map([])._state._pacer.max_wait == 5.0


def test_results_that_finished_are_yielded_between_pulls_from_a_slow_iterable() -> None:
    first_done = threading.Event()
    seen_first = threading.Event()
    seen_before_third_pull: list[bool] = []
    holder: list[MapRun] = []

    def first() -> str:
        first_done.set()
        return "a"

    def inputs() -> Any:
        yield first
        assert first_done.wait(5)
        state = holder[0]._state
        for _ in range(500):  # until the worker has handed item 0's outcome back
            with state._lock:
                if state._outcomes or seen_first.is_set():
                    break
            time.sleep(0.01)
        yield lambda: "b"
        # A slow iterable (a paginated API, a pipe) is asked again only now.
        seen_before_third_pull.append(seen_first.is_set())
        yield lambda: "c"

    run = offline_client().map(inputs(), workers=2)
    holder.append(run)
    values = []
    for result in run:
        values.append(result.value)
        if result.index == 0:
            seen_first.set()

    assert values == ["a", "b", "c"]
    assert seen_before_third_pull == [True]


def test_ordered_mode_runs_past_a_slow_head_item_beyond_the_lookahead_window() -> None:
    ran: list[int] = []
    ran_when_head_returned: list[int] = []

    def head() -> str:
        for _ in range(300):  # hold the head until the 30 others ran (or give up)
            if len(ran) >= 30:
                break
            time.sleep(0.01)
        ran_when_head_returned.append(len(ran))
        return "head"

    def other(index: int) -> Any:
        return lambda: ran.append(index) or index

    results = list(offline_client().map([head] + [other(i) for i in range(1, 31)], workers=2))

    assert ran_when_head_returned == [30]  # more than the 2 x 4 window ran past the head
    assert [r.index for r in results] == list(range(31))
    assert [r.value for r in results[1:]] == list(range(1, 31))


def test_ordered_mode_holds_back_at_most_sixteen_results_per_worker_behind_a_slow_item() -> None:
    ran: list[int] = []
    ran_when_head_returned: list[int] = []

    def head() -> str:
        count, still = -1, 0
        while still < 20 and len(ran) < 100:  # until the others stop (0.2 s unchanged)
            still = still + 1 if len(ran) == count else 0
            count = len(ran)
            time.sleep(0.01)
        ran_when_head_returned.append(len(ran))
        return "head"

    def other(index: int) -> Any:
        return lambda: ran.append(index) or index

    results = list(offline_client().map([head] + [other(i) for i in range(1, 101)], workers=2))

    (held,) = ran_when_head_returned
    assert 32 <= held <= 32 + 2 * 4  # the cap on held results, plus what was already queued
    assert [r.index for r in results] == list(range(101))


def test_a_map_results_repr_shows_elapsed_to_the_millisecond() -> None:
    result = MapResult(3, "item 3", "ok", None, 2, 1.23456789)
    assert repr(result) == (
        "MapResult(index=3, request='item 3', response='ok', error=None, attempts=2, elapsed=1.235)"
    )
    assert result.elapsed == 1.23456789
