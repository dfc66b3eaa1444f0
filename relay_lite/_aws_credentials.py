"""AWS credentials and region, found where the AWS tools look, for SigV4 and Bedrock.

Credentials, first found wins (the order of the AWS CLI and botocore):

1. explicit arguments: ``access_key_id`` + ``secret_access_key`` (+ ``session_token``),
   or, for Bedrock, ``api_key``;
2. for Bedrock only: ``AWS_BEARER_TOKEN_BEDROCK``, a Bedrock API key sent as a bearer token;
3. ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` (what Lambda sets);
4. the shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/credentials``),
   section ``[name]`` of the profile (``profile=``, else ``AWS_PROFILE``, else
   ``AWS_DEFAULT_PROFILE``, else ``default``: AWS CLI v2's order; botocore reads
   ``AWS_DEFAULT_PROFILE`` before ``AWS_PROFILE``);
5. the config file (``AWS_CONFIG_FILE``, else ``~/.aws/config``), section ``[profile name]``
   (``[default]`` for the default profile);
6. container credentials (ECS, some Lambda and EKS set-ups):
   ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (below ``http://169.254.170.2``) or
   ``AWS_CONTAINER_CREDENTIALS_FULL_URI``, with ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``
   (read on every fetch) or ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` as the ``Authorization``
   header. Fetched on first use, cached, and fetched again ``REFRESH_MARGIN_SECONDS``
   before they expire.

A ``profile=`` argument names the profile to use, so (as with botocore's
``Session(profile=...)``) the environment's keys and Bedrock API key are then skipped.
A profile named by ``profile=``, ``AWS_PROFILE`` or ``AWS_DEFAULT_PROFILE`` must exist in
one of the files (a ``ConfigError`` otherwise, as botocore's ``ProfileNotFound``), and a
profile that holds no keys but SSO, ``role_arn``, ``credential_process`` or
``source_profile`` settings is a ``ConfigError``: falling through to container
credentials would sign as someone else. Not read yet: SSO, ``credential_process``, role
assumption (``role_arn``) and the EC2 instance metadata service. Region: the argument,
``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's ``region`` in the config file.

Nothing is cached between calls of the resolvers except inside the container provider.
A missing credential or region is a ``ConfigError`` that lists every source looked at;
no secret ever goes into an error, a repr or a log line.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union
from urllib.parse import urlsplit

from ._errors import ConfigError, ConnectError, RelayError, redact, safe_url
from ._sigv4 import AWSCredentials, SigV4Authorizer

if TYPE_CHECKING:
    from configparser import RawConfigParser

    from ._transport import Authorizer

__all__ = [
    "ContainerCredentialsProvider",
    "aws_sigv4",
    "bedrock_authorizer",
    "resolve_credentials",
    "resolve_region",
]

logger = logging.getLogger("relay_lite")

BEDROCK_API_KEY_ENV = "AWS_BEARER_TOKEN_BEDROCK"
BEDROCK_SIGNING_NAME = "bedrock"
ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"
SESSION_TOKEN_ENV = "AWS_SESSION_TOKEN"
PROFILE_ENVS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
CREDENTIALS_FILE_ENV = "AWS_SHARED_CREDENTIALS_FILE"
CONFIG_FILE_ENV = "AWS_CONFIG_FILE"
DEFAULT_CREDENTIALS_FILE = "~/.aws/credentials"
DEFAULT_CONFIG_FILE = "~/.aws/config"
CONTAINER_RELATIVE_URI_ENV = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
CONTAINER_FULL_URI_ENV = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
CONTAINER_TOKEN_ENV = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
CONTAINER_TOKEN_FILE_ENV = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
# Where ECS serves a relative URI.
CONTAINER_BASE_URL = "http://169.254.170.2"
# Plain-HTTP hosts a full URI may name besides loopback addresses: the ECS and EKS Pod
# Identity agents' link-local addresses (botocore's list). Any host is allowed over HTTPS.
CONTAINER_HTTP_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})
# The agent is local: a slow one is a broken one.
CONTAINER_CONNECT_TIMEOUT = 1.0
CONTAINER_READ_TIMEOUT = 2.0
# Retries of a container fetch that failed to connect or got a 5xx.
CONTAINER_RETRIES = 2
MAX_CONTAINER_REPLY_BYTES = 64 * 1024
# Fetch new container credentials this long before the current ones expire.
REFRESH_MARGIN_SECONDS = 300.0
# A failed refresh keeps the current credentials while they have this long left.
MINIMUM_VALID_SECONDS = 60.0
# After a failed refresh, current credentials that are still usable are handed out for
# this long before the agent is asked again (instead of asking on every call).
REFRESH_BACKOFF_SECONDS = 15.0
NOT_READ_NOTE = "SSO, credential_process, role_arn and instance metadata are not read"
# Profile keys of credential sources not read yet (sso_* matched by prefix).
UNSUPPORTED_PROFILE_KEYS = (
    "sso_",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "web_identity_token_file",
)

_REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def _env(environ: Mapping[str, str], name: str) -> Optional[str]:
    return (environ.get(name) or "").strip() or None


def _kind(value: object) -> str:
    return "an empty string" if isinstance(value, str) else type(value).__name__


def _check_arguments(**arguments: object) -> None:
    """Each argument that is given must be a non-empty string: else a ConfigError naming it."""
    for name, value in arguments.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{name}= must be a non-empty string, got {_kind(value)}")


def _check_environ(
    environ: Optional[Mapping[str, str]], clock: Optional[Callable[[], float]] = None
) -> Mapping[str, str]:
    if clock is not None and not callable(clock):
        raise ConfigError(f"clock= must be a callable returning epoch seconds, got {type(clock).__name__}")
    if environ is None:
        return os.environ
    if not isinstance(environ, Mapping):
        raise ConfigError(f"environ= must be a mapping of names to strings, got {type(environ).__name__}")
    return environ


# -- the shared files -------------------------------------------------------------------------


class _SharedFiles:
    """The credentials and config files of one resolution, each parsed at most once."""

    def __init__(self, environ: Mapping[str, str], profile: Optional[str]) -> None:
        _check_arguments(profile=profile)
        self.environ = environ
        # What named the profile (None: nothing did, so it is "default" and may be absent).
        self.profile_source: Optional[str] = None if profile is None else "profile="
        named = profile
        for name in PROFILE_ENVS if profile is None else ():
            named = _env(environ, name)
            if named is not None:
                self.profile_source = name
                break
        self.profile = (named or "default").strip()
        self.credentials_path = self._path(CREDENTIALS_FILE_ENV, DEFAULT_CREDENTIALS_FILE)
        self.config_path = self._path(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE)
        self._parsed: dict[str, Optional[RawConfigParser]] = {}

    def _path(self, env_name: str, default: str) -> str:
        path = _env(self.environ, env_name) or default
        home = self.environ.get("HOME")
        # "~" and "~/..." are the given environment's home, not the process's; "~user/..."
        # is that user's home, which only the system knows.
        if (path == "~" or path.startswith("~/")) and home:
            return home + path[1:]
        return os.path.expanduser(path)

    def _parser(self, path: str) -> Optional[RawConfigParser]:
        if path not in self._parsed:
            import configparser  # loaded only when a shared file is consulted

            parser = configparser.RawConfigParser(strict=False)
            failure = None
            try:
                with open(path, encoding="utf-8") as handle:
                    parser.read_file(handle, source=path)
            except FileNotFoundError:
                self._parsed[path] = None
                return None
            except configparser.Error as exc:
                failure = f"cannot parse the AWS file {path}: {_bad_lines(exc)}"
            except (OSError, UnicodeDecodeError) as exc:
                failure = f"cannot read the AWS file {path}: {type(exc).__name__}"
            if failure is not None:
                # Raised outside the except block, so no chained exception carries the
                # offending line (it may hold a secret key).
                raise ConfigError(failure)
            self._parsed[path] = parser
        return self._parsed[path]

    def check_profile(self, sections: list[tuple[Optional[dict[str, str]], str]]) -> None:
        """A ConfigError if the profile was named but is in neither file, or configures
        only credential sources not read yet; ``sections`` are both files' lookups."""
        if self.profile_source is not None and all(found is None for found, _ in sections):
            wheres = ", ".join(where for _, where in sections)
            raise ConfigError(
                f"AWS profile {self.profile!r} (named by {self.profile_source}) is missing; "
                f"looked at: {wheres}"
            )
        unsupported = sorted(
            {key for found, _ in sections for key in found or {} if key.startswith(UNSUPPORTED_PROFILE_KEYS)}
        )
        if unsupported:
            wheres = ", ".join(where for found, where in sections if found is not None)
            raise ConfigError(
                f"AWS profile {self.profile!r} ({wheres}) gets its credentials through "
                f"{', '.join(unsupported)}: SSO, role, credential_process and web identity "
                "profiles are not supported yet"
            )

    def credentials_section(self) -> tuple[Optional[dict[str, str]], str]:
        """The profile's section of the credentials file (or None), and how it was found."""
        return self._section(self.credentials_path, self.profile, "shared credentials file")

    def config_section(self) -> tuple[Optional[dict[str, str]], str]:
        """The profile's section of the config file (or None), and how it was found."""
        section = "default" if self.profile == "default" else f"profile {self.profile}"
        found, note = self._section(self.config_path, section, "config file")
        if found is None and self.profile == "default":  # some write [profile default]
            found, note = self._section(self.config_path, "profile default", "config file")
        return found, note

    def _section(self, path: str, section: str, what: str) -> tuple[Optional[dict[str, str]], str]:
        parser = self._parser(path)
        if parser is None:
            return None, f"{what} {path} (not found)"
        if not parser.has_section(section):
            return None, f"{what} {path} (no [{section}])"
        values = {key: value.strip() for key, value in parser.items(section)}
        return values, f"{what} {path} [{section}]"


