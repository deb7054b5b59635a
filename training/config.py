"""The training configuration: read from a TOML file in the entry point and passed down.

Nothing is read at import. ``load_config`` checks every section and key, so a typo in the file
is an error naming the key, not a silently ignored setting.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.contract.tasks import Task
from features.definitions.vocabulary import (
    EventWording,
    VocabularyError,
    VocabularySettings,
    normalise_event_type,
)
from features.errors import UserError

DEFAULT_CONFIG_PATH = Path(__file__).with_name("config.toml")
DIRECTIONS = ("higher", "lower")


class ConfigError(UserError):
    """The training config file is unreadable or holds an unknown or ill-typed key."""


@dataclass(frozen=True)
class SplitConfig:
    test_cutoffs: int
    calibration_cutoffs: int
    embargo: bool
    backtest_origins: int
    min_positives: int
    refit_on_all: bool  # ship a model refit on every labelled cutoff after the evaluation
    calibration_folds: int  # blocks of cutoffs for cross-fitted calibration
    max_as_of_gap_days: int  # refuse an as-of this much later than the export's last event


# [trees].boost_from_btyd: where a churn model's trees start (training.btyd.boost_candidates).
BOOST_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class TreeConfig:
    params: dict[str, Any]  # passed to LGBMClassifier as they are
    min_level_count: int
    calibration: str
    boost_from_btyd: str  # one of BOOST_MODES


@dataclass(frozen=True)
class LinearConfig:
    C: float  # scikit-learn's name: inverse regularisation strength
    max_iter: int
    min_frequency: int


@dataclass(frozen=True)
class EvaluationConfig:
    capacity: dict[Task, int]
    ece_bins: int
    reason_top_k: int


@dataclass(frozen=True)
class PromotionConfig:
    metric: str
    margin: float
    # The trees must beat the logistic-regression model by this much on ``metric``, else the
    # simpler model is preferred (training.promotion.simple_model_reason).
    prefer_simple_margin: float
    # A challenger must have been compared with the champion on at least this many matured
    # shadow runs, and not have lost on ``metric`` there, before promotion (0: not required;
    # training.promotion.shadow_rule). Optional in the file, so older configs keep loading.
    require_shadow_runs: int = 0
    # Act on that preference: register and serve the logistic-regression model in the trees'
    # place (training.simple_model). Off: the decision states the preference only.
    serve_simple_model: bool = False


@dataclass(frozen=True)
class PipelineConfig:
    """``[pipeline]``: when ``salesradar pipeline`` retrains (training.pipeline.due)."""

    max_model_age_days: int  # retrain when the champion was trained on an as-of this much older
    retrain_on_drift: bool  # retrain when monitor marks the latest run drifted
    # retrain when a matured run's ROC AUC or PR AUC is this much below the training figure
    performance_margin: float


@dataclass(frozen=True)
class MonitoringConfig:
    """``[monitoring]``: the training reference's resolution and the drift thresholds."""

    reference_bins: int  # equal-frequency bins per numeric feature in the training reference
    psi_warning: float  # population stability index at or above which a shift is shown
    psi_alert: float  # ... and at or above which a feature (or the score) counts as drifted
    p_value: float  # the two-sample test's significance level (reported, decides nothing)
    missing_rate_change: float  # |missing share now - at training| that counts as drift
    unseen_level_share: float  # share of rows with a level training never saw
    unknown_event_share: float  # share of recent events of a type the model has no kind for


