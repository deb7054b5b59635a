"""The monitoring report of one batch run: plots, an HTML drift report (Jinja2), the MLflow run.

The MLflow run goes to the task's experiment, tagged with the model name and version, the
model's training run and the batch run it judges; a rerun on the same batch run and task replaces
the earlier monitoring run (deleted), so MLflow holds one per run and task, like the database.
Matplotlib's non-interactive backend is chosen inside ``write_plots`` (never at import).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import mlflow
import numpy as np
from mlflow import MlflowClient

from training.drift import DriftReport
from training.monitoring.outcomes import RunOutcome
from training.monitoring.reference import SCORE
from training.plots_reading import missing_glyphs_quiet
from training.tracking import TrackingConfig, experiment_id

MONITORING_TAG = "salesradar.monitoring"
BATCH_RUN_TAG = "batch_run_id"
LAST_RUN_TAG = "monitoring.last_run_id"  # model-version tag
HEADLINE_METRICS = ("roc_auc", "pr_auc", "ece", "precision_at_k", "revenue_share_at_k")

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>salesradar monitoring: {{ o.task.value }} run {{ o.run_id }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child{text-align:left}
.drifted{background:#fdd}.warning{background:#ffd}.partial{color:#a50}</style></head><body>
<h1>{{ o.task.value }}: batch run {{ o.run_id }} as of {{ o.as_of.strftime("%Y-%m-%d %H:%M") }}</h1>
<p>Model {{ o.model_name }} v{{ o.model_version }}. Outcomes observed over
[{{ o.as_of.strftime("%Y-%m-%d") }}, {{ o.window_end.strftime("%Y-%m-%d") }})
{% if o.partial %}<strong class="partial">PARTIAL: the {{ o.horizon_days }}-day window is still
open; outcomes so far</strong>{% else %}(the full {{ o.horizon_days }}-day horizon){% endif %};
monitored as of {{ monitored_as_of }}.</p>
<h2>What happened</h2>
<ul>{% for line in o.summary_lines() %}<li>{{ line }}</li>{% endfor %}</ul>
<table><tr><th>metric</th><th>realised</th></tr>
{% for name, value in metrics %}<tr><td>{{ name }}</td><td>{{ value }}</td></tr>{% endfor %}
</table>
<p>{{ o.matched }} of {{ o.scored }} scored entities found in the newer export;
{{ o.positives }} positive.</p>
<img alt="reliability curve" src="data:image/png;base64,{{ images.reliability }}">
<h2>Drift against training (reference cutoff {{ d.reference_cutoff }})</h2>
<p>{% if d.drifted %}<strong>Drifted: {{ d.drifted | join(", ") }}</strong>
{% else %}No alert.{% endif %} Unknown event types: {{ "%.1f" | format(100 * d.events.share) }}%
of {{ d.events.events }} events in the horizon before the run
{% if d.events.unknown_types %}({{ d.events.unknown_types | join(", ") }}){% endif %}.</p>
<img alt="score distribution" src="data:image/png;base64,{{ images.scores }}">
<img alt="PSI per feature" src="data:image/png;base64,{{ images.psi }}">
<table><tr><th>feature</th><th>kind</th><th>PSI</th><th>chi-square p</th><th>missing (train)</th>
<th>missing (run)</th><th>unseen levels</th><th>status</th></tr>
{% for f in [d.score] + d.features | list %}<tr class="{{ f.status }}"><td>{{ f.name }}</td>
<td>{{ f.kind }}</td><td>{{ "%.3f" | format(f.psi) }}</td><td>{{ "%.3g" | format(f.p_value) }}</td>
<td>{{ "%.1f" | format(100 * f.missing_reference) }}%</td>
<td>{{ "%.1f" | format(100 * f.missing_current) }}%</td>
<td>{{ "%.1f" | format(100 * f.unseen_share) }}%</td><td>{{ f.status }} {{ f.why }}</td></tr>
{% endfor %}</table>
{% if o.actions is none %}<p>Observational only: no rep actions are recorded, so these figures
say how the scores held up, not what working the lists changed.</p>
{% else %}<h2>Outcomes by reps' recorded actions</h2>
<p><strong>{{ o.actions.note }}</strong>: {{ o.actions.actions }} actions recorded over
[{{ o.as_of.strftime("%Y-%m-%d") }}, {{ o.window_end.strftime("%Y-%m-%d") }}).</p>
<table><tr><th>group</th><th>tier</th><th>entities</th><th>realised</th><th>expected</th></tr>
{% for g in o.actions.groups %}<tr><td>{{ g.group }}</td><td>all</td><td>{{ g.entities }}</td>
<td>{{ rate(g.realised_rate) }}</td><td>{{ rate(g.expected_rate) }}</td></tr>
{% for t in g.tiers %}<tr><td>{{ g.group }}</td><td>{{ t.tier }}</td><td>{{ t.entities }}</td>
<td>{{ rate(t.realised_rate) }}</td><td>{{ rate(t.expected_rate) }}</td></tr>{% endfor %}
{% endfor %}</table>{% endif %}
</body></html>
"""
)


