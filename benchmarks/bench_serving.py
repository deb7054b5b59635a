"""Serving figures: API latency on 127.0.0.1 (one uvicorn worker), batch scoring time, and
``mlflow models serve`` on the same champion for comparison.

    python -m benchmarks.bench_serving [--customers 100000 --customer-events 10000000
                                        --leads 20000 --lead-events 1000000 --requests 1000
                                        --batch-requests 100]

Most of the time goes to the three series of 1,000-entity requests (20 warm-up +
``--batch-requests`` each, about 1 s per request for the API and 2.6 s for MLflow's server on 2
busy cores). The default 100 keeps the whole run near 30 min on such a box (1,000 would take
about 1 h 50 min); the p99 of a 1,000-entity series is then the second-slowest of 100 requests.

Everything lives in a temporary folder: a DuckDB-generated export (deterministic for ``--seed``),
real champions fitted through ``features.model.scoring_model`` on a slice of it with the production
tree settings (``training/config.toml``) and registered in an embedded MLflow store as training
registers them (the pyfunc scorer, ``training.pyfunc``; the bare sklearn estimator in the run),
a SQLite scores database. Steps: (1) batch-score the export in a child process (time, peak RSS);
(2) start ``salesradar serve`` and time ``--requests`` sequential requests of each kind over one
keep-alive connection; (3) start ``mlflow models serve -m models:/salesradar-leads@champion
--env-manager local`` and send it the same raw requests as the API (one lead with 50 events, the
1,000-lead batch; features and reasons computed on both sides), checking that it scores them
like the API, with the p50 ratio; (4) serve the bare estimator from the run and send it the
same lead's precomputed feature vector. Each server's peak RSS is printed before it is killed
(in ``finally``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

AS_OF = datetime(2026, 1, 1)
BIN = Path(sys.executable).parent
JSON_HEADERS = {"Content-Type": "application/json"}
_MACRO = "CREATE MACRO h(i, k, n) AS CAST(hash(i, {seed}, k) % n AS BIGINT)"
_TABLES = {
    "leads": """
        SELECT 'L' || lpad(i::VARCHAR, 7, '0') AS lead_id,
               TIMESTAMP '2025-01-01' + to_seconds(h(i, 1, 28000000)) AS created_at,
               'o' || h(i, 2, 40) AS owner_id,
               CASE WHEN h(i, 3, 4) = 0 THEN TIMESTAMP '2025-01-01'
                    + to_seconds(h(i, 1, 28000000)) + INTERVAL 20 DAY END AS converted_at,
               (1000 + h(i, 4, 90000))::DOUBLE AS expected_value,
               ['retail', 'software', 'health', 'logistics'][1 + h(i, 5, 4)] AS industry
        FROM range(1, {leads} + 1) t(i)""",
    "customers": """
        SELECT 'C' || lpad(i::VARCHAR, 7, '0') AS customer_id,
               TIMESTAMP '2022-01-01' + to_seconds(h(i, 1, 31536000)) AS created_at,
               'o' || h(i, 2, 40) AS owner_id,
               CASE WHEN h(i, 3, 10) = 0 THEN TIMESTAMP '2025-11-01' END AS churned_at,
               (1000 + h(i, 4, 200000))::DOUBLE AS annual_value,
               ['gold', 'silver', 'bronze'][1 + h(i, 5, 3)] AS plan
        FROM range(1, {customers} + 1) t(i)""",
    # Customers stop ordering at a per-customer moment, so that churn is learnable.
    "customer_events": """
        SELECT 'C' || lpad((1 + c)::VARCHAR, 7, '0') AS customer_id,
               TIMESTAMP '2023-01-01' + to_seconds(h(i, 2, 20000000 + 4 * h(c, 7, 20000000)))
                   AS occurred_at,
               ['order', 'support_ticket', 'check_in'][1 + h(i, 3, 3)] AS type,
               CASE WHEN h(i, 3, 3) = 0 THEN h(i, 4, 5000)::DOUBLE END AS value,
               ['phone', 'email', 'web'][1 + h(i, 5, 3)] AS channel
        FROM (SELECT i, h(i, 1, {customers}) AS c FROM range(1, {customer_events} + 1) t(i))""",
    "lead_events": """
        SELECT 'L' || lpad((1 + h(i, 1, {leads}))::VARCHAR, 7, '0') AS lead_id,
               TIMESTAMP '2025-01-01' + to_seconds(h(i, 1, 28000000) + h(i, 2, 2500000))
                   AS occurred_at,
               ['email_open', 'call', 'meeting', 'demo', 'quote'][1 + h(i, 3, 5)] AS type,
               CASE WHEN h(i, 3, 5) = 4 THEN h(i, 4, 9000)::DOUBLE END AS value,
               ['inbound', 'outbound'][1 + h(i, 5, 2)] AS direction
        FROM range(1, {lead_events} + 1) t(i)""",
}


def build_export(folder: Path, *, sizes: dict[str, int], seed: int) -> None:
    """Write a contract-valid Parquet export; nothing happens at or after ``AS_OF``."""
    from features.contract.export import new_connection

    folder.mkdir(parents=True, exist_ok=True)
    con = new_connection()
    con.execute("SET enable_progress_bar = false")
    con.execute(_MACRO.format(seed=seed))
    for name, sql in _TABLES.items():
        con.execute(f"COPY ({sql.format(**sizes)}) TO '{folder}/{name}.parquet' (FORMAT parquet)")
    # Lead events after a conversion or the as-of time would be invalid: drop them.
    con.execute(f"""COPY (SELECT e.* FROM '{folder}/lead_events.parquet' e
        JOIN '{folder}/leads.parquet' l USING (lead_id)
        WHERE e.occurred_at < COALESCE(l.converted_at, TIMESTAMP '{AS_OF}')
          AND e.occurred_at >= l.created_at AND e.occurred_at < TIMESTAMP '{AS_OF}')
        TO '{folder}/lead_events_ok.parquet' (FORMAT parquet)""")
    os.replace(folder / "lead_events_ok.parquet", folder / "lead_events.parquet")
    con.execute(f"""COPY (SELECT e.* FROM '{folder}/customer_events.parquet' e
        JOIN '{folder}/customers.parquet' c USING (customer_id)
        WHERE e.occurred_at >= c.created_at AND e.occurred_at < TIMESTAMP '{AS_OF}'
          AND e.occurred_at < COALESCE(c.churned_at, TIMESTAMP '{AS_OF}'))
        TO '{folder}/ce_ok.parquet' (FORMAT parquet)""")
    os.replace(folder / "ce_ok.parquet", folder / "customer_events.parquet")
    con.close()


def register_champions(root: Path, export_dir: Path, tracking_uri: str) -> dict[Any, str]:
    """Fit each task on the export's history and register it as ``champion`` (the pyfunc
    scorer, ``training.pyfunc``); returns each task's run id (its ``model/`` is the bare
    estimator)."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    from features.compute.snapshots import build_training_set
    from features.contract.loading import load_export
    from features.contract.tasks import TASK_TABLES, Task
    from features.definitions.vocabulary import learn_vocabulary
    from features.model.scoring_model import TRUSTED_TYPES
    from training.config import load_config
    from training.pyfunc import log_scorer
    from training.tree_fit import fit_scoring_model

    config = load_config()
    trees = config.trees
    export = load_export(export_dir, as_of=AS_OF)
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.create_experiment("bench", artifact_location=str(root / "mlartifacts"))
    cutoffs = [datetime(2025, m, 1) for m in range(3, 11)]
    runs = {}
    for task in Task:
        vocabulary = learn_vocabulary(export, task=task, before=AS_OF, settings=config.vocabulary)
        training = build_training_set(
            export, task=task, cutoffs=cutoffs, horizon=timedelta(days=60), vocabulary=vocabulary
        )
        frame = training.frame.sample(n=min(len(training.frame), 40_000), random_state=1)
        # The production tree settings (training/config.toml), so latency is the champion's.
        model = fit_scoring_model(
            frame,
            training.specs,
            task=task,
            vocabulary=vocabulary,
            seed=1,
            params=trees.params,
            calibration_method=trees.calibration,
            min_level_count=trees.min_level_count,
        )
        name = TASK_TABLES[task].model_name
        with mlflow.start_run(experiment_id=experiment) as run:
            hashes = model.save(root / "staging" / task.value)
            mlflow.log_artifacts(str(root / "staging" / task.value), "scoring_model")
            mlflow.set_tags({f"sha256.{f}": d for f, d in hashes.items()})
            numeric = [s.name for s in model.feature_specs if s.dtype == "numeric"]
            example = frame[model.feature_names].head(5).astype(dict.fromkeys(numeric, "float64"))
            # The bare estimator in the run (served from it for the precomputed-vector figure)...
            mlflow.sklearn.log_model(
                model.estimator,
                name="model",
                serialization_format="skops",
                skops_trusted_types=list(TRUSTED_TYPES),
                input_example=example,
                signature=infer_signature(example, model.estimator.predict_proba(example)),
                pyfunc_predict_fn="predict_proba",
                pip_requirements=["scikit-learn", "lightgbm", "skops"],
            )
            # ...and the whole scorer registered, as training registers it.
            info = log_scorer(
                model,
                root / "staging" / task.value,
                sha256=hashes,
                name=name,
                run_id=run.info.run_id,
                as_of=AS_OF,
            )
            client.set_registered_model_alias(name, "champion", info.registered_model_version)
            runs[task] = run.info.run_id
    export.close()
    return runs


