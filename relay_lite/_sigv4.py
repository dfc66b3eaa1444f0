"""AWS Signature Version 4 for request headers: sans-I/O, standard library only.

Theory of operation (AWS General Reference, "Create a signed AWS API request"; the
published aws-sig-v4-test-suite pins every rule below, see tests/test_sigv4.py):

1. Canonical request: method, canonical URI, canonical query, canonical headers, the
   signed header names, and the hex SHA-256 of the body, joined by newlines.
   - URI (rules of every service but S3): the path is taken exactly as the URL writes it,
     its dot segments and empty segments removed, then every byte but the unreserved
     ones (``A-Z a-z 0-9 - _ . ~``) and ``/`` percent-encoded. A path the client already
     percent-encoded is therefore encoded once more: a Bedrock model id
     ``anthropic.claude-3:0`` sent as ``/model/anthropic.claude-3%3A0/converse`` is
     signed as ``%253A``, which is what the service computes from the wire path.
     ``SigV4Authorizer`` first puts the URL in the form urllib3 sends (``wire_url``:
     characters not allowed in a URL percent-encoded as UTF-8, ``%3a`` upper-cased to
     ``%3A``, dot segments removed), so a raw space or ``é`` is signed as it arrives.
   - Query: each ``name=value`` pair decoded to bytes (``+`` is a space), re-encoded the
     same way (no ``/`` kept), and sorted by name, then value.
   - Headers: names lower-cased, values trimmed with inner runs of spaces collapsed,
     sorted by name. ``host`` (from the URL, with its port when not the scheme's
     default, unless the request sets ``Host``) and ``x-amz-date`` are always signed, and
     ``x-amz-security-token`` when the credentials carry a session token. Headers that
     proxies and HTTP stacks rewrite are left unsigned, as AWS SDKs do (``UNSIGNED_HEADERS``).
2. String to sign: ``AWS4-HMAC-SHA256``, the timestamp, the scope
   (``date/region/service/aws4_request``) and the hex SHA-256 of the canonical request.
3. Signing key: HMAC-SHA256 chained over ``"AWS4" + secret``, date, region, service,
   ``aws4_request``; the signature is the hex HMAC of the string to sign under it.

``sign_headers`` is a pure function of its arguments (the caller passes the time);
``SigV4Authorizer`` plugs it into the transport's per-attempt authorizer slot, reading
the clock on every attempt so a retry carries a fresh ``X-Amz-Date`` and signature.
Secrets (secret access key, session token, signatures) never reach a repr, str or error;
``SigV4Authorizer.secrets()`` names them so the transport scrubs any echo of them.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Mapping, Optional, Protocol, Union
from urllib.parse import SplitResult, quote_from_bytes, unquote_to_bytes, urlsplit, urlunsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from ._errors import ConfigError, RelayError
from ._transport import OutgoingRequest

__all__ = [
    "AWSCredentials",
    "CredentialsProvider",
    "SigV4Authorizer",
    "canonical_request",
    "check_signature",
    "sign_headers",
    "wire_url",
]

ALGORITHM = "AWS4-HMAC-SHA256"
# Header names never signed: rewritten by proxies or HTTP stacks on the way (the set the
# AWS SDKs leave out, plus hop-by-hop headers), or the signature's own header.
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "user-agent",
        "x-amzn-trace-id",
        "expect",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the signer itself; a same-named request header is replaced, not signed twice.
_SIGNER_HEADERS = frozenset({"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Signatures remembered for scrubbing echoes from errors and logs (one per attempt). A
# signature unlocks nothing else and AWS refuses it after 15 minutes, but it must still never
# show in an error: enough are kept for the attempts of many threads signed between one
# attempt's signing and the scrubbing of its error.
_REMEMBERED_SIGNATURES = 256
# Credentials seen (a provider rotates them every few hours): their secrets are scrubbed too.
_REMEMBERED_CREDENTIALS = 8


def _encodes_as_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class AWSCredentials:
    """An AWS access key pair, an optional session token, and when they expire.

    ``expires_at`` is in epoch seconds (None: long-term keys). Its repr shows only the
    last four characters of the access key id, never the secret or the token.

    >>> AWSCredentials("AKIDEXAMPLE", "wJalr...")  # doctest: +SKIP
    AWSCredentials(access_key_id='…MPLE', session_token=None, expires_at=None)
    """

    __slots__ = ("access_key_id", "secret_access_key", "session_token", "expires_at")

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: Optional[str] = None,
        expires_at: Optional[float] = None,
    ) -> None:
        for name, value in (("access_key_id", access_key_id), ("secret_access_key", secret_access_key)):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"AWS credentials need a non-empty {name}")
        if session_token is not None and (not isinstance(session_token, str) or not session_token.strip()):
            raise ConfigError("an AWS session token must be a non-empty string when given")
        for name, value in (
            ("access_key_id", access_key_id),
            ("secret_access_key", secret_access_key),
            ("session_token", session_token or ""),
        ):
            # os.environ holds undecodable bytes as lone surrogates; UTF-8 cannot carry them,
            # and a UnicodeEncodeError (even one chained as context) would quote the value.
            if not _encodes_as_utf8(value):
                raise ConfigError(
                    f"the AWS {name} holds characters that are not valid UTF-8 "
                    "(bytes the environment or file could not decode?)"
                )
        if expires_at is not None and not isinstance(expires_at, (int, float)):
            raise ConfigError(f"expires_at must be epoch seconds, got {type(expires_at).__name__}")
        self.access_key_id = access_key_id.strip()
        self.secret_access_key = secret_access_key.strip()
        self.session_token = session_token.strip() if session_token else None
        self.expires_at = None if expires_at is None else float(expires_at)

    def expires_within(self, seconds: float, now: float) -> bool:
        """Whether these credentials expire less than ``seconds`` after ``now`` (epoch)."""
        return self.expires_at is not None and self.expires_at - now < seconds

    def secrets(self) -> tuple[str, ...]:
        """The secret access key and the session token (if any), for scrubbing."""
        return (self.secret_access_key,) + ((self.session_token,) if self.session_token else ())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AWSCredentials):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash((self.access_key_id, self.secret_access_key, self.session_token, self.expires_at))

    def __repr__(self) -> str:  # never the secret or the token
        token = "set" if self.session_token else None
        return (
            f"AWSCredentials(access_key_id='…{self.access_key_id[-4:]}', session_token={token}, "
            f"expires_at={self.expires_at!r})"
        )

    __str__ = __repr__


class CredentialsProvider(Protocol):
    """Anything that hands out current credentials (caching and refreshing them itself)."""

    def get(self) -> AWSCredentials:
        """The credentials to sign the next request with."""
        ...


# -- the canonical request -------------------------------------------------------------------


def _uri_encode(raw: bytes, *, keep_slash: bool) -> str:
    # quote_from_bytes() leaves A-Z a-z 0-9 - _ . ~ alone: exactly SigV4's unreserved set.
    return quote_from_bytes(raw, safe="/" if keep_slash else "")


def _utf8(text: str) -> bytes:
    # Lone surrogates are encoded as urllib3 encodes them, never an error.
    return text.encode("utf-8", "surrogatepass")


def wire_url(url: str) -> str:
    """``url`` with its path and query as urllib3 sends them on the wire.

    urllib3 (1.26 and 2.x alike) percent-encodes, as UTF-8, every character a URL may not
    hold (space, non-ASCII, ``|``, ``{``, ...), upper-cases ``%xx`` escapes and removes dot
    segments before it writes the request line; the signature must cover that path, the
    one the service re-signs. Scheme and host are kept as given; a fragment is dropped.
    """
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise ConfigError("cannot sign a URL that urllib3 cannot parse") from None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parsed.path or "", parsed.query or "", ""))


def _canonical_path(path: str) -> str:
    """Dot and empty segments removed (RFC 3986 section 5.2.4, plus ``//``), then encoded."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    trailing = path.endswith(("/", "/.", "/..")) and bool(segments)
    normalized = "/" + "/".join(segments) + ("/" if trailing else "")
    return _uri_encode(_utf8(normalized), keep_slash=True)


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        # Decoded first, so "%E1%88%B4" and a raw "ሴ" sign alike; "+" is a space, as the
        # service reads it. Decoded to bytes, not text: "%FF" is no UTF-8 and stays "%FF".
        pairs.append(
            (
                _uri_encode(unquote_to_bytes(_utf8(name.replace("+", " "))), keep_slash=False),
                _uri_encode(unquote_to_bytes(_utf8(value.replace("+", " "))), keep_slash=False),
            )
        )
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _host_of(parts: SplitResult) -> str:
    """What ``Host`` carries: the URL's host, with its port unless the scheme's default."""
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("cannot sign a URL with an invalid port") from None
    if port is not None and port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        netloc = netloc.rsplit(":", 1)[0]
    return netloc


def _header_value(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload_hash: str,
) -> tuple[str, str]:
    """The canonical request of ``method url`` with ``headers`` (all to be signed except
    ``UNSIGNED_HEADERS``; ``host`` added from the URL when absent), and the signed names."""
    if not isinstance(method, str) or not isinstance(url, str):
        raise ConfigError("SigV4 signing needs the method and the URL as strings")
    parts = urlsplit(url)
    if not parts.netloc:
        raise ConfigError("cannot sign a URL without a host")
    canonical: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.strip().lower()
        if lowered in UNSIGNED_HEADERS:
            continue
        canonical[lowered] = _header_value(value)
    canonical.setdefault("host", _host_of(parts))
    names = sorted(canonical)
    header_block = "".join(f"{name}:{canonical[name]}\n" for name in names)
    signed = ";".join(names)
    text = "\n".join(
        (
            method.upper(),
            _canonical_path(parts.path),
            _canonical_query(parts.query),
            header_block,
            signed,
            payload_hash,
        )
    )
    return text, signed


# -- signing ----------------------------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.digest(key, text.encode("utf-8"), "sha256")  # the one-shot, C-speed form


# A key serves one day, region and service: derived once, not four HMACs per request.
@lru_cache(maxsize=8)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key for one day, region and service (``date`` as ``YYYYMMDD``)."""
    key = _hmac(("AWS4" + secret_access_key).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def amz_date(now: datetime) -> str:
    """``now`` as SigV4's timestamp, ``YYYYMMDDTHHMMSSZ`` in UTC (a naive time is UTC)."""
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AWSCredentials,
    *,
    region: str,
    service: str,
    now: datetime,
    content_sha256_header: bool = False,
) -> dict[str, str]:
    """The headers that sign this request: ``Authorization`` and ``X-Amz-Date``, plus
    ``X-Amz-Security-Token`` with a session token and ``X-Amz-Content-Sha256`` when
    ``content_sha256_header`` (both then signed too).

    ``url`` is the URL as it goes on the wire (path already percent-encoded: see
    ``wire_url``); ``headers`` the other headers sent; ``body`` the exact bytes sent. A
    pure function: the same arguments give the same signature.
    """
    for name, value in (("region", region), ("service", service)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"SigV4 signing needs a {name} name (a non-empty string)")
    if not isinstance(body, (bytes, bytearray)):
        raise ConfigError(f"SigV4 signing needs the body as bytes, got {type(body).__name__}")
    timestamp = amz_date(now)
    date = timestamp[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    added: dict[str, str] = {"X-Amz-Date": timestamp}
    if credentials.session_token:
        added["X-Amz-Security-Token"] = credentials.session_token
    if content_sha256_header:
        added["X-Amz-Content-Sha256"] = payload_hash
    to_sign = {name: value for name, value in headers.items() if name.strip().lower() not in _SIGNER_HEADERS}
    to_sign.update(added)
    canonical, signed = canonical_request(method, url, to_sign, payload_hash)
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join((ALGORITHM, timestamp, scope, hashlib.sha256(_utf8(canonical)).hexdigest()))
    key = signing_key(credentials.secret_access_key, date, region, service)
    signature = _hmac(key, string_to_sign).hex()
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return added


def check_signature(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AWSCredentials,
    *,
    region: str,
    service: str,
) -> bool:
    """Whether a received request carries a valid SigV4 signature by ``credentials``.

    What a server does (``FakeServer`` fakes use it): the headers named in
    ``SignedHeaders`` and the ``X-Amz-Date`` sent are signed again over ``url`` as
    received (already the wire form: not passed through ``wire_url``), and the two
    ``Authorization`` values compared in constant time. The time itself is not checked
    against a clock.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization", "")
    timestamp = lowered.get("x-amz-date", "")
    if not authorization.startswith(ALGORITHM + " ") or "SignedHeaders=" not in authorization:
        return False
    try:
        now = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    if credentials.session_token != lowered.get("x-amz-security-token", credentials.session_token):
        return False
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].strip().split(";")
    if "x-amz-security-token" in signed and credentials.session_token is None:
        return False
    to_sign = {name: lowered[name] for name in signed if name in lowered and name not in _SIGNER_HEADERS}
    if any(name not in lowered and name not in _SIGNER_HEADERS and name != "host" for name in signed):
        return False  # a signed header that did not arrive (host may come from the URL)
    try:
        expected = sign_headers(
            method, url, to_sign, body, credentials,
            region=region, service=service, now=now,
            content_sha256_header="x-amz-content-sha256" in signed,
        )["Authorization"]  # fmt: skip
    except ConfigError:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), authorization.encode("utf-8"))


# -- the authorizer ---------------------------------------------------------------------------


class SigV4Authorizer:
    """Signs every attempt of a call with AWS SigV4 (an ``Authorizer`` for the transport).

    ``credentials`` is an ``AWSCredentials`` or a provider with ``.get()`` (asked on each
    attempt; it caches). ``clock`` returns epoch seconds (``time.time``; tests pass their
    own). ``content_sha256_header`` also sends ``X-Amz-Content-Sha256``. The URL is signed
    in the form urllib3 puts on the wire (``wire_url``).

    >>> signer = SigV4Authorizer("us-east-1", "execute-api", AWSCredentials(key_id, secret))  # doctest: +SKIP
    >>> url = "https://abc.execute-api.us-east-1.amazonaws.com/v1"
    >>> Client.compatible(url, authorizer=signer)  # doctest: +SKIP
    """

    def __init__(
        self,
        region: str,
        service: str,
        credentials: Union[AWSCredentials, CredentialsProvider],
        *,
        clock: Optional[Callable[[], float]] = None,
        content_sha256_header: bool = False,
    ) -> None:
        for name, value in (("region", region), ("service", service)):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"SigV4Authorizer needs a non-empty {name}")
        if clock is not None and not callable(clock):
            raise ConfigError(f"clock must be a callable returning epoch seconds, got {type(clock).__name__}")
        if not isinstance(credentials, AWSCredentials) and not callable(getattr(credentials, "get", None)):
            raise ConfigError(
                "credentials must be AWSCredentials or a provider with .get(), "
                f"got {type(credentials).__name__}"
            )
        self.region = region.strip()
        self.service = service.strip()
        self._credentials = credentials
        self._clock = clock or time.time
        self._content_sha256_header = content_sha256_header
        self._lock = threading.Lock()
        # Credentials seen (a provider rotates them) and signatures issued lately.
        self._seen: deque[AWSCredentials] = deque(maxlen=_REMEMBERED_CREDENTIALS)
        self._signatures: deque[str] = deque(maxlen=_REMEMBERED_SIGNATURES)
        if isinstance(credentials, AWSCredentials):
            self._seen.append(credentials)

    def current_credentials(self) -> AWSCredentials:
        """The credentials the next attempt is signed with (the provider's, if any)."""
        source = self._credentials
        if isinstance(source, AWSCredentials):
            return source
        try:
            credentials = source.get()
        except RelayError:
            raise
        except Exception as exc:  # a caller's provider: its failure, named, never a secret
            raise ConfigError(
                f"the AWS credentials provider {type(source).__name__} failed: {type(exc).__name__}"
            ) from exc
        if not isinstance(credentials, AWSCredentials):
            raise ConfigError(
                f"the AWS credentials provider {type(source).__name__} must return AWSCredentials, "
                f"got {type(credentials).__name__}"
            )
        return credentials

    def authorize(self, request: OutgoingRequest) -> dict[str, str]:
        """Sign this attempt at the clock's current time."""
        credentials = self.current_credentials()
        now = datetime.fromtimestamp(self._clock(), timezone.utc)
        headers = sign_headers(
            request.method,
            wire_url(request.url),
            request.headers,
            request.body,
            credentials,
            region=self.region,
            service=self.service,
            now=now,
            content_sha256_header=self._content_sha256_header,
        )
        signature = headers["Authorization"].rpartition("Signature=")[2]
        with self._lock:
            if credentials not in self._seen:
                self._seen.append(credentials)
            self._signatures.append(signature)
        return headers

    def secrets(self) -> tuple[str, ...]:
        """Secret keys and session tokens used, and the signatures issued lately."""
        with self._lock:
            values = [secret for credentials in self._seen for secret in credentials.secrets()]
            values.extend(self._signatures)
        return tuple(values)

    def __repr__(self) -> str:  # never a secret
        return f"SigV4Authorizer(region={self.region!r}, service={self.service!r})"
