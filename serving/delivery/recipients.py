"""Who receives a rep's email: a CSV file mapping each ``owner_id`` to an address.

The scores store knows reps only by the CRM's ``owner_id`` (the same id a rep key carries, see
``serving.store.keys``); the address book lives in the CRM or the mail system, so the team exports
it as a small CSV named by ``SALESRADAR_DELIVERY__RECIPIENTS_FILE``::

    owner_id,email,name
    O-017,ana.silva@example.com,Ana Silva

``name`` is optional (column may be absent or empty). A CSV rather than TOML because that is
what a CRM's user report exports.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path

from features.errors import UserError

REQUIRED_COLUMNS = ("owner_id", "email")
OPTIONAL_COLUMNS = ("name",)


@dataclass(frozen=True)
class Recipient:
    """One rep's mailbox: ``owner_id`` as in the scores store, ``address`` for the To header."""

    owner_id: str
    address: Address


def _address(text: str, name: str, *, where: str) -> Address:
    """``text`` as a single addr-spec (``local@domain``); ``UserError`` naming ``where`` else."""
    try:
        address = Address(display_name=name, addr_spec=text)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise UserError(f"{where}: not an email address: {text!r} ({exc})") from None
    if not address.username or not address.domain:
        raise UserError(f"{where}: not an email address: {text!r} (needs local@domain)")
    return address


def load_recipients(path: Path) -> dict[str, Recipient]:
    """Read the owner -> address CSV at ``path`` (UTF-8, header row first).

    Returns recipients by ``owner_id``. Raises ``UserError`` naming the file, row (1 is the
    header) and column for: a missing file, missing or unknown columns, an empty ``owner_id``,
    an ``owner_id`` listed twice, or a value that is not one ``local@domain`` address.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = tuple(reader.fieldnames or ())
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            if missing or unknown:
                raise UserError(
                    f"{path}: row 1: columns must be owner_id,email[,name]; "
                    f"missing: {', '.join(missing) or '-'}; unknown: {', '.join(unknown) or '-'}"
                )
            found: dict[str, Recipient] = {}
            for number, record in enumerate(reader, start=2):
                if None in record or any(record.get(c) is None for c in columns):
                    raise UserError(f"{path}: row {number}: expected {len(columns)} fields")
                owner = record["owner_id"].strip()
                if not owner:
                    raise UserError(f"{path}: row {number}, column owner_id: empty")
                if owner in found:
                    raise UserError(f"{path}: row {number}, column owner_id: {owner!r} twice")
                where = f"{path}: row {number}, column email"
                name = (record.get("name") or "").strip()
                found[owner] = Recipient(
                    owner, _address(record["email"].strip(), name, where=where)
                )
    except FileNotFoundError:
        raise UserError(f"{path}: recipients file not found") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return found
