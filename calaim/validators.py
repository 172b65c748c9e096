"""Validators for the identifiers CalAIM data carries (DOMAIN.md §6)."""

import re

from django.core.exceptions import ValidationError

CIN_PATTERN = re.compile(r"^9\d{7}[A-Z]$")
TIN_PATTERN = re.compile(r"^\d{2}-?\d{7}$")


def npi_is_valid(npi: str) -> bool:
    """True when `npi` is 10 digits, starts with 1 or 2 and passes the Luhn check.

    The check digit is computed as if the number were prefixed by 80840 (health,
    USA), which adds the constant 24 to the Luhn sum of the first nine digits.
    """
    if not (isinstance(npi, str) and len(npi) == 10 and npi.isdigit()):
        return False
    if npi[0] not in "12":
        return False
    total = 24
    for position, digit in enumerate(reversed(npi[:9])):
        value = int(digit)
        if position % 2 == 0:
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return (10 - total % 10) % 10 == int(npi[9])


def validate_npi(value: str) -> None:
    if not npi_is_valid(value):
        raise ValidationError(
            "%(value)s is not a valid NPI: it must be 10 digits, start with 1 or 2, "
            "and pass the Luhn check with the 80840 prefix.",
            code="invalid_npi",
            params={"value": value},
        )


def validate_tin(value: str) -> None:
    if not TIN_PATTERN.match(value or ""):
        raise ValidationError(
            "A TIN is 9 digits, written 12-3456789 or 123456789.", code="invalid_tin"
        )


def normalize_cin(value: str) -> str:
    """Upper-case, strip spaces, and cut a 14-character BIC ID down to its CIN."""
    value = (value or "").replace(" ", "").upper()
    if len(value) == 14 and CIN_PATTERN.match(value[:9]):
        return value[:9]
    return value


def validate_cin(value: str) -> None:
    if not CIN_PATTERN.match(value or ""):
        raise ValidationError(
            "%(value)s is not a CIN: 9 characters, a 9, seven digits and a letter.",
            code="invalid_cin",
            params={"value": value},
        )


def npi_check_digit(first_nine: str) -> str:
    """The check digit that makes `first_nine` + digit a valid NPI (for test data)."""
    for digit in "0123456789":
        if npi_is_valid(first_nine + digit):
            return digit
    raise ValueError(first_nine)
