"""Pieces every protocol adapter shares: the HTTP call shape and the stream accumulator."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .._models import ChatResponse, ThinkingBlock, TokenLogprob, ToolCall, Usage
from .._record import Record, factory

# Provider finish reasons mapped onto the neutral five; others pass through unchanged.
FINISH_REASON_MAP = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "refusal",
    # ModelRelay's spellings
    "completed": "stop",
    "max_len": "length",
    "max_context": "length",
}


def normalise_finish_reason(raw: Optional[str]) -> Optional[str]:
    """Map a provider's finish/stop reason onto stop/length/tool_calls/content_filter/refusal."""
    if raw is None:
        return None
    return FINISH_REASON_MAP.get(raw, raw)


def merge_extra_body(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge the caller's ``extra_body`` last; a None value removes that field.

    The removal is the escape hatch for servers that refuse a field relay_lite sends by
    default, e.g. ``extra_body({"stream_options": None})``.
    """
    for key, value in extra.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value


class HTTPCall(Record):
    """What to send: method, path below the base URL, extra headers and a JSON body."""

    method: str
    path: str
    body: Any
    headers: dict[str, str] = factory(default_factory=dict)


class TextBuffer:
    """Text arriving in many small pieces, kept compact.

    A list of deltas costs ~60 bytes per piece over the text itself (a 100 MB stream of
    5-character deltas would hold ten times its text); every ``COMPACT_EVERY`` pieces are
    joined into one block, so memory stays close to the text and joining stays linear.
    """

    COMPACT_EVERY = 512
    __slots__ = ("_blocks", "_pieces")

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._pieces: list[str] = []

    def append(self, piece: str) -> None:
        pieces = self._pieces
        pieces.append(piece)
        if len(pieces) >= self.COMPACT_EVERY:
            self._blocks.append("".join(pieces))
            pieces.clear()

    def text(self) -> str:
        """Everything appended so far, joined."""
        return "".join(self._blocks) + "".join(self._pieces)

    def __bool__(self) -> bool:
        return bool(self._blocks or self._pieces)


class _ToolCallParts:
    __slots__ = ("id", "name", "parts")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.parts: list[str] = []


class Accumulator:
    """Collects a stream's pieces into a ``ChatResponse``.

    Text and argument fragments are appended to lists and joined once at the end, so
    accumulating is linear in the size of the stream.
    """

    def __init__(self) -> None:
        self.text_parts = TextBuffer()
        self.thinking_parts = TextBuffer()
        self.thinking_blocks: list[ThinkingBlock] = []
        self.refusal_parts = TextBuffer()
        self._tool_calls: dict[int, _ToolCallParts] = {}
        self.usage = Usage()
        self.raw_finish_reason: Optional[str] = None
        self.model: Optional[str] = None
        self.id: Optional[str] = None
        #: The other choices of a reply streamed with ``n > 1``, by choice index.
        self.siblings: dict[int, Accumulator] = {}
        #: Token log-probabilities, when the request asked for them.
        self.logprobs: Optional[list[TokenLogprob]] = None

    def tool_call(self, index: int, call_id: Optional[str], name: Optional[str], arguments: str) -> None:
        """Merge one tool-call fragment into the call at ``index``."""
        call = self._tool_calls.get(index)
        if call is None:
            call = self._tool_calls[index] = _ToolCallParts()
        if call_id:
            call.id = call_id
        if name:
            call.name = name
        if arguments:
            call.parts.append(arguments)

    def has_tool_call(self, index: int) -> bool:
        """Whether a fragment for ``index`` has arrived."""
        return index in self._tool_calls

    def response(
        self, *, request_id: Optional[str] = None, attempts: int = 1, raw: Any = None
    ) -> ChatResponse:
        """The reply as accumulated so far; with sibling choices, all of them in ``choices``."""
        own = self._own_response(request_id, attempts, raw)
        if not self.siblings:
            return own
        others = {i: a._own_response(request_id, attempts, raw) for i, a in self.siblings.items()}
        others.setdefault(0, own)
        ordered = tuple(others[i] for i in sorted(others))
        return own.replace(all_choices=ordered)

    def _own_response(self, request_id: Optional[str], attempts: int, raw: Any) -> ChatResponse:
        calls = tuple(
            ToolCall.from_json(c.id, c.name, "".join(c.parts)) for _, c in sorted(self._tool_calls.items())
        )
        return ChatResponse(
            text=self.text_parts.text(),
            tool_calls=calls,
            finish_reason=normalise_finish_reason(self.raw_finish_reason),
            raw_finish_reason=self.raw_finish_reason,
            model=self.model,
            id=self.id,
            usage=self.usage,
            request_id=request_id,
            refusal=self.refusal_parts.text() or None,
            thinking=self.thinking_parts.text(),
            thinking_blocks=tuple(self.thinking_blocks),
            raw=raw,
            attempts=attempts,
            logprobs=tuple(self.logprobs) if self.logprobs is not None else None,
        )
