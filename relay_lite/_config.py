"""Configuration: timeouts, retry policy, provider presets and the environment.

Every default lives here as a named constant. ``Timeouts`` and ``RetryPolicy`` are frozen
value objects, safe to share between clients and threads. ``ClientConfig.resolve`` applies
the one precedence rule of the library: explicit argument, then ``RELAY_LITE_*``
environment variable, then the variable the provider's official SDK reads
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``, ``REQUESTS_CA_BUNDLE``,
...), then default. Every bad value raises ``ConfigError`` naming where it came from and
what it was (never a key's value, never a URL's password).

The environment is the ``env`` mapping given to ``resolve`` (``os.environ`` only when
none is given). One exception outside relay_lite's hands: OpenSSL itself reads
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` from the process environment when no CA bundle is
configured here, which is how those keep working.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from ._errors import ConfigError, redact, safe_url, secret_values
from ._record import Record, factory

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_TOTAL_TIMEOUT: Optional[float] = None
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 8.0
DEFAULT_MAX_RETRY_AFTER = 60.0
# Each backoff wait is scaled by a random factor in [1 - JITTER, 1] so that many clients
# failing together do not retry in lockstep.
BACKOFF_JITTER = 0.25
DEFAULT_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
DEFAULT_POOL_SIZE = 10
USER_AGENT_PREFIX = "relay-lite"

ENV_PREFIX = "RELAY_LITE_"
VERSION = "0.1.0"
USER_AGENT = f"{USER_AGENT_PREFIX}/{VERSION} python/{'.'.join(map(str, sys.version_info[:3]))}"


def _check_seconds(name: str, value: Optional[float], *, allow_none: bool) -> Optional[float]:
    if value is None:
        if allow_none:
            return None
        raise ConfigError(f"{name} must be a number of seconds, got None")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not (number > 0 and number != float("inf")):
        raise ConfigError(f"{name} must be a positive, finite number of seconds, got {value!r}")
    return number


class Timeouts(Record):
    """Time limits in seconds.

    ``connect``: to open a connection. ``read``: the longest wait between two bytes (so
    also the idle limit of a stream); None waits forever. ``total``: a deadline over the
    whole call, retries, backoff sleeps and the stream included; None means no deadline.

    >>> Timeouts(connect=5, read=60, total=300)
    Timeouts(connect=5.0, read=60.0, total=300.0)
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: Optional[float] = DEFAULT_READ_TIMEOUT
    total: Optional[float] = DEFAULT_TOTAL_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "connect", _check_seconds("Timeouts.connect", self.connect, allow_none=False)
        )
        object.__setattr__(self, "read", _check_seconds("Timeouts.read", self.read, allow_none=True))
        object.__setattr__(self, "total", _check_seconds("Timeouts.total", self.total, allow_none=True))


class RetryPolicy(Record):
    """When and how long to wait before trying a failed request again.

    ``max_retries`` retries after the first attempt (2 means up to 3 attempts). Waits
    grow from ``backoff`` seconds, doubling, capped at ``max_backoff``, with jitter. A
    server's ``Retry-After`` demand is obeyed up to ``max_retry_after`` seconds; a longer
    demand raises at once instead of blocking.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES

    def __post_init__(self) -> None:
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"RetryPolicy.max_retries must be a whole number >= 0, got {retries!r}")
        for name in ("backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (0 <= value < float("inf"))
            ):
                raise ConfigError(
                    f"RetryPolicy.{name} must be a finite number of seconds >= 0, got {value!r}"
                )
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def backoff_delay(self, retry_number: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (1 for the first retry)."""
        base: float = min(self.max_backoff, self.backoff * (2.0 ** (retry_number - 1)))
        factor: float = 1.0 - BACKOFF_JITTER * (rng or random).random()
        return base * factor


class Preset(Record):
    """A provider's defaults: wire protocol, base URL, key variable, default model.

    ``base_url_env`` is the variable the provider's official SDK reads its base URL from
    (a gateway's address); ``openai_account_env`` says whether ``OPENAI_ORG_ID`` and
    ``OPENAI_PROJECT_ID`` apply, as in the openai SDK.
    """

    name: str
    protocol: str
    base_url: Optional[str]
    key_env: Optional[str]
    default_model: Optional[str] = None
    key_required: bool = True
    base_url_env: Optional[str] = None
    openai_account_env: bool = False


