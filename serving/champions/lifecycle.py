"""Model lifecycle: load champions, verify them, keep local copies, hot-swap on reload.

A reload resolves the champion alias, downloads and verifies the artifact, loads it, checks
that it fits the slot (``serving.champions.compatibility``: task, vocabulary, input columns) and
warms it (a full scoring pass) *before* swapping a single reference, so requests see the old model
or the new one, never a half-loaded one. A failed, corrupt or misfiled load keeps the old model and
its downloaded copy is removed. Reloads are coalesced: one runs at a time, and a reload asked
for while one runs (``wait=False``) is refused at once with ``ReloadInProgress``. When the
registry is unreachable the last verified local copy is served and the registry state reads
"degraded"; once a registry call times out, the rest of that reload does not ask it again.
Every reload re-verifies each task's local copy and repairs it from the registry when it can.

Each task is in one state (``ModelManager.state``): ``loading`` (its first load has not
finished), ``serving`` (a verified model is loaded), ``no_champion`` (the registry has no
champion for it: nothing to serve, not an error), ``failed`` (a champion exists, from the
registry or a local copy, but none could be loaded) or ``unknown`` (the registry could not be
asked and there is no local copy). The service is ready when at least one task is serving and
none is loading or has failed.
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

from features.contract.tasks import Task
from serving.champions.compatibility import check_model_fits
from serving.champions.load_errors import ReloadInProgress, public_reason
from serving.champions.local_copies import LocalCopies
from serving.champions.served import ServedModel
from serving.champions.source import (
    ChampionRef,
    ChampionSource,
    NoChampion,
    RegistryTimeout,
    RegistryUnavailable,
    UnverifiableVersion,
)
from serving.protocols import ModelLoader

logger = logging.getLogger(__name__)

Outcome = Literal["loaded", "unchanged", "failed", "degraded", "no_champion"]
TaskState = Literal["loading", "serving", "no_champion", "failed", "unknown"]
Trigger = Literal["startup", "poll", "admin", "cli"]
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
        self._in_flight: tuple[str, datetime] | None = None
        self._registry_silent: str | None = None  # set once a call timed out in this reload
        self._resolved: dict[Task, ChampionRef] = {}  # what this reload's registry answered
        # Tasks whose local copy a load of this reload hashed: not hashed again by _check_copy.
        self._loaded_copies: set[Task] = set()
        self.registry_state: Literal["ok", "degraded", "unknown"] = "unknown"
        # Per task, the last reload's failure: in full, and without internals (load_errors).
        self.last_errors: dict[Task, str] = {}
        self.public_errors: dict[Task, str] = {}
        # Per task, what is wrong with its current local copy (None: intact or none yet).
        self.copy_problems: dict[Task, str] = {}
        self.last_checked_at: datetime | None = None
        # Tasks the registry last said have no champion (and why), tasks whose champion exists
        # but could not be loaded, and tasks not yet tried: with ``_models`` they give ``state``.
        self.no_champion: dict[Task, str] = {}
        self._failed: set[Task] = set()
        self._not_tried: set[Task] = set(self.tasks)

    def current(self, task: Task) -> ServedModel | None:
        return self._models.get(task)

    def state(self, task: Task) -> TaskState:
        """What is known about serving ``task`` (see the module docstring)."""
        if task in self._models:
            return "serving"
        if task in self._not_tried:
            return "loading"
        if task in self._failed:
            return "failed"
        if task in self.no_champion:
            return "no_champion"
        return "unknown"

    def unavailable_reason(self, task: Task, *, internals: bool = True) -> str:
        """Why ``task`` has no served model, in one sentence naming the task; without
        ``internals`` the error part holds no file path or URL (``load_errors``)."""
        state = self.state(task)
        if state == "loading":
            return f"the {task.value} champion is still loading"
        if state == "no_champion":
            return f"no {task.value} model is served: {self.no_champion[task]}"
        if state == "failed":
            errors = self.last_errors if internals else self.public_errors
            return f"the {task.value} champion could not be loaded: {errors.get(task, 'unknown')}"
        # Only a registry that did not answer gets here (an answer is no_champion or failed):
        # say what it did instead, so a slow registry never reads as a missing model.
        errors = self.last_errors if internals else self.public_errors
        why = errors.get(task, "the registry was not asked")
        return (
            f"no {task.value} model is loaded: the registry did not answer ({why}); no local copy"
        )

    def task_states(self, *, internals: bool = True) -> dict[str, dict[str, str | None]]:
        """Per task: its state, the version served (if any), ``detail`` (why none is) and
        ``error`` (why the last reload of it failed, also while an older version serves)."""
        errors = self.last_errors if internals else self.public_errors
        out: dict[str, dict[str, str | None]] = {}
        for task in self.tasks:
            served = self._models.get(task)
            out[task.value] = {
                "state": self.state(task),
                "version": served.version if served else None,
                "detail": None if served else self.unavailable_reason(task, internals=internals),
                "error": errors.get(task),
            }
        return out

    @property
    def ready(self) -> bool:
        """At least one task is served; none is still loading or failed to load."""
        states = [self.state(task) for task in self.tasks]
        return "serving" in states and not {"failed", "loading"} & set(states)

    def reload(self, *, trigger: Trigger = "cli", wait: bool = True) -> list[ReloadResult]:
        """Bring every task to its champion (startup, polling, /v1/admin/reload, the CLI).

        With ``wait=False`` a reload already running is not waited for: ``ReloadInProgress``
        (naming what started it and when) is raised at once.
        """
        if not self._lock.acquire(blocking=wait):
            running = self._in_flight
            raise ReloadInProgress(
                trigger=running[0] if running else "another caller",
                started_at=f"{running[1]:%Y-%m-%dT%H:%M:%SZ}" if running else "just now",
            )
        try:
            self._in_flight = (trigger, self.clock())
            self._registry_silent = None
            self._resolved = {}
            self._loaded_copies = set()
            results = []
            for task in self.tasks:
                results.append(self._reload_task(task))
                self._not_tried.discard(task)
                self._check_copy(task, results[-1])
            self.last_checked_at = self.clock()
            degraded = any(r.outcome == "degraded" for r in results)
            self.registry_state = "degraded" if degraded else "ok"
            return results
        finally:
            self._in_flight = None
            self._lock.release()

    def load_in_background(self, *, then: Callable[[], None]) -> threading.Event:
        """Start the first load in a daemon thread and return an event set when it is over.

        Nothing waits on the registry: the caller (the app's startup) may answer requests at
        once, and tasks read ``loading`` until then. ``then`` runs after the load, in the
        thread, before the event is set.
        """
        done = threading.Event()

        def run() -> None:
            try:
                for result in self.reload(trigger="startup"):
                    logger.info("startup: %s", result)
                then()
            except Exception:  # logged, and the tasks' states say what is served
                logger.exception("the startup load failed")
            finally:
                done.set()

        threading.Thread(target=run, name="champion-startup", daemon=True).start()
        return done

    def _resolve(self, task: Task) -> ChampionRef:
        if self.source is None:
            raise RegistryUnavailable("no model registry configured")
        if self._registry_silent is not None:
            raise RegistryUnavailable(f"not asked: {self._registry_silent}")
        try:
            ref = self.source.resolve(task)
        except RegistryTimeout as exc:
            # A registry that holds connections open answers no task: don't wait once per task.
            self._registry_silent = str(exc)
            raise
        self._resolved[task] = ref
        return ref

    def _fail(self, task: Task, error: BaseException, *, where: str) -> None:
        self.last_errors[task] = f"{where}: {error}" if where else str(error)
        self.public_errors[task] = public_reason(error, where=where)

    def _clear_error(self, task: Task) -> None:
        self.last_errors.pop(task, None)
        self.public_errors.pop(task, None)

    def _reload_task(self, task: Task) -> ReloadResult:
        old = self._models.get(task)
        old_version = old.version if old else None
        try:
            ref = self._resolve(task)
        except NoChampion as exc:
            # An answer, not an outage. A model already loaded keeps serving (as after any
            # failed reload); nothing else is loaded, not even a local copy.
            logger.info("no champion for %s: %s", task, exc)
            self.no_champion[task] = str(exc)
            self._failed.discard(task)
            self._clear_error(task)
            return ReloadResult(task, "no_champion", old_version, old_version)
        except RegistryUnavailable as exc:
            logger.warning("registry unavailable for %s: %s", task, exc)
            self._fail(task, exc, where="")
            if old is None:
                self._serve_local_copy(task)
            new = self._models.get(task)
            return ReloadResult(
                task, "degraded", new.version if new else None, old_version, str(exc)
            )
        except UnverifiableVersion as exc:
            # The registry answered; this version cannot be verified, so it is never served.
            return self._failed_load(task, exc, where="", old=old)
        if old is not None and old.version == ref.version and dict(old.sha256) == dict(ref.sha256):
            return ReloadResult(task, "unchanged", old.version, old_version)
        try:
            served = self._fetch_and_warm(ref)
        except Exception as exc:  # any load failure keeps the old model serving
            return self._failed_load(task, exc, where=f"{ref.name} v{ref.version}", old=old)
        self._models[task] = served  # the swap: one reference assignment
        self._clear_error(task)
        self.no_champion.pop(task, None)
        self._failed.discard(task)
        logger.info("serving %s v%s (was %s)", ref.name, ref.version, old_version)
        return ReloadResult(task, "loaded", served.version, old_version)

    def _failed_load(
        self, task: Task, exc: Exception, *, where: str, old: ServedModel | None
    ) -> ReloadResult:
        old_version = old.version if old else None
        logger.error("loading %s failed (%s); keeping %s", where or task, exc, old_version)
        self._fail(task, exc, where=where)
        self.no_champion.pop(task, None)
        if old is None:
            self._failed.add(task)
            self._serve_local_copy(task)
        new = self._models.get(task)
        message = f"{where}: {exc}" if where else str(exc)
        return ReloadResult(task, "failed", new.version if new else None, old_version, message)

    def _download_copy(self, ref: ChampionRef) -> Path:
        """Download and keep a verified local copy of ``ref``; returns its folder.

        The copy, not the download, is hashed (``LocalCopies.keep``): a bad download fails there
        and leaves nothing behind, and no file is hashed twice on the way in.
        """
        assert self.source is not None
        self.copies.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.copies.root, prefix=".download-") as tmp:
            artifact = self.source.download(ref, Path(tmp))
            return self.copies.keep(ref, artifact)

    def _fetch_and_warm(self, ref: ChampionRef) -> ServedModel:
        try:
            local = self._download_copy(ref)
            served = self._load_and_warm(ref, local, source="registry")
        except BaseException:
            self.copies.discard(ref.task, ref.version)  # a version that failed leaves no copy
            raise
        self.copies.make_current(ref.task, ref.version)
        return served

    def _load_and_warm(self, ref: ChampionRef, folder: Path, *, source: str) -> ServedModel:
        # The loader verifies every file against ref.sha256 before parsing it (one hash a file).
        model = self.loader(folder, dict(ref.sha256))
        check_model_fits(ref.task, model, name=ref.name, version=ref.version)
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
        self._loaded_copies.add(ref.task)
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
            self.public_errors[task] = "local copy: " + public_reason(
                exc, where=f"{ref.name} v{ref.version}"
            )
            self._failed.add(task)  # a champion existed, since a copy of it did

    def _check_copy(self, task: Task, result: ReloadResult) -> None:
        """Re-verify ``task``'s local copy, so a corrupt one is found before it is needed;
        a copy of the version served is downloaded again while the registry answers."""
        problem = None if task in self._loaded_copies else self.copies.check_current(task)
        ref = self._resolved.get(task)
        if problem is not None and result.outcome == "unchanged" and ref is not None:
            logger.warning("%s; downloading it again", problem)
            try:
                self._download_copy(ref)
                self.copies.make_current(task, ref.version)
                problem = None
            except Exception as exc:
                problem = f"{problem}; downloading it again failed: {exc}"
        if problem is None:
            self.copy_problems.pop(task, None)
        else:
            logger.error("%s", problem)
            self.copy_problems[task] = problem


class ChampionPoller:
    """Background thread that calls ``manager.reload()`` every ``interval`` seconds; a poll
    that finds a reload running skips its turn instead of queueing behind it."""

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
            try:
                results = self.manager.reload(trigger="poll", wait=False)
            except ReloadInProgress as exc:
                logger.info("poll skipped: %s", exc)
                continue
            for result in results:
                if result.outcome in ("loaded", "failed"):
                    logger.info("poll: %s", result)
