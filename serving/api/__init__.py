"""The HTTP service: FastAPI app, middlewares, routes, schemas, metrics, logs."""
