"""The served unit: ScoringModel, its plans, reasons, the artifact contract."""
