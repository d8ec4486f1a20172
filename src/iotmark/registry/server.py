"""Run the registry: apply migrations once, then serve it.

`workers=0` serves from one process with waitress (pure Python, threads); `workers=N` runs gunicorn with N worker
processes forked after the migrations, for a production host. Both stop gracefully on SIGTERM: requests in
flight are finished, new connections are refused.

Static files for the admin are not served here; put a web server or whitenoise in front for those.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket

from iotmark.inputs import InputError

log = logging.getLogger(__name__)

SETTINGS_MODULE = "iotmark.registry.settings"
# Seconds a gunicorn worker gets to finish its requests after SIGTERM before it is killed.
GRACEFUL_SECONDS = 20
# Seconds a single request may run before gunicorn restarts its worker (a large upload verifies in well under this).
REQUEST_TIMEOUT_SECONDS = 120
# Settings older gunicorn releases do not have (and do not need: they have no control socket to turn off).
NEWER_GUNICORN_SETTINGS = {"control_socket_disable"}


def setup_django(database_url: str | None = None) -> None:
    """Configure Django once; a database URL given here overrides IOTMARK_DATABASE_URL."""
    if database_url:
        os.environ["IOTMARK_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def bind_address(host: str, port: int) -> str:
    """gunicorn's bind string; IPv6 literals need brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, object]:
    """The gunicorn settings the registry runs with: sync workers for one thread, else gunicorn's threaded workers
    sharing keep-alive connections evenly (balance.py)."""
    from iotmark.registry.balance import forget_worker

    return {
        "bind": [bind_address(host, port)],
        "workers": workers,
        "worker_class": "iotmark.registry.balance.BalancedThreadWorker" if threads > 1 else "sync",
        "child_exit": forget_worker,
        "threads": threads,
        "graceful_timeout": GRACEFUL_SECONDS,
        "timeout": REQUEST_TIMEOUT_SECONDS,
        "keepalive": 5,
        # Django's settings and URLconf are loaded once in the master, so a broken configuration fails before
        # any worker is forked; database connections are closed before the fork and reopened per worker.
        "preload_app": True,
        "control_socket_disable": True,
        "proc_name": "iotmark-registry",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }


def run_gunicorn(application, options: dict[str, object]) -> None:
    """Serve a WSGI application with gunicorn in this process (it becomes the master) until SIGTERM/SIGINT."""
    from gunicorn.app.base import BaseApplication

    class RegistryApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings or key not in NEWER_GUNICORN_SETTINGS:
                    self.cfg.set(key, value)

        def load(self):
            return application

    # Everything loaded so far (Django, the registry, the catalogs) lives as long as the server: moved out of the
    # garbage collector's reach, a full collection in a worker walks only what that worker made since the fork,
    # which cut its pauses (every thread of the worker waits) from 50-130 ms to a few ms under load.
    gc.collect()
    gc.freeze()
    from iotmark.registry.balance import prepare_board

    prepare_board()
    RegistryApplication().run()


def prepare_database(database_url: str | None) -> None:
    """Configure Django and apply migrations; an unusable database URL or an unreachable database is one line."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        setup_django(database_url)
    except ImproperlyConfigured as exc:
        raise InputError(str(exc)) from None
    from django.db import Error as DatabaseError

    try:
        migrate()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"registry database: {reason}") from None


def ensure_port_free(host: str, port: int) -> None:
    """Fail with one line before forking when the address is taken (gunicorn would retry, then log at length)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise OSError(f"cannot listen on {bind_address(host, port)}: {exc.strerror}") from None


def _stop_on_sigterm() -> None:
    # waitress shuts its task threads down cleanly on SystemExit; SIGTERM would otherwise kill it mid-request.
    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def serve(host: str = "127.0.0.1", port: int = 8000, threads: int = 8, database_url: str | None = None,
          workers: int = 0) -> None:
    """Apply migrations and serve the registry until stopped (SIGTERM or Ctrl-C)."""
    prepare_database(database_url)
    from django.db import connections

    from iotmark.registry.fastpath import registry_application

    application = registry_application()
    if workers > 0:
        ensure_port_free(host, port)
        connections.close_all()  # no connection may be shared by forked workers
        log.warning("iotmark registry listening on http://%s/ with %d gunicorn workers",
                    bind_address(host, port), workers)
        run_gunicorn(application, gunicorn_options(host, port, workers, threads))
        return
    from waitress import serve as waitress_serve

    _stop_on_sigterm()
    log.warning("iotmark registry listening on http://%s:%d/", host, port)
    waitress_serve(application, host=host, port=port, threads=threads, ident="iotmark-registry")
