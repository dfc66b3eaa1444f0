"""Amazon Bedrock's Converse API for ``FakeServer.bedrock()``: scripted replies, event streams.

``render_bedrock`` answers ``POST /model/{modelId}/converse`` with a Converse reply and
``/converse-stream`` with an AWS event stream built by ``encode_message`` -- the one
event-stream *encoder* in relay_lite, kept here in the test code (the library only ever
decodes). The shapes follow what Bedrock sends: ``:event-type`` / ``:content-type`` /
``:message-type`` headers on every event, a ``p`` padding field in every payload, text
blocks without a ``contentBlockStart``, tool input in string fragments, ``metadata``
(usage and ``metrics.latencyMs``) last. ``ChatScript`` faults apply: ``error`` becomes an
exception message (``{"type": "throttlingException", "message": ...}``) after
``error_after`` deltas, ``cut_after`` drops the connection after that many messages,
``split_bytes`` re-cuts the bytes anywhere, ``chunk_delay`` paces them.

Credentials: a request must carry ``Authorization: Bearer FAKE_API_KEY`` or a SigV4
signature made with ``FAKE_ACCESS_KEY_ID`` / ``FAKE_SECRET_ACCESS_KEY``; anything else
gets the 403 AWS sends. ``error_reply`` builds an error status with ``x-amzn-ErrorType``.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from dataclasses import replace
from typing import Any, Mapping, Optional, Union
from urllib.parse import unquote

from ._eventstream import EVENT_STREAM_MEDIA_TYPE, EventStreamTimestamp
from ._fake_chat import ChatScript, _until_delta, echo_script
from ._fake_routes import register_route
from ._fake_wire import RecordedRequest, Reply
from ._models import Usage

__all__ = [
    "FAKE_ACCESS_KEY_ID",
    "FAKE_API_KEY",
    "FAKE_SECRET_ACCESS_KEY",
    "bedrock_neutral",
    "encode_message",
    "error_reply",
    "event_message",
    "render_bedrock",
]

#: The credentials ``FakeServer.bedrock()`` accepts (AWS's documented example key pair).
FAKE_ACCESS_KEY_ID = "AKIDEXAMPLE"
FAKE_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#: The Bedrock API key (bearer token) it accepts.
FAKE_API_KEY = "bedrock-api-key-fake"

#: A header value: bool, str, bytes, an int (sent as a 32-bit integer), a
#: ``(kind, int)`` pair naming the width ("byte", "short", "integer", "long"),
#: an ``EventStreamTimestamp`` (milliseconds) or a ``uuid.UUID``.
HeaderValue = Union[bool, str, bytes, int, tuple[str, int], uuid.UUID]

_INT_KINDS = {"byte": (2, "!b"), "short": (3, "!h"), "integer": (4, "!i"), "long": (5, "!q")}
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"
_FAKE_SIGNATURE = "fake-reasoning-signature"
_PATH_PREFIX = "/model/"


def _encode_header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode("utf-8")
    head = struct.pack("!B", len(raw_name)) + raw_name
    if isinstance(value, bool):
        return head + struct.pack("!B", 0 if value else 1)
    if isinstance(value, EventStreamTimestamp):
        return head + struct.pack("!Bq", 8, int(value))
    if isinstance(value, int):
        return head + struct.pack("!Bi", 4, value)
    if isinstance(value, tuple):
        kind, number = value
        code, fmt = _INT_KINDS[kind]
        return head + struct.pack("!B", code) + struct.pack(fmt, number)
    if isinstance(value, bytes):
        return head + struct.pack("!BH", 6, len(value)) + value
    if isinstance(value, str):
        data = value.encode("utf-8")
        return head + struct.pack("!BH", 7, len(data)) + data
    if isinstance(value, uuid.UUID):
        return head + struct.pack("!B", 9) + value.bytes
    raise TypeError(f"no event-stream header type for {type(value).__name__}")


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One event-stream message: prelude, its CRC, typed headers, payload, message CRC."""
    encoded = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    head = prelude + struct.pack("!I", zlib.crc32(prelude))
    body = head + encoded + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event_message(event_type: str, payload: Mapping[str, Any], padding: int = 0) -> bytes:
    """A ConverseStream event as Bedrock frames it, with its ``p`` padding field."""
    data = dict(payload)
    data["p"] = _PADDING[: 1 + padding % len(_PADDING)]
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(data, separators=(",", ":")).encode("utf-8"))


