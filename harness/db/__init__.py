"""DB adapters: setup, start, kill, pause, resume, logs, teardown (layer: harness)."""