def _encode(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_plots(
    outcome: RunOutcome, drift: DriftReport, reference: Mapping[str, Any], directory: Path
) -> dict[str, Path]:
    """``reliability.png``, ``score_distribution.png`` and ``psi.png`` in ``directory``.

    A feature name the font cannot draw (an emoji in an attribute's name) shows as boxes,
    without matplotlib's missing-glyph warning (``missing_glyphs_quiet``), as in training.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "reliability": directory / "reliability.png",
        "scores": directory / "score_distribution.png",
        "psi": directory / "psi.png",
    }
    with missing_glyphs_quiet():
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
        curve = outcome.reliability
        ax.plot(curve.get("predicted", []), curve.get("observed", []), marker="o", label="realised")
        ax.set(xlabel="predicted probability", ylabel="realised rate", xlim=(0, 1), ylim=(0, 1))
        ax.set_title(f"{outcome.task.value} {outcome.as_of:%Y-%m-%d}: reliability")
        ax.legend()
        fig.tight_layout()
        fig.savefig(paths["reliability"], dpi=80)
        plt.close(fig)

        profile = reference["features"][SCORE]
        fig, ax = plt.subplots(figsize=(6, 4))
        bins = np.arange(len(profile["counts"]))
        expected = np.asarray(profile["counts"], dtype=float)
        ax.bar(bins - 0.2, expected / expected.sum(), width=0.4, label="training")
        ax.bar(bins + 0.2, drift.score_shares, width=0.4, label="this run")
        ax.set(xlabel="training score decile", ylabel="share of entities")
        ax.set_title(f"score distribution (PSI {drift.score.psi:.3f})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(paths["scores"], dpi=80)
        plt.close(fig)

        features = sorted(drift.features, key=lambda f: -f.psi)[:25]
        fig, ax = plt.subplots(figsize=(6, max(2.5, 0.25 * len(features) + 1)))
        ax.barh([f.name for f in features][::-1], [f.psi for f in features][::-1])
        ax.set(xlabel="population stability index")
        ax.set_title("feature drift (top 25)")
        fig.tight_layout()
        fig.savefig(paths["psi"], dpi=80)
        plt.close(fig)
    return paths


def render_html(
    outcome: RunOutcome, drift: DriftReport, images: Mapping[str, Path], *, monitored_as_of: str
) -> str:
    """The standalone HTML report (plots embedded), rendered from a Jinja2 template."""
    metrics = [
        (name, "n/a" if math.isnan(outcome.metrics[name]) else f"{outcome.metrics[name]:.3f}")
        for name in HEADLINE_METRICS
    ]
    return _TEMPLATE.render(
        o=outcome,
        d=drift,
        metrics=metrics,
        images={key: _encode(path) for key, path in images.items()},
        monitored_as_of=monitored_as_of,
        rate=lambda value: "n/a" if math.isnan(value) else f"{value:.1%}",
    )


def action_metrics(outcome: RunOutcome) -> dict[str, float]:
    """MLflow metrics of the split by reps' actions (observational, not causal):
    ``actions.<group key>.{entities,realised_rate,expected_rate}`` and the same per tier under
    ``actions.<group key>.tier.<tier>.``; empty rates (NaN) are left out. Empty without a split.
    """
    if outcome.actions is None:
        return {}
    metrics: dict[str, float] = {"actions.recorded_actions": float(outcome.actions.actions)}
    for group in outcome.actions.groups:
        parts = [(f"actions.{group.key}", group)]
        parts += [(f"actions.{group.key}.tier.{t.tier}", t) for t in group.tiers]
        for prefix, part in parts:
            metrics[f"{prefix}.entities"] = float(part.entities)
            for name in ("realised_rate", "expected_rate"):
                value = getattr(part, name)
                if not math.isnan(value):
                    metrics[f"{prefix}.{name}"] = value
    return metrics


def log_monitoring_run(
    client: MlflowClient,
    *,
    tracking: TrackingConfig,
    outcome: RunOutcome,
    drift: DriftReport,
    reference: Mapping[str, Any],
    model_run_id: str | None,
    monitored_as_of: datetime,
    staging: Path,
) -> str:
    """Log one monitoring run (metrics, plots, HTML, JSON) and return its MLflow run id."""
    experiment = experiment_id(client, outcome.task, tracking)
    earlier = client.search_runs(
        [experiment],
        filter_string=(
            f"tags.`{MONITORING_TAG}` = 'true' and tags.{BATCH_RUN_TAG} = '{outcome.run_id}'"
        ),
    )
    for run in earlier:
        client.delete_run(run.info.run_id)
    images = write_plots(outcome, drift, reference, staging)
    html = render_html(outcome, drift, images, monitored_as_of=f"{monitored_as_of:%Y-%m-%d %H:%M}")
    tags = {
        MONITORING_TAG: "true",
        BATCH_RUN_TAG: outcome.run_id,
        "task": outcome.task.value,
        "model_name": outcome.model_name,
        "model_version": outcome.model_version,
        "model_run_id": model_run_id or "",
        "partial": str(outcome.partial).lower(),
        "drifted": ",".join(drift.drifted) or "none",
    }
    metrics = {f"realised.{k}": v for k, v in outcome.metrics.items() if not math.isnan(v)}
    metrics.update({f"psi.{f.name}": f.psi for f in drift.features})
    metrics["psi.score"] = drift.score.psi
    metrics["unknown_event_share"] = drift.events.share
    metrics.update(action_metrics(outcome))
    if outcome.actions is not None:
        tags["actions"] = outcome.actions.note
    with mlflow.start_run(
        experiment_id=experiment,
        run_name=f"monitor-{outcome.task.value}-{outcome.as_of:%Y-%m-%d}",
        tags=tags,
    ) as run:
        mlflow.log_params(
            {
                "as_of": outcome.as_of.isoformat(),
                "window_end": outcome.window_end.isoformat(),
                "monitored_as_of": monitored_as_of.isoformat(),
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.log_dict(outcome.to_dict(), "monitoring/outcome.json")
        mlflow.log_dict(drift.to_dict(), "monitoring/drift.json")
        mlflow.log_text(html, "monitoring/drift_report.html")
        for path in images.values():
            mlflow.log_artifact(str(path), "monitoring")
    # The registry side of the link: the model version names its latest monitoring run.
    client.set_model_version_tag(
        outcome.model_name, outcome.model_version, LAST_RUN_TAG, run.info.run_id
    )
    return str(run.info.run_id)
