"""ModelRelay account APIs (customers, tiers, frontend tokens) over real sockets.

The tests run against a small in-memory ModelRelay written here as a ``FakeServer``
handler: it keeps customers in a dict, answers in the wire shapes of the public SDKs and
fails in both error shapes the API uses (nested and flat).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional
from urllib.parse import unquote

import pytest

from relay_lite import (
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigError,
    ConflictError,
    NotFoundError,
    ResponseError,
    RetryPolicy,
    UnprocessableEntityError,
)
from relay_lite._config import VERSION
from relay_lite.platform import (
    Auth,
    CheckoutSession,
    Customer,
    Customers,
    FieldError,
    FrontendToken,
    Subscription,
    Tier,
    TierModel,
    Tiers,
    field_errors,
)
from relay_lite.testing import FakeServer, RecordedRequest, Reply

SECRET = "mr_sk_test"
PUBLISHABLE = "mr_pk_test"
PROJECT = "proj-1"
STAMP = "2025-01-02T03:04:05Z"
TIER_FREE = {
    "id": "tier-free",
    "project_id": PROJECT,
    "tier_code": "free",
    "display_name": "Free",
    "spend_limit_cents": 500,
    "models": [
        {
            "id": "tm-1",
            "tier_id": "tier-free",
            "model_id": "gpt-4o-mini",
            "model_display_name": "GPT-4o mini",
            "description": "small",
            "capabilities": ["text", "tools"],
            "context_window": 128000,
            "max_output_tokens": 16384,
            "deprecated": False,
            "model_input_cost_cents": 15,
            "model_output_cost_cents": 60,
            "is_default": True,
            "created_at": STAMP,
            "updated_at": STAMP,
        }
    ],
    "created_at": STAMP,
    "updated_at": STAMP,
}
TIER_PRO = {
    "id": "tier-pro",
    "project_id": PROJECT,
    "tier_code": "pro",
    "display_name": "Pro",
    "spend_limit_cents": 10000,
    "models": [],
    "billing_provider": "stripe",
    "billing_price_ref": "price_123",
    "price_amount_cents": 2000,
    "price_currency": "usd",
    "price_interval": "month",
    "trial_days": 14,
    "created_at": STAMP,
    "updated_at": STAMP,
    "future_field": {"x": 1},
}


def nested_error(status: int, code: str, message: str, fields: Optional[list[Any]] = None) -> Reply:
    body = {
        "error": {"code": code, "message": message, "fields": fields or [], "status": status},
        "request_id": "req-nested",
    }
    return Reply.json(body, status=status)


def flat_error(status: int, code: str, message: str, fields: Optional[list[Any]] = None) -> Reply:
    body = {"message": message, "code": code, "fields": fields or []}
    return Reply.json(body, status=status, headers={"X-Request-Id": "req-flat"})


class FakeModelRelay:
    """An in-memory ModelRelay account API, enough to exercise every call."""

    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.tiers = {"tier-free": TIER_FREE, "tier-pro": TIER_PRO}
        self.next_id = 1

    def handle(self, request: RecordedRequest) -> Reply:
        key = request.headers.get("x-modelrelay-api-key", "")
        path = request.path
        parts = [unquote(p) for p in path.strip("/").split("/")]
        body = request.json() if request.body else {}
        method = request.method
        if path == "/auth/frontend-token" and method == "POST":
            return self.frontend_token(body)
        if parts[0] == "tiers":
            if not key.startswith(("mr_sk_", "mr_pk_")):
                return nested_error(401, "UNAUTHORIZED", "api key required")
            return self.tier_route(method, parts[1:], body, key)
        if parts[0] != "customers":
            return flat_error(404, "NOT_FOUND", f"no route {method} {path}")
        if path == "/customers/claim" and method == "POST":
            return self.claim(body)
        if not key.startswith("mr_sk_"):
            return nested_error(401, "UNAUTHORIZED", "secret key required")
        if len(parts) == 1:
            if method == "GET":
                return Reply.json({"customers": list(self.customers.values())})
            return self.save(body, upsert=method == "PUT")
        customer = self.customers.get(parts[1])
        if customer is None:
            return nested_error(404, "NOT_FOUND", "customer not found")
        rest = parts[2:]
        if not rest and method == "GET":
            return Reply.json({"customer": customer})
        if not rest and method == "DELETE":
            del self.customers[parts[1]]
            return Reply(status=204)
        if rest == ["checkout"] and method == "POST":
            if not body["success_url"].startswith("https://"):
                return flat_error(
                    422,
                    "VALIDATION_ERROR",
                    "invalid url",
                    [{"field": "success_url", "message": "must be https"}],
                )
            return Reply.json(
                {"session_id": f"cs_{customer['id']}", "url": f"https://checkout.example/cs_{customer['id']}"}
            )
        if rest == ["subscription"] and method == "GET":
            if customer.get("stripe_subscription_id"):
                return Reply.json(
                    {
                        "active": True,
                        "subscription_id": customer["stripe_subscription_id"],
                        "status": "active",
                        "current_period_start": STAMP,
                        "current_period_end": "2025-02-02T03:04:05Z",
                    }
                )
            return Reply.json({"active": False})
        return flat_error(404, "NOT_FOUND", "no such route")

    def save(self, body: dict[str, Any], *, upsert: bool) -> Reply:
        if body.get("tier_id") not in self.tiers:
            fields = [{"field": "tier_id", "message": "unknown tier"}]
            return flat_error(422, "VALIDATION_ERROR", "invalid customer", fields)
        existing = next((c for c in self.customers.values() if c["external_id"] == body["external_id"]), None)
        if existing is not None and not upsert:
            return nested_error(409, "CONFLICT", "external_id already exists")
        if existing is None:
            existing = {
                "id": f"cus-{self.next_id}",
                "project_id": PROJECT,
                "external_id": body["external_id"],
                "email": "",
                "created_at": STAMP,
            }
            self.next_id += 1
            self.customers[existing["id"]] = existing
        existing.update({k: v for k, v in body.items() if k in ("tier_id", "email", "metadata")})
        existing["tier_code"] = self.tiers[body["tier_id"]]["tier_code"]
        existing["updated_at"] = "2025-01-03T00:00:00Z"
        return Reply.json({"customer": existing})

    def claim(self, body: dict[str, Any]) -> Reply:
        found = next((c for c in self.customers.values() if c["email"] == body["email"]), None)
        if found is None:
            return flat_error(404, "NOT_FOUND", "no customer with that email")
        found["external_id"] = body.get("external_id") or f"{body.get('provider')}:{body.get('subject')}"
        return Reply.json({"customer": found})

    def tier_route(self, method: str, rest: list[str], body: dict[str, Any], key: str) -> Reply:
        if not rest and method == "GET":
            return Reply.json({"tiers": list(self.tiers.values())})
        tier = self.tiers.get(rest[0])
        if tier is None:
            return nested_error(404, "NOT_FOUND", "tier not found")
        if len(rest) == 1 and method == "GET":
            return Reply.json({"tier": tier})
        if rest[1:] == ["checkout"] and method == "POST" and key.startswith("mr_sk_"):
            return Reply.json(
                {"session_id": f"cs_{tier['id']}", "url": f"https://checkout.example/{tier['id']}"}
            )
        return flat_error(404, "NOT_FOUND", "no such route")

    def frontend_token(self, body: dict[str, Any]) -> Reply:
        if not str(body.get("publishable_key", "")).startswith("mr_pk_"):
            return nested_error(401, "UNAUTHORIZED", "publishable key required")
        known = any(c["external_id"] == body["customer_id"] for c in self.customers.values())
        if not known and "email" not in body:
            return flat_error(400, "EMAIL_REQUIRED", "email required for auto-provisioning")
        reply = {
            "token": "front-token",
            "expires_at": "2025-01-02T03:19:05Z",
            "expires_in": body.get("ttl_seconds", 900),
            "token_type": "Bearer",
            "key_id": "key-1",
            "session_id": "sess-1",
            "token_scope": ["chat"],
            "token_source": "publishable",
        }
        return Reply.json(reply)


@pytest.fixture
def fake() -> FakeModelRelay:
    return FakeModelRelay()


@pytest.fixture
def server(fake: FakeModelRelay) -> Iterator[FakeServer]:
    with FakeServer(handler=fake.handle) as running:
        yield running


def make_client(server: FakeServer, key: str = SECRET) -> Client:
    return Client.modelrelay(api_key=key, base_url=server.url, retry=RetryPolicy(max_retries=0))


@pytest.fixture
def customers(server: FakeServer) -> Iterator[Customers]:
    with make_client(server) as client:
        yield Customers(client)


def assert_request(
    request: RecordedRequest, method: str, path: str, body: Any = None, key: str = SECRET
) -> None:
    assert (request.method, request.path) == (method, path)
    assert request.headers["x-modelrelay-api-key"] == key
    assert "authorization" not in request.headers
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-modelrelay-client"] == f"relay-lite/{VERSION}"
    if body is None:
        assert request.body == b""
        assert "content-type" not in request.headers
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.body) == body


# -- customers --------------------------------------------------------------------------------


def test_upsert_creates_then_updates(customers: Customers, server: FakeServer) -> None:
    created = customers.upsert(tier_id="tier-free", external_id="user-42", email="ada@example.com")
    assert created == Customer(
        id="cus-1",
        external_id="user-42",
        email="ada@example.com",
        tier_id="tier-free",
        tier_code="free",
        project_id=PROJECT,
        created_at=STAMP,
        updated_at="2025-01-03T00:00:00Z",
    )
    assert_request(
        server.requests[0],
        "PUT",
        "/customers",
        {"tier_id": "tier-free", "external_id": "user-42", "email": "ada@example.com"},
    )
    updated = customers.upsert(
        tier_id="tier-pro", external_id="user-42", metadata={"plan": "annual", "seats": 3}
    )
    assert updated.id == "cus-1"
    assert (updated.tier_id, updated.tier_code, updated.email) == ("tier-pro", "pro", "ada@example.com")
    assert updated.metadata == {"plan": "annual", "seats": 3}
    assert updated.raw["metadata"] == {"plan": "annual", "seats": 3}
    assert json.loads(server.requests[1].body) == {
        "tier_id": "tier-pro",
        "external_id": "user-42",
        "metadata": {"plan": "annual", "seats": 3},
    }
    assert customers.list() == [updated]
    assert_request(server.requests[2], "GET", "/customers")


def test_create_then_conflict_and_validation_errors(customers: Customers, server: FakeServer) -> None:
    created = customers.create(tier_id="tier-free", external_id="u1", email="u1@example.com")
    assert_request(
        server.requests[0],
        "POST",
        "/customers",
        {"tier_id": "tier-free", "external_id": "u1", "email": "u1@example.com"},
    )
    assert created.id == "cus-1"
    with pytest.raises(ConflictError) as conflict:
        customers.create(tier_id="tier-free", external_id="u1")
    assert (conflict.value.status, conflict.value.code) == (409, "CONFLICT")
    assert conflict.value.message == "external_id already exists"
    assert conflict.value.request_id == "req-nested"
    with pytest.raises(UnprocessableEntityError) as invalid:
        customers.create(tier_id="tier-nope", external_id="u2")
    error = invalid.value
    assert (error.status, error.code, error.message, error.request_id) == (
        422,
        "VALIDATION_ERROR",
        "invalid customer",
        "req-flat",
    )
    assert field_errors(error) == [FieldError(field="tier_id", message="unknown tier")]


def test_get_delete_and_not_found(customers: Customers, server: FakeServer) -> None:
    created = customers.upsert(tier_id="tier-free", external_id="u1", email="u1@example.com")
    assert customers.get("cus-1") == created
    assert_request(server.requests[1], "GET", "/customers/cus-1")
    customers.delete("cus-1")
    assert_request(server.requests[2], "DELETE", "/customers/cus-1")
    with pytest.raises(NotFoundError) as missing:
        customers.get("cus-1")
    error = missing.value
    assert (error.status, error.code, error.message, error.request_id) == (
        404,
        "NOT_FOUND",
        "customer not found",
        "req-nested",
    )
    assert error.attempts == 1
    assert error.body == {
        "error": {"code": "NOT_FOUND", "message": "customer not found", "fields": [], "status": 404},
        "request_id": "req-nested",
    }
    assert customers.list() == []


def test_ids_are_quoted_as_one_path_segment(customers: Customers, server: FakeServer) -> None:
    with pytest.raises(NotFoundError):
        customers.get("a/b c?d#e")
    assert server.requests[0].path == "/customers/a%2Fb%20c%3Fd%23e"
    with pytest.raises(NotFoundError):
        customers.get_subscription("../tiers")
    assert server.requests[1].path == "/customers/..%2Ftiers/subscription"


def test_checkout_session_and_subscription(
    customers: Customers, server: FakeServer, fake: FakeModelRelay
) -> None:
    customers.upsert(tier_id="tier-pro", external_id="u1", email="u1@example.com")
    session = customers.create_checkout_session(
        "cus-1", success_url="https://app.example/ok", cancel_url="https://app.example/cancel"
    )
    assert session == CheckoutSession(session_id="cs_cus-1", url="https://checkout.example/cs_cus-1")
    assert_request(
        server.requests[1],
        "POST",
        "/customers/cus-1/checkout",
        {"success_url": "https://app.example/ok", "cancel_url": "https://app.example/cancel"},
    )
    assert customers.get_subscription("cus-1") == Subscription(active=False)
    assert_request(server.requests[2], "GET", "/customers/cus-1/subscription")
    fake.customers["cus-1"]["stripe_subscription_id"] = "sub_9"
    assert customers.get_subscription("cus-1") == Subscription(
        active=True,
        subscription_id="sub_9",
        status="active",
        current_period_start=STAMP,
        current_period_end="2025-02-02T03:04:05Z",
    )
    with pytest.raises(UnprocessableEntityError) as invalid:
        customers.create_checkout_session(
            "cus-1", success_url="http://app.example/ok", cancel_url="https://x.example"
        )
    assert field_errors(invalid.value) == [FieldError("success_url", "must be https")]


def test_claim_by_external_id_or_identity(customers: Customers, server: FakeServer) -> None:
    customers.upsert(tier_id="tier-pro", external_id="checkout-1", email="buyer@example.com")
    claimed = customers.claim(email="buyer@example.com", external_id="user-7")
    assert (claimed.id, claimed.external_id) == ("cus-1", "user-7")
    assert_request(
        server.requests[1],
        "POST",
        "/customers/claim",
        {"email": "buyer@example.com", "external_id": "user-7"},
    )
    again = customers.claim(email="buyer@example.com", provider="oidc", subject="sub-1")
    assert again.external_id == "oidc:sub-1"
    assert json.loads(server.requests[2].body) == {
        "email": "buyer@example.com",
        "provider": "oidc",
        "subject": "sub-1",
    }
    with pytest.raises(NotFoundError) as missing:
        customers.claim(email="nobody@example.com", external_id="x")
    error = missing.value
    assert (error.status, error.code, error.message, error.request_id) == (
        404,
        "NOT_FOUND",
        "no customer with that email",
        "req-flat",
    )
    assert field_errors(error) == []


def test_claim_works_with_a_publishable_key(server: FakeServer, fake: FakeModelRelay) -> None:
    fake.customers["cus-9"] = {"id": "cus-9", "external_id": "", "email": "p@example.com"}
    with make_client(server, PUBLISHABLE) as client:
        claimed = Customers(client).claim(email="p@example.com", external_id="me")
    assert claimed == Customer(id="cus-9", external_id="me", email="p@example.com")
    assert_request(
        server.requests[0],
        "POST",
        "/customers/claim",
        {"email": "p@example.com", "external_id": "me"},
        key=PUBLISHABLE,
    )


def test_server_refusing_the_key_is_an_authentication_error(server: FakeServer) -> None:
    with make_client(server, "some-bearer-token") as client:
        with pytest.raises(AuthenticationError) as refused:
            Customers(client).list()
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        401,
        "UNAUTHORIZED",
        "secret key required",
    )
    assert server.requests[0].headers["authorization"] == "Bearer some-bearer-token"


# -- tiers ------------------------------------------------------------------------------------


EXPECTED_FREE = Tier(
    id="tier-free",
    tier_code="free",
    display_name="Free",
    project_id=PROJECT,
    spend_limit_cents=500,
    models=(
        TierModel(
            model_id="gpt-4o-mini",
            display_name="GPT-4o mini",
            description="small",
            capabilities=("text", "tools"),
            context_window=128000,
            max_output_tokens=16384,
            input_cost_cents=15,
            output_cost_cents=60,
            is_default=True,
        ),
    ),
    created_at=STAMP,
    updated_at=STAMP,
)
EXPECTED_PRO = Tier(
    id="tier-pro",
    tier_code="pro",
    display_name="Pro",
    project_id=PROJECT,
    spend_limit_cents=10000,
    price_amount_cents=2000,
    price_currency="usd",
    price_interval="month",
    trial_days=14,
    billing_provider="stripe",
    billing_price_ref="price_123",
    created_at=STAMP,
    updated_at=STAMP,
)


@pytest.mark.parametrize("key", [SECRET, PUBLISHABLE])
def test_tiers_list_and_get(server: FakeServer, key: str) -> None:
    with make_client(server, key) as client:
        tiers = Tiers(client)
        assert tiers.list() == [EXPECTED_FREE, EXPECTED_PRO]
        pro = tiers.get("tier-pro")
        with pytest.raises(NotFoundError) as missing:
            tiers.get("tier-gone")
    assert_request(server.requests[0], "GET", "/tiers", key=key)
    assert_request(server.requests[1], "GET", "/tiers/tier-pro", key=key)
    assert pro == EXPECTED_PRO
    assert pro.raw["future_field"] == {"x": 1}
    assert pro.default_model is None
    assert EXPECTED_FREE.default_model is not None and EXPECTED_FREE.default_model.model_id == "gpt-4o-mini"
    assert (missing.value.code, missing.value.message) == ("NOT_FOUND", "tier not found")


def test_tier_checkout(server: FakeServer) -> None:
    with make_client(server) as client:
        session = Tiers(client).create_checkout_session(
            "tier-pro", success_url="https://app.example/ok", cancel_url="http://localhost:3000/cancel"
        )
    assert session == CheckoutSession(session_id="cs_tier-pro", url="https://checkout.example/tier-pro")
    assert_request(
        server.requests[0],
        "POST",
        "/tiers/tier-pro/checkout",
        {"success_url": "https://app.example/ok", "cancel_url": "http://localhost:3000/cancel"},
    )


def test_older_tier_fields_and_tolerated_shapes() -> None:
    old = Tier.from_json({"id": "t", "price_amount": 999, "stripe_price_id": "price_old", "models": None})
    assert (old.price_amount_cents, old.billing_price_ref, old.models) == (999, "price_old", ())
    assert old.tier_code is None and old.display_name is None
    session = CheckoutSession.from_json({"id": "cs_1", "url": "https://x"})
    assert session.session_id == "cs_1"
    # A whole reply of the wrong shape is a ResponseError (streams keep StreamError).
    with pytest.raises(ResponseError, match="no 'url'"):
        CheckoutSession.from_json({"session_id": "cs_1"})
    with pytest.raises(ResponseError, match="no 'id'"):
        Customer.from_json({"email": "a@example.com"})


@pytest.mark.parametrize("limit", [float("inf"), float("nan"), float("-inf")])
def test_counts_that_are_not_finite_read_as_unknown(limit: float) -> None:
    # json accepts 1e400 (inf) and NaN; int() of them raised a bare OverflowError/ValueError.
    tier = Tier.from_json({"id": "t", "spend_limit_cents": limit, "price_amount_cents": 5.0})
    assert (tier.spend_limit_cents, tier.price_amount_cents) == (None, 5)


# -- frontend tokens --------------------------------------------------------------------------


def test_frontend_token_with_the_clients_publishable_key(server: FakeServer, fake: FakeModelRelay) -> None:
    fake.customers["cus-1"] = {"id": "cus-1", "external_id": "user-42", "email": "a@example.com"}
    with make_client(server, PUBLISHABLE) as client:
        token = Auth(client).frontend_token("user-42", device_id="dev-1", ttl_seconds=600)
    assert token == FrontendToken(
        token="front-token",
        expires_at="2025-01-02T03:19:05Z",
        expires_in=600,
        token_type="Bearer",
        key_id="key-1",
        session_id="sess-1",
        token_scope=("chat",),
        token_source="publishable",
        customer_id="user-42",
        device_id="dev-1",
    )
    assert "front-token" not in repr(token)
    assert "customer_id" not in token.raw
    assert_request(
        server.requests[0],
        "POST",
        "/auth/frontend-token",
        {"publishable_key": PUBLISHABLE, "customer_id": "user-42", "device_id": "dev-1", "ttl_seconds": 600},
        key=PUBLISHABLE,
    )


def test_frontend_token_auto_provision_and_errors(server: FakeServer) -> None:
    with make_client(server) as client:
        auth = Auth(client)
        with pytest.raises(ConfigError, match="publishable_key"):
            auth.frontend_token("new-user")
        assert server.requests == []
        token = auth.frontend_token("new-user", publishable_key=PUBLISHABLE, email="new@example.com")
        with pytest.raises(BadRequestError) as refused:
            auth.frontend_token("other-user", publishable_key=PUBLISHABLE)
    assert (token.token, token.customer_id, token.device_id, token.expires_in) == (
        "front-token",
        "new-user",
        None,
        900,
    )
    assert json.loads(server.requests[0].body) == {
        "publishable_key": PUBLISHABLE,
        "customer_id": "new-user",
        "email": "new@example.com",
    }
    error = refused.value
    assert (error.status, error.code, error.request_id) == (400, "EMAIL_REQUIRED", "req-flat")
    assert error.message == "email required for auto-provisioning"


# -- argument checks (nothing is sent) --------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda c: c.get(""), "customer_id"),
        (lambda c: c.get("   "), "customer_id"),
        (lambda c: c.delete(None), "customer_id"),
        (lambda c: c.get_subscription(""), "customer_id"),
        (lambda c: c.upsert(tier_id="", external_id="u"), "tier_id"),
        (lambda c: c.upsert(tier_id="t", external_id=""), "external_id"),
        (lambda c: c.upsert(tier_id="t", external_id="u", email="not-an-email"), "email"),
        (lambda c: c.upsert(tier_id="t", external_id="u", metadata=["x"]), "metadata"),
        (lambda c: c.create(tier_id="t", external_id="u", email="a@b"), "email"),
        (lambda c: c.claim(email="a@example.com"), "external_id"),
        (lambda c: c.claim(email="a@example.com", provider="oidc"), "subject"),
        (
            lambda c: c.create_checkout_session("", success_url="https://a.b", cancel_url="https://a.b"),
            "customer_id",
        ),
        (
            lambda c: c.create_checkout_session("c", success_url="ftp://a.b/x", cancel_url="https://a.b"),
            "success_url",
        ),
        (
            lambda c: c.create_checkout_session("c", success_url="https://a.b", cancel_url="/relative"),
            "cancel_url",
        ),
        (lambda c: c.create_checkout_session("c", success_url="", cancel_url="https://a.b"), "success_url"),
    ],
)
def test_bad_customer_arguments_raise_config_error(
    customers: Customers, server: FakeServer, call: Any, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        call(customers)
    assert server.requests == []


def test_bad_tier_and_token_arguments(server: FakeServer) -> None:
    with make_client(server, PUBLISHABLE) as client:
        with pytest.raises(ConfigError, match="tier_id"):
            Tiers(client).get("")
        with pytest.raises(ConfigError, match="cancel_url"):
            Tiers(client).create_checkout_session("t", success_url="https://a.b", cancel_url="mailto:x@y.z")
        with pytest.raises(ConfigError, match="secret key"):
            Tiers(client).create_checkout_session("t", success_url="https://a.b", cancel_url="https://a.b")
        for bad in (0, -5, 1.5, True, "60"):
            with pytest.raises(ConfigError, match="ttl_seconds"):
                Auth(client).frontend_token("u", ttl_seconds=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="customer_id"):
            Auth(client).frontend_token("")
        with pytest.raises(ConfigError, match="device_id"):
            Auth(client).frontend_token("u", device_id="")
    assert server.requests == []


def test_publishable_key_cannot_manage_customers(server: FakeServer) -> None:
    with make_client(server, PUBLISHABLE) as client:
        customers = Customers(client)
        for call in (
            customers.list,
            lambda: customers.get("c"),
            lambda: customers.upsert(tier_id="t", external_id="u"),
            lambda: customers.get_subscription("c"),
        ):
            with pytest.raises(ConfigError, match=r"secret key \(mr_sk_\.\.\.\)"):
                call()
    assert server.requests == []


def test_records_are_frozen_and_hashable() -> None:
    customer = Customer.from_json({"id": "c", "metadata": {"a": 1}, "extra": [1, 2]})
    assert customer == Customer(id="c", metadata={"a": 1})
    assert customer.raw == {"id": "c", "metadata": {"a": 1}, "extra": [1, 2]}
    assert "extra" not in repr(customer)
    assert hash(customer) == hash(Customer(id="c", metadata={"b": 2}))  # dicts stay out of the hash
    assert len({customer, Customer.from_json({"id": "c", "metadata": {"a": 1}})}) == 1
    with pytest.raises(AttributeError):
        customer.id = "d"  # type: ignore[misc]
    assert hash(EXPECTED_FREE) == hash(Tier.from_json(TIER_FREE))
    assert Subscription.from_json({"status": "past_due", "unknown": 1}) == Subscription(
        active=False, status="past_due"
    )


def test_needs_a_modelrelay_client() -> None:
    with Client.openai(api_key="sk-test") as client:
        for group in (Customers, Tiers, Auth):
            with pytest.raises(ConfigError, match="needs a modelrelay client, not 'openai'"):
                group(client)


def test_client_properties_reach_the_account_apis():
    from relay_lite import Client
    from relay_lite.platform.modelrelay import Auth, Customers, Tiers

    client = Client.modelrelay(api_key="mr_sk_test", base_url="http://127.0.0.1:9/api/v1")
    assert isinstance(client.customers, Customers)
    assert isinstance(client.tiers, Tiers)
    assert isinstance(client.auth, Auth)
