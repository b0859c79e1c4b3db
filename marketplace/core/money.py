"""Money: integer minor units of an ISO 4217 currency, never floats. The one place for currency
digits, rounding, formatting and sharing an amount out.

The exponent (how many minor units make a major one) is ISO's: 2 for most currencies, 0 for the
zero-decimal ones (JPY, KRW, ...), 3 for a few (KWD, BHD, ...). Providers that count differently
(Stripe takes ISK and UGX as two-decimal amounts) convert at their own edge.

Rounding is half up on exact integers or ``Decimal``; a percentage of an amount is computed once
on the whole and then shared out by largest remainder, so the parts add up to exactly the
percentage of the whole (a fee computed per part and summed can drift a unit per part).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (0, 2 or 3)."""
    currency = (currency or "").upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def to_major(amount: int, currency: str) -> Decimal:
    """``12345, "USD"`` -> ``Decimal("123.45")``; ``500, "JPY"`` -> ``Decimal("500")``; exact."""
    places = exponent(currency)
    return Decimal(int(amount)).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def to_minor(value: Decimal | int | str, currency: str) -> int:
    """A major-unit amount (``"123.45"``) in minor units, rounded half up to a whole unit."""
    scaled = Decimal(str(value)).scaleb(exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_amount(value: Decimal | int | str, currency: str) -> int:
    """An amount someone typed in major units, in minor units, exactly: ``"500", "JPY"`` ->
    ``500``; ``"12.5", "USD"`` -> ``1250``. More decimals than the currency has (``"500.5"``
    yen, ``"1.234"`` dollars) is a ``ValueError`` saying so, never a silent rounding."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Enter a number.") from None
    if not number.is_finite():
        raise ValueError("Enter a number.")
    scaled = number.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(decimals_message(currency))
    return int(scaled)


def decimals_message(currency: str) -> str:
    """What to say about an amount with too many decimals for ``currency``."""
    places = exponent(currency)
    code = (currency or "").upper()
    if places == 0:
        return f"{code} has no smaller unit: enter a whole amount, like 500."
    return f"{code} amounts have at most {places} decimals."


def minor_at_least(value: Decimal | int | str, places: int) -> int:
    """The fewest minor units (of a currency with ``places`` digits) worth at least ``value``
    major units: a lower bound typed by someone, rounded up so nothing below it passes."""
    return int(Decimal(str(value)).scaleb(places).to_integral_value(rounding=ROUND_CEILING))


def currencies_by_exponent() -> dict[int, frozenset[str]]:
    """The currencies whose digits are not the usual 2, by their digits."""
    return {0: ZERO_DECIMAL, 3: THREE_DECIMAL}


def pro_rata(amount: int, *, part: int, whole: int) -> int:
    """``amount`` times ``part / whole``, rounded half up to a whole minor unit (exact: no
    floats). Converts between currencies at the rate two amounts of the same money imply."""
    if whole <= 0:
        raise ValueError("The whole must be positive.")
    exact = Decimal(int(amount)) * Decimal(int(part)) / Decimal(int(whole))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_amount(amount: int, currency: str) -> str:
    """The bare number with the currency's digits and no grouping: ``"1234.50"`` (CSV, inputs)."""
    return f"{to_major(amount, currency):f}"


def format_money(amount: int, currency: str) -> str:
    """``12345, "USD"`` -> ``"123.45 USD"``; ``1234567, "JPY"`` -> ``"1,234,567 JPY"``.

    With no currency, the number alone (in two decimals).
    """
    places = exponent(currency)
    text = f"{to_major(amount, currency):,.{places}f}"
    return f"{text} {currency.upper()}" if currency else text


def percent_of(amount: int, percent: int | Decimal) -> int:
    """``percent`` % of ``amount`` minor units, rounded half up to a whole minor unit."""
    if amount < 0 or percent < 0:
        raise ValueError("Amounts and percentages are never negative.")
    exact = Decimal(int(amount)) * Decimal(percent) / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` over ``weights`` in proportion, by largest remainder.

    Each part is its exact share rounded down; the units left over go one each to the parts
    with the largest remainders (ties: the earlier part). The parts always add up to ``total``
    and each differs from its exact share by less than one unit. All-zero weights get nothing
    unless ``total`` is 0.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("Totals and weights are never negative.")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("Cannot share a non-zero amount over zero weights.")
        return [0 for _ in weights]
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def fee_split(amounts: Sequence[int], percent: int | Decimal) -> tuple[int, list[int]]:
    """The fee on the whole of ``amounts`` (computed once) and each amount's share of it."""
    fee = percent_of(sum(amounts), percent)
    return fee, allocate(fee, amounts)
