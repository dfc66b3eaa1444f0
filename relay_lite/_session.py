"""``Session``: the one request path every API family uses.

Chat (send, stream, structured output), the ModelRelay account APIs, the embeddings call
of ``compat.Provider`` and the agent platform all reach the network through
``Session.send``. Anything that must hold for every call -- configured headers, the
request id, per-call timeouts, authorization, error mapping, secret scrubbing,
logging setup -- is therefore written once, here or in the transport below.

Theory of operation
-------------------

- A session holds a resolved ``ClientConfig``, the protocol ``Adapter`` and one
  ``HTTPTransport`` (``Transport``, or ``relay_lite.testing.MockTransport`` in tests).
  ``Client`` and ``AgentClient`` each own one; nothing else builds a transport.
- Callers hand it a ``PreparedRequest``: method, path below the base URL, a JSON body or
  raw bytes, the call's own headers, per-request header overrides and timeouts.
- Headers merge in one order, later winning: the OpenAI account headers, the call's
  headers (what the adapter needs, such as ``Accept``), the configured ``headers=``,
  then the request's overrides (request id, ``ChatRequest.headers``).
- Credentials are not merged here: the session passes an ``Authorizer`` to the
  transport, which calls it on every attempt with the serialized body, method and URL.
  ``KeyAuthorizer`` sends the adapter's ``auth_headers(api_key)`` except where the caller
  already set a header of that name (so ``headers={"Authorization": ...}`` still wins);
  a request signer can replace it without touching anything else: pass
  ``Session(..., authorizer=signer)`` (AWS SigV4 reads ``OutgoingRequest.body``, method,
  URL and headers, stamps a fresh ``X-Amz-Date`` and signs, on each attempt).
- Hooks (``_hooks``): when any is registered, each call gets a ``CallEvents`` that the
  transport's retry loop and the stream pump report to; otherwise nothing is built.
- Error statuses are mapped by the adapter's ``map_error`` (handed to the transport),
  so provider error shapes stay in the protocol layer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal, Mapping, Optional, Union, overload

from ._config import USER_AGENT, ClientConfig, ProxySettings, RetryPolicy, Timeouts
from ._errors import RelayError, scrub, secret_values, url_secrets
from ._hooks import CallEvents, Hooks
from ._record import Record, factory
from ._transport import (
    Authorizer,
    HTTPTransport,
    OutgoingRequest,
    Response,
    StreamResponse,
    Transport,
)
from ._urls import join_url, split_query

if TYPE_CHECKING:  # the adapter module loads with the first client, not with the package
    from .protocols._adapter import Adapter

__all__ = ["KeyAuthorizer", "PreparedRequest", "Session", "configure_logging"]


def configure_logging(level: str) -> None:
    """Send relay_lite's log lines at ``level`` and above to stderr (``RELAY_LITE_LOG``)."""
    logger = logging.getLogger("relay_lite")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_relay_lite", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s relay_lite %(levelname)s %(message)s"))
        handler._relay_lite = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


class KeyAuthorizer:
    """Static credential headers (bearer, ``x-api-key``, ModelRelay keys) on every attempt.

    A header the request already carries under the same name (any case) is left alone:
    a caller's explicit ``headers=`` wins over the key, as it always has.
    """

    __slots__ = ("_headers", "_names")
    # Its headers depend on nothing but the request's header names: the transport may
    # ask once per header set (see ``Authorizer``).
    per_attempt = False

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)
        self._names = frozenset(name.lower() for name in self._headers)

    def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
        """The key headers whose names the request does not already set."""
        names = self._names
        for name in request.headers:
            if name.lower() in names:  # rare: a header= of the same name; filter
                present = {name.lower() for name in request.headers}
                return {name: value for name, value in self._headers.items() if name.lower() not in present}
        return dict(self._headers)  # the usual case: all of them, without a set per call

    def secrets(self) -> tuple[str, ...]:
        """The key values (and bare tokens of ``Bearer ...`` values) it sends."""
        return secret_values(self._headers)

    def __repr__(self) -> str:  # names only: the values are credentials
        return f"KeyAuthorizer({sorted(self._headers)})"


