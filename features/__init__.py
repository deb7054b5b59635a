"""The CRM export contract, validation, as-of snapshots and labels, and the one definition of
every feature. Pure: knows nothing about MLflow or HTTP."""
