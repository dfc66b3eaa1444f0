"""``Client``: configuration, one session (the request path), and its provider's adapter.

Design notes: a ``Client`` resolves a ``ClientConfig`` (arguments, then environment, then
preset), picks the protocol ``Adapter`` its preset names, and builds one
``_session.Session`` around them and a transport. Every call the client makes -- chat
send and stream (``open_call``), structured output (which calls ``open_call`` too), the
ModelRelay account APIs (``client.customers``/``tiers``/``auth``) and
``compat.Provider.embed`` -- goes through ``Client.session.send``, the one request path:
headers, request id, timeouts, per-attempt authorization and error mapping are applied
there and nowhere else. ``AgentClient`` (``platform/agents.py``) is built the same way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Optional, Union, overload

from ._chat import ChatRequest
from ._config import PRESETS, ClientConfig, RetryPolicy, Timeouts
from ._errors import APIError, ConfigError, RelayError, safe_url
from ._models import ChatParams, ChatResponse, Usage
from ._ratelimits import parse_rate_limits
from ._transport import Authorizer, HTTPTransport, Response, StreamResponse

if TYPE_CHECKING:
    from ._resources import Embeddings, ModelInfo
    from ._session import PreparedRequest, Session
    from ._stream import ChatStream
    from .platform.modelrelay import Auth, Customers, Tiers
    from .protocols._adapter import Adapter
    from .protocols._common import HTTPCall


def _new_chat_stream(*args: Any, **kwargs: Any) -> ChatStream:
    """A ``ChatStream(*args, **kwargs)``.

    _stream loads with the first stream (a plain call never needs it): the first call
    imports it and rebinds this name to the class itself, so later streams run no import.
    """
    from ._stream import ChatStream as stream_class

    globals()["_new_chat_stream"] = stream_class
    return stream_class(*args, **kwargs)


# PreparedRequest, looked up once by prepare_call: an import statement there cost ~2 us of
# every call (issue 14), and a module-level import would load _session on import relay_lite.
_prepared_request: Optional[type[PreparedRequest]] = None


# The ChatRequest methods that set one parameter: what generate()'s keywords may name.
_GENERATE_PARAMETERS = frozenset(
    (
        "model temperature top_p max_tokens stop seed tools tool_choice response_format metadata"
        " headers timeout retries reasoning_effort thinking n end_user logprobs parallel_tool_calls"
        " request_id extra_body"
    ).split()
)


class Client:
    """A client for one provider. Safe to share between threads; close it (or use ``with``).

    >>> client = Client.compatible("http://localhost:11434/v1")  # doctest: +SKIP
    >>> client.chat("llama3").user("Hello!").send().text  # doctest: +SKIP
    """

    def __init__(
        self,
        provider: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        model: Optional[str] = None,
        timeouts: Optional[Timeouts] = None,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        ca_bundle: Optional[str] = None,
        organization: Optional[str] = None,
        project: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        transport: Optional[HTTPTransport] = None,
        pool_size: Optional[int] = None,
        hooks: Optional[Mapping[str, Any]] = None,
        authorizer: Optional[Authorizer] = None,
    ) -> None:
        self.config = ClientConfig.resolve(
            provider=provider,
            api_key=api_key,
            base_url=base_url,
            model=model,
            timeouts=timeouts,
            retry=retry,
            headers=headers,
            ca_bundle=ca_bundle,
            organization=organization,
            project=project,
            env=env,
            pool_size=pool_size,
        )
        preset = PRESETS[self.config.provider]
        if preset.key_required and not self.config.api_key:
            raise ConfigError(
                f"no API key for {self.config.provider}: pass api_key= or set "
                f"{preset.key_env} (or RELAY_LITE_API_KEY)"
            )
        # Loaded with the first client, not with the package: import time stays low.
        from ._hooks import Hooks
        from ._session import Session
        from .protocols import adapter_for

        #: The wire protocol's adapter (sans-I/O): builds calls, parses replies and streams.
        self.adapter: Adapter = adapter_for(self.config.protocol, self.config.provider)
        #: The one request path; ``transport`` replaces the network (e.g.
        #: relay_lite.testing.MockTransport in tests). Also sets up ``RELAY_LITE_LOG``.
        self.session: Session = Session(
            self.config, self.adapter, transport=transport, env=env, hooks=Hooks(hooks), authorizer=authorizer
        )
        self.transport: HTTPTransport = self.session.transport

    # -- presets --------------------------------------------------------------------------

    @classmethod
    def openai(cls, api_key: Optional[str] = None, **options: Any) -> Client:
        """OpenAI's API: key, base URL, organization and project from ``OPENAI_API_KEY``,
        ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID`` when not given."""
        return cls("openai", api_key=api_key, **options)

    @classmethod
    def anthropic(cls, api_key: Optional[str] = None, **options: Any) -> Client:
        """Anthropic's Messages API (key from ``ANTHROPIC_API_KEY``, base URL from
        ``ANTHROPIC_BASE_URL``, when not given)."""
        return cls("anthropic", api_key=api_key, **options)

    @classmethod
    def openrouter(cls, api_key: Optional[str] = None, **options: Any) -> Client:
        """OpenRouter (key from ``OPENROUTER_API_KEY``)."""
        return cls("openrouter", api_key=api_key, **options)

    @classmethod
    def modelrelay(cls, api_key: Optional[str] = None, **options: Any) -> Client:
        """ModelRelay (key from ``MODELRELAY_API_KEY``)."""
        return cls("modelrelay", api_key=api_key, **options)

    @classmethod
    def compatible(
        cls, base_url: Optional[str] = None, api_key: Optional[str] = None, **options: Any
    ) -> Client:
        """Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...); the key is optional.

        ``base_url`` may be None to read it from ``RELAY_LITE_BASE_URL`` or ``OPENAI_BASE_URL``.
        """
        return cls("compatible", api_key=api_key, base_url=base_url, **options)

    @classmethod
    def gemini(cls, api_key: Optional[str] = None, **options: Any) -> Client:
        """Google's Gemini through its OpenAI-compatible endpoint (key from ``GEMINI_API_KEY``,
        else ``GOOGLE_API_KEY``; the README's Gemini notes say what works there)."""
        if api_key is None:
            import os

            env = options.get("env")
            env = os.environ if env is None else env
            if not (env.get("GEMINI_API_KEY") or "").strip():
                api_key = (env.get("GOOGLE_API_KEY") or "").strip() or None
        return cls("gemini", api_key=api_key, **options)

    @classmethod
    def azure(
        cls,
        endpoint: Optional[str] = None,
        deployment: Optional[str] = None,
        api_version: Optional[str] = None,
        api_key: Optional[str] = None,
        azure_ad_token_provider: Optional[Callable[[], str]] = None,
        **options: Any,
    ) -> Client:
        """Azure OpenAI (endpoint, key and api-version from ``AZURE_OPENAI_ENDPOINT``,
        ``AZURE_OPENAI_API_KEY`` and ``OPENAI_API_VERSION`` when not given).

        With ``deployment``: ``{endpoint}/openai/deployments/{deployment}/chat/completions
        ?api-version=...``; without: the v1 API, ``{endpoint}/openai/v1/chat/completions``
        with the model (a deployment name) per request or as ``model=``. Auth is the
        ``api-key`` header, or ``azure_ad_token_provider`` (a callable returning a Microsoft
        Entra ID token, called on every attempt) as a bearer token.

        >>> Client.azure("https://my.openai.azure.com", "gpt-4o", "2024-10-21")  # doctest: +SKIP
        """
        from ._azure import azure_options, resolve_azure

        settings = resolve_azure(
            endpoint=endpoint,
            deployment=deployment,
            api_version=api_version,
            api_key=api_key,
            azure_ad_token_provider=azure_ad_token_provider,
            model=options.pop("model", None),
            env=options.get("env"),
        )
        return cls("azure", **azure_options(settings), **options)

    @classmethod
    def bedrock(
        cls,
        region: Optional[str] = None,
        *,
        model: Optional[str] = None,
        access_key_id: Optional[str] = None,
        secret_access_key: Optional[str] = None,
        session_token: Optional[str] = None,
        profile: Optional[str] = None,
        api_key: Optional[str] = None,
        **options: Any,
    ) -> Client:
        """Amazon Bedrock's Converse API, signed with AWS SigV4 (no boto3 needed).

        Credentials in the order AWS tools use: the arguments; a Bedrock API key
        (``api_key=`` or ``AWS_BEARER_TOKEN_BEDROCK``, sent as a bearer token);
        ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` (what
        Lambda sets); the shared files (``~/.aws/credentials``, ``~/.aws/config``,
        ``profile=`` or ``AWS_PROFILE``); container credentials. Region from the argument,
        ``AWS_REGION``, ``AWS_DEFAULT_REGION``. ``model`` is a model id, an
        inference-profile id or an ARN. ``base_url=`` (or ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``)
        replaces ``https://bedrock-runtime.{region}.amazonaws.com``.

        >>> Client.bedrock("us-east-1", model="us.anthropic.claude-haiku-4-5-20251001-v1:0")  # doctest: +SKIP
        """
        from ._bedrock import resolve_bedrock

        settings = resolve_bedrock(
            region,
            model=model,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            profile=profile,
            api_key=api_key,
            base_url=options.pop("base_url", None),
            env=options.get("env"),
            authorizer=options.pop("authorizer", None),
        )
        return cls("bedrock", **settings, **options)

    def __repr__(self) -> str:
        config = self.config
        return (
            f"Client(provider={config.provider!r}, base_url={safe_url(config.base_url)!r}, "
            f"model={config.model!r})"
        )

    # -- hooks ------------------------------------------------------------------------------

    def on(self, event: str, function: Callable[[Any], object]) -> Callable[[Any], object]:
        """Call ``function(info)`` at each ``event`` of every call this client makes.

        Events: "request" (``RequestStart``: method, URL, attempt n of m), "response"
        (``ResponseReceived``: status, elapsed, request id), "retry" (``RetryScheduled``:
        the wait and why), "first_token" (``FirstToken``: time to first token),
        "stream_end" (``StreamStats``) and "usage" (``UsageReport``); the records live in
        ``relay_lite._hooks``. A hook that raises is logged once and never breaks a call.
        ``Client(hooks={"response": fn})`` registers at construction. Returns ``function``.
        """
        return self.session.hooks.on(event, function)

    def with_options(
        self,
        *,
        max_retries: Optional[int] = None,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
        timeout: Optional[float] = None,
    ) -> Client:
        """A light copy with other retry or timeout settings, sharing this client's
        connection pool, adapter and hooks (closing either closes the shared pool).

        ``max_retries`` changes only the retry count; ``retry`` replaces the whole
        policy; ``timeouts`` replaces the ``Timeouts``; ``timeout`` sets only their total.

        >>> quick = client.with_options(max_retries=0, timeout=5)  # doctest: +SKIP
        """
        import copy

        policy = retry or self.config.retry
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        limits = timeouts or self.config.timeouts
        if timeout is not None:
            limits = limits.replace(total=timeout)
        clone = copy.copy(self)
        clone.config = self.config.replace(retry=policy, timeouts=limits)
        session = copy.copy(self.session)
        session.config = clone.config
        session.default_retry = policy
        session.default_timeouts = limits
        clone.session = session
        return clone

    # -- building requests ----------------------------------------------------------------

    def chat(self, model: Optional[str] = None) -> ChatRequest:
        """Start a chat request (``model`` defaults to the client's)."""
        return ChatRequest(self, ChatParams(model=model or self.config.model))

    def responses(self, model: Optional[str] = None) -> ChatRequest:
        """Start a request to OpenAI's Responses API (``POST /responses``) instead of chat
        completions: the same builder, replies, streams and ``structured()``.

        The request is bound to a light copy of this client (its pool, config and hooks)
        that speaks the Responses API; ``reply.id`` is the response id, for
        ``.extra_body({"previous_response_id": reply.id})``. Needs an OpenAI-protocol
        client (OpenAI itself, or a compatible server that serves ``/responses``).

        >>> client.responses("gpt-5-mini").user("Hello!").send().text  # doctest: +SKIP
        """
        import copy

        if self.config.protocol not in ("openai", "openai_responses"):
            raise ConfigError(
                f"responses() needs an OpenAI-protocol client; {self.config.provider!r} speaks "
                f"{self.config.protocol!r}"
            )
        from .protocols import adapter_for

        clone = copy.copy(self)
        clone.adapter = adapter_for("openai_responses", self.config.provider)
        session = copy.copy(self.session)
        session.adapter = clone.adapter
        clone.session = session
        return ChatRequest(clone, ChatParams(model=model or self.config.model))

    def for_customer(self, customer_id: str) -> ChatRequest:
        """A ModelRelay chat billed to ``customer_id``; the customer's tier picks the model."""
        if self.config.protocol != "modelrelay":
            raise ConfigError(f"for_customer() needs the modelrelay provider, not {self.config.provider!r}")
        if not customer_id:
            raise ConfigError("for_customer() needs a non-empty customer id")
        return ChatRequest(self, ChatParams(customer_id=customer_id))

    def generate(
        self,
        prompt: str,
        *,
        model: Optional[str] = None,
        system: Optional[str] = None,
        stream: bool = False,
        **params: Any,
    ) -> Any:
        """Keyword shortcut: ``client.generate("Hi", system="Be brief.", temperature=0)``.

        Every other keyword names a ``ChatRequest`` method (``max_tokens=50``,
        ``stop=["\\n"]``, ``tools=[...]``). Returns a ``ChatResponse``, or a ``ChatStream``
        with ``stream=True``.
        """
        request = self.chat(model)
        if system:
            request = request.system(system)
        request = request.user(prompt)
        for name, value in params.items():
            if name not in _GENERATE_PARAMETERS:
                raise ConfigError(f"generate() got an unknown parameter {name!r}")
            if name == "stop" and not isinstance(value, str):
                request = request.stop(*value)
            else:
                request = getattr(request, name)(value)
        return request.stream() if stream else request.send()

    # -- embeddings, models, token counts (relay_lite._operations, loaded on first use) ----

    def embed(
        self,
        texts: Union[str, Iterable[str]],
        model: Optional[str] = None,
        *,
        dimensions: Optional[int] = None,
        batch_size: Optional[int] = None,
        timeout: Union[Timeouts, float, None] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Embeddings:
        """Embedding vectors of ``texts``, in input order (OpenAI-compatible ``POST /embeddings``).

        ``texts`` is a list of strings, or one string (then the result holds one vector).
        ``model`` defaults to the client's; ``dimensions`` shortens the vectors where the
        model allows it. Inputs go in batches of ``batch_size`` (default: the provider's
        limit, 2048 for OpenAI), one request each, and a batch also closes before its
        inputs pass 300,000 UTF-8 bytes (OpenAI's 300,000-token cap per request, bytes
        being an upper bound of tokens); usage is summed over them. No inputs:
        an empty result and no request. Vectors are asked for as base64 float32 (a
        quarter of the bytes) and decoded; a server sending plain numbers works too.
        ``timeout`` (total seconds, or ``Timeouts``) and ``headers`` apply to each request.
        If a later batch fails, the error's ``.partial`` holds the batches before it.
        A protocol without embeddings (Anthropic) raises ``ConfigError``.

        >>> client.embed(["first", "second"], "text-embedding-3-small").vectors  # doctest: +SKIP
        """
        from ._operations import embed

        return embed(
            self,
            texts,
            model=model,
            dimensions=dimensions,
            batch_size=batch_size,
            timeout=timeout,
            headers=headers,
        )

    def models(self, *, page_size: Optional[int] = None) -> list[ModelInfo]:
        """Every model the provider lists (OpenAI-compatible ``GET /models``; Anthropic
        ``GET /v1/models``, following its pages, ``page_size`` models a page, default 1000)."""
        from ._operations import list_models

        return list_models(self, page_size=page_size)

    def count_tokens(self, params: ChatParams) -> int:
        """Input tokens the chat request ``params`` would use (what ``ChatRequest.count_tokens``
        does): Anthropic ``POST /v1/messages/count_tokens``, or the OpenAI Responses API's
        ``POST /responses/input_tokens`` (``client.responses()``). Chat completions have no
        such endpoint: ``ConfigError`` (their replies report ``usage.input_tokens``)."""
        from ._operations import count_tokens

        return count_tokens(self, params)

    # -- execution: the one request path (ChatRequest and structured output use it) -----

    def check_chat_params(self, params: ChatParams) -> ChatParams:
        """``params`` if a chat call can be made of them; else ``ConfigError`` saying why."""
        if not params.model and not params.customer_id:
            raise ConfigError("no model: pass one to chat(), set model= on the client, or RELAY_LITE_MODEL")
        if not params.messages:
            raise ConfigError("a chat request needs at least one message")
        return params

    def prepare_call(self, params: ChatParams, call: HTTPCall) -> PreparedRequest:
        """The ``PreparedRequest`` for an adapter's ``call`` made for ``params``.

        The request id and per-request headers and timeouts of ``params`` ride along.
        """
        global _prepared_request
        prepared = _prepared_request
        if prepared is None:  # the first call: _session is loaded by then (Client.__init__)
            from ._session import PreparedRequest

            prepared = _prepared_request = PreparedRequest
        overrides: dict[str, str] = {}
        request_id_header = self.adapter.request_id_header
        if params.request_id and request_id_header:
            overrides[request_id_header] = params.request_id
        overrides.update(params.headers)
        return prepared(
            call.method,
            call.path,
            json=call.body,
            headers=call.headers,
            overrides=overrides,
            timeouts=params.timeout if isinstance(params.timeout, Timeouts) else None,
            retry=params.retry if isinstance(params.retry, RetryPolicy) else None,
        )

    @overload
    def open_call(self, params: ChatParams, call: HTTPCall, *, stream: Literal[False]) -> Response: ...

    @overload
    def open_call(self, params: ChatParams, call: HTTPCall, *, stream: Literal[True]) -> StreamResponse: ...

    def open_call(
        self, params: ChatParams, call: HTTPCall, *, stream: bool
    ) -> Union[Response, StreamResponse]:
        """Send an adapter's ``call`` for ``params`` through the session (the one request path).

        Returns the whole ``Response``, or the open ``StreamResponse``.
        """
        request = self.prepare_call(params, call)
        if stream:
            return self.session.send(request, stream=True)
        return self.session.send(request, stream=False)

    def send_chat(self, params: ChatParams, *, report_usage: bool = True) -> ChatResponse:
        """Send a chat request and read the whole reply (what ``ChatRequest.send`` does).

        ``report_usage=False`` leaves the ``usage`` hook to the caller (a structured call
        reports once, summed over its re-asks).
        """
        params = self.check_chat_params(params)
        request = self.prepare_call(params, self.adapter.chat_call(params, stream=False))
        response = self.session.send(request)
        received_at = time.time()
        result: ChatResponse = self.read_reply(request, response, self.adapter.parse_chat, received_at)
        if report_usage:
            self.report_usage(result.usage, result.model, result.request_id)
        stamp = {
            "status": response.status,
            "headers": response.headers,
            "rate_limits": parse_rate_limits(response.headers, received_at),
        }
        if type(result) is ChatResponse:
            # Just made by parse_chat and seen by no one else: filled in place, which
            # saves the copy replace() makes (~3 us of every call).
            result.__dict__.update(stamp)
            return result
        return result.replace(**stamp)

    def read_reply(
        self,
        request: PreparedRequest,
        response: Response,
        parse: Callable[..., Any],
        received_at: float,
        **options: Any,
    ) -> Any:
        """``parse(body, request_id=..., attempts=..., **options)`` of the whole reply to
        ``request``, which arrived at ``received_at`` (``time.time()``).

        An error object in a 200 body, or a ``ResponseError`` quoting the body, may echo the
        key as an error status would: what ``parse`` raises is scrubbed of the call's
        credentials, and an ``APIError`` gets the response's headers and rate limits.
        """
        try:
            request_id = self.adapter.request_id(response.headers)
            return parse(response.json(), request_id=request_id, attempts=response.attempts, **options)
        except RelayError as exc:
            self.session.scrubbed(request, exc)
            if isinstance(exc, APIError):
                exc.headers = dict(response.headers)
                exc.rate_limits = parse_rate_limits(response.headers, received_at)
            raise

    def report_usage(
        self, usage: Usage, model: Optional[str], request_id: Optional[str], calls: int = 1
    ) -> None:
        """Give the ``usage`` hooks one call's token usage (``calls`` > 1: summed over re-asks)."""
        hooks = self.session.hooks
        if hooks.wants("usage"):
            from ._hooks import UsageReport

            hooks.emit("usage", UsageReport(usage, model, request_id, calls))

    def stream_chat(self, params: ChatParams) -> ChatStream:
        """Send a chat request and stream the reply (what ``ChatRequest.stream`` does)."""
        params = self.check_chat_params(params)
        adapter = self.adapter
        request = self.prepare_call(params, adapter.chat_call(params, stream=True))
        session = self.session
        http = session.send(request, stream=True)
        return _new_chat_stream(
            http,
            adapter.stream_parser(),
            adapter.stream_decoder(),
            adapter.parse_chat,
            secrets=lambda: session.secrets_for(request),
            request_id=adapter.request_id(http.headers),
        )

    # -- bulk: many requests on a bounded thread pool (relay_lite._bulk, loaded on use) ----

    if TYPE_CHECKING:  # here, beside the method, so its types stay out of the module's head
        from typing import Iterable

        from ._bulk import MapProgress, MapRun

    def map(
        self,
        requests: Iterable[Any],
        *,
        workers: int = 8,
        ordered: bool = True,
        stop_on_error: bool = False,
        deadline: Optional[float] = None,
        progress: Optional[Callable[[MapProgress], object]] = None,
        max_attempts: int = 5,
        max_requests_per_second: Optional[float] = None,
    ) -> MapRun:
        """Run many requests on ``workers`` threads sharing this client's connection pool.

        ``requests`` holds ``ChatRequest``s, ``StructuredRequest``s (anything with a
        ``send()``) or callables taking no argument, in any mix; each runs on its own
        client. Yields one ``MapResult`` per input: in input order (``ordered=True``) or
        as they finish. A failed item carries its error and the rest go on, unless
        ``stop_on_error`` raises the first error (after the calls on the wire ended).

        Pacing is shared: the replies' rate-limit headers are read, a 429 pauses every
        worker for its ``retry-after`` and the item is run again (up to ``max_attempts``
        runs; a ``ChatRequest``'s own 429 retries are off inside a map), and
        ``max_requests_per_second`` caps the start rate. ``deadline`` (seconds, from the
        first result asked for) bounds the whole run; ``progress(MapProgress)`` is called
        after each item (one that raises is logged once). ``workers`` may not exceed
        ``pool_size``. The inputs are read in the consuming thread, between results.

        >>> with client.map(requests, workers=16) as results:  # doctest: +SKIP
        ...     for result in results:
        ...         print(result.index, result.response.text if result.ok else result.error)
        """
        from collections.abc import Iterable as AnyIterable

        from ._bulk import MapRun

        def whole(name: str, value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"map() {name} must be a whole number >= 1, got {value!r}")
            return value

        def seconds(name: str, value: Any) -> Optional[float]:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")
            if value is not None and not ok:
                raise ConfigError(f"map() {name} must be a positive number, got {value!r}")
            return None if value is None else float(value)

        whole("workers", workers)
        if workers > self.config.pool_size:
            # More threads than pooled connections: urllib3 would open and drop a socket per call.
            raise ConfigError(
                f"map() workers={workers} exceeds this client's pool_size={self.config.pool_size}: "
                f"build the client with pool_size={workers} (or RELAY_LITE_POOL_SIZE) or use fewer workers"
            )
        if progress is not None and not callable(progress):
            raise ConfigError(f"map() progress must be callable, got {type(progress).__name__}")
        if isinstance(requests, (str, bytes)) or not isinstance(requests, AnyIterable):
            raise ConfigError(f"map() needs an iterable of requests, got {type(requests).__name__}")
        return MapRun(
            self,
            requests,
            workers=workers,
            ordered=bool(ordered),
            stop_on_error=bool(stop_on_error),
            deadline=seconds("deadline", deadline),
            progress=progress,
            max_attempts=whole("max_attempts", max_attempts),
            max_requests_per_second=seconds("max_requests_per_second", max_requests_per_second),
        )

    # -- ModelRelay account APIs (loaded on first use) -------------------------------------

    @property
    def customers(self) -> Customers:
        """ModelRelay customers: upsert, get, list, delete, claim, checkout, subscription."""
        from .platform.modelrelay import Customers

        return Customers(self)

    @property
    def tiers(self) -> Tiers:
        """ModelRelay tiers: list, get, checkout."""
        from .platform.modelrelay import Tiers

        return Tiers(self)

    @property
    def auth(self) -> Auth:
        """ModelRelay frontend tokens for publishable-key apps."""
        from .platform.modelrelay import Auth

        return Auth(self)

    # -- provider batch APIs (loaded on first use) -------------------------------------------

    if TYPE_CHECKING:
        from ._batches import Batches

    @property
    def batches(self) -> Batches:
        """The provider's batch API (OpenAI Batch API, Anthropic Message Batches): submit
        ``ChatRequest``s, ``wait``, read ``results`` by custom id, ``cancel``, ``list``.
        A batch id alone picks a batch up again, from any process. Made on first use and
        kept, so settings on it (``client.batches.sleep``) last."""
        from ._batches import cached_batches

        return cached_batches(self)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
