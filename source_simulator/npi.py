"""National Provider Identifiers with a valid check digit, or deliberately broken.

The NPI check digit is the Luhn digit of the nine-digit base prefixed with the card-issuer
code 80840 (CMS, "Requirements for the NPI check digit").
"""

from __future__ import annotations


def luhn_check_digit(digits: str) -> int:
    """Return the Luhn check digit for a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_npi(base: int) -> str:
    """Return a valid 10-digit NPI whose first nine digits are ``base`` (100000000-299999999)."""
    nine = f"{base:09d}"
    return nine + str(luhn_check_digit("80840" + nine))


def break_npi(npi: str) -> str:
    """Return the NPI as a feed gets it wrong: a wrong check digit, or a letter typed in it.

    An NPI whose base is even gets a wrong check digit; an odd one gets the letter O typed
    for its last digit, the typo that makes an NPI text no cast to a number can read (the
    raw suite and the marts' test must flag it, not fail on it). Chosen by the NPI itself,
    so a world stays the same for a seed.
    """
    if int(npi[:9]) % 2:
        return npi[:9] + "O"
    return npi[:9] + str((int(npi[9]) + 5) % 10)
