"""The CRM export contract: tables, tasks, loading, validation, times."""
