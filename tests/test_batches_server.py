"""Provider batch APIs end to end over FakeServer: submit, wait, results, cancel, list, resume."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import urllib3

import relay_lite
from relay_lite import (
    BadRequestError,
    Batch,
    BatchCanceledError,
    BatchError,
    BatchExpiredError,
    BatchNotEndedError,
    Client,
    ConfigError,
    DeadlineExceeded,
    RateLimitError,
)
from relay_lite.testing import BatchScript, ChatScript, FakeServer, Reply

OPENAI_KEY = "sk-test-batches-0123456789"
ANTHROPIC_KEY = "sk-ant-test-batches-0123456789"


@pytest.fixture
def openai_server() -> Iterator[FakeServer]:
    with FakeServer.openai() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeServer]:
    with FakeServer.anthropic() as server:
        yield server


def openai_client(server: FakeServer, **options: Any) -> Client:
    return Client.openai(api_key=OPENAI_KEY, base_url=server.url + "/v1", model="gpt-4o-mini", **options)


def anthropic_client(server: FakeServer, **options: Any) -> Client:
    return Client.anthropic(
        api_key=ANTHROPIC_KEY, base_url=server.url, model="claude-3-5-haiku-latest", **options
    )


def by_id(results: Any) -> dict[str, Any]:
    found = {r.custom_id: r for r in results}
    return found


SCRIPT_ERRORS = {
    "bad": {"status": 400, "type": "invalid_request_error", "message": "max_tokens is too large"},
    "slow": {"status": 429, "type": "rate_limit_error", "message": "Rate limited"},
}


# -- OpenAI ---------------------------------------------------------------------------------------


def test_openai_batch_end_to_end_with_failed_and_expired_items(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    script = BatchScript(
        polls=3, errors=SCRIPT_ERRORS, expired=["late"], replies={"one": ChatScript(text="first!")}
    )
    openai_server.add(script)
    requests = [client.chat().user(text) for text in ("one", "two", "bad", "slow", "late")]
    batch = client.batches.submit(
        requests, ids=["one", "two", "bad", "slow", "late"], metadata={"job": "nightly"}
    )
    assert (batch.provider, batch.status, batch.ended, batch.counts.total) == (
        "openai",
        "validating",
        False,
        5,
    )
    assert batch.metadata == {"job": "nightly"}

    seen: list[Batch] = []
    ended = client.batches.wait(batch, poll=0.001, on_poll=seen.append)
    assert [b.status for b in seen] == ["in_progress", "in_progress", "in_progress"]
    assert (ended.status, ended.ended) == ("expired", True)
    assert (ended.counts.succeeded, ended.counts.failed) == (2, 3)

    results = by_id(client.batches.results(ended))
    assert sorted(results) == ["bad", "late", "one", "slow", "two"]
    assert results["one"].response.text == "first!"
    assert results["two"].response.text == "Echo: two"
    assert results["two"].response.request_id == "req_fake"
    assert type(results["bad"].error) is BadRequestError
    assert (results["bad"].error.status, results["bad"].error.message) == (400, "max_tokens is too large")
    assert type(results["slow"].error) is RateLimitError
    assert type(results["late"].error) is BatchExpiredError

    paths = [(r.method, r.path.split("?")[0]) for r in openai_server.requests]
    assert paths == [
        ("POST", "/v1/files"),
        ("POST", "/v1/batches"),
        *[("GET", f"/v1/batches/{batch.id}")] * 4,
        ("GET", f"/v1/files/{ended.output_file_id}/content"),
        ("GET", f"/v1/files/{ended.error_file_id}/content"),
    ]
    create = openai_server.requests[1].json()
    assert create == {
        "input_file_id": batch.input_file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": {"job": "nightly"},
    }


def test_openai_batch_lines_carry_exactly_what_send_sends(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    request = client.chat().system("Be brief.").user("Hello").temperature(0.2).max_tokens(9)
    request.send()
    sent = openai_server.requests[-1].json()
    batch = client.batches.submit([request])
    upload = openai_server.requests[-2]
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["authorization"] == f"Bearer {OPENAI_KEY}"  # the one request path authorizes it
    content = (
        urllib3.PoolManager()
        .request("GET", f"{openai_server.url}/v1/files/{batch.input_file_id}/content")
        .data
    )
    assert content == (
        b'{"custom_id":"request-0","method":"POST","url":"/v1/chat/completions","body":'
        + json.dumps(sent, separators=(",", ":")).encode()
        + b"}\n"
    )


def test_openai_results_resume_from_a_new_client_with_the_id_alone(openai_server: FakeServer) -> None:
    first = openai_client(openai_server)
    batch_id = first.batches.submit([first.chat().user("a"), first.chat().user("b")]).id
    first.close()

    later = openai_client(openai_server)  # another process, a later Lambda invocation
    later.batches.wait(batch_id, poll=0.001)
    results = by_id(later.batches.results(batch_id))
    assert {k: r.response.text for k, r in results.items()} == {
        "request-0": "Echo: a",
        "request-1": "Echo: b",
    }


def test_openai_cancel_reports_every_item_that_never_ran(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    openai_server.add(BatchScript(polls=100))
    batch = client.batches.submit([client.chat().user("a"), client.chat().user("b")], ids=["x", "y"])
    canceling = client.batches.cancel(batch.id)
    assert (canceling.status, canceling.ended) == ("cancelling", False)
    ended = client.batches.wait(batch.id, poll=0.001)
    assert ended.status == "cancelled"
    results = list(client.batches.results(ended))
    assert [r.custom_id for r in results] == ["x", "y"]  # read back from the input file
    assert all(type(r.error) is BatchCanceledError for r in results)
    assert results[0].error.message == f"batch {batch.id} was cancelled before this request ran"


def test_openai_list_pages_through_every_batch_newest_first(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    made = [client.batches.submit([client.chat().user(str(n))]).id for n in range(5)]
    listed = [b.id for b in client.batches.list(page_size=2)]
    assert listed == made[::-1]
    queries = [r.path for r in openai_server.requests if r.path.startswith("/v1/batches?")]
    assert queries == [
        "/v1/batches?limit=2",
        f"/v1/batches?limit=2&after={made[3]}",
        f"/v1/batches?limit=2&after={made[1]}",
    ]


def test_openai_batch_that_failed_validation_raises_with_its_reasons(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    failed = {
        "id": "batch_failed1",
        "object": "batch",
        "status": "failed",
        "errors": {
            "object": "list",
            "data": [{"code": "invalid_model", "message": "no such model", "line": 1}],
        },
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
    }
    openai_server.add(Reply.json(failed))
    with pytest.raises(
        BatchError, match=r"batch batch_failed1 failed: invalid_model \(line 1\): no such model"
    ):
        client.batches.results("batch_failed1")


def test_openai_unknown_batch_is_not_found(openai_server: FakeServer) -> None:
    with pytest.raises(relay_lite.NotFoundError, match="No batch found"):
        openai_client(openai_server).batches.get("batch_nope")


# -- Anthropic ------------------------------------------------------------------------------------


def test_anthropic_batch_end_to_end_with_failed_and_expired_items(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    anthropic_server.add(BatchScript(polls=2, errors=SCRIPT_ERRORS, expired=["late"]))
    ids = ["one", "two", "bad", "slow", "late"]
    batch = client.batches.submit([client.chat().system("Be brief.").user(t) for t in ids], ids=ids)
    assert (batch.provider, batch.status, batch.ended, batch.counts.processing) == (
        "anthropic",
        "in_progress",
        False,
        5,
    )
    create = anthropic_server.requests[0]
    assert create.path == "/v1/messages/batches"
    assert (
        create.headers["x-api-key"] == ANTHROPIC_KEY and create.headers["anthropic-version"] == "2023-06-01"
    )
    assert create.json()["requests"][0] == {
        "custom_id": "one",
        "params": {
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": "one"}],
            "system": "Be brief.",
        },
    }

    polls: list[Batch] = []
    ended = client.batches.wait(batch.id, poll=0.001, on_poll=polls.append)
    assert len(polls) == 2 and ended.status == "ended"
    assert ended.counts == relay_lite.BatchCounts(
        total=5, processing=0, succeeded=2, failed=2, canceled=0, expired=1
    )
    results = by_id(client.batches.results(batch.id))
    assert results["one"].response.text == "Echo: one" and results["two"].response.text == "Echo: two"
    assert type(results["bad"].error) is BadRequestError
    assert type(results["slow"].error) is RateLimitError
    assert type(results["late"].error) is BatchExpiredError
    assert anthropic_server.requests[-1].path == f"/v1/messages/batches/{batch.id}/results"


def test_anthropic_resume_cancel_and_list(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    anthropic_server.add(BatchScript(polls=100))
    batch_id = client.batches.submit([client.chat().user("a"), client.chat().user("b")]).id
    other = client.batches.submit([client.chat().user("c")]).id

    later = anthropic_client(anthropic_server)
    assert later.batches.cancel(batch_id).status == "canceling"
    ended = later.batches.wait(batch_id, poll=0.001)
    assert (ended.status, ended.counts.canceled) == ("ended", 2)
    results = list(later.batches.results(batch_id))
    assert [(r.custom_id, type(r.error)) for r in results] == [
        ("request-0", BatchCanceledError),
        ("request-1", BatchCanceledError),
    ]
    assert [b.id for b in later.batches.list(page_size=1)] == [other, batch_id]
    assert anthropic_server.requests[-1].path == f"/v1/messages/batches?limit=1&after_id={other}"


def test_anthropic_results_of_a_running_batch_say_to_wait(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    anthropic_server.add(BatchScript(polls=100))
    batch = client.batches.submit([client.chat().user("a")])
    with pytest.raises(BatchNotEndedError, match=f"batch {batch.id} is still in_progress; wait"):
        client.batches.results(batch.id)


def test_anthropic_results_url_on_another_host_is_never_sent_the_key(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    batch = client.batches.wait(client.batches.submit([client.chat().user("a")]).id, poll=0.001)
    moved = batch.replace(results_url="https://elsewhere.example/v1/messages/batches/x/results")
    assert [r.response.text for r in client.batches.results(moved)] == ["Echo: a"]
    assert anthropic_server.requests[-1].path == f"/v1/messages/batches/{batch.id}/results"


def test_wait_past_its_deadline_raises_with_the_last_batch_seen(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    anthropic_server.add(BatchScript(polls=10_000))
    batch = client.batches.submit([client.chat().user("a")])
    with pytest.raises(
        DeadlineExceeded, match=f"batch {batch.id} is still in_progress after waiting 0.05 s"
    ) as info:
        client.batches.wait(batch, deadline=0.05, poll=0.01)
    assert isinstance(info.value.partial, Batch) and info.value.partial.id == batch.id


def test_stopping_results_early_releases_the_download(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    batch = client.batches.submit([client.chat().user(str(n)) for n in range(50)])
    client.batches.wait(batch, poll=0.001)
    results = client.batches.results(batch.id)
    assert next(results).custom_id == "request-0"
    results.close()  # type: ignore[attr-defined]
    assert client.chat().user("still usable").send().text == "Echo: still usable"


def test_every_batch_call_goes_through_the_request_hooks(anthropic_server: FakeServer) -> None:
    seen: list[str] = []
    client = anthropic_client(anthropic_server, hooks={"request": lambda info: seen.append(info.method)})
    batch = client.batches.submit([client.chat().user("a")])
    ended = client.batches.wait(batch, poll=0.001)
    list(client.batches.results(ended))  # an ended Batch in hand: straight to the download
    assert seen == ["POST", "GET", "GET"]
    list(client.batches.results(batch.id))  # an id alone: retrieved first, for its state
    assert seen == ["POST", "GET", "GET", "GET", "GET"]


# -- bad input ------------------------------------------------------------------------------------


def test_submit_refuses_bad_input_with_config_errors(anthropic_server: FakeServer) -> None:
    client = anthropic_client(anthropic_server)
    hello = client.chat().user("hi")
    cases = [
        (lambda: client.batches.submit([]), "submit() needs at least one request"),
        (lambda: client.batches.submit([hello], ids=["a", "b"]), "submit() got 2 ids for 1 requests"),
        (lambda: client.batches.submit([hello, hello], ids=["a", "a"]), "custom id 'a' is used twice"),
        (
            lambda: client.batches.submit(["hi"]),
            "submit() takes ChatRequests (client.chat()...); item 0 is str",
        ),
        (lambda: client.batches.submit([hello], ids=[""]), "custom id 0 must be a non-empty string"),
        (lambda: client.batches.submit([hello], ids=["a b"]), "Anthropic custom id 'a b' must be 1-64"),
        (
            lambda: client.batches.submit([hello], metadata={"a": "b"}),
            "Anthropic message batches take no metadata",
        ),
        (lambda: client.batches.submit([client.chat()]), "a chat request needs at least one message"),
        (lambda: client.batches.get(""), "a batch is named by a non-empty id or a Batch"),
        (lambda: client.batches.wait("b", poll=0), "wait() poll must be a number of seconds > 0"),
        (lambda: client.batches.wait("b", deadline=-1), "wait() deadline must be a number of seconds >= 0"),
        (lambda: client.batches.list(page_size=0), "list() page_size must be a whole number from 1 to 100"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError) as info:
            call()
        assert message in str(info.value)
    assert anthropic_server.requests == []  # refused before anything was sent


def test_a_protocol_without_a_batch_api_says_so() -> None:
    client = Client.modelrelay(api_key="mr_sk_test_0123456789")
    with pytest.raises(
        ConfigError, match=r"modelrelay \(modelrelay protocol\) has no batch API in relay_lite"
    ):
        client.batches  # noqa: B018


def test_readme_batch_example_runs_and_its_asserts_hold() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    section = (root / "README.md").read_text(encoding="utf-8").split("## Provider batch APIs", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_an_item_error_echoing_the_key_is_redacted(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    echo = {
        "status": 401,
        "type": "invalid_request_error",
        "message": f"Incorrect API key provided: {OPENAI_KEY}",
    }
    openai_server.add(BatchScript(errors={"request-0": echo}))
    batch = client.batches.wait(client.batches.submit([client.chat().user("a")]).id, poll=0.001)
    [result] = list(client.batches.results(batch))
    assert type(result.error) is relay_lite.AuthenticationError
    assert result.error.message == "Incorrect API key provided: [REDACTED]"
    assert OPENAI_KEY not in repr(result.error.body) and OPENAI_KEY not in str(result.error)


def test_batch_modules_load_only_when_client_batches_is_first_used() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, relay_lite\n"
        "def loaded(): return sorted(m for m in sys.modules if 'batch' in m or 'multipart' in m)\n"
        "print(loaded())\n"
        "relay_lite.Client.anthropic(api_key='k').batches\n"
        "print(loaded())\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env={"PYTHONPATH": str(root)}, capture_output=True, text=True
    )
    assert done.stdout == (
        "[]\n['relay_lite._batch', 'relay_lite._batch_anthropic', 'relay_lite._batches']\n"
    ), done.stderr


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_batches_run_on_mock_transport_without_a_socket(protocol: str) -> None:
    from relay_lite.testing import MockTransport

    transport = MockTransport(protocol=protocol)
    if protocol == "openai":
        client = Client.compatible("http://mock/v1", model="m", transport=transport)
    else:
        client = Client.anthropic(api_key="k", base_url="http://mock", model="m", transport=transport)
    transport.add(BatchScript(polls=1, expired=["b"]))
    batch = client.batches.submit([client.chat().user("hi"), client.chat().user("late")], ids=["a", "b"])
    results = by_id(client.batches.results(client.batches.wait(batch, poll=0.001)))
    assert results["a"].response.text == "Echo: hi"
    assert type(results["b"].error) is BatchExpiredError


# -- review fixes: credentials in shape errors, lines without ids, missing items, cursors, state --------

ECHO = f"Bearer {OPENAI_KEY}"


def _assert_scrubbed(error: BaseException) -> None:
    assert type(error) is relay_lite.ResponseError
    text = repr(error) + str(error) + str(error.body)
    assert OPENAI_KEY not in text and ANTHROPIC_KEY not in text
    assert "[REDACTED]" in str(error.body)


@pytest.mark.parametrize("call", ["get", "cancel", "list", "submit"])
def test_openai_batch_shape_errors_echoing_the_key_are_scrubbed(call: str) -> None:
    def handler(request: Any) -> Reply:
        if request.path.endswith("/files"):  # the upload's file object, without its id
            return Reply.json({"object": "file", "echo": ECHO})
        return Reply.json({"id": "b", "status": 5, "echo": ECHO, "data": [{"id": "b", "echo": ECHO}]})

    with FakeServer(handler=handler) as server:
        client = openai_client(server)
        calls = {
            "get": lambda: client.batches.get("b"),
            "cancel": lambda: client.batches.cancel("b"),
            "list": lambda: list(client.batches.list()),
            "submit": lambda: client.batches.submit([client.chat().user("x")]),
        }
        with pytest.raises(relay_lite.ResponseError) as info:
            calls[call]()
    _assert_scrubbed(info.value)


@pytest.mark.parametrize("call", ["get", "cancel", "list", "submit"])
def test_anthropic_batch_shape_errors_echoing_the_key_are_scrubbed(call: str) -> None:
    bad = {"id": "b", "processing_status": None, "echo": ANTHROPIC_KEY}
    with FakeServer(handler=lambda request: Reply.json({**bad, "data": [bad]})) as server:
        client = anthropic_client(server)
        calls = {
            "get": lambda: client.batches.get("b"),
            "cancel": lambda: client.batches.cancel("b"),
            "list": lambda: list(client.batches.list()),
            "submit": lambda: client.batches.submit([client.chat().user("x")]),
        }
        with pytest.raises(relay_lite.ResponseError) as info:
            calls[call]()
    _assert_scrubbed(info.value)


def _ok_line(custom_id: str, text: str) -> bytes:
    # One output-file line as OpenAI sends it (Batch API guide: id, custom_id, response, error).
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    line = {
        "id": "batch_req_1",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": "req_1", "body": body},
        "error": None,
    }
    return json.dumps(line).encode()


def _openai_files(batch: dict[str, Any], files: dict[str, bytes]) -> Any:
    def handler(request: Any) -> Reply:
        for file_id, data in files.items():
            if request.path == f"/v1/files/{file_id}/content":
                return Reply(headers={"Content-Type": "application/octet-stream"}, body=data)
        return Reply.json(batch)

    return handler


def test_openai_line_without_custom_id_is_an_error_result_and_the_results_go_on() -> None:
    output = (
        _ok_line("a", "one")
        + b"\n"
        + json.dumps({"custom_id": 5, "echo": ECHO}).encode()
        + b"\n"
        + _ok_line("c", "three")
    )
    batch = {
        "id": "b",
        "status": "completed",
        "output_file_id": "out",
        "request_counts": {"total": 2, "completed": 2, "failed": 0},
    }
    with FakeServer(handler=_openai_files(batch, {"out": output})) as server:
        results = list(openai_client(server).batches.results("b"))
    assert [r.custom_id for r in results] == ["a", None, "c"]
    assert (results[0].response.text, results[2].response.text) == ("one", "three")
    assert results[1].error.message == "batch result line has no custom_id"
    _assert_scrubbed(results[1].error)


def test_anthropic_line_without_custom_id_is_an_error_result_and_the_results_go_on() -> None:
    lines = (
        b'{"custom_id":"a","result":{"type":"expired"}}\n'
        + json.dumps({"custom_id": None, "echo": ANTHROPIC_KEY}).encode()
        + b'\n{"custom_id":"c","result":{"type":"canceled"}}'
    )

    def handler(request: Any) -> Reply:
        if request.path.endswith("/results"):
            return Reply(headers={"Content-Type": "application/binary"}, body=lines)
        return Reply.json(
            {"id": "b", "processing_status": "ended", "request_counts": {"expired": 1, "canceled": 1}}
        )

    with FakeServer(handler=handler) as server:
        results = list(anthropic_client(server).batches.results("b"))
    assert [r.custom_id for r in results] == ["a", None, "c"]
    assert [type(r.error) for r in results] == [
        BatchExpiredError,
        relay_lite.ResponseError,
        BatchCanceledError,
    ]
    _assert_scrubbed(results[1].error)


def test_an_error_raised_while_reading_results_is_scrubbed() -> None:
    # A cancelled batch's input file is read to name the items never run; a line there
    # without a custom id ends the results, and the error must not carry the key.
    batch = {"id": "b", "status": "cancelled", "input_file_id": "in", "request_counts": {"total": 1}}
    with FakeServer(handler=_openai_files(batch, {"in": json.dumps({"echo": ECHO}).encode()})) as server:
        with pytest.raises(relay_lite.ResponseError) as info:
            list(openai_client(server).batches.results("b"))
    assert info.value.message == "a line of input file in has no custom_id"
    _assert_scrubbed(info.value)


def test_openai_items_in_neither_file_are_batch_errors_by_custom_id() -> None:
    inputs = b"".join(
        json.dumps({"custom_id": name, "method": "POST", "url": "/v1/chat/completions", "body": {}}).encode()
        + b"\n"
        for name in ("a", "b", "c")
    )
    batch = {
        "id": "batch_9",
        "status": "completed",
        "input_file_id": "in",
        "output_file_id": "out",
        "request_counts": {"total": 3, "completed": 1, "failed": 0},
    }
    with FakeServer(handler=_openai_files(batch, {"in": inputs, "out": _ok_line("b", "two")})) as server:
        results = list(openai_client(server).batches.results("b"))
    assert [r.custom_id for r in results] == ["b", "a", "c"]
    for result in results[1:]:
        assert type(result.error) is BatchError
        assert (result.error.batch_id, result.error.custom_id) == ("batch_9", result.custom_id)
        assert (
            result.error.message == "batch batch_9 is completed but gave this request no result in any file"
        )


def test_openai_input_file_is_not_read_when_the_files_hold_every_counted_item(
    openai_server: FakeServer,
) -> None:
    client = openai_client(openai_server)
    openai_server.add(BatchScript(expired=["late"]))
    batch = client.batches.submit([client.chat().user("a"), client.chat().user("b")], ids=["ok", "late"])
    ended = client.batches.wait(batch, poll=0.001)
    assert sorted(by_id(client.batches.results(ended))) == ["late", "ok"]
    contents = [r.path for r in openai_server.requests if r.path.endswith("/content")]
    assert contents == [
        f"/v1/files/{ended.output_file_id}/content",
        f"/v1/files/{ended.error_file_id}/content",
    ]


def test_anthropic_results_short_of_the_counts_end_with_one_batch_error() -> None:
    def handler(request: Any) -> Reply:
        if request.path.endswith("/results"):
            return Reply(
                headers={"Content-Type": "application/binary"},
                body=b'{"custom_id":"a","result":{"type":"expired"}}\n',
            )
        return Reply.json(
            {
                "id": "msgbatch_1",
                "processing_status": "ended",
                "request_counts": {"succeeded": 2, "expired": 1},
            }
        )

    with FakeServer(handler=handler) as server:
        results = list(anthropic_client(server).batches.results("msgbatch_1"))
    assert [r.custom_id for r in results] == ["a", None]
    assert type(results[1].error) is BatchError and results[1].error.batch_id == "msgbatch_1"
    assert (
        results[1].error.message
        == "batch msgbatch_1 counts 3 requests but its results name 1; 2 are in no results file"
    )


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_list_raises_response_error_when_the_server_repeats_its_cursor(protocol: str) -> None:
    entry = {"id": "batch_1", "status": "completed", "processing_status": "ended"}
    page = {"data": [entry], "has_more": True, "last_id": "batch_1"}
    with FakeServer(handler=lambda request: Reply.json(page)) as server:
        client = openai_client(server) if protocol == "openai" else anthropic_client(server)
        listed = client.batches.list()
        assert next(listed).id == "batch_1"
        assert next(listed).id == "batch_1"  # the second page, after the cursor batch_1
        with pytest.raises(relay_lite.ResponseError) as info:
            next(listed)
        assert len(server.requests) == 2
    assert info.value.message == "the batch list pages back to cursor 'batch_1'; stopped after 2 batches"


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_fake_batch_state_belongs_to_its_server_not_its_host_name(protocol: str) -> None:
    # Two fakes answering the same Host (as a new server on a reused port would) share nothing.
    from relay_lite.testing import MockTransport

    def client_on(transport: MockTransport) -> Client:
        if protocol == "openai":
            return Client.compatible("http://mock/v1", model="m", transport=transport)
        return Client.anthropic(api_key="k", base_url="http://mock", model="m", transport=transport)

    first, second = MockTransport(protocol=protocol), MockTransport(protocol=protocol)
    batch = client_on(first).batches.submit([client_on(first).chat().user("hi")])
    assert [b.id for b in client_on(first).batches.list()] == [batch.id]
    assert list(client_on(second).batches.list()) == []
    with pytest.raises(relay_lite.NotFoundError):
        client_on(second).batches.get(batch.id)


def test_client_batches_is_made_once_so_its_settings_last(openai_server: FakeServer) -> None:
    client = openai_client(openai_server)
    pauses: list[float] = []
    client.batches.sleep = pauses.append
    assert client.batches is client.batches
    openai_server.add(BatchScript(polls=1))
    client.batches.wait(client.batches.submit([client.chat().user("x")]), poll=0.25)
    assert pauses == [0.25]
    quick = client.with_options(max_retries=0)
    assert quick.batches is not client.batches and quick.batches.client is quick
    assert quick.batches is quick.batches
