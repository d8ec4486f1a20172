"""Django settings for the registry, all from the environment.

IOTMARK_HOME            folder for the SQLite database and the generated secret key (default ~/.iotmark)
IOTMARK_DATABASE_URL    postgresql://user:pass@host:port/name (`?host=/socket/dir` for a Unix socket) or
                        sqlite:///path; unset means SQLite at $IOTMARK_HOME/registry.sqlite3
IOTMARK_SECRET_KEY      overrides the key generated once into $IOTMARK_HOME/registry-secret-key
IOTMARK_ALLOWED_HOSTS   comma-separated host names (default: loopback only)
IOTMARK_DEBUG           "1" turns Django's debug pages on; never on a public server
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from iotmark.workflows import iotmark_home

SECRET_KEY_NAME = "registry-secret-key"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]


def database_config(url: str | None, home: Path) -> dict[str, object]:
    """One Django DATABASES entry from IOTMARK_DATABASE_URL, or the embedded SQLite file when it is unset."""
    # SQLite lets one writer in at a time. Transactions take the write lock when they begin (IMMEDIATE), so a
    # server and a command (or two commands) writing at once wait for each other, up to `timeout` seconds, instead
    # of one failing at once when it upgrades a read to a write; WAL lets readers go on while one writes.
    sqlite_options = {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(home / "registry.sqlite3"),
                "OPTIONS": sqlite_options}
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if not parts.path or parts.path == "/":
            raise ImproperlyConfigured("IOTMARK_DATABASE_URL: a sqlite URL needs a file path (sqlite:///path/to/db)")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path), "OPTIONS": sqlite_options}
    if parts.scheme not in ("postgresql", "postgres"):
        raise ImproperlyConfigured(f"IOTMARK_DATABASE_URL: unsupported scheme {parts.scheme!r}; "
                                   "use postgresql://user:password@host:port/name or sqlite:///path")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("IOTMARK_DATABASE_URL: the URL names no database (postgresql://host/NAME)")
    query = parse_qs(parts.query)
    host = unquote(parts.hostname or "") or query.get("host", [""])[0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or query.get("port", [""])[0]),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def secret_key(home: Path) -> str:
    """IOTMARK_SECRET_KEY, else a key generated once into $IOTMARK_HOME (mode 0600) and reused after."""
    if os.environ.get("IOTMARK_SECRET_KEY"):
        return os.environ["IOTMARK_SECRET_KEY"]
    path = home / SECRET_KEY_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first; use theirs
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
    return path.read_text(encoding="ascii").strip()


HOME = iotmark_home()
SECRET_KEY = secret_key(HOME)
DEBUG = os.environ.get("IOTMARK_DEBUG") == "1"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("IOTMARK_ALLOWED_HOSTS", "").split(",") if h.strip()] or LOOPBACK_HOSTS
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("IOTMARK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "iotmark.registry.apps.RegistryConfig",
    "iotmark.registry.market.apps.MarketConfig",
    "iotmark.registry.enforcement.apps.EnforcementConfig",
    "iotmark.registry.interop.apps.InteropConfig",
    "iotmark.registry.programme_site.apps.ProgrammeSiteConfig",
    "iotmark.registry.mudfiles.apps.MudFilesConfig",
    "iotmark.registry.accounts.apps.AccountsConfig",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "iotmark.registry.nul_guard.RejectNulCharacters",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "iotmark.registry.urls"
WSGI_APPLICATION = "iotmark.registry.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": database_config(os.environ.get("IOTMARK_DATABASE_URL"), HOME)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# A certificate upload carries the whole assessment (tens of kB for a small device, a few MB for a large one).
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
LOGIN_URL = "login"
STATIC_URL = "static/"
STATIC_ROOT = str(HOME / "registry-static")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"}},
}
