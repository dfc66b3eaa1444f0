"""Batch APIs for ``FakeServer``: OpenAI's files + batches, Anthropic's message batches.

Registered as path routes (``_fake_routes``) for the ``openai`` and ``anthropic``
protocols. Each item of a batch is answered as the chat endpoint would answer it: a
queued ``ChatScript`` rendered by ``_fake_chat``'s renderer, or the echo of its request.
Result files are produced line by line while they are sent (a generator of chunks), so a
test can stream a results file of hundreds of megabytes that never exists in memory.

How a test scripts a batch: queue a ``BatchScript`` right before ``submit()``; the first
request of the submit takes it (OpenAI: the file upload, which hands it on to the batch
made from that file; Anthropic: the create). Without one, a batch ends at its first
retrieval and every item succeeds with an echo.

State (files and batches) belongs to the ``FakeServer`` or ``MockTransport`` answering
the request, so two servers never see each other's batches, even one started later on a
port another used, and a server's batches go when the server object does. The
answering object comes from ``_fake_routes.answering_script()``; a handler called any
other way (a test calling it directly) falls back to state per ``Host`` header.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from ._fake_chat import RENDERERS, ChatScript, echo_script
from ._fake_routes import answering_script, register_route
from ._fake_wire import RecordedRequest, Reply

__all__ = ["BatchScript"]

# Result files are sent in chunks of about this many bytes (a long line goes alone).
CHUNK_BYTES = 64 * 1024
OPENAI_ENDPOINT = "/v1/chat/completions"
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."
DAY_SECONDS = 24 * 3600


@dataclass
class BatchScript:
    """How the next batch behaves on a protocol-speaking ``FakeServer``.

    ``polls``: how many retrievals still see it in progress before it ends; ``seconds``:
    and for at least this long after it was created. ``reply`` answers every item (a
    ``ChatScript``; default: the echo of the item's request), ``replies`` answers items by
    custom id. ``errors`` fails items by custom id, each with ``{"status": 400, "type":
    "invalid_request_error", "message": "..."}`` (the provider's error shape is made of
    it). ``expired`` lists custom ids that were never run before the window closed.
    """

    polls: int = 0
    seconds: float = 0.0
    reply: Optional[ChatScript] = None
    replies: dict[str, ChatScript] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    size: int
    produce: Callable[[], Iterator[bytes]]
    script: Optional[BatchScript] = None
    data: bytes = b""


class _State:
    """One fake server's files and batches (read and written under ``_lock``)."""

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}


@dataclass
class _Batch:
    id: str
    protocol: str
    state: _State
    items: list[tuple[str, Any]]
    script: BatchScript
    order: int
    created: float = field(default_factory=time.monotonic)
    created_at: int = field(default_factory=lambda: int(time.time()))
    input_file_id: Optional[str] = None
    metadata: Any = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    canceled_at: Optional[int] = None
    # Retrievals seen when the cancel came: the next one finds the batch ended.
    polls_at_cancel: int = 0
    ended_at: Optional[int] = None

    def ended(self) -> bool:
        """Whether processing is over (sticky: a batch never starts again)."""
        if self.ended_at is None and (
            (self.canceled_at is not None and self.polls > self.polls_at_cancel)
            or self.problems
            or (self.polls > self.script.polls and time.monotonic() - self.created >= self.script.seconds)
        ):
            self.ended_at = int(time.time())
        return self.ended_at is not None

    def outcome(self, custom_id: str) -> str:
        if self.canceled_at is not None:
            return "canceled"
        if custom_id in self.script.expired:
            return "expired"
        if custom_id in self.script.errors:
            return "errored"
        return "succeeded"

    def tally(self) -> dict[str, int]:
        counts = {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for custom_id, _ in self.items:
            counts[self.outcome(custom_id)] += 1
        return counts


_lock = threading.Lock()
_numbers = itertools.count(1)
# State by answering server object (gone with it), and by Host for handlers called directly.
_states: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()
_host_states: dict[str, _State] = {}


def _state(request: RecordedRequest) -> _State:
    owner = answering_script()
    with _lock:
        if owner is None:
            return _host_states.setdefault(_host(request), _State())
        state = _states.get(owner)
        if state is None:
            state = _states[owner] = _State()
        return state


def _next_number() -> int:
    with _lock:
        return next(_numbers)


def _script_of(item: Any) -> Optional[BatchScript]:
    if item is None or isinstance(item, BatchScript):
        return item
    raise TypeError(f"a batch call takes a queued BatchScript, not {type(item).__name__}")


def _render_item(batch: _Batch, custom_id: str, body: Any) -> tuple[bytes, Optional[str]]:
    """The chat reply to one item, as the chat endpoint would send it, and its request id."""
    render, neutral = RENDERERS[batch.protocol]
    script = batch.script.replies.get(custom_id) or batch.script.reply
    if script is None:
        script = echo_script(*neutral(body))
    request = RecordedRequest("POST", OPENAI_ENDPOINT, {}, json.dumps(body).encode("utf-8"))
    reply = render(script, request)
    data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode("utf-8")
    headers = {name.lower(): value for name, value in reply.headers.items()}
    return data, headers.get("x-request-id") or headers.get("request-id")


def _chunked(lines: Iterator[bytes]) -> Iterator[bytes]:
    """``lines`` gathered into chunks of about ``CHUNK_BYTES``."""
    pending: list[bytes] = []
    size = 0
    for line in lines:
        pending.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _host(request: RecordedRequest) -> str:
    return request.headers.get("host", "")


def _iso(seconds: Optional[float]) -> Optional[str]:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(seconds))