def _bad_lines(exc: Exception) -> str:
    """Which lines configparser refused, by number only: their text may hold a secret."""
    numbers = [number for number, _ in getattr(exc, "errors", ())]
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int) and lineno not in numbers:
        numbers.append(lineno)
    if not numbers:
        return type(exc).__name__
    lines = ", ".join(str(number) for number in sorted(numbers))
    if type(exc).__name__ == "MissingSectionHeaderError":
        return f"bad line {lines} (a key before any [section] header)"
    return f"bad line {lines}"


def _credentials_in(section: dict[str, str], where: str) -> Optional[AWSCredentials]:
    key_id = section.get("aws_access_key_id") or None
    secret = section.get("aws_secret_access_key") or None
    if key_id is None and secret is None:
        return None
    if key_id is None or secret is None:
        missing = "aws_access_key_id" if key_id is None else "aws_secret_access_key"
        raise ConfigError(f"{where} has no {missing} beside its other key")
    token = section.get("aws_session_token") or section.get("aws_security_token") or None
    return AWSCredentials(key_id, secret, token)


# -- container credentials --------------------------------------------------------------------


def parse_expiration(text: str) -> float:
    """ISO 8601 (``2026-12-03T12:00:00Z``, offsets and fractions allowed) to epoch seconds."""
    match = _ISO_8601.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"container credentials carry an unreadable Expiration {text[:40]!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        raise ConfigError(f"container credentials carry an impossible Expiration {text[:40]!r}") from None
    seconds = moment.timestamp()
    sign = match.group(8)
    if sign:  # "+02:00" means two hours ahead of UTC: subtract them
        offset = int(match.group(9)) * 3600 + int(match.group(10)) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds


