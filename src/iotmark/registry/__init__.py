"""Public certificate registry: a Django project whose one app (label `registry`) is this package.

Settings live in `iotmark.registry.settings`; `serve()` in `server.py` migrates and serves it; `cli.py` is the
Typer front end, importable without Django.
"""