# -- OpenAI: /files and /batches ---------------------------------------------------------------


def _openai_error(status: int, message: str, kind: str = "invalid_request_error") -> Reply:
    return Reply.json(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status=status
    )


def _parse_multipart(request: RecordedRequest) -> dict[str, tuple[Optional[str], bytes]]:
    """Form fields of a ``multipart/form-data`` body: name -> (file name or None, bytes)."""
    content_type = request.headers.get("content-type", "")
    found = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    if not content_type.startswith("multipart/form-data") or found is None:
        raise ValueError(f"expected multipart/form-data with a boundary, got {content_type!r}")
    delimiter = b"--" + found.group(1).encode("ascii")
    body = request.body
    if not body.startswith(delimiter) or not body.endswith(delimiter + b"--\r\n"):
        raise ValueError("multipart body does not start and end with its boundary")
    fields: dict[str, tuple[Optional[str], bytes]] = {}
    for part in body[len(delimiter) : -len(delimiter + b"--\r\n")].split(delimiter):
        if not part.startswith(b"\r\n") or b"\r\n\r\n" not in part:
            raise ValueError("multipart part without CRLF or headers")
        head, data = part[2:].split(b"\r\n\r\n", 1)
        if not data.endswith(b"\r\n"):
            raise ValueError("multipart part does not end with CRLF")
        disposition = re.search(rb'form-data; name="([^"]*)"(?:; filename="([^"]*)")?', head)
        if disposition is None:
            raise ValueError("multipart part without a form-data Content-Disposition")
        filename = disposition.group(2).decode("utf-8") if disposition.group(2) is not None else None
        fields[disposition.group(1).decode("utf-8")] = (filename, data[:-2])
    return fields


def _upload_file(item: Any, request: RecordedRequest) -> Reply:
    script = _script_of(item)
    fields = _parse_multipart(request)
    if "file" not in fields or fields["file"][0] is None:
        return _openai_error(400, "'file' is a required file field")
    purpose = fields.get("purpose", (None, b""))[1].decode("utf-8")
    if purpose != "batch":
        return _openai_error(400, f"this fake takes purpose 'batch' only, got {purpose!r}")
    filename, data = fields["file"]
    file = _File(
        f"file-fake{_next_number()}", filename or "", purpose, len(data), lambda: iter([data]), script, data
    )
    state = _state(request)
    with _lock:
        state.files[file.id] = file
    return Reply.json(_file_object(file, request))


def _file_object(file: _File, request: RecordedRequest) -> dict[str, Any]:
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.size,
        "created_at": int(time.time()),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
    }


def _file_content(item: Any, request: RecordedRequest) -> Reply:
    file_id = request.path.split("?", 1)[0].rstrip("/").split("/")[-2]
    state = _state(request)
    with _lock:
        file = state.files.get(file_id)
    if file is None:
        return _openai_error(404, f"No such File object: {file_id}")
    return Reply(headers={"Content-Type": "application/octet-stream"}, chunks=_chunked(file.produce()))