class PreparedRequest(Record):
    """One call, ready for ``Session.send``.

    ``path`` is below the configured base URL (a query string included); ``json`` is a
    JSON value to send, or ``data`` raw bytes. ``headers`` are the call's own (from the
    adapter); ``overrides`` win over the configured headers (request id, per-request
    headers). ``timeouts`` and ``retry`` replace the client's for this call only. Header values and
    bodies stay out of ``repr``: a per-request header may carry a credential.
    """

    _hidden_in_repr = frozenset({"json", "data", "headers", "overrides"})

    method: str
    path: str
    json: object = None
    data: Optional[bytes] = None
    headers: Mapping[str, str] = factory(default_factory=dict)
    overrides: Mapping[str, str] = factory(default_factory=dict)
    timeouts: Optional[Timeouts] = None
    retry: Optional[RetryPolicy] = None


class Session:
    """Config, adapter and transport of one client; sends every call it makes.

    ``transport`` replaces the network (``relay_lite.testing.MockTransport``); without
    one, a ``Transport`` is built from the config, with proxies read from ``env``
    (``os.environ`` only when ``env`` is None).
    """

    def __init__(
        self,
        config: ClientConfig,
        adapter: Adapter,
        *,
        transport: Optional[HTTPTransport] = None,
        env: Optional[Mapping[str, str]] = None,
        authorizer: Optional[Authorizer] = None,
        hooks: Optional[Hooks] = None,
    ) -> None:
        self.config = config
        #: Functions called at each request, response, retry, first token, stream end, usage.
        self.hooks = hooks if hooks is not None else Hooks()
        #: Per-copy defaults (``Client.with_options``); None leaves the transport's own.
        self.default_timeouts: Optional[Timeouts] = None
        self.default_retry: Optional[RetryPolicy] = None
        self.adapter = adapter
        # Split once: the base URL's query (Azure's api-version) is merged into every call's.
        self._url_base, self._url_query = split_query(adapter.request_base_url(config.base_url))
        if config.log_level:
            configure_logging(config.log_level)
        self.authorizer: Authorizer = authorizer or KeyAuthorizer(adapter.auth_headers(config.api_key))
        self.transport: HTTPTransport = transport or Transport(
            timeouts=config.timeouts,
            retry=config.retry,
            ca_bundle=config.ca_bundle,
            proxies=ProxySettings.from_env(env),
            pool_size=config.pool_size,
            default_headers={"User-Agent": USER_AGENT},
        )

    def __repr__(self) -> str:
        return f"Session({self.adapter!r}, {type(self.transport).__name__})"

    def headers_for(self, request: PreparedRequest) -> dict[str, str]:
        """Every header of ``request`` except the authorizer's, in the documented order."""
        headers = self.config.account_headers()
        headers.update(request.headers)
        headers.update(self.config.headers)
        headers.update(request.overrides)
        return headers

    def secrets_for(self, request: PreparedRequest) -> tuple[str, ...]:
        """The credentials ``request`` sends, for scrubbing a reply that echoes them."""
        extra = url_secrets(self.config.base_url) + self.authorizer.secrets()
        return secret_values(self.headers_for(request), extra)

    def scrubbed(self, request: PreparedRequest, error: RelayError) -> RelayError:
        """``error``, raised while reading a reply to ``request``, cleaned of its credentials.

        The transport scrubs what it raises itself; a reply that arrived whole may still
        echo a key into an error its reader raises (an error envelope in a 200 body, a
        ``ResponseError`` quoting the body).
        """
        return scrub(error, self.secrets_for(request))

    @overload
    def send(self, request: PreparedRequest, *, stream: Literal[False] = ...) -> Response: ...

    @overload
    def send(self, request: PreparedRequest, *, stream: Literal[True]) -> StreamResponse: ...

    def send(self, request: PreparedRequest, *, stream: bool = False) -> Union[Response, StreamResponse]:
        """Send ``request`` with retries: the whole ``Response``, or the open ``StreamResponse``."""
        url = join_url(self._url_base, self._url_query, request.path)
        headers = self.headers_for(request)
        send = self.transport.stream if stream else self.transport.request
        # Optional arguments go only when set: a transport written before them still works.
        options: dict[str, Any] = {}
        if self.hooks:  # only then: a call without hooks pays nothing for them
            options["events"] = CallEvents(self.hooks, self.adapter.request_id)
        retry = request.retry or self.default_retry
        if retry is not None:
            options["retry"] = retry
        return send(
            request.method,
            url,
            headers=headers,
            json_body=request.json,
            body=request.data,
            timeouts=request.timeouts or self.default_timeouts,
            authorizer=self.authorizer,
            map_error=self.adapter.map_error,
            **options,
        )

    def close(self) -> None:
        """Close pooled connections (the session stays usable: it reconnects)."""
        self.transport.close()
