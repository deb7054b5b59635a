"""Why a champion is not served, in two registers: in full, and without internals.

The full text (exception messages naming files, folders, tracking-server URLs) goes to the
logs, to ``POST /v1/admin/reload`` and to CRM and admin keys on ``GET /v1/models``. Public
places (``/health/ready``, which needs no key, and rep keys on ``/v1/models``) get
``public_reason``: a sentence built here from the kind of failure, which never holds a path.
"""

from __future__ import annotations

from features.model.artifact_contract import ModelIntegrityError
from features.model.scoring_model import SavedBeforeTheLayout
from serving.champions.compatibility import SlotMismatch
from serving.champions.source import (
    NoChampion,
    RegistryTimeout,
    RegistryUnavailable,
    UnverifiableVersion,
)

# Our own messages, written without paths: shown as they are.
_SELF_DESCRIBED = (SlotMismatch, UnverifiableVersion, NoChampion)


def public_reason(error: BaseException, *, where: str) -> str:
    """A path-free sentence for ``error`` met while loading ``where`` ("salesradar-leads v2",
    or "" when no version is known)."""
    if isinstance(error, _SELF_DESCRIBED):
        return str(error)
    if isinstance(error, RegistryTimeout):
        what = "the registry did not answer in time"
    elif isinstance(error, RegistryUnavailable):
        what = "the registry could not be asked"
    elif isinstance(error, SavedBeforeTheLayout):
        what = SavedBeforeTheLayout.reason  # the one line of what to do, without the file
    elif isinstance(error, ModelIntegrityError):
        what = (
            "the artifact failed verification (a file is missing, differs from its recorded "
            "sha256, or needs an untrusted type)"
        )
    else:
        what = "the model could not be loaded or warmed up"
    return f"{where}: {what}" if where else what


class ReloadInProgress(RuntimeError):
    """A reload is already running; this one was not started (reloads are coalesced)."""

    def __init__(self, *, trigger: str, started_at: str) -> None:
        super().__init__(f"reload already in progress (started by {trigger} at {started_at})")
        self.trigger = trigger
        self.started_at = started_at