def _check_openai_lines(data: bytes) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    """The items of an input file, and its problems as OpenAI's batch ``errors.data``."""
    items: list[tuple[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue

        def problem(message: str, number: int = number) -> None:
            problems.append({"code": "invalid_request", "message": message, "param": None, "line": number})

        try:
            line = json.loads(raw)
        except ValueError:
            problem("line is not valid JSON")
            continue
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            problem("custom_id is required")
            continue
        if line.get("method") != "POST" or line.get("url") != OPENAI_ENDPOINT:
            problem(f"method must be POST and url {OPENAI_ENDPOINT}")
            continue
        if line["custom_id"] in seen:
            problem(f"duplicate custom_id {line['custom_id']!r}")
            continue
        if not isinstance(line.get("body"), dict) or "model" not in line["body"]:
            problem("body must be an object with a model")
            continue
        seen.add(line["custom_id"])
        items.append((line["custom_id"], line["body"]))
    return items, problems


def _create_openai_batch(item: Any, request: RecordedRequest) -> Reply:
    body = request.json()
    file_id = body.get("input_file_id")
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(name), str):
            return _openai_error(400, f"Missing required parameter: '{name}'.")
    if body["endpoint"] != OPENAI_ENDPOINT or body["completion_window"] != "24h":
        return _openai_error(400, "this fake serves endpoint /v1/chat/completions in a 24h window")
    state = _state(request)
    with _lock:
        file = state.files.get(file_id)
    if file is None:
        return _openai_error(404, f"No such File object: {file_id}")
    items, problems = _check_openai_lines(file.data)
    script = _script_of(item) or file.script or BatchScript()
    batch = _Batch(
        f"batch_fake{_next_number()}", "openai", state, items, script, _next_number(),
        input_file_id=file_id, metadata=body.get("metadata"), problems=problems,
    )  # fmt: skip
    with _lock:
        state.batches[batch.id] = batch
    return Reply.json(_openai_batch(batch, request))


def _openai_lines(batch: _Batch, errors: bool) -> Iterator[bytes]:
    """The output file (``errors`` False) or error file of an ended batch, line by line."""
    for number, (custom_id, body) in enumerate(batch.items):
        outcome = batch.outcome(custom_id)
        head = b'{"id":' + _dumps(f"batch_req_{batch.id}_{number}") + b',"custom_id":' + _dumps(custom_id)
        if outcome == "succeeded" and not errors:
            data, request_id = _render_item(batch, custom_id, body)
            response = b'{"status_code":200,"request_id":' + _dumps(request_id) + b',"body":' + data + b"}"
            yield head + b',"response":' + response + b',"error":null}\n'
        elif outcome == "errored" and errors:
            spec = batch.script.errors[custom_id]
            error = {
                "message": spec.get("message", "error"),
                "type": spec.get("type", "invalid_request_error"),
                "param": None,
                "code": spec.get("code"),
            }
            response_value = {
                "status_code": spec.get("status", 400),
                "request_id": f"req_{number}",
                "body": {"error": error},
            }
            yield head + b',"response":' + _dumps(response_value) + b',"error":null}\n'
        elif outcome == "expired" and errors:
            error_value = {"code": "batch_expired", "message": EXPIRED_MESSAGE}
            yield head + b',"response":null,"error":' + _dumps(error_value) + b"}\n"


def _openai_batch(batch: _Batch, request: RecordedRequest) -> dict[str, Any]:
    ended = batch.ended()
    tally = batch.tally()
    status = "in_progress" if batch.polls else "validating"
    output_file_id = error_file_id = None
    if batch.problems:
        status = "failed"
    elif batch.canceled_at is not None:
        status = "cancelled" if ended else "cancelling"
    elif ended:
        status = "expired" if tally["expired"] else "completed"
        if tally["succeeded"]:
            output_file_id = _result_file(batch, "output", False)
        if tally["errored"] or tally["expired"]:
            error_file_id = _result_file(batch, "errors", True)
    done = ended and status in ("completed", "expired")
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": OPENAI_ENDPOINT,
        "errors": {"object": "list", "data": batch.problems} if batch.problems else None,
        "input_file_id": batch.input_file_id,
        "completion_window": "24h",
        "status": status,
        "output_file_id": output_file_id,
        "error_file_id": error_file_id,
        "created_at": batch.created_at,
        "in_progress_at": batch.created_at if batch.polls else None,
        "expires_at": batch.created_at + DAY_SECONDS,
        "finalizing_at": batch.ended_at if done else None,
        "completed_at": batch.ended_at if status == "completed" else None,
        "failed_at": batch.ended_at if status == "failed" else None,
        "expired_at": batch.ended_at if status == "expired" else None,
        "cancelling_at": batch.canceled_at,
        "cancelled_at": batch.ended_at if status == "cancelled" else None,
        "request_counts": {
            "total": len(batch.items),
            "completed": tally["succeeded"] if done else 0,
            "failed": tally["errored"] + tally["expired"] if done else 0,
        },
        "metadata": batch.metadata,
    }


