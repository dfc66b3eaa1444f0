"""Account APIs of hosted services.

``relay_lite.platform.modelrelay``: ModelRelay customers, tiers, checkout sessions,
subscriptions and frontend tokens, reached as ``client.customers``, ``client.tiers`` and
``client.auth``. The names below are re-exported lazily, so importing a sibling module
(for example the agent platform's) does not load the ModelRelay one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .modelrelay import (
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


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import modelrelay

        return getattr(modelrelay, name)
    raise AttributeError(f"module 'relay_lite.platform' has no attribute {name!r}")