def exception_message(exception_type: str, message: str) -> bytes:
    """An exception inside a ConverseStream (``throttlingException``, ...)."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode("utf-8"))


def error_reply(status: int, error_type: str, message: str, *, request_id: str = "req-fake-error") -> Reply:
    """An error status as Bedrock answers it: ``x-amzn-ErrorType`` and ``{"message"}``."""
    headers = {
        "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "x-amzn-RequestId": request_id,
        "Content-Type": "application/json",
    }
    return Reply.json({"message": message}, status=status, headers=headers)


# -- requests ---------------------------------------------------------------------------------


def _model_and_operation(path: str) -> Optional[tuple[str, str]]:
    path = path.split("?", 1)[0]
    if not path.startswith(_PATH_PREFIX):
        return None
    encoded, _, operation = path[len(_PATH_PREFIX) :].partition("/")
    if not encoded or "/" in operation or operation not in ("converse", "converse-stream"):
        return None
    return unquote(encoded), operation


def _block_text(blocks: Any) -> str:
    return " ".join(b["text"] for b in blocks or [] if isinstance(b, dict) and isinstance(b.get("text"), str))


def bedrock_neutral(body: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """A Converse request body as neutral messages (role, content text) and tools.

    Checks what Bedrock checks first: messages present, roles user/assistant
    alternating, content a non-empty list of blocks, no blank text, each ``toolResult``
    answering a ``toolUse`` of the turn before; raises ``ValueError`` with the message
    Bedrock's 400 ValidationException would carry.
    """
    if not isinstance(body.get("messages"), list):
        raise ValueError("messages: field required")
    if "modelId" in body:
        raise ValueError("modelId: the model id goes in the path, not the body")
    messages: list[Any] = []
    if body.get("system"):
        messages.append({"role": "system", "content": _block_text(body["system"])})
    previous = None
    tool_use_ids: list[str] = []  # the toolUse ids of the turn before
    for turn, message in enumerate(body["messages"]):
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            raise ValueError(f"messages: unexpected role {role!r}")
        if role == previous:
            raise ValueError("A conversation must alternate between user and assistant roles.")
        previous = role
        if not isinstance(content, list):
            raise ValueError("messages.content: expected a list of content blocks")
        _check_blocks(turn, content, tool_use_ids)
        tool_use_ids = [
            b["toolUse"].get("toolUseId") for b in content if isinstance(b, dict) and "toolUse" in b
        ]
        for block in content:
            result = block.get("toolResult") if isinstance(block, dict) else None
            if result is not None:
                parts = result.get("content") or []
                text = _block_text(parts) or " ".join(json.dumps(p["json"]) for p in parts if "json" in p)
                messages.append({"role": "tool", "content": text})
        text = _block_text(content)
        if text or not any(isinstance(b, dict) and "toolResult" in b for b in content):
            messages.append({"role": role, "content": text})
    tool_config = body.get("toolConfig") or {}
    tools = [
        {"name": t["toolSpec"]["name"], "parameters": t["toolSpec"]["inputSchema"]["json"]}
        for t in tool_config.get("tools") or []
        if "toolSpec" in t
    ]
    return messages, tools


def _check_blocks(turn: int, content: list[Any], tool_use_ids: list[str]) -> None:
    """Bedrock's checks of one turn's blocks, with its wording (as its 400s carry it)."""
    if not content:
        raise ValueError(
            f"The content field in the Message object at messages.{turn} is empty. "
            "Add a ContentBlock object to the content field and try again."
        )
    for position, block in enumerate(content):
        if not isinstance(block, dict):
            continue
        text = block.get("text")
        if isinstance(text, str) and not text.strip():
            raise ValueError(
                f"The text field in the ContentBlock object at messages.{turn}.content.{position} is blank. "
                "Add text to the text field, and try again."
            )
        result = block.get("toolResult")
        if isinstance(result, dict) and result.get("toolUseId") not in tool_use_ids:
            raise ValueError(
                f"messages.{turn}.content.{position}: the toolResult toolUseId {result.get('toolUseId')} "
                f"matches no toolUse block of the previous turn ({', '.join(tool_use_ids) or 'none'})."
            )


def _check_auth(request: RecordedRequest) -> Optional[Reply]:
    """None when the request carries the fake's credentials; else AWS's 403."""
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        if authorization[len("Bearer ") :] == FAKE_API_KEY:
            return None
        return error_reply(
            403, "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        return _check_signature(request, authorization)
    return error_reply(403, "MissingAuthenticationTokenException", "Missing Authentication Token")


_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def _check_signature(request: RecordedRequest, authorization: str) -> Optional[Reply]:
    """Sign the request again with the fake's secret and compare, as the service does."""
    from ._sigv4 import AWSCredentials, check_signature

    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        message = "Authorization header requires Credential, SignedHeaders and Signature."
        return error_reply(403, "IncompleteSignatureException", message)
    key_id, _, region, service, _ = scope
    if key_id != FAKE_ACCESS_KEY_ID:
        message = "The security token included in the request is invalid."
        return error_reply(403, "UnrecognizedClientException", message)
    # Any session token is taken, as long as it is signed.
    token = request.headers.get("x-amz-security-token") or None
    credentials = AWSCredentials(FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, token)
    url = f"http://{request.headers.get('host', '')}{request.path}"
    if service != "bedrock" or not check_signature(
        request.method, url, request.headers, request.body, credentials, region=region, service=service
    ):
        return error_reply(403, "InvalidSignatureException", _BAD_SIGNATURE)
    return None


