"""Money helpers: integer minor units of an ISO 4217 currency, never floats.

The exponent (how many minor units make a major one) is ISO's. Providers that count differently
(Stripe's special cases) convert in their own module.
"""

from decimal import Decimal

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_money(amount: int, currency: str) -> str:
    """``12345, "USD"`` -> ``"123.45 USD"``; exact, whatever the exponent."""
    places = exponent(currency)
    value = Decimal(int(amount)).scaleb(-places)
    return f"{value:,.{places}f} {currency.upper()}"


def fee_for(amount: int, percent: int) -> int:
    """The platform fee on ``amount``: ``percent`` of it, rounded half up to a whole minor unit.

    Integer arithmetic only. The fee of a funding is the sum of the fees of its milestones, so a
    refund of some milestones gives back exactly their share of the fee.
    """
    if amount < 0 or percent < 0:
        raise ValueError("Amounts and percentages are never negative.")
    return (amount * percent * 2 + 100) // 200
