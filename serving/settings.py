"""Service configuration, read from the environment (prefix ``SALESRADAR_``) in entry points only.

Nothing here is read at import time: ``Settings()`` is built by ``salesradar serve`` / ``score`` /
``keys`` (or by a test) and passed down explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pycountry
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.contract.tasks import Task
from features.model.artifact_contract import CHAMPION
from features.model.tiers import DEFAULT_TIER_CUTOFFS, TIER_NAMES
from serving.delivery.config import DeliverySettings
from serving.store.database import MIN_KEEP_RUNS

AUTO_DISPLAY_FIELDS = "auto"


class TierThresholds(BaseSettings):
    """Probability cut-offs for tiers; a probability at or above ``high`` is the top tier."""

    model_config = SettingsConfigDict(extra="forbid")

    high: float = Field(default=DEFAULT_TIER_CUTOFFS[Task.LEADS][0], gt=0.0, lt=1.0)
    medium: float = Field(default=DEFAULT_TIER_CUTOFFS[Task.LEADS][1], gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check_order(self) -> TierThresholds:
        if self.medium >= self.high:
            raise ValueError("medium threshold must be below the high threshold")
        return self


class Settings(BaseSettings):
    """Everything the service and the batch job need to know, with laptop-friendly defaults."""

    model_config = SettingsConfigDict(env_prefix="SALESRADAR_", env_nested_delimiter="__")

    scores_url: str = "sqlite:///models/scores.db"
    # Training reads MLFLOW_TRACKING_URI; serving honours it too, so pointing a team at a real
    # tracking server is one variable, while SALESRADAR_MLFLOW_TRACKING_URI still wins.
    mlflow_tracking_uri: str = Field(
        default="sqlite:///models/mlflow.db",
        validation_alias=AliasChoices(
            "SALESRADAR_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI", "mlflow_tracking_uri"
        ),
    )
    served_dir: Path = Path("models/served")
    registry_timeout_seconds: float = Field(default=10.0, gt=0)
    poll_seconds: float = Field(default=300.0, ge=0)  # 0 disables polling the champion alias
    # The first load of the champions runs in the background, so liveness never waits on the
    # registry; startup may hold requests back for at most this long while it runs (0: not at all).
    startup_wait_seconds: float = Field(default=0.0, ge=0)
    champion_alias: str = CHAMPION
    lead_tiers: TierThresholds = TierThresholds(
        high=DEFAULT_TIER_CUTOFFS[Task.LEADS][0], medium=DEFAULT_TIER_CUTOFFS[Task.LEADS][1]
    )
    churn_tiers: TierThresholds = TierThresholds(
        high=DEFAULT_TIER_CUTOFFS[Task.CHURN][0], medium=DEFAULT_TIER_CUTOFFS[Task.CHURN][1]
    )
    # Tiers a list holds when the request names none (comma-separated; ``?tier=`` overrides and
    # may ask for any tier): reps act on the hot and warm leads, the high- and medium-risk
    # customers, so a big, safe account never tops the at-risk list by its value alone.
    hot_leads_default_tiers: str = "hot,warm"
    at_risk_default_tiers: str = "high,medium"
    # Export columns carried onto every list row and entity view (comma-separated; each from the
    # entity table, or from accounts by account_id). "auto": the export's name-like columns
    # (serving.scoring.export_context.NAME_LIKE_COLUMNS) that it has; empty: none. An unknown column
    # stops `salesradar score` before it writes anything.
    display_fields: str = AUTO_DISPLAY_FIELDS
    # ISO 4217 code of the export's money columns: the lists label values with it.
    currency: str = "EUR"
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    max_events_per_request: int = Field(default=200_000, gt=0)
    max_page_size: int = Field(default=500, gt=0)
    # Published runs `salesradar score` keeps (about 23 MB of scores and ~100 MB of per-feature
    # contributions each on SQLite at 100k entities, docs/serving.md); at
    # least MIN_KEEP_RUNS: the published run and the one "what changed" compares it with.
    keep_runs: int = Field(default=12, ge=MIN_KEEP_RUNS)
    # Tolerated clock skew between the CRM and us before a timestamp counts as "in the future".
    future_skew_seconds: float = Field(default=300.0, ge=0)
    # Server log lines as text or as one JSON object per line (SALESRADAR_LOG_FORMAT=json).
    log_format: Literal["text", "json"] = "text"
    # Unauthenticated requests allowed per client address per window before 429 (Retry-After);
    # a request with a valid key is never counted (serving.api.authentication).
    anonymous_requests_per_window: int = Field(default=60, gt=0)
    anonymous_window_seconds: float = Field(default=60.0, gt=0)
    host: str = "127.0.0.1"
    port: int = 8000
    # After startup, move everything alive into the collector's permanent generation (gc.freeze):
    # full collections then skip the libraries and models, which cost ~0.2 s every few large
    # requests. A model swapped out later is freed by reference counting as usual.
    gc_freeze: bool = True
    # Signs the reps' page sessions (serving.web); empty: a random secret per process, so
    # sessions end when it restarts. At least 32 characters when set.
    session_secret: SecretStr = SecretStr("")

    @field_validator("session_secret")
    @classmethod
    def _check_session_secret(cls, value: SecretStr) -> SecretStr:
        """Empty (a random secret per process) or at least 32 characters."""
        if 0 < len(value.get_secret_value()) < 32:
            raise ValueError("at least 32 characters (or empty for a random one per process)")
        return value

    # Base URL reps open (no trailing slash), e.g. https://salesradar.example.com: digests link
    # each entity to {public_url}/web/customers/{id} or /web/leads/{id}. Unset: no links.
    public_url: str | None = None
    # Digests, alerts and write-back pushes (serving.delivery.config; SALESRADAR_DELIVERY__*).
    delivery: DeliverySettings = DeliverySettings()
    # `salesradar score --engine spark` writes each run's scored rows here as Parquet before the
    # publish reads them (a folder, or any URI Spark and Arrow both write and read: s3://...).
    spark_runs_dir: str = "models/spark-runs"
    # `salesradar score` also scores the registry's challenger_alias version, when it differs from
    # the champion, as the run's shadow (serving.scoring.shadow; never listed); False or
    # --no-shadow: not.
    shadow: bool = True
    challenger_alias: str = "challenger"

    def tier_thresholds(self, task: Task) -> TierThresholds:
        """The probability cut-offs that tier ``task``'s scores (``lead_tiers`` or
        ``churn_tiers``): the one place the API, the batch run and the warm-up choose them."""
        return self.lead_tiers if task is Task.LEADS else self.churn_tiers

    @field_validator("hot_leads_default_tiers", "at_risk_default_tiers")
    @classmethod
    def _check_default_tiers(cls, value: str, info: ValidationInfo) -> str:
        """Comma-separated names of the list's task, at least one, none twice (spaces ignored);
        returned normalised (``"high, medium"`` -> ``"high,medium"``)."""
        task = Task.LEADS if info.field_name == "hot_leads_default_tiers" else Task.CHURN
        allowed = TIER_NAMES[task]
        names = [name.strip() for name in value.split(",")]
        if not all(names) or any(name not in allowed for name in names):
            raise ValueError(f"comma-separated tiers, each one of {', '.join(allowed)}")
        if len(set(names)) != len(names):
            raise ValueError("a tier is named twice")
        return ",".join(names)

    @field_validator("display_fields")
    @classmethod
    def _check_display_fields(cls, value: str) -> str:
        """``auto``, empty, or comma-separated column names, none empty or twice (spaces
        ignored); returned normalised."""
        if value.strip() in ("", AUTO_DISPLAY_FIELDS):
            return value.strip()
        names = [name.strip() for name in value.split(",")]
        if not all(names):
            raise ValueError("comma-separated export column names, none empty")
        if len(set(names)) != len(names):
            raise ValueError("a column is named twice")
        return ",".join(names)

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        """An ISO 4217 alphabetic code (pycountry's list), upper case as written."""
        if value != value.upper() or pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError("an ISO 4217 currency code in upper case, e.g. EUR, USD, GBP")
        return value

    def display_columns(self) -> tuple[str, ...] | None:
        """The configured display columns; None for ``auto`` (the export's name-like ones)."""
        if self.display_fields == AUTO_DISPLAY_FIELDS:
            return None
        return tuple(name for name in self.display_fields.split(",") if name)

    def default_tiers(self, task: Task) -> tuple[str, ...]:
        """The tiers ``task``'s list holds when a request names none (see the fields above)."""
        text = self.hot_leads_default_tiers if task is Task.LEADS else self.at_risk_default_tiers
        return tuple(text.split(","))
