"""The records hooks receive (``RequestStart`` ... ``UsageReport``) and ``gap_stats``.

Apart from ``_hooks`` so that a client (which always holds a ``Hooks``) does not build
these classes: they load with the first event a registered hook is given, or with the
first stream (``ChatStream.stats``). ``relay_lite._hooks`` still hands them out by name.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from ._record import Record

__all__ = [
    "FirstToken",
    "RequestStart",
    "ResponseReceived",
    "RetryScheduled",
    "StreamStats",
    "UsageReport",
    "gap_stats",
]


class RequestStart(Record):
    """An attempt is about to be sent: ``attempt`` of at most ``max_attempts``."""

    method: str
    url: str
    attempt: int
    max_attempts: int


class ResponseReceived(Record):
    """An attempt got its status line and headers, ``elapsed`` seconds after it was sent."""

    method: str
    url: str
    status: int
    elapsed: float
    request_id: Optional[str]
    attempt: int


class RetryScheduled(Record):
    """Attempt ``attempt`` failed; the next one follows after ``wait`` seconds.

    ``reason`` is the failure's message; ``status`` its HTTP status (None for a
    connection error or timeout); ``server_asked`` whether ``wait`` came from the server's
    ``Retry-After`` rather than the backoff.
    """

    method: str
    url: str
    attempt: int
    wait: float
    reason: str
    status: Optional[int] = None
    server_asked: bool = False


class FirstToken(Record):
    """The first event of a stream arrived, ``ttft`` seconds after the call began."""

    ttft: float
    request_id: Optional[str]


class StreamStats(Record):
    """Timing figures of one stream, known when it ends (``ChatStream.stats``).

    ``chunks`` and ``bytes`` count what the body delivered; ``events`` what the parser
    made of it. ``duration`` runs from the call's start to the stream's end; ``ttft``
    to its first event (None if there was none). The gap figures are over the intervals
    between consecutive reads that produced events (None with fewer than two).
    ``ok`` is False when the stream broke or was closed before its end.
    """

    chunks: int
    bytes: int
    events: int
    duration: float
    ttft: Optional[float]
    gap_mean: Optional[float]
    gap_p50: Optional[float]
    gap_p95: Optional[float]
    gap_max: Optional[float]
    request_id: Optional[str] = None
    ok: bool = True


class UsageReport(Record):
    """Token usage of one call (``calls`` > 1: summed over a structured call's re-asks)."""

    usage: Any
    model: Optional[str]
    request_id: Optional[str]
    calls: int = 1


def gap_stats(gaps: Sequence[float]) -> tuple[Optional[float], ...]:
    """(mean, p50, p95, max) of ``gaps``; nearest-rank percentiles; Nones when empty."""
    if not gaps:
        return None, None, None, None
    ordered = sorted(gaps)
    count = len(ordered)

    def rank(fraction: float) -> float:
        return ordered[min(max(math.ceil(fraction * count) - 1, 0), count - 1)]

    return sum(ordered) / count, rank(0.50), rank(0.95), ordered[-1]