def _check_container_url(url: str, source: str) -> str:
    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(f"{source} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{source} must be an http:// or https:// URL with a host")
    if parts.scheme == "https" or host in CONTAINER_HTTP_HOSTS:
        return url
    try:
        if ipaddress.ip_address(host).is_loopback:
            return url
    except ValueError:
        pass
    raise ConfigError(
        f"{source} names host {host!r}: over plain HTTP only a loopback address or "
        f"{', '.join(sorted(CONTAINER_HTTP_HOSTS))} is allowed (use https:// for others)"
    )


class ContainerCredentialsProvider:
    """Credentials from a container credentials endpoint (ECS, EKS Pod Identity, Lambda).

    ``get()`` fetches on first use, then returns the cached credentials until they are
    within ``REFRESH_MARGIN_SECONDS`` of their ``Expiration``. While the cached ones still
    have more than ``MINIMUM_VALID_SECONDS`` left, one thread refreshes and the others get
    the cached ones at once; a failed refresh keeps them and is tried again only after
    ``REFRESH_BACKOFF_SECONDS``. Without usable credentials, one thread fetches while the
    others wait. ``clock`` returns epoch seconds (tests pass their own).
    """

    def __init__(
        self,
        url: str,
        *,
        authorization_token: Optional[str] = None,
        authorization_token_file: Optional[str] = None,
        clock: Optional[Callable[[], float]] = None,
        source: str = "container credentials URL",
    ) -> None:
        self.url = _check_container_url(url, source)
        self._token = authorization_token
        self._token_file = authorization_token_file
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._current: Optional[AWSCredentials] = None
        # No refresh before this time while the current credentials are still usable.
        self._retry_after = float("-inf")
        self._pool: Any = None

    def __repr__(self) -> str:  # never the token
        return f"ContainerCredentialsProvider({safe_url(self.url)!r})"

    def get(self) -> AWSCredentials:
        """Current credentials, fetched again shortly before they expire."""
        current = self._current  # one attribute read: atomic, no lock needed
        now = self._clock()
        if current is not None and not current.expires_within(REFRESH_MARGIN_SECONDS, now):
            return current
        if self._usable(current, now):
            assert current is not None
            # Still good for a while: never wait for the agent, and never ask it in a loop.
            if now < self._retry_after or not self._lock.acquire(blocking=False):
                return current
        else:
            self._lock.acquire()
        try:
            return self._refresh()
        finally:
            self._lock.release()

    def _usable(self, credentials: Optional[AWSCredentials], now: float) -> bool:
        return credentials is not None and not credentials.expires_within(MINIMUM_VALID_SECONDS, now)

    def _refresh(self) -> AWSCredentials:
        # Called with the lock held; another thread may have refreshed meanwhile.
        now = self._clock()
        current = self._current
        if current is not None and not current.expires_within(REFRESH_MARGIN_SECONDS, now):
            return current
        usable = self._usable(current, now)
        if usable and now < self._retry_after:
            assert current is not None
            return current
        try:
            fresh = self._fetch()
        except RelayError as exc:
            if usable:
                assert current is not None
                self._retry_after = now + REFRESH_BACKOFF_SECONDS
                logger.debug("container credentials refresh failed, current ones kept: %s", exc)
                return current
            raise
        self._current = fresh
        self._retry_after = float("-inf")
        return fresh

    def secrets(self) -> tuple[str, ...]:
        """The authorization token and the cached secrets, for scrubbing."""
        values = [token for token in (self._token,) if token]
        if self._current is not None:
            values.extend(self._current.secrets())
        return tuple(values)

    def close(self) -> None:
        """Release the connection pool."""
        if self._pool is not None:
            self._pool.clear()

    def _authorization(self) -> Optional[str]:
        if self._token_file:
            try:
                with open(self._token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"cannot read {CONTAINER_TOKEN_FILE_ENV} {self._token_file}: {type(exc).__name__}"
                ) from None
        else:
            token = (self._token or "").strip()
        if "\r" in token or "\n" in token:
            raise ConfigError("the container authorization token contains CR or LF")
        return token or None

    def _fetch(self) -> AWSCredentials:
        import urllib3

        token = self._authorization()
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = token
        if self._pool is None:
            self._pool = urllib3.PoolManager(num_pools=1, maxsize=1)
        where = safe_url(self.url)
        retries = urllib3.Retry(
            total=CONTAINER_RETRIES,
            read=0,
            redirect=0,
            status_forcelist=(500, 502, 503, 504),
            backoff_factor=0.1,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        try:
            reply = self._pool.request(
                "GET",
                self.url,
                headers=headers,
                timeout=urllib3.Timeout(connect=CONTAINER_CONNECT_TIMEOUT, read=CONTAINER_READ_TIMEOUT),
                retries=retries,
                redirect=False,
                preload_content=False,
            )
            try:
                body = reply.read(MAX_CONTAINER_REPLY_BYTES + 1)
            finally:
                reply.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ConnectError(
                f"could not fetch container credentials from {where}: {type(reason).__name__}"
            ) from None
        secrets = (token,) if token else ()
        if reply.status != 200:
            snippet = redact(body[:200].decode("utf-8", "replace").strip(), secrets)
            raise ConfigError(
                f"the container credentials endpoint {where} answered {reply.status}"
                + (f": {snippet}" if snippet else "")
            )
        return self._parse(body, where)

    @staticmethod
    def _parse(body: bytes, where: str) -> AWSCredentials:
        if len(body) > MAX_CONTAINER_REPLY_BYTES:
            raise ConfigError(f"the container credentials reply from {where} is too large")
        try:
            reply = json.loads(body)
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict):
            raise ConfigError(f"the container credentials reply from {where} is not a JSON object")
        missing = [
            name for name in ("AccessKeyId", "SecretAccessKey") if not isinstance(reply.get(name), str)
        ]
        if missing:
            raise ConfigError(f"the container credentials reply from {where} has no {' or '.join(missing)}")
        token = reply.get("Token")
        expiration = reply.get("Expiration")
        expires_at = parse_expiration(expiration) if isinstance(expiration, str) else None
        credentials = AWSCredentials(
            reply["AccessKeyId"],
            reply["SecretAccessKey"],
            token if isinstance(token, str) and token else None,
            expires_at,
        )
        logger.debug("fetched container credentials from %s, expiring at %s", where, expires_at)
        return credentials


