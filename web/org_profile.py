"""Read an organisation's profile from a form and say what is wrong with it, field by field."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping

from storage.orgs import PROFILE_FIELDS, OrgProfile

from .countries import COUNTRIES
from .signup import email_errors

MAX_NAME_LENGTH = 200
MAX_ADDRESS_LENGTH = 1000
# Loose on purpose: country prefix, then 2-14 letters or digits (EU VAT
# numbers, the Swiss CHE...MWST and Norwegian ...MVA forms all fit).
_VAT = re.compile(r"^[A-Z]{2}[0-9A-Z+*]{2,14}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
_VAT_SEPARATORS = re.compile(r"[\s.\-]")


@functools.cache
def timezones() -> list[str]:
    """Every IANA zone name this machine knows, sorted."""
    return sorted(zoneinfo.available_timezones())


def countries_by_name() -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name, for a select list."""
    return sorted(COUNTRIES.items(), key=lambda item: item[1])


def profile_from_form(form: Mapping[str, str]) -> tuple[OrgProfile, dict[str, str]]:
    """Return the submitted profile (tidied) and an error message per bad field."""
    values = {name: form.get(name, "").strip() for name in PROFILE_FIELDS}
    values["country"] = values["country"].upper()
    values["vat_number"] = _VAT_SEPARATORS.sub("", values["vat_number"]).upper()
    values["ean_number"] = values["ean_number"].replace(" ", "")
    values["timezone"] = values["timezone"] or "UTC"
    errors = {name: error for name, error in _errors(values).items() if error}
    return OrgProfile(**values), errors


def _errors(values: dict[str, str]) -> dict[str, str | None]:
    return {
        "name": _name_error(values["name"]),
        "email": _email_error(values["email"]),
        "country": None if not values["country"] or values["country"] in COUNTRIES
        else "Choose a country from the list (an ISO 3166 code such as DK or DE).",
        "timezone": None if values["timezone"] in timezones()
        else "Choose a time zone from the list, such as Europe/Copenhagen.",
        "address": _length_error(values["address"], MAX_ADDRESS_LENGTH),
        "billing_address": _length_error(values["billing_address"], MAX_ADDRESS_LENGTH),
        "phone": None if not values["phone"] or _PHONE.match(values["phone"])
        else "Enter a phone number of digits, spaces and + ( ) - . only, such as +45 12 34 56 78.",
        "attention": _length_error(values["attention"], MAX_NAME_LENGTH),
        "vat_number": None if not values["vat_number"] or _VAT.match(values["vat_number"])
        else "Enter a VAT number starting with its country prefix, such as DK12345678.",
        "ean_number": _ean_error(values["ean_number"]),
    }


def _name_error(name: str) -> str | None:
    if not name:
        return "Enter the organisation's name."
    return _length_error(name, MAX_NAME_LENGTH)


def _email_error(email: str) -> str | None:
    errors = email_errors(email) if email else []
    return errors[0] if errors else None


def _length_error(value: str, limit: int) -> str | None:
    return None if len(value) <= limit else f"At most {limit} characters, please."


def _ean_error(ean: str) -> str | None:
    """EAN location numbers (GLN) are 13 digits, the last a GS1 check digit."""
    if not ean:
        return None
    if not (ean.isascii() and ean.isdigit() and len(ean) == 13):
        return "An EAN number has 13 digits."
    if int(ean[-1]) != gs1_check_digit(ean[:-1]):
        return "This EAN number's last digit does not match the others; check it for a typo."
    return None


def gs1_check_digit(digits: str) -> int:
    """The GS1 check digit of a number: weights 3 and 1 alternating from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10