def batch_child(env: dict[str, str], export_dir: str, out: Any) -> None:
    """Child process: ``salesradar score`` logic, timed; reports (seconds, rss kB, counts)."""
    os.environ.update(env)
    from features.contract.loading import load_export
    from features.contract.tasks import Task
    from serving.scoring.batch import score_export
    from serving.settings import Settings
    from serving.wiring import build_services, utc_now

    services = build_services(Settings())
    services.models.reload()
    models = {t: services.models.current(t) for t in Task}
    started = time.perf_counter()
    export = load_export(Path(export_dir), as_of=AS_OF)
    loaded = time.perf_counter() - started
    summary = score_export(
        export,
        as_of=AS_OF,
        models=models,
        store=services.store,  # type: ignore[arg-type]
        settings=services.settings,
        explain=services.explain,
        clock=utc_now,
    )
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put((seconds, loaded, rss, summary.counts, summary.feature_seconds))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_peak_rss(session: int) -> str:
    """Peak resident memory (``VmHWM``, Linux ``/proc``) of each live process of ``session``:
    a server started in its own session and the workers it forked (MLflow's uvicorn)."""
    peaks = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:  # fields after the name: state, ppid, pgrp, session
                continue
            status = stat.with_name("status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
        kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmHWM:")
        peaks.append(kb / 1024)
    parts = " + ".join(f"{mb:.0f}" for mb in sorted(peaks, reverse=True))
    return f"{sum(peaks):.0f} MB ({len(peaks)} processes: {parts} MB)"


@contextmanager
def server(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[int]:
    """Start a server process in its own session, wait until ``ready_url`` answers 200
    (bounded), yield its pid (= its session id), kill its session after."""
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited; see {log}:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} not ready after 180 s; see {log}")
            time.sleep(0.3)
        yield process.pid
    finally:
        # The server's own session: its children (MLflow's uvicorn) go down with it.
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@contextmanager
def mlflow_server(model_uri: str, env: dict[str, str], root: Path) -> Iterator[httpx.Client]:
    """``mlflow models serve -m model_uri --env-manager local`` (1 worker) and a client."""
    port = free_port()
    command = [str(BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager",
               "local", "-p", str(port), "-h", "127.0.0.1", "-w", "1"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with (
        server(command, env, f"{base}/ping", root / "mlflow.log") as session,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        yield client
        print(f"    peak RSS of MLflow's server: {session_peak_rss(session)}")


def pyfunc_rows(request: dict[str, Any]) -> list[dict[str, Any]]:
    """An API scoring request's leads as the registered model's input rows
    (``features.model.scorer_columns``): same entities, same ``as_of``."""
    rows = []
    for lead in request["leads"]:
        row = {k: v for k, v in lead.items() if k != "expected_value"}
        row["deal_value"] = lead.get("expected_value", lead.get("deal_value"))
        row["attributes"] = json.dumps(lead.get("attributes", {}))
        rows.append({**row, "as_of": request["as_of"]})
    return rows


def check_same_scores(label: str, api: list[dict[str, Any]], mlflow: list[dict[str, Any]]) -> None:
    """Both servers must give every lead the same scores and reasons, or the figures compare
    different work."""
    fields = ("probability", "score", "tier", "expected_value")
    for ours, theirs in zip(api, mlflow, strict=True):
        same = all(ours[f] == theirs[f] for f in fields)
        if not same or ours["reasons"] != json.loads(theirs["reasons"]):
            raise RuntimeError(f"{label}: MLflow scored {theirs['lead_id']} differently")


def measure(send: Callable[[int], httpx.Response], count: int) -> list[float]:
    """Milliseconds per request, after 20 warm-up requests; any non-200 aborts the benchmark."""
    for i in range(20):
        send(i).raise_for_status()
    times = []
    for i in range(count):
        started = time.perf_counter()
        response = send(i)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"  {label:<46} n={len(times):>5}  p50 {statistics.median(ordered):8.2f} ms"
        f"  p99 {p99:8.2f} ms"
    )


def one_lead(lead_id: str, events: int) -> dict[str, Any]:
    start = AS_OF - timedelta(days=events + 5)
    kinds = ("email_open", "call", "meeting", "demo", "quote")
    return {
        "lead_id": lead_id,
        "created_at": (start - timedelta(days=3)).isoformat(),
        "owner_id": "o1",
        "expected_value": 25000.0,
        "attributes": {"industry": "software"},
        "events": [
            {
                "occurred_at": (start + timedelta(days=i, hours=9)).isoformat(),
                "type": kinds[i % 5],
                "value": 1200.0 if i % 5 == 4 else None,
                "direction": "outbound",
                # Every categorical feature gets a value: MLflow's JSON input cannot carry a
                # missing text value (it arrives as a float NaN), so the comparison stays fair.
                "channel": "phone",
            }
            for i in range(events)
        ],
    }


def varied_batch(kind: str, count: int, *, seed: int) -> list[dict[str, Any]]:
    """``count`` different entities with 0-20 events each (10 on average), deterministic.

    Every entity differs (event count, types, times, values, attributes), so the batch costs
    what a real one does: no two rows share features or reasons.
    """
    import random

    rng = random.Random(seed)
    types = (
        ("email_open", "email_reply", "call", "meeting", "demo", "quote")
        if kind == "lead"
        else ("order", "support_ticket", "check_in")
    )
    entities = []
    for i in range(count):
        created = AS_OF - timedelta(days=rng.randint(30, 700), hours=rng.randint(0, 23))
        events = []
        for _ in range(rng.randint(0, 20)):
            event_type = rng.choice(types)
            event: dict[str, Any] = {
                "occurred_at": (created + (AS_OF - created) * rng.random()).isoformat(),
                "type": event_type,
                "channel": rng.choice(("phone", "email", "web", "video")),
                "direction": rng.choice(("inbound", "outbound")),
            }
            if event_type in ("quote", "order"):
                event["value"] = round(rng.uniform(100, 20_000), 2)
            events.append(event)
        entity: dict[str, Any] = {
            "created_at": created.isoformat(),
            "owner_id": f"o{rng.randint(0, 39)}",
            "events": events,
        }
        if kind == "lead":
            entity |= {
                "lead_id": f"L-batch-{i}",
                "expected_value": float(rng.randint(1_000, 90_000)),
                "attributes": {"industry": rng.choice(("retail", "software", "health"))},
            }
        else:
            entity |= {
                "customer_id": f"C-batch-{i}",
                "annual_value": float(rng.randint(1_000, 200_000)),
                "attributes": {"plan": rng.choice(("gold", "silver", "bronze"))},
            }
        entities.append(entity)
    return entities


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        measure_all(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def measure_all(root: Path, args: argparse.Namespace) -> None:
    export_dir = root / "export"
    sizes = {
        "seed": args.seed,
        "leads": args.leads,
        "customers": args.customers,
        "lead_events": args.lead_events,
        "customer_events": args.customer_events,
    }
    t0 = time.perf_counter()
    build_export(export_dir, sizes=sizes, seed=args.seed)
    print(f"export generated in {time.perf_counter() - t0:.1f} s under {root}")
    # Champions learn from a small export of the same generator (same columns and
    # attributes): fitting is not what this benchmark measures.
    train_dir = root / "train-export"
    build_export(
        train_dir,
        seed=args.seed + 1,
        sizes={
            "seed": args.seed + 1,
            "leads": 4_000,
            "customers": 4_000,
            "lead_events": 4_000 * args.lead_events // max(args.leads, 1),
            "customer_events": 4_000 * args.customer_events // max(args.customers, 1),
        },
    )
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    t0 = time.perf_counter()
    runs = register_champions(root, train_dir, tracking_uri)
    print(f"champions fitted and registered in {time.perf_counter() - t0:.1f} s")
    env = {
        "SALESRADAR_SCORES_URL": f"sqlite:///{root / 'scores.db'}",
        "SALESRADAR_SERVED_DIR": str(root / "served"),
        "SALESRADAR_MLFLOW_TRACKING_URI": tracking_uri,
        "SALESRADAR_POLL_SECONDS": "0",
        # On a busy machine the registry's first answer (a cold MLflow import) can take longer
        # than the service's 10 s default; this measures serving, not the registry.
        "SALESRADAR_REGISTRY_TIMEOUT_SECONDS": "120",
        "MLFLOW_TRACKING_URI": tracking_uri,
    }

    queue: Any = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(
        target=batch_child, args=(env, str(export_dir), queue)
    )
    child.start()
    seconds, loaded, rss, counts, feature_seconds = queue.get(timeout=3600)
    child.join()
    features = ", ".join(f"{task} {s:.1f} s" for task, s in feature_seconds.items())
    print(
        f"batch scoring ({counts}, {args.customer_events:,} customer events): "
        f"{seconds:.1f} s total (load+validate {loaded:.1f} s; scoring tables: {features}; "
        f"the rest is model, reasons and writes), peak RSS {rss / 1024:.0f} MB"
    )

    os.environ.update(env)
    from features.contract.tasks import Task
    from serving.settings import Settings
    from serving.store.database import ScoreStore
    from serving.store.keys import KeyStore, Role
    from serving.wiring import build_online_features, build_services

    store = ScoreStore.from_url(env["SALESRADAR_SCORES_URL"])
    _, token = KeyStore(store.engine).create(
        role=Role.CRM, owner_id=None, label="bench", created_at=AS_OF
    )
    ids = [s.entity_id for s in store.list_scores("customer", limit=1000).items]
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    ours = [str(BIN / "salesradar"), "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    print(f"API (uvicorn, 1 worker, 127.0.0.1), {args.requests} sequential requests each:")
    with (
        server(ours, env, f"{base}/health/ready", root / "serve.log") as session,
        httpx.Client(base_url=base, headers=headers, timeout=60) as client,
    ):
        lead = {"as_of": AS_OF.isoformat(), "leads": [one_lead("L-bench", 50)]}
        leads = {"as_of": AS_OF.isoformat(), "leads": varied_batch("lead", 1000, seed=args.seed)}
        api = {
            "1 lead": (lead, client.post("/v1/leads/score", json=lead).json()["results"]),
            "1,000 leads": (leads, client.post("/v1/leads/score", json=leads).json()["results"]),
        }
        api_times = {
            "1 lead": measure(lambda i: client.post("/v1/leads/score", json=lead), args.requests)
        }
        report("POST /v1/leads/score (1 lead, 50 events)", api_times["1 lead"])
        report(
            "GET /v1/customers/{id}",
            measure(lambda i: client.get(f"/v1/customers/{ids[i % len(ids)]}"), args.requests),
        )
        for kind, route in (("lead", "/v1/leads/score"), ("customer", "/v1/customers/score")):
            entities = varied_batch(kind, 1000, seed=args.seed)
            collection = "leads" if kind == "lead" else "customers"
            body = json.dumps({"as_of": AS_OF.isoformat(), collection: entities})
            events = sum(len(e["events"]) for e in entities)
            times = measure(
                lambda i, r=route, b=body: client.post(r, content=b, headers=JSON_HEADERS),
                args.batch_requests,
            )
            report(f"POST {route} (1,000 {collection}, {events:,} events)", times)
            if kind == "lead":
                api_times["1,000 leads"] = times
        report(
            "GET /v1/lists/at-risk (50 rows)",
            measure(lambda i: client.get("/v1/lists/at-risk"), args.requests),
        )
        print(f"    peak RSS of the API server: {session_peak_rss(session)}")

    # MLflow's own server on the registered model, on the same raw requests: features,
    # model, calibration, tiers and reasons inside MLflow (serving.champions.pyfunc).
    mlflow_env = {**env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    print(f"mlflow models serve (1 worker, 127.0.0.1), {args.requests} sequential requests each:")
    with mlflow_server("models:/salesradar-leads@champion", mlflow_env, root) as client:
        for label, (request, api_results) in api.items():
            payload = json.dumps({"dataframe_records": pyfunc_rows(request)})
            send = lambda i, p=payload: client.post(  # noqa: E731
                "/invocations", content=p, headers=JSON_HEADERS
            )
            check_same_scores(label, api_results, send(0).json()["predictions"])
            count = args.requests if label == "1 lead" else args.batch_requests
            times = measure(send, count)
            report(f"/invocations, raw ({label}, as the API's request)", times)
            ratio = statistics.median(times) / statistics.median(api_times[label])
            print(f"    MLflow / API p50 on the same request: {ratio:.2f}x")

    # The bare estimator on the same lead's features, precomputed: the model alone.
    services = build_services(Settings())
    services.models.reload()
    served = services.models.current(Task.LEADS)
    assert served is not None
    from serving.api.schemas.requests import LeadIn
    from serving.scoring.request_scoring import to_entity_input

    entity = to_entity_input(Task.LEADS, LeadIn.model_validate(one_lead("L-bench", 50)))
    frame = build_online_features(Task.LEADS, served.model, [entity], as_of=AS_OF).to_frame()
    payload = json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    )
    with mlflow_server(f"runs:/{runs[Task.LEADS]}/model", mlflow_env, root) as client:
        report(
            "/invocations, bare estimator (1 vector)",
            measure(
                lambda i: client.post("/invocations", content=payload, headers=JSON_HEADERS),
                args.requests,
            ),
        )
    print(
        f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--customer-events", type=int, default=10_000_000)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--lead-events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--batch-requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
