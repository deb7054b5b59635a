"""Request and response schemas, kept apart (one family per resource)."""
