"""The prediction service: FastAPI app, model loading and hot swap, scores store, batch scoring."""
