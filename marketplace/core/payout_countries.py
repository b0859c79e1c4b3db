"""Where a student can be paid, and in which currencies (Stripe Connect cross-border payouts).

A platform in the US, the UK, the EEA, Canada or Switzerland can pay connected accounts in any of
those regions. A student in the platform's own country gets the ``full`` service agreement; one
elsewhere gets the ``recipient`` agreement (receives transfers, takes no payments). A payout
reaches the student's bank in their local currency, and the platform transfers either that
currency or its own, so an assignment is payable to a student only in those two.

Shared by ``applications`` (an offer in a currency the student cannot be paid in is not
accepted) and ``payments`` (the connected account's country and agreement).
"""

from __future__ import annotations

from django.conf import settings

# Each supported country's local currency.
COUNTRY_CURRENCY: dict[str, str] = {
    "US": "USD",
    "CA": "CAD",
    "GB": "GBP",
    "CH": "CHF",
    "LI": "CHF",
    "NO": "NOK",
    "IS": "ISK",
    "SE": "SEK",
    "DK": "DKK",
    "PL": "PLN",
    "CZ": "CZK",
    "HU": "HUF",
    "RO": "RON",
    "BG": "BGN",
    **dict.fromkeys(
        [
            "AT", "BE", "HR", "CY", "EE", "FI", "FR", "DE", "GR", "IE", "IT", "LV",
            "LT", "LU", "MT", "NL", "PT", "SK", "SI", "ES",
        ],
        "EUR",
    ),
}  # fmt: skip

COUNTRY_NAMES: dict[str, str] = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "CA": "Canada", "CH": "Switzerland",
    "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark", "EE": "Estonia",
    "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GR": "Greece",
    "HR": "Croatia", "HU": "Hungary", "IE": "Ireland", "IS": "Iceland", "IT": "Italy",
    "LI": "Liechtenstein", "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "MT": "Malta",
    "NL": "Netherlands", "NO": "Norway", "PL": "Poland", "PT": "Portugal", "RO": "Romania",
    "SE": "Sweden", "SI": "Slovenia", "SK": "Slovakia", "US": "United States",
}  # fmt: skip

COUNTRY_CHOICES: list[tuple[str, str]] = sorted(COUNTRY_NAMES.items(), key=lambda item: item[1])


def platform_country() -> str:
    return settings.PAYMENTS_PLATFORM_COUNTRY


def is_supported(country: str) -> bool:
    return country in COUNTRY_CURRENCY


def service_agreement(country: str) -> str:
    """Stripe's ``tos_acceptance.service_agreement`` for a connected account in ``country``."""
    return "full" if country == platform_country() else "recipient"


def payout_currencies(country: str) -> frozenset[str]:
    """The currencies an assignment can be paid to a student in ``country`` in."""
    if not is_supported(country):
        return frozenset()
    return frozenset({COUNTRY_CURRENCY[country], COUNTRY_CURRENCY[platform_country()]})
