"""Model lifecycle: load champions, verify them, keep local copies, hot-swap on reload.

A reload resolves the champion alias, downloads and verifies the artifact, loads it and warms
it (a full scoring pass) *before* swapping a single reference, so requests see the old model or
the new one, never a half-loaded one. A failed or corrupt load keeps the old model. Reloads are
serialized by a lock. When the registry is unreachable the last verified local copy is served
and the registry state reads "degraded".

Each task is in one state (``ModelManager.state``): ``serving`` (a verified model is loaded),
``no_champion`` (the registry has no champion for it: nothing to serve, not an error),
``failed`` (a champion exists, from the registry or a local copy, but none could be loaded) or
``unknown`` (the registry could not be asked and there is no local copy). The service is ready
when at least one task is serving and none has failed.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from features.tasks import Task
from serving.champions import ChampionRef, ChampionSource, NoChampion, RegistryUnavailable
from serving.local_copies import LocalCopies, verify_files
from serving.protocols import ModelLoader
from serving.served import ServedModel

logger = logging.getLogger(__name__)

Outcome = Literal["loaded", "unchanged", "failed", "degraded", "no_champion"]
TaskState = Literal["serving", "no_champion", "failed", "unknown"]
# Reload outcomes that are not failures (a task without a champion is simply not served).
OK_OUTCOMES: frozenset[str] = frozenset({"loaded", "unchanged", "no_champion"})


@dataclass(frozen=True)
class ReloadResult:
    task: Task
    outcome: Outcome
    version: str | None  # the version served after the attempt
    previous_version: str | None
    error: str | None = None


class ModelManager:
    """Holds the served model of each task; ``current`` is a lock-free read of a reference."""

    def __init__(
        self,
        *,
        source: ChampionSource | None,
        copies: LocalCopies,
        loader: ModelLoader,
        warm: Callable[[ServedModel], None],
        clock: Callable[[], datetime],
        tasks: Iterable[Task] = (Task.LEADS, Task.CHURN),
    ) -> None:
        self.source = source
        self.copies = copies
        self.loader = loader
        self.warm = warm
        self.clock = clock
        self.tasks = tuple(tasks)
        self._models: dict[Task, ServedModel] = {}
        self._lock = threading.Lock()
        self.registry_state: Literal["ok", "degraded", "unknown"] = "unknown"
        self.last_errors: dict[Task, str] = {}
        self.last_checked_at: datetime | None = None
        # Tasks the registry last said have no champion (and why), and tasks whose champion
        # exists but could not be loaded: together with ``_models`` they give ``state``.
        self.no_champion: dict[Task, str] = {}
        self._failed: set[Task] = set()

    def current(self, task: Task) -> ServedModel | None:
        return self._models.get(task)

    def state(self, task: Task) -> TaskState:
        """What is known about serving ``task`` (see the module docstring)."""
        if task in self._models:
            return "serving"
        if task in self._failed:
            return "failed"
        if task in self.no_champion:
            return "no_champion"
        return "unknown"

    def unavailable_reason(self, task: Task) -> str:
        """Why ``task`` has no served model, in one sentence naming the task."""
        state = self.state(task)
        if state == "no_champion":
            return f"no {task.value} model is served: {self.no_champion[task]}"
        if state == "failed":
            error = self.last_errors.get(task, "unknown error")
            return f"the {task.value} champion could not be loaded: {error}"
        return f"no {task.value} model is loaded (registry not reachable, no local copy)"

    def task_states(self) -> dict[str, dict[str, str | None]]:
        """Per task: its state, the version served (if any) and, when none is, why."""
        out: dict[str, dict[str, str | None]] = {}
        for task in self.tasks:
            served = self._models.get(task)
            out[task.value] = {
                "state": self.state(task),
                "version": served.version if served else None,
                "detail": None if served else self.unavailable_reason(task),
            }
        return out

    @property
    def ready(self) -> bool:
        """At least one task is served and no task whose champion exists failed to load."""
        states = [self.state(task) for task in self.tasks]
        return "serving" in states and "failed" not in states

    def reload(self) -> list[ReloadResult]:
        """Bring every task to its champion (startup, polling and /v1/admin/reload)."""
        with self._lock:
            results = [self._reload_task(task) for task in self.tasks]
            self.last_checked_at = self.clock()
            degraded = any(r.outcome == "degraded" for r in results)
            self.registry_state = "degraded" if degraded else "ok"
            return results

    def _reload_task(self, task: Task) -> ReloadResult:
        old = self._models.get(task)
        old_version = old.version if old else None
        try:
            if self.source is None:
                raise RegistryUnavailable("no model registry configured")
            ref = self.source.resolve(task)
        except NoChampion as exc:
            # An answer, not an outage. A model already loaded keeps serving (as after any
            # failed reload); nothing else is loaded, not even a local copy.
            logger.info("no champion for %s: %s", task, exc)
            self.no_champion[task] = str(exc)
            self._failed.discard(task)
            self.last_errors.pop(task, None)
            return ReloadResult(task, "no_champion", old_version, old_version)
        except RegistryUnavailable as exc:
            logger.warning("registry unavailable for %s: %s", task, exc)
            self.last_errors[task] = str(exc)
            if old is None:
                self._serve_local_copy(task)
            new = self._models.get(task)
            return ReloadResult(
                task, "degraded", new.version if new else None, old_version, str(exc)
            )
        if old is not None and old.version == ref.version and dict(old.sha256) == dict(ref.sha256):
            return ReloadResult(task, "unchanged", old.version, old_version)
        try:
            served = self._fetch_and_warm(ref)
        except Exception as exc:  # any load failure keeps the old model serving
            logger.exception(
                "loading %s v%s failed; keeping %s", ref.name, ref.version, old_version
            )
            self.last_errors[task] = f"{ref.name} v{ref.version}: {exc}"
            self.no_champion.pop(task, None)
            if old is None:
                self._failed.add(task)
                self._serve_local_copy(task)
            new = self._models.get(task)
            return ReloadResult(task, "failed", new.version if new else None, old_version, str(exc))
        self._models[task] = served  # the swap: one reference assignment
        self.last_errors.pop(task, None)
        self.no_champion.pop(task, None)
        self._failed.discard(task)
        logger.info("serving %s v%s (was %s)", ref.name, ref.version, old_version)
        return ReloadResult(task, "loaded", served.version, old_version)

    def _fetch_and_warm(self, ref: ChampionRef) -> ServedModel:
        assert self.source is not None
        self.copies.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.copies.root, prefix=".download-") as tmp:
            artifact = self.source.download(ref, Path(tmp))
            verify_files(artifact, dict(ref.sha256))
            local = self.copies.keep(ref, artifact)
        served = self._load_and_warm(ref, local, source="registry")
        self.copies.make_current(ref.task, ref.version)
        return served

    def _load_and_warm(self, ref: ChampionRef, folder: Path, *, source: str) -> ServedModel:
        verify_files(folder, dict(ref.sha256))
        model = self.loader(folder, dict(ref.sha256))
        served = ServedModel(
            task=ref.task,
            model=model,
            name=ref.name,
            version=ref.version,
            sha256=dict(ref.sha256),
            loaded_at=self.clock(),
            source=source,
            run_id=ref.run_id,
            metrics=dict(ref.metrics),
        )
        self.warm(served)
        return served

    def _serve_local_copy(self, task: Task) -> None:
        found = self.copies.current(task)
        if found is None:
            logger.error("no verified local copy of the %s model either", task)
            return
        ref, folder = found
        try:
            self._models[task] = self._load_and_warm(ref, folder, source="local-copy")
            self._failed.discard(task)
            logger.warning("serving local copy of %s v%s", ref.name, ref.version)
        except Exception as exc:
            logger.exception("local copy of %s v%s is unusable", ref.name, ref.version)
            self.last_errors[task] = f"local copy: {exc}"
            self._failed.add(task)  # a champion existed, since a copy of it did


class ChampionPoller:
    """Background thread that calls ``manager.reload()`` every ``interval`` seconds."""

    def __init__(self, manager: ModelManager, *, interval: float) -> None:
        self.manager = manager
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="champion-poller", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for result in self.manager.reload():
                if result.outcome in ("loaded", "failed"):
                    logger.info("poll: %s", result)
