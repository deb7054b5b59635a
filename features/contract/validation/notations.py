"""Number notations of other locales that the contract's parser reads wrongly or not at all.

salesradar reads "." as the decimal point and no thousands separator (``parse_amount_sql``), so
a European export's "1.234" (one thousand two hundred and thirty-four) parses as 1.234 and its
"0,5" is not a number. Nothing here changes how values are read (nothing is guessed); these
patterns only let validation warn that the values probably do not mean what they parse as.
Patterns are DuckDB regular expressions (RE2), matched against a whole value with
``regexp_full_match``.
"""

from __future__ import annotations

# Digits in groups of three after each dot: "1.234", "-12.345", "12.345.678". With one dot the
# value parses, as a decimal; with more it is not a number. A group never starts with 0, so
# "0.125" (a decimal with three places) is not one.
THOUSANDS_DOT = r"-?[1-9]\d{0,2}(\.\d{3})+"

# A decimal comma, optionally with dots between groups of three: "0,5", "-3,25", "12.345,67".
DECIMAL_COMMA = r"-?(\d{1,3}(\.\d{3})+|\d+),\d+"

# A comma between groups of three and nothing else ("1,250", "12,345,678"): as likely a
# thousands separator as a decimal comma, so it alone does not make a column "decimal comma".
THOUSANDS_COMMA = r"-?\d{1,3}(,\d{3})+"

THOUSANDS_DOT_MESSAGE = (
    "looks like a thousands separator (first: '{value}'): read as a decimal number, because "
    "salesradar reads '.' as the decimal point and has no thousands separator; write the "
    "number without it (1234, not 1.234)"
)

DECIMAL_COMMA_MESSAGE = (
    "looks like numbers with a decimal comma (first: '{value}'): read as text (categorical); "
    "write them with '.' as the decimal point and no thousands separator (12345.67) to use "
    "the attribute as a number"
)


def matches_sql(expr: str, pattern: str) -> str:
    """SQL: whether the text ``expr`` is, as a whole, of ``pattern`` (NULL for NULL)."""
    return f"regexp_full_match({expr}, '{pattern}')"