# -- the chain --------------------------------------------------------------------------------


def _explicit_credentials(
    access_key_id: Optional[str], secret_access_key: Optional[str], session_token: Optional[str]
) -> Optional[AWSCredentials]:
    if access_key_id is None and secret_access_key is None:
        if session_token is not None:
            raise ConfigError("session_token= needs access_key_id= and secret_access_key=")
        return None
    if access_key_id is None or secret_access_key is None:
        raise ConfigError("pass access_key_id= and secret_access_key= together")
    return AWSCredentials(access_key_id, secret_access_key, session_token)


def _container_provider(
    environ: Mapping[str, str], clock: Optional[Callable[[], float]]
) -> Optional[ContainerCredentialsProvider]:
    relative = _env(environ, CONTAINER_RELATIVE_URI_ENV)
    full = _env(environ, CONTAINER_FULL_URI_ENV)
    if relative is None and full is None:
        return None
    if relative is not None:  # botocore prefers the relative URI when both are set
        if not relative.startswith("/"):
            raise ConfigError(f"{CONTAINER_RELATIVE_URI_ENV} must start with '/'")
        url, source = CONTAINER_BASE_URL + relative, CONTAINER_RELATIVE_URI_ENV
    else:
        url, source = str(full), CONTAINER_FULL_URI_ENV
    return ContainerCredentialsProvider(
        url,
        authorization_token=_env(environ, CONTAINER_TOKEN_ENV),
        authorization_token_file=_env(environ, CONTAINER_TOKEN_FILE_ENV),
        clock=clock,
        source=source,
    )


