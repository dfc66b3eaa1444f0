"""``RateLimits``: the rate-limit headers of a response, parsed into one small value.

Sans-I/O: response headers (lower-cased names) and a clock reading in, a value out.

Two dialects are read:

- OpenAI (and servers copying it, e.g. Groq): ``x-ratelimit-limit-requests``,
  ``x-ratelimit-remaining-requests``, ``x-ratelimit-reset-requests`` and the same three
  with ``-tokens``. Resets are Go-style durations relative to the response: ``"1s"``,
  ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"``.
- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
  {limit,remaining,reset}``. Resets are RFC 3339 timestamps (``2025-08-21T12:40:59Z``).

Resets are expressed one way for both: ``*_reset`` is seconds from ``received_at`` (the
wall-clock time, ``time.time()``, when the headers were parsed), never negative; the
``*_reset_at`` properties give the absolute time. A header that is absent or does not
parse leaves its field None: a quirky proxy must never break a call.
"""

from __future__ import annotations

import re
import time
from typing import Mapping, Optional

from ._record import Record

__all__ = ["RateLimits", "parse_rate_limits", "parse_duration", "parse_rfc3339"]

# Patterns are strings, compiled on first use (re caches them): compiling at import
# would cost ``import relay_lite`` most of a millisecond.
# One Go duration component: a decimal number and a unit (time.ParseDuration's units).
_DURATION_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)"
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # micro sign
    "μs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# RFC 3339 section 5.6 date-time; "T" and "Z" may be lower case.
_RFC3339 = r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
# The four limit families, as (field prefix, OpenAI name, Anthropic name).
_FAMILIES = (
    ("requests", "requests", "requests"),
    ("tokens", "tokens", "tokens"),
    ("input_tokens", None, "input-tokens"),
    ("output_tokens", None, "output-tokens"),
)


def parse_duration(text: str) -> Optional[float]:
    """Seconds in a Go duration (``"6m0s"`` -> 360.0); a bare number is seconds; else None."""
    text = text.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    total = 0.0
    position = 0
    for match in re.finditer(_DURATION_PART, text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return total if position == len(text) else None


def parse_rfc3339(text: str) -> Optional[float]:
    """A POSIX timestamp from an RFC 3339 date-time, or None when it is not one."""
    match = re.fullmatch(_RFC3339, text.strip())
    if match is None:
        return None
    from datetime import datetime, timedelta, timezone  # already loaded by urllib3

    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = float(match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    offset = timedelta(0)
    if zone not in ("Z", "z"):
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        offset = -offset if zone[0] == "-" else offset
    try:
        # A leap second (":60") is read as the next second's start.
        when = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone(offset))
        stamp = when.timestamp()
    except (ValueError, OverflowError):  # month 13, hour 24, offsets of a day, year 0001-ish
        return None
    return stamp + fraction + (1 if second == 60 else 0)


def _count(text: object) -> Optional[int]:
    if not isinstance(text, str):
        return None
    text = text.strip()
    # 18 digits at most: int() refuses over 4300 digits on Python 3.11+, and no limit is larger.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


class RateLimits(Record):
    """What a response said about the caller's rate limits; every field may be None.

    ``requests_*`` and ``tokens_*`` come from OpenAI's ``x-ratelimit-*`` or Anthropic's
    ``anthropic-ratelimit-*`` headers; ``input_tokens_*`` and ``output_tokens_*`` only
    from Anthropic. ``*_reset`` is seconds after ``received_at`` (a ``time.time()``
    reading) until that limit refills; ``*_reset_at`` is the same moment as a timestamp.

    >>> reply.rate_limits.requests_remaining  # doctest: +SKIP
    499
    """

    requests_limit: Optional[int] = None
    requests_remaining: Optional[int] = None
    requests_reset: Optional[float] = None
    tokens_limit: Optional[int] = None
    tokens_remaining: Optional[int] = None
    tokens_reset: Optional[float] = None
    input_tokens_limit: Optional[int] = None
    input_tokens_remaining: Optional[int] = None
    input_tokens_reset: Optional[float] = None
    output_tokens_limit: Optional[int] = None
    output_tokens_remaining: Optional[int] = None
    output_tokens_reset: Optional[float] = None
    received_at: float = 0.0

    def _at(self, seconds: Optional[float]) -> Optional[float]:
        return None if seconds is None else self.received_at + seconds

    @property
    def requests_reset_at(self) -> Optional[float]:
        """When the request limit refills, as a ``time.time()`` timestamp."""
        return self._at(self.requests_reset)

    @property
    def tokens_reset_at(self) -> Optional[float]:
        """When the token limit refills, as a ``time.time()`` timestamp."""
        return self._at(self.tokens_reset)

    @property
    def input_tokens_reset_at(self) -> Optional[float]:
        """When the input-token limit refills (Anthropic), as a timestamp."""
        return self._at(self.input_tokens_reset)

    @property
    def output_tokens_reset_at(self) -> Optional[float]:
        """When the output-token limit refills (Anthropic), as a timestamp."""
        return self._at(self.output_tokens_reset)


def parse_rate_limits(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[RateLimits]:
    """The rate limits in ``headers`` (lower-cased names), or None when there are none.

    ``now`` is the ``time.time()`` reading the resets are measured from (the moment the
    response arrived); it defaults to the current time.
    """
    # Most responses of local servers carry none of these: answer that case quickly.
    # One substring search over the joined names: a third of testing each name.
    if "ratelimit-" not in " ".join(headers):
        return None
    received_at = time.time() if now is None else now
    values: dict[str, object] = {"received_at": received_at}
    for field, openai_name, anthropic_name in _FAMILIES:
        limit = remaining = reset = None
        if openai_name is not None:
            limit = _count(headers.get(f"x-ratelimit-limit-{openai_name}"))
            remaining = _count(headers.get(f"x-ratelimit-remaining-{openai_name}"))
            raw_reset = headers.get(f"x-ratelimit-reset-{openai_name}")
            reset = parse_duration(raw_reset) if isinstance(raw_reset, str) else None
        prefix = f"anthropic-ratelimit-{anthropic_name}-"
        if limit is None:
            limit = _count(headers.get(prefix + "limit"))
        if remaining is None:
            remaining = _count(headers.get(prefix + "remaining"))
        if reset is None:
            raw_time = headers.get(prefix + "reset")
            stamp = parse_rfc3339(raw_time) if isinstance(raw_time, str) else None
            reset = None if stamp is None else max(0.0, stamp - received_at)
        values[f"{field}_limit"] = limit
        values[f"{field}_remaining"] = remaining
        values[f"{field}_reset"] = reset
    if all(value is None for name, value in values.items() if name != "received_at"):
        return None
    return RateLimits(**values)  # type: ignore[arg-type]