def _result_file(batch: _Batch, kind: str, errors: bool) -> str:
    file_id = f"file-{batch.id}-{kind}"
    with _lock:
        if file_id not in batch.state.files:
            batch.state.files[file_id] = _File(
                file_id, f"batch_{kind}.jsonl", f"batch_{kind}", 0, lambda: _openai_lines(batch, errors)
            )
    return file_id


def _find(request: RecordedRequest, protocol: str, position: int) -> Optional[_Batch]:
    batch_id = request.path.split("?", 1)[0].rstrip("/").split("/")[position]
    state = _state(request)
    with _lock:
        batch = state.batches.get(batch_id)
    return batch if batch is not None and batch.protocol == protocol else None


def _get_openai_batch(item: Any, request: RecordedRequest) -> Reply:
    batch = _find(request, "openai", -1)
    if batch is None:
        return _openai_error(404, "No batch found with that id.")
    with _lock:
        batch.polls += 1
    return Reply.json(_openai_batch(batch, request))


def _cancel_openai_batch(item: Any, request: RecordedRequest) -> Reply:
    batch = _find(request, "openai", -2)
    if batch is None:
        return _openai_error(404, "No batch found with that id.")
    if not _cancel(batch):
        return _openai_error(
            409, f"Cannot cancel a batch with status {_openai_batch(batch, request)['status']}."
        )
    return Reply.json(_openai_batch(batch, request))


def _cancel(batch: _Batch) -> bool:
    """Mark ``batch`` canceled unless it ended (checked and set at once, under the lock)."""
    with _lock:
        if batch.ended():
            return False
        batch.canceled_at, batch.polls_at_cancel = int(time.time()), batch.polls
        return True


def _page(request: RecordedRequest, protocol: str, cursor_name: str) -> tuple[list[_Batch], bool]:
    from urllib.parse import parse_qs

    query = parse_qs(request.path.partition("?")[2])
    limit = int(query.get("limit", ["20"])[0])
    after = query.get(cursor_name, [None])[0]
    state = _state(request)
    with _lock:
        mine = sorted((b for b in state.batches.values() if b.protocol == protocol), key=lambda b: -b.order)
    if after is not None:
        ids = [b.id for b in mine]
        mine = mine[ids.index(after) + 1 :] if after in ids else []
    return mine[:limit], len(mine) > limit


def _list_openai_batches(item: Any, request: RecordedRequest) -> Reply:
    page, more = _page(request, "openai", "after")
    data = [_openai_batch(b, request) for b in page]
    first = data[0]["id"] if data else None
    last = data[-1]["id"] if data else None
    return Reply.json({"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": more})


# -- Anthropic: /v1/messages/batches --------------------------------------------------------------


def _anthropic_error(status: int, kind: str, message: str) -> Reply:
    return Reply.json({"type": "error", "error": {"type": kind, "message": message}}, status=status)


_ANTHROPIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _create_anthropic_batch(item: Any, request: RecordedRequest) -> Reply:
    script = _script_of(item) or BatchScript()
    body = request.json()
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return _anthropic_error(400, "invalid_request_error", "requests: Field required")
    _, neutral = RENDERERS["anthropic"]
    seen: set[str] = set()
    items: list[tuple[str, Any]] = []
    for index, entry in enumerate(requests):
        custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(custom_id, str) or not _ANTHROPIC_ID.fullmatch(custom_id):
            return _anthropic_error(400, "invalid_request_error", f"requests.{index}.custom_id: invalid")
        if custom_id in seen:
            return _anthropic_error(400, "invalid_request_error", f"Duplicate custom_id {custom_id!r}")
        params = entry.get("params")
        if not isinstance(params, dict) or params.get("stream"):
            return _anthropic_error(400, "invalid_request_error", f"requests.{index}.params: invalid")
        neutral(params)  # a bad Messages body is refused (ValueError -> 400), as the API would
        seen.add(custom_id)
        items.append((custom_id, params))
    state = _state(request)
    batch = _Batch(f"msgbatch_fake{_next_number()}", "anthropic", state, items, script, _next_number())
    with _lock:
        state.batches[batch.id] = batch
    return Reply.json(_anthropic_batch(batch, request))