def _resolve(
    *,
    access_key_id: Optional[str],
    secret_access_key: Optional[str],
    session_token: Optional[str],
    profile: Optional[str],
    api_key: Optional[str],
    environ: Mapping[str, str],
    bearer_env: bool,
    clock: Optional[Callable[[], float]],
    files: _SharedFiles,
) -> Union[AWSCredentials, ContainerCredentialsProvider, str]:
    """The first credentials found: keys, a container provider, or a bearer API key (str)."""
    _check_arguments(
        access_key_id=access_key_id, secret_access_key=secret_access_key, session_token=session_token
    )
    explicit = _explicit_credentials(access_key_id, secret_access_key, session_token)
    if api_key is not None:
        if explicit is not None:
            raise ConfigError("pass api_key= or access keys, not both")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigError("api_key= must be a non-empty string")
        return api_key.strip()
    if explicit is not None:
        return explicit
    looked = ["access_key_id=/secret_access_key= arguments"]
    if profile is None:
        if bearer_env:
            looked.append(BEDROCK_API_KEY_ENV)
            bearer = _env(environ, BEDROCK_API_KEY_ENV)
            if bearer is not None:
                return bearer
        looked.append(f"{ACCESS_KEY_ENV}/{SECRET_KEY_ENV}")
        key_id, secret = _env(environ, ACCESS_KEY_ENV), _env(environ, SECRET_KEY_ENV)
        if key_id is not None or secret is not None:
            if key_id is None or secret is None:
                missing = ACCESS_KEY_ENV if key_id is None else SECRET_KEY_ENV
                raise ConfigError(f"{missing} is not set beside its pair")
            return AWSCredentials(key_id, secret, _env(environ, SESSION_TOKEN_ENV))
    sections = []
    for read in (files.credentials_section, files.config_section):  # the config file only if needed
        section, where = read()
        sections.append((section, where))
        looked.append(where)
        if section is not None:
            found = _credentials_in(section, where)
            if found is not None:
                return found
    files.check_profile(sections)
    looked.append(f"{CONTAINER_RELATIVE_URI_ENV}/{CONTAINER_FULL_URI_ENV}")
    container = _container_provider(environ, clock)
    if container is not None:
        return container
    raise ConfigError(
        f"no AWS credentials found (profile {files.profile!r}); looked at: {', '.join(looked)} "
        f"({NOT_READ_NOTE})"
    )


