"""The names a model's features carry inside LightGBM: the user's spelling, made safe.

LightGBM (4.7, ``Dataset::set_feature_names`` in ``src/io/dataset.h``) replaces every space in a
feature name with ``_``, refuses the JSON characters ``" , : [ ] { }``
(``Common::CheckAllowedJSON``), and its model text (one ``feature_names=`` line, names joined by
spaces) cannot hold ``\\n`` or ``\\r``, nor ``\\0`` in a C string. Exports name attributes
``Umsatz mio`` or ``Region [EU]``; the model keeps those names for its reasons, and the booster
is fitted on ``lightgbm_name`` of each, so its column ``i`` is still checkably feature ``i``.
"""

from __future__ import annotations

import re

# Characters LightGBM rewrites, refuses, or cannot write into its model text (module doc).
_UNSAFE = frozenset(' ",:[]{}\n\r\0')
# What an escape looks like (XML's ``_xHHHH_``, as XmlConvert.EncodeName writes it).
_ESCAPE = re.compile(r"_x[0-9A-F]{4}_")


def lightgbm_name(name: str) -> str:
    """The name LightGBM keeps unchanged for the feature ``name``.

    Identity when ``name`` holds none of LightGBM's unsafe characters (space, ``" , : [ ] { }``,
    newline, carriage return, NUL) and no ``_xHHHH_`` escape, so the boosters saved before this
    mapping keep their names. Otherwise every unsafe character and every ``_`` becomes
    ``_xHHHH_`` (its code point, upper-case hex; ``"Umsatz mio"`` -> ``"Umsatz_x0020_mio"``).
    Injective: an escaped name holds no ``_`` outside escapes, so it decodes uniquely, and it
    holds an escape, which no identity-mapped name does. Raises ``ValueError`` for an empty name
    (LightGBM's model text cannot hold one).
    """
    if not name:
        raise ValueError("a feature name must not be empty")
    if _UNSAFE.isdisjoint(name) and _ESCAPE.search(name) is None:
        return name
    return "".join(
        f"_x{ord(char):04X}_" if char in _UNSAFE or char == "_" else char for char in name
    )