@dataclass(frozen=True)
class TrainingConfig:
    split: SplitConfig
    trees: TreeConfig
    linear: LinearConfig
    evaluation: EvaluationConfig
    baselines: dict[Task, dict[str, str]]  # task -> feature -> "higher" | "lower"
    promotion: PromotionConfig
    vocabulary: VocabularySettings
    monitoring: MonitoringConfig
    pipeline: PipelineConfig
    source: Path
    text: str  # the file as read, logged with the run


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> TrainingConfig:
    """Read and check the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read training config: {exc}") from exc
    reader = _Reader(path, raw)
    split = reader.section("split")
    trees = dict(reader.section("trees"))
    linear = reader.section("linear")
    evaluation = reader.section("evaluation")
    promotion = reader.section("promotion")
    baselines = reader.section("baselines")
    vocabulary = reader.section("vocabulary")
    monitoring = reader.section("monitoring")
    pipeline = reader.section("pipeline")
    reader.no_extra(
        raw,
        (
            "split",
            "trees",
            "linear",
            "evaluation",
            "baselines",
            "promotion",
            "vocabulary",
            "monitoring",
            "pipeline",
        ),
        "",
    )
    calibration = reader.take(trees, "calibration", str, "trees")
    if calibration not in ("isotonic", "sigmoid"):
        raise ConfigError(f"{path}: trees.calibration must be isotonic or sigmoid")
    boost = reader.take(trees, "boost_from_btyd", str, "trees")
    if boost not in BOOST_MODES:
        raise ConfigError(f"{path}: trees.boost_from_btyd must be {' | '.join(BOOST_MODES)}")
    config = TrainingConfig(
        split=SplitConfig(
            test_cutoffs=reader.positive(split, "test_cutoffs", "split"),
            calibration_cutoffs=reader.positive(split, "calibration_cutoffs", "split"),
            embargo=reader.take(split, "embargo", bool, "split"),
            backtest_origins=reader.positive(split, "backtest_origins", "split"),
            min_positives=reader.positive(split, "min_positives", "split"),
            refit_on_all=reader.take(split, "refit_on_all", bool, "split"),
            calibration_folds=reader.at_least(split, "calibration_folds", "split", 2),
            max_as_of_gap_days=reader.positive(split, "max_as_of_gap_days", "split"),
        ),
        trees=TreeConfig(
            min_level_count=reader.positive(trees, "min_level_count", "trees"),
            calibration=calibration,
            boost_from_btyd=boost,
            params={
                k: v
                for k, v in trees.items()
                if k not in ("min_level_count", "calibration", "boost_from_btyd")
            },
        ),
        linear=LinearConfig(
            C=float(reader.take(linear, "C", (int, float), "linear")),
            max_iter=reader.positive(linear, "max_iter", "linear"),
            min_frequency=reader.positive(linear, "min_frequency", "linear"),
        ),
        evaluation=EvaluationConfig(
            capacity=reader.per_task(evaluation, "capacity", "evaluation"),
            ece_bins=reader.positive(evaluation, "ece_bins", "evaluation"),
            reason_top_k=reader.positive(evaluation, "reason_top_k", "evaluation"),
        ),
        baselines=reader.baselines(baselines),
        promotion=PromotionConfig(
            metric=reader.take(promotion, "metric", str, "promotion"),
            margin=float(reader.take(promotion, "margin", (int, float), "promotion")),
            prefer_simple_margin=reader.non_negative(
                promotion, "prefer_simple_margin", "promotion"
            ),
            require_shadow_runs=reader.at_least(promotion, "require_shadow_runs", "promotion", 0)
            if "require_shadow_runs" in promotion
            else 0,
            serve_simple_model=reader.take(promotion, "serve_simple_model", bool, "promotion"),
        ),
        vocabulary=_vocabulary_settings(reader, vocabulary),
        monitoring=_monitoring_config(reader, monitoring),
        pipeline=_pipeline_config(reader, pipeline),
        source=path,
        text=text,
    )
    reader.no_extra(split, SplitConfig.__dataclass_fields__, "split")
    reader.no_extra(linear, LinearConfig.__dataclass_fields__, "linear")
    reader.no_extra(evaluation, EvaluationConfig.__dataclass_fields__, "evaluation")
    reader.no_extra(promotion, PromotionConfig.__dataclass_fields__, "promotion")
    return config


def _vocabulary_settings(reader: _Reader, table: dict[str, Any]) -> VocabularySettings:
    """``[vocabulary]``: thresholds, churn's activity types, and the optional wording file
    (a path relative to the config file; one table per normalised event type)."""
    share = float(reader.take(table, "valued_share", (int, float), "vocabulary"))
    if not 0 < share <= 1:
        raise ConfigError(f"{reader.path}: vocabulary.valued_share must be in (0, 1]")
    activity = reader.take(table, "activity_types", list, "vocabulary")
    if not activity or not all(isinstance(a, str) and normalise_event_type(a) for a in activity):
        raise ConfigError(f"{reader.path}: vocabulary.activity_types must list event type names")
    wording: dict[str, EventWording] = {}
    if "wording" in table:
        wording = load_wording(
            reader.path.parent / reader.take(table, "wording", str, "vocabulary")
        )
    reader.no_extra(
        table,
        ("min_events", "max_types", "valued_share", "activity_types", "wording"),
        "vocabulary",
    )
    return VocabularySettings(
        min_events=reader.positive(table, "min_events", "vocabulary"),
        max_types=reader.positive(table, "max_types", "vocabulary"),
        valued_share=share,
        activity_types=tuple(activity),
        wording=wording,
    )


def _monitoring_config(reader: _Reader, table: dict[str, Any]) -> MonitoringConfig:
    """``[monitoring]``: every threshold a number, shares and the p-value in (0, 1)."""
    reader.no_extra(table, MonitoringConfig.__dataclass_fields__, "monitoring")
    numbers = {
        key: float(reader.take(table, key, (int, float), "monitoring"))
        for key in MonitoringConfig.__dataclass_fields__
        if key != "reference_bins"
    }
    for key, value in numbers.items():
        bounded = key not in ("psi_warning", "psi_alert")
        if value <= 0 or (bounded and value >= 1):
            limits = "in (0, 1)" if bounded else "positive"
            raise ConfigError(f"{reader.path}: monitoring.{key} must be {limits}, got {value}")
    if numbers["psi_warning"] > numbers["psi_alert"]:
        raise ConfigError(f"{reader.path}: monitoring.psi_warning must not exceed psi_alert")
    return MonitoringConfig(
        reference_bins=reader.at_least(table, "reference_bins", "monitoring", 2), **numbers
    )


def _pipeline_config(reader: _Reader, table: dict[str, Any]) -> PipelineConfig:
    """``[pipeline]``: a positive model age in days, a flag, a non-negative margin."""
    reader.no_extra(table, PipelineConfig.__dataclass_fields__, "pipeline")
    return PipelineConfig(
        max_model_age_days=reader.positive(table, "max_model_age_days", "pipeline"),
        retrain_on_drift=reader.take(table, "retrain_on_drift", bool, "pipeline"),
        performance_margin=reader.non_negative(table, "performance_margin", "pipeline"),
    )


def load_wording(path: Path) -> dict[str, EventWording]:
    """A wording file: ``[<event type>]`` tables with ``noun``, ``nouns`` and optional
    ``counted`` / ``since`` sentence triples, keyed by normalised type. Raises ``ConfigError``."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read wording file: {exc}") from exc
    out: dict[str, EventWording] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        try:
            out[normalise_event_type(name)] = EventWording.from_dict(entry, where=f"{path}: {name}")
        except VocabularyError as exc:
            raise ConfigError(str(exc)) from None
    return out


