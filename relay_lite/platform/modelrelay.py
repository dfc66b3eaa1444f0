"""ModelRelay account APIs: customers, tiers and frontend tokens (``modelrelay`` crate 0.2x-0.3x).

Wire facts (all paths under the client's base URL, default ``https://api.modelrelay.ai/api/v1``):

- Customers need a secret key (``mr_sk_``): ``GET /customers`` -> ``{"customers": [...]}``;
  ``POST /customers`` (create) and ``PUT /customers`` (upsert by ``external_id``) send
  ``{tier_id, external_id, email, metadata}`` and answer ``{"customer": {...}}``;
  ``GET``/``DELETE /customers/{id}``; ``POST /customers/{id}/checkout`` sends
  ``{success_url, cancel_url}`` and answers ``{session_id, url}``;
  ``GET /customers/{id}/subscription`` answers ``{active, subscription_id, status,
  current_period_start, current_period_end}``.
- ``POST /customers/claim`` links a customer found by ``email`` to an identity: the Rust
  crate sends ``external_id``, the Go/TypeScript SDKs ``provider`` + ``subject``. Publishable
  keys may claim.
- Tiers (secret or publishable key): ``GET /tiers`` -> ``{"tiers": [...]}``,
  ``GET /tiers/{id}`` -> ``{"tier": {...}}``; ``POST /tiers/{id}/checkout`` (secret key)
  answers ``{session_id, url}``.
- ``POST /auth/frontend-token`` sends ``{publishable_key, customer_id, email?, device_id?,
  ttl_seconds?}`` (``email`` asks the server to auto-provision the customer on the free
  tier) and answers ``{token, expires_at, expires_in, token_type, key_id, session_id,
  token_scope, token_source}``.
- Errors are ``{"error": {code, message, fields, status}, "request_id"}`` or flat
  ``{message, code, fields}``; the ModelRelay adapter's ``map_error`` maps both. ``fields`` is a
  list of ``{field, message}``: see ``field_errors``.

Every call goes through the client's one request path (``Client.session``): the key
header, configured ``headers=``, retries, per-attempt authorization and error mapping are
the same as for chat.

Choices: responses are read tolerantly (a bare object where a wrapper was expected is
accepted; unknown fields are kept in ``.raw``; missing optional fields become None);
timestamps stay ISO-8601 strings as sent. Arguments are checked before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, List, Mapping, Optional
from urllib.parse import quote, urlsplit

from .._errors import APIError, ConfigError, RelayError, ResponseError
from ..protocols.modelrelay import ACCEPT_JSON, CLIENT_HEADER, CLIENT_NAME

if TYPE_CHECKING:
    from .._client import Client

__all__ = [
    "Auth",
    "CheckoutSession",
    "Customer",
    "Customers",
    "FieldError",
    "FrontendToken",
    "Subscription",
    "Tier",
    "TierModel",
    "Tiers",
    "field_errors",
]

SECRET_KEY_PREFIX = "mr_sk_"
PUBLISHABLE_KEY_PREFIX = "mr_pk_"


# -- reading JSON ---------------------------------------------------------------------------


def _str(data: Mapping[str, Any], *names: str) -> Optional[str]:
    for name in names:
        value = data.get(name)
        if value is not None:
            return str(value)
    return None


def _int(data: Mapping[str, Any], *names: str) -> Optional[int]:
    for name in names:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        # JSON allows 1e400 (inf) and Python's json reads NaN: neither is a count.
        if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
            return int(value)
    return None


def _bool(data: Mapping[str, Any], name: str) -> Optional[bool]:
    value = data.get(name)
    return value if isinstance(value, bool) else None


def _dict(value: Any) -> Optional[dict[str, Any]]:
    return dict(value) if isinstance(value, Mapping) else None


def _strings(value: Any) -> Optional[tuple[str, ...]]:
    return tuple(str(item) for item in value) if isinstance(value, list) else None


def _object(payload: Any, wrapper: Optional[str], what: str) -> Mapping[str, Any]:
    """``payload[wrapper]`` when wrapped (as the SDKs expect), else ``payload`` itself."""
    if isinstance(payload, Mapping):
        inner = payload.get(wrapper) if wrapper else None
        return inner if isinstance(inner, Mapping) else payload
    raise ResponseError(f"expected a JSON object for {what}, got {type(payload).__name__}")


def _objects(payload: Any, wrapper: str, what: str) -> list[Mapping[str, Any]]:
    items = payload.get(wrapper) if isinstance(payload, Mapping) else payload
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ResponseError(f"expected a list of {what} objects in {wrapper!r}")
    return list(items)


def _required(data: Mapping[str, Any], name: str, what: str) -> str:
    value = _str(data, name)
    if value is None:
        raise ResponseError(f"{what} in the response has no {name!r}")
    return value


# -- the neutral records ----------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """A customer of a ModelRelay project."""

    id: str
    external_id: Optional[str] = None
    email: Optional[str] = None
    tier_id: Optional[str] = None
    tier_code: Optional[str] = None
    project_id: Optional[str] = None
    metadata: Optional[dict[str, Any]] = field(default=None, hash=False)
    stripe_customer_id: Optional[str] = None
    stripe_subscription_id: Optional[str] = None
    subscription_status: Optional[str] = None
    current_period_start: Optional[str] = None
    current_period_end: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Customer:
        """Build from the API's customer object."""
        return cls(
            id=_required(data, "id", "customer"),
            external_id=_str(data, "external_id"),
            email=_str(data, "email"),
            tier_id=_str(data, "tier_id"),
            tier_code=_str(data, "tier_code"),
            project_id=_str(data, "project_id"),
            metadata=_dict(data.get("metadata")),
            stripe_customer_id=_str(data, "stripe_customer_id"),
            stripe_subscription_id=_str(data, "stripe_subscription_id"),
            subscription_status=_str(data, "subscription_status"),
            current_period_start=_str(data, "current_period_start"),
            current_period_end=_str(data, "current_period_end"),
            created_at=_str(data, "created_at"),
            updated_at=_str(data, "updated_at"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class TierModel:
    """A model offered by a tier, with its provider costs (cents per million tokens)."""

    model_id: str
    display_name: Optional[str] = None
    description: Optional[str] = None
    capabilities: Optional[tuple[str, ...]] = None
    context_window: Optional[int] = None
    max_output_tokens: Optional[int] = None
    input_cost_cents: Optional[int] = None
    output_cost_cents: Optional[int] = None
    is_default: bool = False
    deprecated: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TierModel:
        """Build from one entry of a tier's ``models``."""
        return cls(
            model_id=_required(data, "model_id", "tier model"),
            display_name=_str(data, "model_display_name", "display_name"),
            description=_str(data, "description"),
            capabilities=_strings(data.get("capabilities")),
            context_window=_int(data, "context_window"),
            max_output_tokens=_int(data, "max_output_tokens"),
            input_cost_cents=_int(data, "model_input_cost_cents"),
            output_cost_cents=_int(data, "model_output_cost_cents"),
            is_default=bool(_bool(data, "is_default")),
            deprecated=bool(_bool(data, "deprecated")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Tier:
    """A pricing tier: spend limit, price and the models its customers may use."""

    id: str
    tier_code: Optional[str] = None
    display_name: Optional[str] = None
    project_id: Optional[str] = None
    spend_limit_cents: Optional[int] = None
    models: tuple[TierModel, ...] = ()
    price_amount_cents: Optional[int] = None
    price_currency: Optional[str] = None
    price_interval: Optional[str] = None
    trial_days: Optional[int] = None
    billing_provider: Optional[str] = None
    billing_price_ref: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def default_model(self) -> Optional[TierModel]:
        """The model marked default, else the only model, else None."""
        for model in self.models:
            if model.is_default:
                return model
        return self.models[0] if len(self.models) == 1 else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tier:
        """Build from the API's tier object (older servers: ``price_amount``, ``stripe_price_id``)."""
        models = data.get("models")
        return cls(
            id=_required(data, "id", "tier"),
            tier_code=_str(data, "tier_code"),
            display_name=_str(data, "display_name"),
            project_id=_str(data, "project_id"),
            spend_limit_cents=_int(data, "spend_limit_cents"),
            models=tuple(
                TierModel.from_json(m)
                for m in (models if isinstance(models, list) else [])
                if isinstance(m, Mapping)
            ),
            price_amount_cents=_int(data, "price_amount_cents", "price_amount"),
            price_currency=_str(data, "price_currency"),
            price_interval=_str(data, "price_interval"),
            trial_days=_int(data, "trial_days"),
            billing_provider=_str(data, "billing_provider"),
            billing_price_ref=_str(data, "billing_price_ref", "stripe_price_id"),
            created_at=_str(data, "created_at"),
            updated_at=_str(data, "updated_at"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class CheckoutSession:
    """A hosted checkout page: send the user to ``url``."""

    session_id: str
    url: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckoutSession:
        """Build from ``{session_id, url}`` (``id`` accepted for ``session_id``)."""
        session_id = _str(data, "session_id", "id")
        if session_id is None:
            raise ResponseError("checkout session in the response has no 'session_id'")
        return cls(session_id=session_id, url=_required(data, "url", "checkout session"), raw=dict(data))


@dataclass(frozen=True)
class Subscription:
    """A customer's subscription status."""

    active: bool
    subscription_id: Optional[str] = None
    status: Optional[str] = None
    current_period_start: Optional[str] = None
    current_period_end: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        """Build from the subscription status object (``active`` missing means False)."""
        return cls(
            active=bool(_bool(data, "active")),
            subscription_id=_str(data, "subscription_id"),
            status=_str(data, "status"),
            current_period_start=_str(data, "current_period_start"),
            current_period_end=_str(data, "current_period_end"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class FrontendToken:
    """A short-lived bearer token for browser or mobile clients; never shown in a repr."""

    token: str = field(repr=False)
    expires_at: Optional[str] = None
    expires_in: Optional[int] = None
    token_type: Optional[str] = None
    key_id: Optional[str] = None
    session_id: Optional[str] = None
    token_scope: Optional[tuple[str, ...]] = None
    token_source: Optional[str] = None
    customer_id: Optional[str] = None
    device_id: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FrontendToken:
        """Build from the token response (camelCase names accepted too)."""
        return cls(
            token=_required(data, "token", "frontend token"),
            expires_at=_str(data, "expires_at", "expiresAt"),
            expires_in=_int(data, "expires_in", "expiresIn"),
            token_type=_str(data, "token_type", "tokenType"),
            key_id=_str(data, "key_id", "keyId"),
            session_id=_str(data, "session_id", "sessionId"),
            token_scope=_strings(data.get("token_scope", data.get("tokenScope"))),
            token_source=_str(data, "token_source", "tokenSource"),
            customer_id=_str(data, "customer_id", "customerId"),
            device_id=_str(data, "device_id", "deviceId"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class FieldError:
    """One field-level problem reported by a validation error."""

    field: Optional[str]
    message: str


def field_errors(error: APIError) -> list[FieldError]:
    """The ``fields`` of a ModelRelay error body (nested or flat), e.g. of a 422."""
    body = error.body if isinstance(error.body, Mapping) else {}
    inner = body.get("error")
    raw = (inner if isinstance(inner, Mapping) else body).get("fields") or body.get("fields")
    if isinstance(raw, Mapping):  # tolerate {"field": "message"}
        return [FieldError(str(k), str(v)) for k, v in raw.items()]
    result = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping):
            result.append(FieldError(_str(item, "field"), str(item.get("message", ""))))
    return result


# -- argument checks --------------------------------------------------------------------------


def _check_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    if value in (".", ".."):  # quoting keeps dots, and URL resolution would remove the segment
        raise ConfigError(f"{name} {value!r} is not a valid id")
    return value


def _check_url(name: str, value: Any) -> str:
    parts = urlsplit(value.strip()) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an absolute http:// or https:// URL, got {value!r}")
    return str(value).strip()


def _check_email(name: str, value: Any) -> str:
    local, _, domain = value.partition("@") if isinstance(value, str) else ("", "", "")
    if not local or "@" in domain or "." not in domain.strip(".") or domain[0] == "." or domain[-1] == ".":
        raise ConfigError(f"{name} must be an email address, got {value!r}")
    return str(value)


# -- the API groups ---------------------------------------------------------------------------


class _Group:
    def __init__(self, client: Client) -> None:
        if client.config.protocol != "modelrelay":
            raise ConfigError(
                f"{type(self).__name__} needs a modelrelay client, not {client.config.provider!r}"
            )
        self._client = client

    def _key(self, operation: str, *, secret: bool) -> None:
        key = self._client.config.api_key
        if not key:
            raise ConfigError(f"{operation} needs a ModelRelay API key (api_key= or MODELRELAY_API_KEY)")
        if secret and key.startswith(PUBLISHABLE_KEY_PREFIX):
            raise ConfigError(
                f"{operation} needs a secret key ({SECRET_KEY_PREFIX}...), not a publishable key"
            )

    def _call(
        self, method: str, path: str, body: Optional[dict[str, Any]] = None, *, parse: bool = True
    ) -> Any:
        from .._session import PreparedRequest

        # The client's one request path: key, configured headers, retries, error mapping.
        request = PreparedRequest(
            method, path, json=body, headers={"Accept": ACCEPT_JSON, CLIENT_HEADER: CLIENT_NAME}
        )
        session = self._client.session
        response = session.send(request)
        if not parse:
            return None
        try:
            return response.json()
        except RelayError as exc:  # a body quoted in the error may echo the key
            raise session.scrubbed(request, exc) from None


def _segment(name: str, value: Any) -> str:
    return quote(_check_id(name, value), safe="")


class Customers(_Group):
    """Customer management (``client.customers``); needs a secret key except for ``claim``."""

    def _body(self, tier_id: Any, external_id: Any, email: Any, metadata: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"tier_id": _check_id("tier_id", tier_id)}
        body["external_id"] = _check_id("external_id", external_id)
        if email is not None:
            body["email"] = _check_email("email", email)
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise ConfigError(f"metadata must be a dict, got {type(metadata).__name__}")
            body["metadata"] = dict(metadata)
        return body

    def upsert(
        self,
        *,
        tier_id: str,
        external_id: str,
        email: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Customer:
        """Create or update the customer with this ``external_id`` (``PUT /customers``)."""
        body = self._body(tier_id, external_id, email, metadata)
        self._key("customers.upsert()", secret=True)
        return Customer.from_json(_object(self._call("PUT", "/customers", body), "customer", "customer"))

    def create(
        self,
        *,
        tier_id: str,
        external_id: str,
        email: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Customer:
        """Create a customer (``POST /customers``); an existing ``external_id`` is a conflict."""
        body = self._body(tier_id, external_id, email, metadata)
        self._key("customers.create()", secret=True)
        return Customer.from_json(_object(self._call("POST", "/customers", body), "customer", "customer"))

    def list(self) -> List[Customer]:
        """Every customer of the project."""
        self._key("customers.list()", secret=True)
        return [
            Customer.from_json(c) for c in _objects(self._call("GET", "/customers"), "customers", "customer")
        ]

    def get(self, customer_id: str) -> Customer:
        """One customer by its ModelRelay id; an unknown id raises ``NotFoundError``."""
        path = f"/customers/{_segment('customer_id', customer_id)}"
        self._key("customers.get()", secret=True)
        return Customer.from_json(_object(self._call("GET", path), "customer", "customer"))

    def delete(self, customer_id: str) -> None:
        """Delete a customer."""
        path = f"/customers/{_segment('customer_id', customer_id)}"
        self._key("customers.delete()", secret=True)
        self._call("DELETE", path, parse=False)

    def claim(
        self,
        *,
        email: str,
        external_id: Optional[str] = None,
        provider: Optional[str] = None,
        subject: Optional[str] = None,
    ) -> Customer:
        """Link the customer found by ``email`` (e.g. after a checkout-first signup) to your user.

        Pass ``external_id`` (the Rust crate's form) or ``provider`` and ``subject`` (an
        identity, the Go/TypeScript SDKs' form). Raises ``NotFoundError`` for an unknown
        email and ``ConflictError`` when already claimed.
        """
        body: dict[str, Any] = {"email": _check_email("email", email)}
        if external_id is not None:
            body["external_id"] = _check_id("external_id", external_id)
        if provider is not None or subject is not None:
            body["provider"] = _check_id("provider", provider)
            body["subject"] = _check_id("subject", subject)
        if len(body) == 1:
            raise ConfigError("claim() needs external_id, or provider and subject")
        self._key("customers.claim()", secret=False)
        return Customer.from_json(
            _object(self._call("POST", "/customers/claim", body), "customer", "customer")
        )

    def create_checkout_session(
        self, customer_id: str, *, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        """A hosted checkout page for the customer's tier."""
        path = f"/customers/{_segment('customer_id', customer_id)}/checkout"
        body = {
            "success_url": _check_url("success_url", success_url),
            "cancel_url": _check_url("cancel_url", cancel_url),
        }
        self._key("customers.create_checkout_session()", secret=True)
        return CheckoutSession.from_json(_object(self._call("POST", path, body), None, "checkout session"))

    def get_subscription(self, customer_id: str) -> Subscription:
        """The customer's subscription status."""
        path = f"/customers/{_segment('customer_id', customer_id)}/subscription"
        self._key("customers.get_subscription()", secret=True)
        return Subscription.from_json(_object(self._call("GET", path), "subscription", "subscription"))


class Tiers(_Group):
    """Pricing tiers (``client.tiers``); reading works with a publishable key too."""

    def list(self) -> List[Tier]:
        """Every tier of the project."""
        self._key("tiers.list()", secret=False)
        return [Tier.from_json(t) for t in _objects(self._call("GET", "/tiers"), "tiers", "tier")]

    def get(self, tier_id: str) -> Tier:
        """One tier by id."""
        path = f"/tiers/{_segment('tier_id', tier_id)}"
        self._key("tiers.get()", secret=False)
        return Tier.from_json(_object(self._call("GET", path), "tier", "tier"))

    def create_checkout_session(self, tier_id: str, *, success_url: str, cancel_url: str) -> CheckoutSession:
        """Checkout-first signup: the payment page collects the email; ``claim`` links it later."""
        path = f"/tiers/{_segment('tier_id', tier_id)}/checkout"
        body = {
            "success_url": _check_url("success_url", success_url),
            "cancel_url": _check_url("cancel_url", cancel_url),
        }
        self._key("tiers.create_checkout_session()", secret=True)
        return CheckoutSession.from_json(_object(self._call("POST", path, body), None, "checkout session"))


class Auth(_Group):
    """Token exchange (``client.auth``)."""

    def frontend_token(
        self,
        customer_id: str,
        *,
        publishable_key: Optional[str] = None,
        email: Optional[str] = None,
        device_id: Optional[str] = None,
        ttl_seconds: Optional[int] = None,
    ) -> FrontendToken:
        """Exchange a publishable key for a short-lived token acting as ``customer_id``.

        ``customer_id`` is your identifier for the customer. ``publishable_key`` defaults
        to the client's key when that is an ``mr_pk_`` key. With ``email`` the server
        creates the customer on the project's free tier if it does not exist yet.
        """
        key = publishable_key if publishable_key is not None else self._client.config.api_key
        if not isinstance(key, str) or not key.startswith(PUBLISHABLE_KEY_PREFIX):
            raise ConfigError(
                f"publishable_key must be a publishable key ({PUBLISHABLE_KEY_PREFIX}...): pass "
                "publishable_key= or use a client made with one"
            )
        body: dict[str, Any] = {"publishable_key": key, "customer_id": _check_id("customer_id", customer_id)}
        if email is not None:
            body["email"] = _check_email("email", email)
        if device_id is not None:
            body["device_id"] = _check_id("device_id", device_id)
        if ttl_seconds is not None:
            if not isinstance(ttl_seconds, int) or isinstance(ttl_seconds, bool) or ttl_seconds <= 0:
                raise ConfigError(f"ttl_seconds must be a positive whole number, got {ttl_seconds!r}")
            body["ttl_seconds"] = ttl_seconds
        token = FrontendToken.from_json(
            _object(self._call("POST", "/auth/frontend-token", body), None, "frontend token")
        )
        # Like the TypeScript SDK: the token names whom it was asked for when the server does not.
        return replace(
            token,
            customer_id=token.customer_id or body["customer_id"],
            device_id=token.device_id or device_id,
        )