def resolve_credentials(
    *,
    access_key_id: Optional[str] = None,
    secret_access_key: Optional[str] = None,
    session_token: Optional[str] = None,
    profile: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    clock: Optional[Callable[[], float]] = None,
) -> Union[AWSCredentials, ContainerCredentialsProvider]:
    """AWS keys from the chain in this module's docstring (without the Bedrock API key).

    Returns fixed ``AWSCredentials`` or a ``ContainerCredentialsProvider`` (fetched on first
    use). ``environ`` replaces ``os.environ``. SSO and instance metadata are not read yet.
    """
    environ = _check_environ(environ, clock)
    files = _SharedFiles(environ, profile)
    return _signing_keys(access_key_id, secret_access_key, session_token, profile, environ, clock, files)


def _signing_keys(
    access_key_id: Optional[str],
    secret_access_key: Optional[str],
    session_token: Optional[str],
    profile: Optional[str],
    environ: Mapping[str, str],
    clock: Optional[Callable[[], float]],
    files: _SharedFiles,
) -> Union[AWSCredentials, ContainerCredentialsProvider]:
    """The chain without the Bedrock API key: what a SigV4 signer can use."""
    found = _resolve(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        profile=profile,
        api_key=None,
        environ=environ,
        bearer_env=False,
        clock=clock,
        files=files,
    )
    assert not isinstance(found, str)  # no api_key and no bearer variable were consulted
    return found


