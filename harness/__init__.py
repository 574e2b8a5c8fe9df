"""HeliosDB reliability harness: CLI, runner, provisioning, SSH control, DB adapters, store.

Top layer: the only code that parses arguments, prints or exits.
"""