PRESETS: dict[str, Preset] = {
    "openai": Preset(
        "openai",
        "openai",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        "gpt-4o-mini",
        base_url_env="OPENAI_BASE_URL",
        openai_account_env=True,
    ),
    "anthropic": Preset(
        "anthropic",
        "anthropic",
        "https://api.anthropic.com",
        "ANTHROPIC_API_KEY",
        "claude-haiku-4-5",
        base_url_env="ANTHROPIC_BASE_URL",
    ),
    "openrouter": Preset(
        "openrouter",
        "openai",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        "openai/gpt-4o-mini",
    ),
    "modelrelay": Preset(
        "modelrelay", "modelrelay", "https://api.modelrelay.ai/api/v1", "MODELRELAY_API_KEY"
    ),
    # Google's OpenAI-compatible endpoint (Client.gemini also reads GOOGLE_API_KEY).
    "gemini": Preset(
        "gemini",
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GEMINI_API_KEY",
        "gemini-2.5-flash",
    ),
    # Azure OpenAI: the URL is built from endpoint and deployment by Client.azure, which
    # also reads AZURE_OPENAI_API_KEY itself (no key_env: a set Azure key must not make
    # Azure the provider a bare Client() picks, as it has no URL to go with it).
    "azure": Preset("azure", "azure", None, None, None, key_required=False),
    # Amazon Bedrock (Converse): Client.bedrock builds the regional URL and the SigV4
    # signer (or bearer token) from AWS's variables; no key_env, for the same reason.
    "bedrock": Preset("bedrock", "bedrock", None, None, None, key_required=False),
    # Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...): no default URL, key
    # optional. OPENAI_BASE_URL names such a server for the openai SDK, so it does here too.
    "compatible": Preset(
        "compatible", "openai", None, None, None, key_required=False, base_url_env="OPENAI_BASE_URL"
    ),
}


def register_preset(preset: Preset) -> None:
    """Make ``preset`` a provider that ``Client(preset.name)`` (and ``RELAY_LITE_PROVIDER``)
    can name; a preset of the same name is replaced.

    Its ``protocol`` names an adapter in ``relay_lite.protocols.ADAPTERS`` (a built-in one,
    or one added with ``register_adapter``); an unknown one raises ``ConfigError`` when a
    client is made.

    >>> register_preset(Preset("local", "openai", "http://localhost:8000/v1", None))  # doctest: +SKIP
    """
    if not isinstance(preset, Preset):
        raise ConfigError(f"register_preset takes a Preset, got {type(preset).__name__}")
    for name, value in (("name", preset.name), ("protocol", preset.protocol)):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"a preset needs a non-empty {name}, got {value!r}")
    PRESETS[preset.name] = preset


# CA bundle variables, in precedence order (requests' own variable after ours).
CA_BUNDLE_ENV = ("RELAY_LITE_CA_BUNDLE", "REQUESTS_CA_BUNDLE")
# The headers the openai SDK sends for OPENAI_ORG_ID / OPENAI_PROJECT_ID.
OPENAI_ORGANIZATION_HEADER = "OpenAI-Organization"
OPENAI_PROJECT_HEADER = "OpenAI-Project"


