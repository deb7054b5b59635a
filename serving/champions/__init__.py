"""Which model is served: registry, local copies, hot swap, pyfunc scorer."""
