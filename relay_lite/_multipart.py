"""``multipart/form-data`` bodies (RFC 7578), written with the standard library. Sans-I/O.

Used to upload files (OpenAI's ``POST /files``). Each part is ``--boundary CRLF``, its
headers, a blank line, its bytes and CRLF; the body ends with ``--boundary-- CRLF``.
Names and file names are quoted strings in which ``"``, CR and LF are percent-encoded, as
browsers do (WHATWG HTML, "multipart/form-data encoding algorithm"), so a name can never
end its header early. A boundary found inside the data would cut the body short, so a
random one is drawn again, and a given one that occurs is refused. A file's bytes may come
as pieces (the lines of a JSONL file): they are joined once, into the body itself.
"""

from __future__ import annotations

import re
import secrets
from typing import Mapping, Optional, Sequence, Union

from ._errors import ConfigError
from ._record import Record

__all__ = ["FilePart", "encode_multipart"]

# RFC 2046 section 5.1.1: 1 to 70 characters from this set (a space never last).
_BOUNDARY_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ")
# A boundary of these characters only is an RFC 2045 token; any other needs quotes in the
# Content-Type parameter (a space, '(', ',', '/', ':', '=', '?').
_TOKEN_BOUNDARY = re.compile(r"[A-Za-z0-9'+_.-]+")


class FilePart(Record):
    """A file field: its form ``name``, the ``filename`` sent, its bytes and media type.

    ``data`` is the bytes, or a sequence of byte pieces sent one after the other.
    """

    _hidden_in_repr = frozenset({"data"})

    name: str
    filename: str
    data: Union[bytes, Sequence[bytes]]
    content_type: str = "application/octet-stream"


def _quoted(value: str) -> str:
    text = value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    return f'"{text}"'


def _check_boundary(boundary: str) -> None:
    if not 1 <= len(boundary) <= 70 or boundary.endswith(" ") or not set(boundary) <= _BOUNDARY_CHARS:
        raise ConfigError(f"multipart boundary {boundary!r} is not 1-70 characters allowed by RFC 2046")


def encode_multipart(
    fields: Mapping[str, str], files: Sequence[FilePart], *, boundary: Optional[str] = None
) -> tuple[str, bytes]:
    """``(Content-Type header value, body)`` for text ``fields`` then ``files``, in order.

    >>> encode_multipart({"purpose": "batch"}, [], boundary="b")[1]
    b'--b\\r\\nContent-Disposition: form-data; name="purpose"\\r\\n\\r\\nbatch\\r\\n--b--\\r\\n'
    """
    given = boundary is not None
    while True:
        chosen = boundary if boundary is not None else secrets.token_hex(16)
        _check_boundary(chosen)
        body = _body(fields, files, chosen.encode("ascii"))
        if body is not None:
            quoted = chosen if _TOKEN_BOUNDARY.fullmatch(chosen) else f'"{chosen}"'
            return f"multipart/form-data; boundary={quoted}", body
        if given:
            raise ConfigError(f"multipart boundary {chosen!r} occurs inside the data; choose another")


def _pieces(part: FilePart) -> Sequence[bytes]:
    data = part.data
    pieces = [data] if isinstance(data, (bytes, bytearray)) else list(data)
    for piece in pieces:
        if not isinstance(piece, (bytes, bytearray)):
            raise ConfigError(f"file part {part.name!r} holds {type(piece).__name__}, not bytes")
    return pieces


def _body(fields: Mapping[str, str], files: Sequence[FilePart], boundary: bytes) -> Optional[bytes]:
    """The body, or None when ``boundary`` occurs inside a value or a name."""
    delimiter = b"--" + boundary
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f"Content-Disposition: form-data; name={_quoted(name)}\r\n"
        parts += [delimiter, b"\r\n", head.encode("utf-8"), b"\r\n", value.encode("utf-8"), b"\r\n"]
    for part in files:
        if "\r" in part.content_type or "\n" in part.content_type:
            raise ConfigError(f"content type of file part {part.name!r} contains CR or LF")
        head = (
            f"Content-Disposition: form-data; name={_quoted(part.name)}; "
            f"filename={_quoted(part.filename)}\r\n"
            f"Content-Type: {part.content_type}\r\n"
        )
        parts += [delimiter, b"\r\n", head.encode("utf-8"), b"\r\n", *_pieces(part), b"\r\n"]
    parts += [delimiter, b"--\r\n"]
    body = b"".join(parts)  # the one copy of the data
    # Every value and header sits between CRLFs and a boundary holds no CR or LF, so no
    # delimiter straddles two of them: one more than the parts' own is inside the data.
    if body.count(delimiter) != len(fields) + len(files) + 1:
        return None
    return body
