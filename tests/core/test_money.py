"""The money module: currency digits, rounding, formatting, and sharing out by largest remainder.

Examples pin worked cases; the property tests check the laws over many generated inputs.
"""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.core.money import (
    allocate,
    exponent,
    fee_split,
    format_amount,
    format_money,
    minor_at_least,
    parse_amount,
    percent_of,
    pro_rata,
    to_major,
    to_minor,
)

amounts = st.integers(min_value=0, max_value=10**12)
percents = st.integers(min_value=0, max_value=100)
weight_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20)
currencies = st.sampled_from(["USD", "EUR", "JPY", "KRW", "KWD", "BHD", "GBP", "CLP", "ISK"])


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("eur", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("KWD", 3), ("BHD", 3)],
)
def test_currency_digits_follow_iso_4217(currency, digits):
    assert exponent(currency) == digits


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (12345, "USD", "123.45 USD"),
        (123456789, "EUR", "1,234,567.89 EUR"),
        (5, "usd", "0.05 USD"),
        (1234567, "JPY", "1,234,567 JPY"),
        (500, "KRW", "500 KRW"),
        (12345, "KWD", "12.345 KWD"),
        (-250, "USD", "-2.50 USD"),
        (500, "", "5.00"),
    ],
)
def test_format_money_uses_the_currency_s_digits(amount, currency, text):
    assert format_money(amount, currency) == text


def test_format_amount_is_the_bare_number_for_csv():
    assert format_amount(123456, "USD") == "1234.56"
    assert format_amount(123456, "JPY") == "123456"
    assert format_amount(100, "KWD") == "0.100"


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("12.34", "USD", 1234), ("12.345", "USD", 1235), ("12.344", "USD", 1234), ("500", "JPY", 500)]
    + [("499.5", "JPY", 500), ("1.2345", "KWD", 1235), (Decimal("0.005"), "EUR", 1)],
)
def test_to_minor_rounds_half_up_in_the_currency_s_digits(value, currency, minor):
    assert to_minor(value, currency) == minor


@pytest.mark.parametrize(
    ("amount", "percent", "fee"),
    [(10000, 10, 1000), (3333, 10, 333), (3335, 10, 334), (5, 10, 1), (4, 10, 0), (0, 10, 0)],
)
def test_percent_of_rounds_half_up(amount, percent, fee):
    assert percent_of(amount, percent) == fee


def test_the_fee_is_computed_once_on_the_total_not_summed_per_milestone():
    # Per milestone 333.3 + 333.3 + 333.4 rounds to 333 each (999); on the total it is 1000.
    fee, shares = fee_split([3333, 3333, 3334], 10)
    assert fee == 1000
    assert shares == [333, 333, 334]


def test_allocate_gives_leftover_units_to_the_largest_remainders_then_the_earliest():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [1, 2]) == [3, 7]  # 3.33 and 6.67: the second has the larger remainder
    assert allocate(0, [0, 0]) == [0, 0]
    assert allocate(7, [0, 5]) == [0, 7]


def test_allocate_refuses_what_cannot_be_shared():
    with pytest.raises(ValueError):
        allocate(5, [0, 0])
    with pytest.raises(ValueError):
        allocate(-1, [1])
    with pytest.raises(ValueError):
        percent_of(-1, 10)


@given(total=amounts, weights=weight_lists)
def test_allocate_parts_add_up_and_stay_within_one_unit_of_the_exact_share(total, weights):
    if sum(weights) == 0:
        total = 0
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, whole) if whole else Fraction(0)
        assert part >= 0
        assert abs(part - exact) < 1
        if weight == 0:
            assert part == 0


@given(total=amounts, weights=weight_lists)
def test_allocate_is_monotonic_in_the_weights(total, weights):
    """A larger weight never gets a smaller part."""
    if sum(weights) == 0:
        total = 0
    parts = allocate(total, weights)
    for i in range(len(weights)):
        for j in range(len(weights)):
            if weights[i] > weights[j]:
                assert parts[i] >= parts[j]


@given(milestones=st.lists(amounts, min_size=1, max_size=12), percent=percents)
def test_fee_split_is_exactly_the_percentage_of_the_total(milestones, percent):
    fee, shares = fee_split(milestones, percent)
    exact = Fraction(sum(milestones) * percent, 100)
    assert abs(fee - exact) <= Fraction(1, 2)
    assert sum(shares) == fee


@given(amount=st.integers(min_value=-(10**15), max_value=10**15), currency=currencies)
def test_formatting_and_parsing_round_trip(amount, currency):
    assert to_minor(to_major(amount, currency), currency) == amount
    assert to_minor(format_amount(amount, currency), currency) == amount
    number, code = format_money(amount, currency).split(" ")
    assert code == currency
    assert to_minor(number.replace(",", ""), currency) == amount
    digits = number.partition(".")[2]
    assert len(digits) == exponent(currency)


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("500", "JPY", 500),
        ("500.00", "JPY", 500),
        ("12.5", "USD", 1250),
        (" 12.50 ", "USD", 1250),
        ("1.5", "KWD", 1500),
        ("0.001", "KWD", 1),
        (Decimal("7"), "KRW", 7),
    ],
)
def test_parse_amount_reads_major_units_in_the_currency_s_digits(typed, currency, minor):
    assert parse_amount(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("500.5", "JPY", "JPY has no smaller unit"),
        ("12.345", "USD", "USD amounts have at most 2 decimals"),
        ("1.0005", "KWD", "KWD amounts have at most 3 decimals"),
        ("abc", "USD", "Enter a number"),
        ("NaN", "USD", "Enter a number"),
        ("Infinity", "EUR", "Enter a number"),
    ],
)
def test_parse_amount_refuses_what_it_would_have_to_round(typed, currency, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(typed, currency)


@given(amount=st.integers(min_value=-(10**15), max_value=10**15), currency=currencies)
def test_what_is_formatted_parses_back_exactly(amount, currency):
    assert parse_amount(format_amount(amount, currency), currency) == amount


@pytest.mark.parametrize(
    ("value", "places", "minor"),
    [("300", 2, 30000), ("300.001", 2, 30001), ("300", 0, 300), ("0.5", 0, 1), ("1.5", 3, 1500)],
)
def test_a_lower_bound_rounds_up_so_nothing_below_it_passes(value, places, minor):
    assert minor_at_least(value, places) == minor


@pytest.mark.parametrize(
    ("amount", "part", "whole", "result"),
    [(817, 22000, 27148, 662), (455, 22000, 14652, 683), (1, 1, 2, 1), (0, 5, 7, 0)],
)
def test_pro_rata_converts_at_the_rate_two_amounts_imply_rounding_half_up(
    amount, part, whole, result
):
    assert pro_rata(amount, part=part, whole=whole) == result