class _Reader:
    """Typed access to the parsed TOML with errors that name the file and the key."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name)
        if not isinstance(value, dict):
            raise ConfigError(f"{self.path}: missing section [{name}]")
        return value

    def take(self, table: dict[str, Any], key: str, kind: Any, where: str) -> Any:
        if key not in table:
            raise ConfigError(f"{self.path}: missing key {where}.{key}")
        value = table[key]
        # bool is an int in Python; a flag written where a number belongs is still a mistake.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(f"{self.path}: {where}.{key} = {value!r} has the wrong type")
        return value

    def positive(self, table: dict[str, Any], key: str, where: str) -> int:
        return self.at_least(table, key, where, 1)

    def at_least(self, table: dict[str, Any], key: str, where: str, least: int) -> int:
        value = self.take(table, key, int, where)
        if value < least:
            raise ConfigError(f"{self.path}: {where}.{key} must be at least {least}, got {value}")
        return int(value)

    def non_negative(self, table: dict[str, Any], key: str, where: str) -> float:
        value = float(self.take(table, key, (int, float), where))
        if value < 0:
            raise ConfigError(f"{self.path}: {where}.{key} must be at least 0, got {value}")
        return value

    def per_task(self, table: dict[str, Any], key: str, where: str) -> dict[Task, int]:
        value = self.take(table, key, dict, where)
        return {task: self.positive(value, task.value, f"{where}.{key}") for task in Task}

    def baselines(self, table: dict[str, Any]) -> dict[Task, dict[str, str]]:
        result: dict[Task, dict[str, str]] = {}
        for task in Task:
            entries = self.take(table, task.value, dict, "baselines")
            for feature, direction in entries.items():
                if direction not in DIRECTIONS:
                    raise ConfigError(
                        f"{self.path}: baselines.{task.value}.{feature} = {direction!r}; "
                        f"expected one of {', '.join(DIRECTIONS)}"
                    )
            result[task] = dict(entries)
        return result

    def no_extra(self, table: dict[str, Any], known: Any, where: str) -> None:
        unknown = sorted(set(table) - set(known))
        if unknown:
            prefix = f"{where}." if where else ""
            raise ConfigError(
                f"{self.path}: unknown key(s) {', '.join(prefix + k for k in unknown)}"
            )