def _env_seconds(env: Mapping[str, str], name: str, *, allow_none: bool) -> Optional[float]:
    raw = env[name].strip()
    if allow_none and raw.lower() in ("none", "off"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not (value > 0 and value != float("inf")):
        raise ConfigError(f"{name}={raw!r} must be a positive, finite number of seconds")
    return value


def _env_set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def timeouts_from_env(env: Mapping[str, str], base: Optional[Timeouts] = None) -> Timeouts:
    """``base`` (or the defaults) with any ``RELAY_LITE_*`` timeout variables applied."""
    result = base or Timeouts()
    changes: dict[str, Any] = {}
    for field_name, var, allow_none in (
        ("connect", "RELAY_LITE_CONNECT_TIMEOUT", False),
        ("read", "RELAY_LITE_READ_TIMEOUT", True),
        ("total", "RELAY_LITE_TIMEOUT", True),
    ):
        if _env_set(env, var):
            changes[field_name] = _env_seconds(env, var, allow_none=allow_none)
    return result.replace(**changes)


def retry_from_env(env: Mapping[str, str], base: Optional[RetryPolicy] = None) -> RetryPolicy:
    """``base`` (or the defaults) with any ``RELAY_LITE_*`` retry variables applied."""
    result = base or RetryPolicy()
    changes: dict[str, Any] = {}
    if _env_set(env, "RELAY_LITE_MAX_RETRIES"):
        raw = env["RELAY_LITE_MAX_RETRIES"].strip()
        if not (raw.isascii() and raw.isdigit()):
            raise ConfigError(f"RELAY_LITE_MAX_RETRIES={raw!r} must be a whole number >= 0")
        changes["max_retries"] = int(raw)
    for field_name, var in (
        ("backoff", "RELAY_LITE_BACKOFF"),
        ("max_backoff", "RELAY_LITE_MAX_BACKOFF"),
        ("max_retry_after", "RELAY_LITE_MAX_RETRY_AFTER"),
    ):
        if _env_set(env, var):
            raw = env[var].strip()
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{var}={raw!r} is not a number of seconds") from None
            if not (0 <= value < float("inf")):
                raise ConfigError(f"{var}={raw!r} must be a finite number of seconds >= 0")
            changes[field_name] = value
    return result.replace(**changes)


def check_base_url(url: str, source: str) -> str:
    """Return ``url`` without a trailing slash, or raise naming ``source``."""
    if not isinstance(url, str):
        raise ConfigError(f"{source} must be a string URL, got {type(url).__name__}")
    url = url.strip()
    if any(ch <= " " or ch == "\x7f" for ch in url):
        # urlsplit silently drops CR, LF and tab, so a header smuggled into a URL would be
        # sent as part of the path: refuse any control character or space instead.
        raise ConfigError(f"{source} contains a space or control character (CR, LF, tab, ...)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # The URL is shown without its user info: it may hold a password.
        raise ConfigError(f"{source}={safe_url(url)!r} must be an absolute http:// or https:// URL")
    return url.rstrip("/")


def _env_value(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[Optional[str], Optional[str]]:
    """(value, variable name) of the first of ``names`` set to something non-blank."""
    for name in names:
        if _env_set(env, name):
            return env[name].strip(), name
    return None, None


LOG_LEVELS = ("debug", "info", "warning", "error")
POOL_SIZE_ENV = "RELAY_LITE_POOL_SIZE"


def check_pool_size(value: Any, source: str = "pool_size") -> int:
    """``value`` as a connection pool size (a whole number >= 1), or ``ConfigError``."""
    if isinstance(value, str):
        raw = value.strip()
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ConfigError(f"{source}={value!r} must be a whole number >= 1")
        return int(raw)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{source} must be a whole number >= 1, got {value!r}")
    return value


def _shared_settings(
    env: Mapping[str, str],
    timeouts: Optional[Timeouts],
    retry: Optional[RetryPolicy],
    ca_bundle: Optional[str],
    pool_size: Optional[int],
) -> dict[str, Any]:
    """What every API family resolves alike: timeouts, retry, CA bundle, log level, pool."""
    # Without a bundle here, OpenSSL's defaults apply, SSL_CERT_FILE among them.
    ca, ca_source = (ca_bundle, "ca_bundle") if ca_bundle is not None else _env_value(env, CA_BUNDLE_ENV)
    if ca is not None and not os.path.isfile(ca):
        raise ConfigError(f"{ca_source}={ca!r} is not a readable file")

    log_level = (env.get("RELAY_LITE_LOG") or "").strip().lower() or None
    if log_level is not None and log_level not in LOG_LEVELS:
        raise ConfigError(f"RELAY_LITE_LOG={log_level!r} must be one of {', '.join(LOG_LEVELS)}")

    if pool_size is not None:
        pool = check_pool_size(pool_size)
    elif _env_set(env, POOL_SIZE_ENV):
        pool = check_pool_size(env[POOL_SIZE_ENV], POOL_SIZE_ENV)
    else:
        pool = DEFAULT_POOL_SIZE
    return {
        "timeouts": timeouts if timeouts is not None else timeouts_from_env(env),
        "retry": retry if retry is not None else retry_from_env(env),
        "ca_bundle": ca,
        "log_level": log_level,
        "pool_size": pool,
    }


class ClientConfig(Record):
    """Everything a client needs, resolved once.

    Its repr never shows the API key, a URL's password or a credential header's value.
    ``organization`` and ``project`` are sent as OpenAI's ``OpenAI-Organization`` and
    ``OpenAI-Project`` headers.
    """

    provider: str
    protocol: str
    base_url: str
    _hidden_in_repr = frozenset({"api_key"})

    api_key: Optional[str] = None
    model: Optional[str] = None
    timeouts: Timeouts = factory(default_factory=Timeouts)
    retry: RetryPolicy = factory(default_factory=RetryPolicy)
    headers: Mapping[str, str] = factory(default_factory=dict)
    ca_bundle: Optional[str] = None
    log_level: Optional[str] = None
    organization: Optional[str] = None
    project: Optional[str] = None
    pool_size: int = DEFAULT_POOL_SIZE

    def __repr__(self) -> str:
        secrets = secret_values(self.headers)
        return redact(super().__repr__(), secrets)

    def account_headers(self) -> dict[str, str]:
        """``OpenAI-Organization`` / ``OpenAI-Project`` for the ones that are set."""
        headers = {}
        if self.organization:
            headers[OPENAI_ORGANIZATION_HEADER] = self.organization
        if self.project:
            headers[OPENAI_PROJECT_HEADER] = self.project
        return headers

    @classmethod
    def resolve(
        cls,
        *,
        provider: Optional[str] = None,
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
        pool_size: Optional[int] = None,
    ) -> ClientConfig:
        """Resolve explicit arguments, then the environment, then defaults.

        Without a provider anywhere, the first provider whose key variable is set is
        used (OpenAI, Anthropic, OpenRouter, ModelRelay), else ``openai``. The README's
        "Configuration from the environment" table lists every variable and its rank.
        """
        env = os.environ if env is None else env
        name = provider or env.get("RELAY_LITE_PROVIDER", "").strip().lower() or None
        source = "provider" if provider else "RELAY_LITE_PROVIDER"
        if name is None:
            name = next(
                (p.name for p in PRESETS.values() if p.key_env and _env_set(env, p.key_env)),
                "openai",
            )
        if name not in PRESETS:
            raise ConfigError(f"{source}={name!r} is not a known provider; use one of {sorted(PRESETS)}")
        preset = PRESETS[name]

        url_names = ("RELAY_LITE_BASE_URL",) + ((preset.base_url_env,) if preset.base_url_env else ())
        env_url, url_source = _env_value(env, url_names)
        if base_url is not None:
            url = check_base_url(base_url, "base_url")
        elif env_url is not None and url_source is not None:
            url = check_base_url(env_url, url_source)
        elif preset.base_url:
            url = preset.base_url
        else:
            raise ConfigError(f"provider {name!r} needs a base_url (or {' or '.join(url_names)})")

        key = api_key
        if key is None and _env_set(env, "RELAY_LITE_API_KEY"):
            key = env["RELAY_LITE_API_KEY"].strip()
        if key is None and preset.key_env and _env_set(env, preset.key_env):
            key = env[preset.key_env].strip()

        shared = _shared_settings(env, timeouts, retry, ca_bundle, pool_size)

        if organization is None and preset.openai_account_env:
            organization = (env.get("OPENAI_ORG_ID") or "").strip() or None
        if project is None and preset.openai_account_env:
            project = (env.get("OPENAI_PROJECT_ID") or "").strip() or None
        if (organization or project) and preset.protocol != "openai":
            raise ConfigError(
                f"organization= and project= are OpenAI settings; provider {name!r} has no use for them"
            )

        return cls(
            provider=name,
            protocol=preset.protocol,
            base_url=url,
            api_key=key,
            model=model or env.get("RELAY_LITE_MODEL", "").strip() or preset.default_model,
            headers=dict(headers or {}),
            organization=organization,
            project=project,
            **shared,
        )

    @classmethod
    def resolve_service(
        cls,
        name: str,
        *,
        base_url: str,
        api_key: Optional[str] = None,
        timeouts: Optional[Timeouts] = None,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        ca_bundle: Optional[str] = None,
        pool_size: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> ClientConfig:
        """The config of a service that is not a chat provider (the agent platform).

        The base URL and key come only from the arguments -- no provider's key variable
        is read, so a key meant for another service never goes there -- while timeouts,
        retry, CA bundle, ``RELAY_LITE_LOG`` and pool size resolve as for ``Client``.
        ``protocol`` is ``name``: such a service brings its own adapter.
        """
        env = os.environ if env is None else env
        return cls(
            provider=name,
            protocol=name,
            base_url=check_base_url(base_url, "base_url"),
            api_key=api_key or None,
            headers=dict(headers or {}),
            **_shared_settings(env, timeouts, retry, ca_bundle, pool_size),
        )


class ProxySettings(Record):
    """Proxies from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` (either case).

    ``NO_PROXY`` is a comma-separated list; a host matching any entry is reached directly.
    The entries understood, as curl (7.86+), Python's urllib and requests read them:

    - ``*`` alone: every host.
    - ``example.com``, ``.example.com`` or ``*.example.com``: that host and all its
      subdomains, on any port (a leading dot or ``*.`` changes nothing, as in curl).
    - ``localhost:8080``, ``10.0.0.5:443``, ``[::1]:8080``: the same, on that port only
      (the URL's port, or 80/443 by scheme), as Python's urllib and Go read a port.
    - ``10.0.0.0/8``, ``fd00::/8``: any IP-address host inside that block; ``::1`` or
      ``127.0.0.1``: that address. Hostnames are never resolved to match these.

    An entry that cannot be read (such as ``host:notaport``) matches nothing.
    """

    https: Optional[str] = None
    http: Optional[str] = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> ProxySettings:
        """Read the conventional proxy variables; lower case wins, as in curl."""
        env = os.environ if env is None else env

        def get(name: str) -> Optional[str]:
            return (env.get(name.lower()) or env.get(name.upper()) or "").strip() or None

        no_proxy = tuple(
            entry.strip().lower() for entry in (get("NO_PROXY") or "").split(",") if entry.strip()
        )
        return cls(https=get("HTTPS_PROXY"), http=get("HTTP_PROXY"), no_proxy=no_proxy)

    def proxy_for(self, url: str) -> Optional[str]:
        """The proxy URL to use for ``url``, or None to connect directly."""
        if self.https is None and self.http is None:  # the usual case, asked on every call
            return None
        parts = urlsplit(url)
        proxy = self.https if parts.scheme == "https" else self.http
        if proxy is None:
            return None
        host = (parts.hostname or "").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # a port that is not a number: no entry can be meant for it
            port = -1
        if any(_no_proxy_matches(entry, host, port) for entry in self.no_proxy):
            return None
        if "://" not in proxy:
            proxy = "http://" + proxy
        return proxy


def _no_proxy_matches(entry: str, host: str, port: int) -> bool:
    """Whether one ``NO_PROXY`` entry (lower-cased) covers ``host`` on ``port``."""
    if entry == "*":
        return True
    entry_port: Optional[str] = None
    if entry.startswith("["):  # [v6] or [v6]:port
        entry_host, _, rest = entry[1:].partition("]")
        entry_port = rest[1:] if rest.startswith(":") else None
    elif entry.count(":") == 1:  # host:port (a bare IPv6 address has several colons)
        entry_host, entry_port = entry.split(":")
    else:
        entry_host = entry
    if entry_port is not None and (not entry_port.isdigit() or int(entry_port) != port):
        return False
    import ipaddress  # already loaded by urllib3; here only when a proxy is configured

    if "/" in entry_host:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(entry_host, strict=False)
        except ValueError:
            return False
    entry_host = entry_host.lstrip("*").lstrip(".")
    if not entry_host:
        return False
    try:
        host_ip = ipaddress.ip_address(host)
    except ValueError:  # a name: it and its subdomains
        return host == entry_host or host.endswith("." + entry_host)
    try:  # an address matches only the same address, never a suffix ("2.3" vs 10.1.2.3)
        return host_ip == ipaddress.ip_address(entry_host)
    except ValueError:
        return False
