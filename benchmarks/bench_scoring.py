"""Where a 1,000-entity scoring request's time goes, in-process, on the ``make run`` champions.

    python -m benchmarks.bench_scoring [--repeats 30]

Run ``make run`` first (it trains and promotes the champions this reads). For 1,000 different
leads and 1,000 different customers (``bench_serving.varied_batch``), prints the median time of
each stage of ``POST /v1/{leads,customers}/score`` without HTTP: JSON parsing, validation, online
features, scoring with contributions, the reasons and the response; and the contributions from
the per-tree SHAP tables beside LightGBM's own ``pred_contrib`` on the same rows, with the
largest difference between the two.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.bench_serving import AS_OF, varied_batch
from features.contract.tasks import Task
from features.model.reasons import explain
from serving.api.rendering import json_response
from serving.api.routers.scoring import _render
from serving.api.schemas.requests import ScoreCustomersRequest, ScoreLeadsRequest
from serving.scoring.request_scoring import score_online, to_entity_input
from serving.settings import Settings
from serving.wiring import build_online_features, build_services


def _median_ms(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    services = build_services(Settings(poll_seconds=0))
    services.models.reload()
    gc.collect()
    gc.freeze()  # as the service does at startup
    for task, kind, request in (
        (Task.LEADS, "lead", ScoreLeadsRequest),
        (Task.CHURN, "customer", ScoreCustomersRequest),
    ):
        served = services.models.current(task)
        if served is None:
            raise SystemExit(f"no {task} champion: run `make run` first")
        collection = f"{kind}s"
        entities = varied_batch(kind, 1000, seed=7)
        body = json.dumps({"as_of": AS_OF.isoformat(), collection: entities})
        r = args.repeats
        print(f"1,000 {collection}, median of {r} runs:")
        ms, raw = _median_ms(lambda b=body: json.loads(b), r)
        print(f"  JSON parsing                 {ms:7.1f} ms")
        ms, parsed = _median_ms(lambda m=request, x=raw: m.model_validate(x), r)
        print(f"  validation                   {ms:7.1f} ms")
        items = getattr(parsed, collection)
        inputs = [to_entity_input(task, e) for e in items]
        ms, rows = _median_ms(
            lambda i=inputs, t=task, s=served: build_online_features(t, s.model, i, as_of=AS_OF), r
        )
        print(f"  online features              {ms:7.1f} ms")
        ms, scores = _median_ms(lambda s=served, x=rows: s.model.score(x), r)
        print(f"  scores + contributions       {ms:7.1f} ms")
        ms, _ = _median_ms(
            lambda s=served, x=rows, c=scores: explain(s.model, x, c.contributions, top_k=5), r
        )
        print(f"  reasons                      {ms:7.1f} ms")
        ms, results = _median_ms(
            lambda s=served, i=items, c=collection: score_online(
                services, s, i, as_of=AS_OF, received_at=AS_OF, collection=c
            ),
            r,
        )
        print(f"  scoring: features to reasons {ms:7.1f} ms")
        ms, _ = _median_ms(
            lambda s=served, i=items, res=results: json_response(
                {"as_of": AS_OF, "results": _render(services, s, i, res, AS_OF)}
            ),
            r,
        )
        print(f"  response                     {ms:7.1f} ms")
        plan = served.model.plan()
        encoded = plan.encode(rows)
        if plan.shap is None:
            print("  (this model's trees are too large for SHAP tables)")
            continue
        ms, tables = _median_ms(lambda p=plan, e=encoded: p.shap.contributions(e), r)
        print(f"  contributions, SHAP tables   {ms:7.1f} ms")
        ms, booster = _median_ms(
            lambda p=plan, e=encoded: p.booster.predict(e, pred_contrib=True, num_threads=1), r
        )
        print(f"  contributions, pred_contrib  {ms:7.1f} ms")
        print(f"  largest difference           {np.abs(tables - booster).max():.1e}")


if __name__ == "__main__":
    main()
