"""Deadlines from a host's clock: the time an AWS Lambda invocation has left.

A Lambda function is killed, without an exception, when its configured timeout passes.
A call still waiting on a provider then loses everything, the answer to the caller
included. ``lambda_deadline`` turns the context's remaining time, less a margin kept for
answering, into ``Timeouts`` whose ``total`` is that time: pass it to a request
(``.timeout(...)``), to a structured call, or to a client built inside the handler.
The transport enforces ``total`` over retries, backoff sleeps and the stream, and raises
``DeadlineExceeded`` while the margin is still left.

Loaded on first use (``relay_lite.lambda_deadline``): ``import relay_lite`` does not pay for it.
"""

from __future__ import annotations

from typing import Any, Optional

from ._config import Timeouts
from ._errors import ConfigError, DeadlineExceeded

__all__ = ["DEFAULT_LAMBDA_MARGIN_SECONDS", "lambda_deadline"]

#: Seconds kept back by default for the handler to build and return its answer.
DEFAULT_LAMBDA_MARGIN_SECONDS = 1.0


def lambda_deadline(
    context: Any,
    *,
    margin_s: float = DEFAULT_LAMBDA_MARGIN_SECONDS,
    base: Optional[Timeouts] = None,
) -> Timeouts:
    """``Timeouts`` whose total ends ``margin_s`` seconds before the Lambda would be killed.

    ``context`` is the handler's second argument (anything with
    ``get_remaining_time_in_millis()``); None, as when the handler is called by hand,
    means no invocation limit and returns ``base`` unchanged. ``base`` gives the connect
    and read timeouts (default ``Timeouts()``); a shorter ``base.total`` is kept. Call it
    right before the request: the remaining time is read when it runs.

    Raises ``DeadlineExceeded`` at once when less than ``margin_s`` is left, and
    ``ConfigError`` for a context without that method or a bad margin.

    >>> timeouts = lambda_deadline(context, margin_s=2)  # doctest: +SKIP
    >>> reply = client.chat().user(prompt).timeout(timeouts).send()  # doctest: +SKIP
    """
    base = base if base is not None else Timeouts()
    if (
        isinstance(margin_s, bool)
        or not isinstance(margin_s, (int, float))
        or not 0 <= margin_s < float("inf")
    ):
        raise ConfigError(
            f"lambda_deadline margin_s must be a finite number of seconds >= 0, got {margin_s!r}"
        )
    if context is None:
        return base
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        raise ConfigError(
            f"lambda_deadline needs the Lambda context (with get_remaining_time_in_millis()), "
            f"got {type(context).__name__}"
        )
    millis = remaining_ms()
    if isinstance(millis, bool) or not isinstance(millis, (int, float)):
        raise ConfigError(f"context.get_remaining_time_in_millis() returned {millis!r}, not a number")
    left = millis / 1000.0 - margin_s
    if not left > 0:
        raise DeadlineExceeded(
            f"only {millis / 1000.0:.3f} s left in the Lambda invocation, not more than the "
            f"{margin_s:g} s margin kept for answering",
            attempts=0,
        )
    total = left if base.total is None else min(base.total, left)
    return base.replace(connect=min(base.connect, total), total=total)
