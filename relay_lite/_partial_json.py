"""Incremental partial-JSON parser: text deltas in, a growing value out.

Theory of operation
-------------------
``PartialJSONParser`` is an explicit state machine over RFC 8259 JSON. It keeps only
what a token in progress needs (the pieces of an unfinished string, number, literal or
escape) and a stack of container frames; it never keeps or re-reads the document, so the
total work is O(n) in the document length however it is split. Inside strings it jumps
to the next ``"`` or ``\\`` with one regex match instead of stepping char by char, and
whitespace between tokens is skipped the same way.

Each frame holds the *live* dict or list being filled, attached to its parent as soon
as it opens, so ``value`` is simply the root object. The token in progress is added
lazily when ``value`` is read: a string with its text so far (an escape in progress
not yet shown), a number only if its text so far is a complete number ("12" yes; "-",
"1." and "1e" no). A literal in progress ("tru") and an object key whose value has not
started are left out. ``value`` is the live object and keeps changing as you feed;
copy it if you need a snapshot.

``complete_fields`` lists, in the order they completed, the dot paths of values whose
end has been seen: ``title``, ``author.name``, ``tags.0`` (array elements use their
index; keys are used verbatim). Strings complete at their closing quote, containers at
their closing bracket, literals at their last letter, and numbers when the next
delimiter (or ``finish()``) proves they are over. The root itself is not listed; it is
complete when ``done`` is True. The list is live too: read it, do not mutate it.

Models often fence their output: leading whitespace and a Markdown fence line
(`` ```json ``) before the value are skipped, and once the value is done, whitespace is
ignored and a backtick starts a closing fence after which everything is ignored.

Any other deviation from JSON raises ``PartialJSONError`` (a ``ValueError``) with the
0-based position in the concatenated input; the parser then stays failed.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PartialJSONError", "PartialJSONParser"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING_RUN = re.compile(r'[^"\\\x00-\x1f]*')
_NUMBER_RUN = re.compile(r"[0-9eE.+\-]*")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: dict[str, tuple[str, Any]] = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# Parser states.
_START = 0  # before the root: whitespace or a fence
_FENCE = 1  # counting the opening backticks
_FENCE_LINE = 2  # skipping the rest of the fence line
_VALUE = 3  # a value must start (root, after ':' or after ',' in an array)
_ARRAY_FIRST = 4  # after '[': a value or ']'
_OBJECT_FIRST = 5  # after '{': a key or '}'
_KEY = 6  # after ',' in an object: a key
_COLON = 7  # after a key
_AFTER = 8  # after a value inside a container: ',' or the closing bracket
_STRING = 9
_ESCAPE = 10  # after a backslash
_UNICODE = 11  # inside \uXXXX
_NUMBER = 12
_LITERAL = 13
_DONE = 14  # the root is complete
_TRAILER = 15  # inside the closing fence: ignore everything
_FAILED = 16

# Number grammar (RFC 8259 section 6) as a DFA over the number's characters.
_N_START, _N_MINUS, _N_ZERO, _N_INT, _N_DOT, _N_FRAC, _N_EXP_MARK, _N_EXP_SIGN, _N_EXP = range(9)
_NUMBER_ACCEPTS = frozenset({_N_ZERO, _N_INT, _N_FRAC, _N_EXP})


def _number_table() -> list[dict[str, int]]:
    digits, nonzero = "0123456789", "123456789"
    table: list[dict[str, int]] = [{} for _ in range(9)]
    table[_N_START] = {"-": _N_MINUS, "0": _N_ZERO, **dict.fromkeys(nonzero, _N_INT)}
    table[_N_MINUS] = {"0": _N_ZERO, **dict.fromkeys(nonzero, _N_INT)}
    table[_N_ZERO] = {".": _N_DOT, "e": _N_EXP_MARK, "E": _N_EXP_MARK}
    table[_N_INT] = {".": _N_DOT, "e": _N_EXP_MARK, "E": _N_EXP_MARK, **dict.fromkeys(digits, _N_INT)}
    table[_N_DOT] = dict.fromkeys(digits, _N_FRAC)
    table[_N_FRAC] = {"e": _N_EXP_MARK, "E": _N_EXP_MARK, **dict.fromkeys(digits, _N_FRAC)}
    table[_N_EXP_MARK] = {"+": _N_EXP_SIGN, "-": _N_EXP_SIGN, **dict.fromkeys(digits, _N_EXP)}
    table[_N_EXP_SIGN] = dict.fromkeys(digits, _N_EXP)
    table[_N_EXP] = dict.fromkeys(digits, _N_EXP)
    return table


_NUMBER_TABLE = _number_table()


class PartialJSONError(ValueError):
    """The input is not JSON; ``position`` is the 0-based offset in everything fed."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position