def _anthropic_batch(batch: _Batch, request: RecordedRequest) -> dict[str, Any]:
    ended = batch.ended()
    tally = batch.tally() if ended else {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    status = "ended" if ended else ("canceling" if batch.canceled_at is not None else "in_progress")
    results_url = f"http://{_host(request)}/v1/messages/batches/{batch.id}/results" if ended else None
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": {"processing": 0 if ended else len(batch.items), **tally},
        "ended_at": _iso(batch.ended_at),
        "created_at": _iso(batch.created_at),
        "expires_at": _iso(batch.created_at + DAY_SECONDS),
        "archived_at": None,
        "cancel_initiated_at": _iso(batch.canceled_at),
        "results_url": results_url,
    }


def _anthropic_lines(batch: _Batch) -> Iterator[bytes]:
    for custom_id, body in batch.items:
        head = b'{"custom_id":' + _dumps(custom_id) + b',"result":'
        outcome = batch.outcome(custom_id)
        if outcome == "succeeded":
            data, _ = _render_item(batch, custom_id, body)
            yield head + b'{"type":"succeeded","message":' + data + b"}}\n"
        elif outcome == "errored":
            spec = batch.script.errors[custom_id]
            error = {
                "type": spec.get("type", "invalid_request_error"),
                "message": spec.get("message", "error"),
            }
            result = {"type": "errored", "error": {"type": "error", "error": error}}
            yield head + _dumps(result) + b"}\n"
        else:
            yield head + _dumps({"type": outcome}) + b"}\n"


def _get_anthropic_batch(item: Any, request: RecordedRequest) -> Reply:
    batch = _find(request, "anthropic", -1)
    if batch is None:
        return _anthropic_error(404, "not_found_error", "Message batch not found")
    with _lock:
        batch.polls += 1
    return Reply.json(_anthropic_batch(batch, request))


def _cancel_anthropic_batch(item: Any, request: RecordedRequest) -> Reply:
    batch = _find(request, "anthropic", -2)
    if batch is None:
        return _anthropic_error(404, "not_found_error", "Message batch not found")
    _cancel(batch)  # an ended batch stays as it is
    return Reply.json(_anthropic_batch(batch, request))


def _anthropic_results(item: Any, request: RecordedRequest) -> Reply:
    batch = _find(request, "anthropic", -2)
    if batch is None:
        return _anthropic_error(404, "not_found_error", "Message batch not found")
    if not batch.ended():
        return _anthropic_error(400, "invalid_request_error", "Message batch has not ended yet")
    return Reply(headers={"Content-Type": "application/binary"}, chunks=_chunked(_anthropic_lines(batch)))


def _list_anthropic_batches(item: Any, request: RecordedRequest) -> Reply:
    page, more = _page(request, "anthropic", "after_id")
    data = [_anthropic_batch(b, request) for b in page]
    first = data[0]["id"] if data else None
    last = data[-1]["id"] if data else None
    return Reply.json({"data": data, "has_more": more, "first_id": first, "last_id": last})


_OPENAI = r"(?:/v1)?"
_ID = r"[^/]+"
_ROUTES: list[tuple[str, str, str, Callable[[Any, RecordedRequest], Reply]]] = [
    ("openai", "POST", rf"{_OPENAI}/files", _upload_file),
    ("openai", "GET", rf"{_OPENAI}/files/{_ID}/content", _file_content),
    ("openai", "POST", rf"{_OPENAI}/batches", _create_openai_batch),
    ("openai", "GET", rf"{_OPENAI}/batches", _list_openai_batches),
    ("openai", "GET", rf"{_OPENAI}/batches/{_ID}", _get_openai_batch),
    ("openai", "POST", rf"{_OPENAI}/batches/{_ID}/cancel", _cancel_openai_batch),
    ("anthropic", "POST", r"/v1/messages/batches", _create_anthropic_batch),
    ("anthropic", "GET", r"/v1/messages/batches", _list_anthropic_batches),
    ("anthropic", "GET", rf"/v1/messages/batches/{_ID}", _get_anthropic_batch),
    ("anthropic", "POST", rf"/v1/messages/batches/{_ID}/cancel", _cancel_anthropic_batch),
    ("anthropic", "GET", rf"/v1/messages/batches/{_ID}/results", _anthropic_results),
]
for _protocol, _method, _pattern, _handler in _ROUTES:
    register_route(_protocol, _method, _pattern, _handler)
