"""How a feature reads: a short label and, optionally, one sentence per case of its value.

``Wording`` is defined here once: the registry (``features.definitions.registry``) builds it, the
reasons (``features.model.reasons``) read it directly and the saved model keeps it
(``features.model.scoring_model``), so no text is ever parsed back into label and cases.

The label ("Days since the last order") is what model cards and feature lists show; it is also
the fallback sentence, "label: value". Each ``Case`` is a whole sentence for one kind of value,
picked from the value as it is shown (rounded by its unit):

- ``missing``: there is no value ("Never ordered");
- ``=<number>``: that exact shown value, e.g. ``=0`` / ``=1`` for the zero and singular forms
  (a ratio in its own scale: ``=1`` is 100%);
- ``<0``: a negative value, in which ``{value}`` is the magnitude (the words carry the sign);
- ``other``: any other value.

Label and sentences may name ``{value}`` (this feature's value formatted by its unit) and
``{<feature>}`` (another feature's value in the same row). Any text is allowed in a label or a
sentence, " | " and ":" included: nothing is split on them.

Saved form (``to_dict`` / ``from_dict``, the ``description`` of each feature in a model's
``model.json`` from format version 5): ``{"label": str, "cases": [{"when": key, "text": str},
...]}``, cases in order. Manifests of format versions 3 and 4 hold the old one-string form
``"label | key: sentence | ..."``, read once at load by ``from_legacy_text``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The fixed case keys; "=<number>" keys are checked by ``_is_case_key``.
FIXED_KEYS: frozenset[str] = frozenset({"missing", "other", "<0"})
# The string form of format versions 3 and 4 (read only, in ``from_legacy_text``).
_LEGACY_SEPARATOR = " | "


class WordingError(ValueError):
    """A wording that cannot be used: an unknown case key, a repeated one, or a malformed saved
    form (the message names the field)."""


def _is_case_key(key: str) -> bool:
    """``missing``, ``other``, ``<0`` or ``=<decimal number>`` (``=0``, ``=-1``, ``=0.5``)."""
    if key in FIXED_KEYS:
        return True
    if not key.startswith("="):
        return False
    whole, dot, fraction = key[1:].removeprefix("-").partition(".")
    return _digits(whole) and (not dot or _digits(fraction))


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Case:
    """One sentence of a wording: ``text`` when the shown value is of kind ``when``.

    ``when``: ``missing``, ``other``, ``<0`` or ``=<number>`` (see the module docstring).
    Raises ``WordingError`` for any other key.
    """

    when: str
    text: str

    def __post_init__(self) -> None:
        if not _is_case_key(self.when):
            raise WordingError(f"case key {self.when!r}: expected missing, other, <0 or =<number>")

    @property
    def number(self) -> float | None:
        """The number of an ``=<number>`` case, else None."""
        return float(self.when[1:]) if self.when.startswith("=") else None


@dataclass(frozen=True)
class Wording:
    """A feature's label and its cases, in order; at most one case per key.

    Raises ``WordingError`` when two cases share a key.
    """

    label: str
    cases: tuple[Case, ...] = ()

    def __post_init__(self) -> None:
        keys = [case.when for case in self.cases]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise WordingError(f"wording {self.label!r}: case(s) {', '.join(repeated)} repeated")

    @classmethod
    def of(cls, label: str, cases: Mapping[str, str] | None = None) -> Wording:
        """``label`` with one case per ``{key: sentence}`` of ``cases``, in order."""
        return cls(label, tuple(Case(key, text) for key, text in (cases or {}).items()))

    def case(self, when: str) -> str | None:
        """The sentence of case ``when``, or None when the wording has none."""
        return next((case.text for case in self.cases if case.when == when), None)

    def to_dict(self) -> dict[str, Any]:
        """The saved form (see the module docstring): plain JSON types."""
        return {
            "label": self.label,
            "cases": [{"when": case.when, "text": case.text} for case in self.cases],
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "description") -> Wording:
        """The wording saved by ``to_dict``; ``where`` names the field in errors.

        Raises ``WordingError`` naming the field when ``data`` is not exactly that shape.
        """
        if not isinstance(data, dict) or set(data) != {"label", "cases"}:
            raise WordingError(f"{where}: expected an object with exactly label and cases")
        label, cases = data["label"], data["cases"]
        if not isinstance(label, str):
            raise WordingError(f"{where}.label: expected a string")
        if not isinstance(cases, list):
            raise WordingError(f"{where}.cases: expected a list")
        parsed = []
        for index, case in enumerate(cases):
            at = f"{where}.cases[{index}]"
            if not isinstance(case, dict) or set(case) != {"when", "text"}:
                raise WordingError(f"{at}: expected an object with exactly when and text")
            if not isinstance(case["when"], str) or not isinstance(case["text"], str):
                raise WordingError(f"{at}: when and text must be strings")
            try:
                parsed.append(Case(case["when"], case["text"]))
            except WordingError as error:
                raise WordingError(f"{at}: {error}") from None
        try:
            return cls(label, tuple(parsed))
        except WordingError as error:
            raise WordingError(f"{where}: {error}") from None

    @classmethod
    def from_legacy_text(cls, text: str) -> Wording:
        """A description saved as one string by format versions 3 and 4 ("label | key:
        sentence | ..."). As the old reader did, cases that do not all read "key: sentence" with
        a known key are dropped whole (the label is kept); a repeated key keeps its first."""
        label, *parts = text.split(_LEGACY_SEPARATOR)
        cases: dict[str, str] = {}
        for part in parts:
            key, colon, sentence = part.partition(": ")
            if not colon or not sentence or not _is_case_key(key):
                return cls(label)
            cases.setdefault(key, sentence)
        return cls.of(label, cases)