class _Frame:
    """An open container: the live object, where it sits, and the pending slot."""

    __slots__ = ("container", "is_object", "key", "path", "prefix", "slot")

    def __init__(self, container: Any, is_object: bool, path: str) -> None:
        self.container = container
        self.is_object = is_object
        self.key = ""  # the current key (objects)
        self.path = path  # this container's own dot path ("" for the root)
        self.prefix = f"{path}." if path else ""
        # True while the container holds a provisional copy of the token in progress.
        self.slot = False


class PartialJSONParser:
    """Parse one JSON document fed in pieces, exposing the partial value as it grows.

    >>> parser = PartialJSONParser()
    >>> parser.feed('{"title": "Hel')
    >>> parser.value
    {'title': 'Hel'}
    >>> parser.feed('lo", "n": 1')
    >>> parser.value, parser.complete_fields
    ({'title': 'Hello', 'n': 1}, ['title'])
    >>> parser.feed("}")
    >>> parser.done, parser.complete_fields
    (True, ['title', 'n'])
    """

    def __init__(self) -> None:
        self._state = _START
        self._offset = 0  # how many characters came before the current feed
        self._stack: list[_Frame] = []
        self._root: Any = None
        self._completed: list[str] = []
        self._done = False
        self._error: PartialJSONError | None = None
        # The token in progress.
        self._is_key = False
        self._parts: list[str] = []  # decoded pieces of the current string
        self._high_surrogate: int | None = None
        self._hex = ""  # digits of the \u escape in progress
        self._number = ""
        self._number_state = _N_START
        self._literal = ""
        self._ticks = 0

    # ------------------------------------------------------------------ public

    @property
    def done(self) -> bool:
        """True once the top-level value is complete."""
        return self._done

    @property
    def complete_fields(self) -> list[str]:
        """Dot paths of the values completed so far, in completion order (live list)."""
        return self._completed

    @property
    def value(self) -> Any:
        """The value parsed so far (None before the root begins); live, see the module."""
        state = self._state
        pending: Any = _NOTHING
        if state in (_STRING, _ESCAPE, _UNICODE) and not self._is_key:
            if len(self._parts) > 1:
                self._parts = ["".join(self._parts)]
            pending = self._parts[0] if self._parts else ""
        elif state == _NUMBER and self._number_state in _NUMBER_ACCEPTS:
            pending = self._number_value()
        stack = self._stack
        if not stack:
            return self._root if pending is _NOTHING else pending
        frame = stack[-1]
        if pending is not _NOTHING:
            if frame.is_object:
                frame.container[frame.key] = pending
            elif frame.slot:
                frame.container[-1] = pending
            else:
                frame.container.append(pending)
            frame.slot = True
        elif frame.slot:  # e.g. a number that was "1" and is now "1e"
            if frame.is_object:
                del frame.container[frame.key]
            else:
                frame.container.pop()
            frame.slot = False
        return self._root

    def feed(self, text: str) -> None:
        """Consume the next piece of the document. Raises ``PartialJSONError``."""
        if self._error is not None:
            raise self._error
        try:
            self._feed(text)
        except PartialJSONError as exc:
            self._error = exc
            self._state = _FAILED
            raise
        self._offset += len(text)

    def finish(self) -> Any:
        """Declare the input over and return the complete value.

        A number at the very end of the document completes here. Raises
        ``PartialJSONError`` (a ``ValueError``) when the document is invalid or
        incomplete.
        """
        if self._error is not None:
            raise self._error
        if self._state == _NUMBER and not self._stack:
            self._end_number(self._offset)
        if not self._done:
            reason = "incomplete JSON document" if self._state != _START else "empty JSON document"
            self._error = PartialJSONError(reason, self._offset)
            raise self._error
        return self._root

    # ----------------------------------------------------------------- machine

    def _fail(self, reason: str, index: int) -> PartialJSONError:
        return PartialJSONError(reason, self._offset + index)

    def _feed(self, text: str) -> None:
        i = 0
        n = len(text)
        while i < n:
            state = self._state
            if state == _STRING:
                j = _STRING_RUN.match(text, i).end()  # type: ignore[union-attr]
                if j > i:
                    if self._high_surrogate is not None:
                        self._flush_surrogate()
                    self._parts.append(text[i:j])
                    i = j
                    if i == n:
                        break
                char = text[i]
                if char == '"':
                    self._end_string()
                elif char == "\\":
                    self._state = _ESCAPE
                else:
                    raise self._fail(f"unescaped control character {char!r} in string", i)
                i += 1
            elif state == _AFTER:
                i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
                if i == n:
                    break
                char = text[i]
                frame = self._stack[-1]
                if char == ",":
                    self._state = _KEY if frame.is_object else _VALUE
                elif char == ("}" if frame.is_object else "]"):
                    self._close()
                else:
                    expected = "',' or '}'" if frame.is_object else "',' or ']'"
                    raise self._fail(f"expected {expected}, got {char!r}", i)
                i += 1
            elif state == _VALUE or state == _ARRAY_FIRST:
                i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
                if i == n:
                    break
                if state == _ARRAY_FIRST and text[i] == "]":
                    self._close()
                    i += 1
                else:
                    i = self._start_value(text, i)
            elif state == _KEY or state == _OBJECT_FIRST:
                i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
                if i == n:
                    break
                char = text[i]
                if char == '"':
                    self._begin_string(is_key=True)
                elif char == "}" and state == _OBJECT_FIRST:
                    self._close()
                else:
                    wanted = "a string key or '}'" if state == _OBJECT_FIRST else "a string key"
                    raise self._fail(f"expected {wanted}, got {char!r}", i)
                i += 1
            elif state == _COLON:
                i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
                if i == n:
                    break
                if text[i] != ":":
                    raise self._fail(f"expected ':' after an object key, got {text[i]!r}", i)
                self._state = _VALUE
                i += 1
            elif state == _NUMBER:
                i = self._number_run(text, i)
            elif state == _ESCAPE:
                self._escape(text[i], i)
                i += 1
            elif state == _UNICODE:
                i = self._unicode_run(text, i)
            elif state == _LITERAL:
                i = self._literal_run(text, i)
            elif state == _DONE:
                i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
                if i == n:
                    break
                if text[i] != "`":
                    raise self._fail(f"unexpected data after the JSON value: {text[i]!r}", i)
                self._state = _TRAILER
            elif state == _TRAILER:
                break
            elif state == _START:
                i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
                if i == n:
                    break
                self._state = _FENCE if text[i] == "`" else _VALUE
            elif state == _FENCE:
                while i < n and self._ticks < 3:
                    if text[i] != "`":
                        raise self._fail(f"expected a JSON value, got {text[i]!r}", i)
                    self._ticks += 1
                    i += 1
                if self._ticks == 3:
                    self._state = _FENCE_LINE
            elif state == _FENCE_LINE:
                j = text.find("\n", i)
                if j < 0:
                    break
                self._state = _VALUE
                i = j + 1
            else:  # _FAILED cannot be reached: feed() re-raises first
                raise AssertionError(state)

    def _start_value(self, text: str, i: int) -> int:
        """Begin the value whose first character is ``text[i]``; return the next index."""
        char = text[i]
        if char == '"':
            self._begin_string(is_key=False)
            return i + 1
        if char == "{":
            self._open({}, True)
            self._state = _OBJECT_FIRST
            return i + 1
        if char == "[":
            self._open([], False)
            self._state = _ARRAY_FIRST
            return i + 1
        if char == "-" or "0" <= char <= "9":
            self._number = ""
            self._number_state = _N_START
            self._state = _NUMBER
            return i
        if char in _LITERALS:
            self._literal = ""
            self._state = _LITERAL
            return i
        raise self._fail(f"expected a JSON value, got {char!r}", i)

    def _open(self, container: Any, is_object: bool) -> None:
        stack = self._stack
        if not stack:
            self._root = container
            path = ""
        else:
            parent = stack[-1]
            if parent.is_object:
                parent.container[parent.key] = container
                path = parent.prefix + parent.key
            else:
                parent.container.append(container)
                path = parent.prefix + str(len(parent.container) - 1)
        stack.append(_Frame(container, is_object, path))

    def _close(self) -> None:
        frame = self._stack.pop()
        if self._stack:
            self._completed.append(frame.path)
            self._state = _AFTER
        else:
            self._done = True
            self._state = _DONE

    def _complete(self, value: Any) -> None:
        """A scalar ended: store it in its container (or as the root) and record it."""
        stack = self._stack
        if not stack:
            self._root = value
            self._done = True
            self._state = _DONE
            return
        frame = stack[-1]
        container = frame.container
        if frame.is_object:
            container[frame.key] = value
            self._completed.append(frame.prefix + frame.key)
        else:
            if frame.slot:
                container[-1] = value
            else:
                container.append(value)
            self._completed.append(frame.prefix + str(len(container) - 1))
        frame.slot = False
        self._state = _AFTER

    # ---------------------------------------------------------------- strings

    def _begin_string(self, is_key: bool) -> None:
        self._is_key = is_key
        self._parts = []
        self._state = _STRING

    def _end_string(self) -> None:
        if self._high_surrogate is not None:
            self._flush_surrogate()
        text = "".join(self._parts)
        self._parts = []
        if self._is_key:
            self._stack[-1].key = text
            self._state = _COLON
        else:
            self._complete(text)

    def _flush_surrogate(self) -> None:
        """A high surrogate not followed by a low one stands alone (as in json.loads)."""
        assert self._high_surrogate is not None
        self._parts.append(chr(self._high_surrogate))
        self._high_surrogate = None

    def _escape(self, char: str, i: int) -> None:
        if char == "u":
            self._hex = ""
            self._state = _UNICODE
            return
        decoded = _ESCAPES.get(char)
        if decoded is None:
            raise self._fail(f"invalid escape {chr(92) + char!r} in string", i)
        if self._high_surrogate is not None:
            self._flush_surrogate()
        self._parts.append(decoded)
        self._state = _STRING

    def _unicode_run(self, text: str, i: int) -> int:
        take = text[i : i + 4 - len(self._hex)]
        for offset, char in enumerate(take):
            if char not in _HEX:
                raise self._fail(f"invalid \\u escape: {char!r} is not a hex digit", i + offset)
        self._hex += take
        if len(self._hex) == 4:
            self._code_unit(int(self._hex, 16))
            self._state = _STRING
        return i + len(take)

    def _code_unit(self, unit: int) -> None:
        """Add one UTF-16 code unit, pairing surrogates (RFC 8259 section 7)."""
        high = self._high_surrogate
        if high is not None:
            self._high_surrogate = None
            if 0xDC00 <= unit <= 0xDFFF:
                self._parts.append(chr(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)))
                return
            self._parts.append(chr(high))
        if 0xD800 <= unit <= 0xDBFF:
            self._high_surrogate = unit  # wait: a low surrogate may follow
        else:
            self._parts.append(chr(unit))

    # ------------------------------------------------------- numbers, literals

    def _number_run(self, text: str, i: int) -> int:
        j = _NUMBER_RUN.match(text, i).end()  # type: ignore[union-attr]
        number_state = self._number_state
        for k in range(i, j):
            next_state = _NUMBER_TABLE[number_state].get(text[k])
            if next_state is None:
                raise self._fail(f"invalid number {self._number + text[i : k + 1]!r}", k)
            number_state = next_state
        self._number_state = number_state
        self._number += text[i:j]
        if j < len(text):  # a delimiter follows: the number is over
            self._end_number(self._offset + j)
        return j

    def _end_number(self, position: int) -> None:
        if self._number_state not in _NUMBER_ACCEPTS:
            raise PartialJSONError(f"invalid number {self._number!r}", position)
        self._complete(self._number_value())

    def _number_value(self) -> Any:
        if self._number_state in (_N_ZERO, _N_INT):
            return int(self._number)
        return float(self._number)

    def _literal_run(self, text: str, i: int) -> int:
        word, value = _LITERALS[self._literal[:1] or text[i]]
        missing = word[len(self._literal) :]
        take = text[i : i + len(missing)]
        if not missing.startswith(take):
            bad = next(k for k, char in enumerate(take) if char != missing[k])
            raise self._fail(f"invalid literal {self._literal + take[: bad + 1]!r}", i + bad)
        self._literal += take
        if len(self._literal) == len(word):
            self._complete(value)
        return i + len(take)


_NOTHING: Any = object()