# -- replies ----------------------------------------------------------------------------------


def _usage(usage: Usage) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total_tokens,
    }
    if usage.cached_input_tokens is not None:
        wire["cacheReadInputTokens"] = usage.cached_input_tokens
    if usage.cache_creation_input_tokens is not None:
        wire["cacheWriteInputTokens"] = usage.cache_creation_input_tokens
    return wire


def _headers(script: ChatScript) -> dict[str, str]:
    """``script.headers`` as Bedrock names them: its request id comes in ``x-amzn-RequestId``."""
    return {("x-amzn-RequestId" if n.lower() == "x-request-id" else n): v for n, v in script.headers.items()}


def render_bedrock(script: Optional[ChatScript], request: RecordedRequest) -> Reply:
    """``script`` as a Converse reply, or as a ConverseStream event stream (the route's
    handler; with no script, the echo of the request)."""
    route = _model_and_operation(request.path)
    if route is None:
        message = f"no Bedrock operation at {request.method} {request.path}"
        return error_reply(404, "UnknownOperationException", message)
    denied = _check_auth(request)
    if denied is not None:
        return denied
    try:
        messages, tools = bedrock_neutral(request.json())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return error_reply(400, "ValidationException", str(exc))
    if script is None:
        script = echo_script(messages, tools)
    script = replace(script, headers=_headers(script))
    reason = _STOP_REASONS.get(script.neutral_finish_reason, script.neutral_finish_reason)
    if route[1] == "converse":
        return _whole(script, reason)
    return _stream(script, reason)


def _whole(script: ChatScript, reason: str) -> Reply:
    content: list[dict[str, Any]] = []
    if script.thinking:
        content.append(
            {"reasoningContent": {"reasoningText": {"text": script.thinking, "signature": _FAKE_SIGNATURE}}}
        )
    if script.text:
        content.append({"text": script.text})
    for call in script.tool_calls:
        content.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.wire_arguments}})
    payload = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": reason,
        "usage": _usage(script.usage),
        "metrics": {"latencyMs": 42},
    }
    return Reply.json(payload, headers=script.headers)


def _stream(script: ChatScript, reason: str) -> Reply:
    counter = iter(range(1 << 30))  # varies the padding, as Bedrock's does

    def event(event_type: str, payload: Mapping[str, Any]) -> bytes:
        return event_message(event_type, payload, next(counter))

    # (bytes, is a delta) for every block event, so an error can cut after N deltas
    blocks: list[tuple[bytes, bool]] = []

    def delta(index: int, body: dict[str, Any]) -> None:
        blocks.append((event("contentBlockDelta", {"contentBlockIndex": index, "delta": body}), True))

    def stop(index: int) -> None:
        blocks.append((event("contentBlockStop", {"contentBlockIndex": index}), False))

    index = 0
    if script.thinking:
        for piece in script.pieces(script.thinking):
            delta(index, {"reasoningContent": {"text": piece}})
        delta(index, {"reasoningContent": {"signature": _FAKE_SIGNATURE}})
        stop(index)
        index += 1
    if script.text:
        for piece in script.pieces(script.text):
            delta(index, {"text": piece})
        stop(index)
        index += 1
    for call in script.tool_calls:
        start = {"toolUse": {"toolUseId": call.id, "name": call.name}}
        blocks.append((event("contentBlockStart", {"contentBlockIndex": index, "start": start}), False))
        for piece in script.pieces(call.arguments_text):
            delta(index, {"toolUse": {"input": piece}})
        stop(index)
        index += 1

    events = [event("messageStart", {"role": "assistant"})]
    if script.error is not None:
        events += _until_delta(blocks, script.error_after)
        kind = str(script.error.get("type") or script.error.get("__type") or "internalServerException")
        events.append(exception_message(kind, str(script.error.get("message") or "")))
        return _event_stream_reply(script, events)
    events += [data for data, _ in blocks]
    events.append(event("messageStop", {"stopReason": reason}))
    events.append(event("metadata", {"usage": _usage(script.usage), "metrics": {"latencyMs": 42}}))
    return _event_stream_reply(script, events)


def _event_stream_reply(script: ChatScript, events: list[bytes]) -> Reply:
    """The messages as a chunked event-stream body, with the script's faults applied."""
    abort = False
    if script.cut_after is not None:  # drop the connection after that many messages
        events, abort = events[: script.cut_after], True
    if script.split_bytes:  # re-cut the bytes anywhere, whatever the frames
        data = b"".join(events)
        events = [data[i : i + script.split_bytes] for i in range(0, len(data), script.split_bytes)]
    headers = {"Content-Type": EVENT_STREAM_MEDIA_TYPE, **script.headers}
    return Reply(headers=headers, chunks=list(events), chunk_delay=script.chunk_delay, abort=abort)


register_route("bedrock", "POST", r"/model/[^/]+/converse(?:-stream)?", render_bedrock)
