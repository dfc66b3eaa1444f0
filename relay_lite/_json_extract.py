"""Find the JSON in a model's reply: text in, candidate values out (sans-I/O).

Theory of operation
-------------------
Models asked for JSON often wrap it, in a Markdown code fence, after a sentence ("Sure!
Here it is:"), or both; local models and plain JSON modes do it all the time. Re-asking
for that doubles the cost of a call, so ``json_candidates(text)`` yields every JSON value
the reply may hold, most likely first, each source text at most once:

1. The whole reply, stripped. When it parses, it is the only candidate: the fast path, one
   ``json.loads`` for a reply that is plain JSON.
2. The body of each fenced code block, in order. A fence is a line of three or more
   backticks or tildes (indented up to three spaces, any info string such as ``json``)
   closed by a line of at least as many of the same character (CommonMark 4.5); CRLF line
   ends are fine. A fence that is never closed runs to the end of the text, less a fence
   run glued to the end of its last line (```` {"a": 1}``` ````).
3. Each complete top-level JSON object or array in the text, left to right. Every ``{`` or
   ``[`` is tried in order as a start with ``json.JSONDecoder.raw_decode``, which follows
   strings and escapes exactly (a ``}`` inside a string does not end anything), so braces
   in prose that do not start valid JSON are skipped. After a value parses the scan goes
   on after its end, and after a start that fails it goes on after that bracket's balanced
   end (or stops, when it never closes), so values nested in another -- parsed or broken --
   are never offered on their own.

The caller picks the first candidate that validates (``_structured``). Values follow
RFC 8259: ``NaN`` and ``Infinity`` are not JSON.

Cost: the whole-text and fence steps are single passes. In the scan a parsed value is
never read again, but a failed start may have read up to its error before the next start
is tried, so failed starts share a budget of ``SCAN_BUDGET_PER_CHAR`` characters per
character of text (plus ``SCAN_BUDGET_FLOOR``); at most ``MAX_CANDIDATES`` values are
yielded. Adversarial text (``[[[[...`` a megabyte deep) therefore costs a few passes, not
a quadratic number, and nesting too deep for Python's parser is a failed start, never a
``RecursionError``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Optional

__all__ = ["MAX_CANDIDATES", "MAX_FAILED_STARTS", "fenced_blocks", "json_candidates", "json_error"]

#: At most this many values are yielded for one reply.
MAX_CANDIDATES = 32
#: The scan stops after this many starts that did not parse.
MAX_FAILED_STARTS = 32

# An opening (or closing) fence line; CommonMark allows up to three spaces of indent.
_FENCE_LINE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})([^\r\n]*)\r?$", re.MULTILINE)
# A start worth trying: "{" before a key or "}", "[" before a value or "]" (JSON whitespace
# between). Braces in prose ("{name}", "[see below]") fail this cheap test, not the parser.
_STARTS = re.compile(r'\{[ \t\r\n]*["}]|\[[ \t\r\n]*[-0-9tfn"{\[\]]')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(text: str) -> Any:
    """``json.loads`` without NaN/Infinity; raises ``ValueError`` or ``RecursionError``."""
    return _DECODER.decode(text)


def _try_loads(text: str) -> tuple[bool, Any]:
    try:
        return True, _loads(text)
    except (ValueError, RecursionError):
        return False, None


def fenced_blocks(text: str) -> Iterator[str]:
    """The body of each fenced code block in ``text``, in order, stripped."""
    pos = 0
    while True:
        opening = _FENCE_LINE.search(text, pos)
        if opening is None:
            return
        run, info = opening.group(1), opening.group(2)
        if run[0] == "`" and "`" in info:  # not a fence: a backtick info string is inline code
            pos = opening.end()
            continue
        body_start = opening.end() + 1
        closing_line = re.compile(
            r"^[ \t]{0,3}" + re.escape(run[0]) + "{" + str(len(run)) + r",}[ \t]*\r?$", re.MULTILINE
        )
        closing = closing_line.search(text, body_start)
        if closing is None:  # unclosed: to the end, less a fence run glued to the last line
            body = text[body_start:].rstrip()
            yield body.rstrip(run[0]) if body.endswith(run) else body
            return
        yield text[body_start : closing.start()].strip()
        pos = closing.end()


def _scan(text: str) -> Iterator[tuple[str, Any]]:
    """(source, value) for each complete top-level JSON object or array, left to right."""
    failures = 0
    pos = 0
    while failures < MAX_FAILED_STARTS:
        start_match = _STARTS.search(text, pos)
        if start_match is None:
            return
        start = start_match.start()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):  # not JSON, NaN, nested too deep, ...
            failures += 1
            # What this bracket encloses is not top level: skip past its balanced end, so a
            # value nested in a broken one (a trailing comma, a cut reply) is never offered
            # as the answer. A bracket never closed encloses the rest of the text.
            region_end = _balanced_end(text, start)
            if region_end is None:
                return
            pos = region_end
            continue
        yield text[start:end], value
        pos = end


_BRACKETS_AND_QUOTES = re.compile(r'[\[\]{}"\\]')


def _balanced_end(text: str, start: int) -> Optional[int]:
    """Index after the bracket that closes the one at ``start`` (strings followed), or None."""
    depth = 0
    in_string = False
    escaped_at = -1  # the position a backslash in a string escapes
    for match in _BRACKETS_AND_QUOTES.finditer(text, start):
        char = match.group()
        if in_string:
            if match.start() == escaped_at:
                continue
            if char == "\\":
                escaped_at = match.end()
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    return None


def json_candidates(text: str) -> Iterator[Any]:
    """Every JSON value ``text`` may hold, most likely first (see the module notes).

    >>> list(json_candidates('Sure! {"name": "John", "age": 30} Hope that helps.'))
    [{'name': 'John', 'age': 30}]
    """
    whole = text.strip()
    ok, value = _try_loads(whole)
    if ok:
        yield value
        return
    seen = {whole}
    yielded = 0
    for body in fenced_blocks(text):
        if body in seen:
            continue
        seen.add(body)
        ok, value = _try_loads(body)
        if ok:
            yield value
            yielded += 1
            if yielded == MAX_CANDIDATES:
                return
    for source, value in _scan(text):
        if source in seen:
            continue
        seen.add(source)
        yield value
        yielded += 1
        if yielded == MAX_CANDIDATES:
            return


def json_error(text: str) -> Optional[str]:
    """Why the reply's main part is not JSON, or None when it is.

    The main part is the first fenced block's body when there is one, else the whole
    stripped reply: ``reply is not valid JSON: Expecting value at line 1 column 1``.
    """
    main = next(fenced_blocks(text), None)
    if main is None:
        main = text.strip()
    try:
        _loads(main)
    except json.JSONDecodeError as exc:
        return f"reply is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return "reply is not valid JSON: nested too deeply"
    except ValueError as exc:  # NaN / Infinity, which Python accepts and JSON does not
        return f"reply is not valid JSON: {exc}"
    return None