def _region(region: Optional[str], files: _SharedFiles) -> str:
    if region is not None and not isinstance(region, str):
        raise ConfigError(f"region= must be a string, got {type(region).__name__}")
    looked = ["region= argument"]
    found: Optional[str] = region.strip() if isinstance(region, str) and region.strip() else None
    source = "region="
    for name in REGION_ENVS:
        if found is not None:
            break
        looked.append(name)
        found, source = _env(files.environ, name), name
    if found is None:
        section, where = files.config_section()
        looked.append(f"region in {where}")
        if section is not None:
            found, source = section.get("region") or None, f"region in {where}"
    if found is None:
        raise ConfigError(f"no AWS region found; looked at: {', '.join(looked)}")
    if not _REGION.fullmatch(found):
        raise ConfigError(f"{source} is not an AWS region name: {found[:40]!r}")
    return found


def resolve_region(
    region: Optional[str] = None,
    *,
    profile: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> str:
    """The region: the argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's
    ``region`` in the config file; else ``ConfigError`` listing those."""
    environ = _check_environ(environ)
    return _region(region, _SharedFiles(environ, profile))


def aws_sigv4(
    *,
    service: str,
    region: Optional[str] = None,
    access_key_id: Optional[str] = None,
    secret_access_key: Optional[str] = None,
    session_token: Optional[str] = None,
    profile: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    clock: Optional[Callable[[], float]] = None,
    content_sha256_header: bool = False,
) -> SigV4Authorizer:
    """An authorizer that signs every attempt with AWS SigV4, for any endpoint behind AWS auth.

    ``service`` is the signing name (``execute-api`` for API Gateway, ``lambda`` for a
    function URL, ``sagemaker``, ...); region and credentials come from the arguments or
    the AWS chain (environment, shared files, container credentials; see
    ``relay_lite._aws_credentials``). SSO and instance metadata are not read yet.

    >>> signer = relay_lite.aws_sigv4(service="execute-api", region="us-east-1")  # doctest: +SKIP
    >>> client = relay_lite.Client.compatible(url, authorizer=signer)  # doctest: +SKIP
    """
    if not isinstance(service, str) or not service.strip():
        raise ConfigError("aws_sigv4() needs service=, the endpoint's signing name (e.g. 'execute-api')")
    environ = _check_environ(environ, clock)
    files = _SharedFiles(environ, profile)
    resolved_region = _region(region, files)
    credentials = _signing_keys(
        access_key_id, secret_access_key, session_token, profile, environ, clock, files
    )
    return SigV4Authorizer(
        resolved_region, service, credentials, clock=clock, content_sha256_header=content_sha256_header
    )


def bedrock_authorizer(
    region: Optional[str] = None,
    *,
    access_key_id: Optional[str] = None,
    secret_access_key: Optional[str] = None,
    session_token: Optional[str] = None,
    profile: Optional[str] = None,
    api_key: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    clock: Optional[Callable[[], float]] = None,
) -> tuple[Authorizer, str]:
    """The authorizer for Bedrock runtime calls, and the region to call.

    A Bedrock API key (``api_key=`` or ``AWS_BEARER_TOKEN_BEDROCK``) is sent as
    ``Authorization: Bearer``; otherwise requests are signed with SigV4 under the signing
    name ``bedrock``, with credentials from the chain in this module's docstring (SSO
    and instance metadata are not read yet). ``clock`` (epoch seconds) is for tests.
    """
    environ = _check_environ(environ, clock)
    files = _SharedFiles(environ, profile)
    resolved_region = _region(region, files)
    credentials = _resolve(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        profile=profile,
        api_key=api_key,
        environ=environ,
        bearer_env=True,
        clock=clock,
        files=files,
    )
    if isinstance(credentials, str):
        from ._session import KeyAuthorizer

        return KeyAuthorizer({"Authorization": f"Bearer {credentials}"}), resolved_region
    return SigV4Authorizer(resolved_region, BEDROCK_SIGNING_NAME, credentials, clock=clock), resolved_region
