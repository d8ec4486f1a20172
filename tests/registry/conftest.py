"""Registry test set-up: Django configured once with a scratch IOTMARK_HOME, and every test run twice, against
SQLite and against a private PostgreSQL server this file starts (skipped only when PostgreSQL is not installed).
Each test runs inside a transaction that is rolled back."""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import free_port as _free_port

HOME = Path(tempfile.mkdtemp(prefix="iotmark-registry-home-"))


def _configure_django() -> None:
    # The settings read IOTMARK_HOME and IOTMARK_DATABASE_URL once, at import; point them at scratch values
    # for that moment only, so other test folders in the same run see the environment unchanged.
    saved = {k: os.environ.get(k) for k in ("IOTMARK_HOME", "IOTMARK_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    os.environ["IOTMARK_HOME"] = str(HOME)
    os.environ.pop("IOTMARK_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "iotmark.registry.settings"
    try:
        import django
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - forces the settings import while the variables are set
        django.setup()
        from django.test.utils import setup_test_environment

        setup_test_environment()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_configure_django()


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@dataclass
class PostgresServer:
    socket_dir: Path
    port: int
    user: str

    def url(self, name: str) -> str:
        return f"postgresql://{self.user}@/{name}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on a free port, Unix socket only, data in a temp folder."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL not installed (no initdb/pg_ctl): apt-get install --no-install-recommends postgresql")
    base = Path(tempfile.mkdtemp(prefix="iotmark-pg-"))
    run_as: dict[str, object] = {}
    if os.geteuid() == 0:  # initdb refuses to run as root
        account = pwd.getpwnam("postgres")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
    data, log = base / "data", base / "server.log"
    port = _free_port()
    try:
        subprocess.run([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                        "--no-sync"], cwd=base, check=True, capture_output=True, **run_as)
        options = (f"-p {port} -k {base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        subprocess.run([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
                       cwd=base, check=True, capture_output=True, **run_as)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip()
        if log.exists():
            detail += "\n" + log.read_text(errors="replace")
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {detail}")
    try:
        yield PostgresServer(base, port, "postgres")
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], cwd=base, capture_output=True, **run_as)
        shutil.rmtree(base, ignore_errors=True)


def _use_default_database(config: dict[str, object]) -> None:
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    connections.close_all()
    configured = connections.configure_settings({"default": dict(config)})
    connections.settings = configured
    try:
        del connections["default"]
    except AttributeError:
        pass
    settings.DATABASES["default"] = configured["default"]
    ContentType.objects.clear_cache()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request):
    """The database every registry test runs against: a fresh, migrated test database per engine."""
    from django.test.utils import setup_databases, teardown_databases

    from iotmark.registry.settings import database_config

    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        config = database_config(server.url("iotmark_registry"), HOME)
    else:
        config = database_config(None, HOME)
    _use_default_database(config)
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield request.param
    finally:
        teardown_databases(old, verbosity=0)


@pytest.fixture(autouse=True)
def db(database):
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        yield database
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
        ContentType.objects.clear_cache()
        from iotmark.registry.services import forget_verify_answers

        forget_verify_answers()  # what the verify API cached belonged to the rolled-back test


@dataclass
class Signed:
    """Certificates made with the project's own key and certify functions, from the bundled sample device."""

    keys: Path
    other_keys: Path
    assessment: str
    valid: str
    expired: str
    expired_issued: dt.date
    other_key: str
    cert_id: str
    expired_id: str
    bundle: str  # the evidence bundle the assessment was made from


@pytest.fixture(scope="session")
def signed(tmp_path_factory) -> Signed:
    from iotmark.assess.certificate import certificate_bytes, init_keys
    from iotmark.assess.engine import assess
    from iotmark.workflows import certify, collect_sample, sample_dir

    out = tmp_path_factory.mktemp("signed")
    bundle, _ = collect_sample(sample_dir(), out)
    assessment = assess(bundle)
    init_keys(out / "lab")
    init_keys(out / "other")
    today = dt.date.today()
    # Issued long enough ago that the class's validity period has run out (support lasts beyond it).
    past = today - dt.timedelta(days=assessment.device_class.certificate_validity_days + 30)
    valid = certify(bundle, assessment, out / "lab" / "issuer.key", base_url="http://testserver")
    expired = certify(bundle, assessment, out / "lab" / "issuer.key", base_url="http://testserver", today=past)
    other = certify(bundle, assessment, out / "other" / "issuer.key", base_url="http://testserver")
    return Signed(
        keys=out / "lab", other_keys=out / "other",
        assessment=assessment.model_dump_json(by_alias=True),
        valid=certificate_bytes(valid).decode(), expired=certificate_bytes(expired).decode(),
        expired_issued=past, other_key=certificate_bytes(other).decode(),
        cert_id=valid.id, expired_id=expired.id, bundle=bundle.model_dump_json(by_alias=True),
    )


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Production password hashing is deliberately slow; tests make many users, so they use a fast hasher."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@dataclass
class Person:
    """A registry user with an API token; `headers` are the keyword arguments that send the token."""

    user: object
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


@dataclass
class Lab(Person):
    key: object
    password: str


@pytest.fixture
def make_person():
    """make_person(username, role, org=None) -> Person: a user of that registry role with an API token and no
    password (tests sign in with the token or `client.force_login`)."""
    from iotmark.registry import services

    def make(username: str, role: str, organisation: str | None = None) -> Person:
        user = services.create_user(username, None, role, organisation)
        return Person(user, services.issue_token(user, "tests"))

    return make


@pytest.fixture
def lab(signed) -> Lab:
    """A lab assessor of 'Example Test Lab', whose issuer key is trusted, with an API token and a password."""
    from iotmark.registry import services

    key = services.trust_key((signed.keys / "issuer.pub").read_bytes(), "Example Test Lab")
    password = "a long test password"
    user = services.create_user("assessor", password, "lab", "Example Test Lab")
    return Lab(user, services.issue_token(user, "tests"), key, password)


@pytest.fixture
def uploaded(signed, lab):
    """The sample device's valid certificate (Northwind Devices SmartPlug P1), uploaded by the lab; its product
    and vendor now exist."""
    from iotmark.registry import services

    record, _ = services.upload_certificate(lab.user, signed.valid, signed.assessment)
    return record


@pytest.fixture
def vendor(make_person) -> Person:
    """A member of Northwind Devices, the maker of the sample device."""
    return make_person("northwind-lead", "vendor", "Northwind Devices")


@pytest.fixture
def other_vendor(make_person) -> Person:
    """A member of Southwind Gadgets, a vendor unrelated to the sample device."""
    return make_person("southwind-lead", "vendor", "Southwind Gadgets")


@pytest.fixture
def regulator(make_person) -> Person:
    return make_person("inspector", "regulator", "Market Surveillance Authority")


@pytest.fixture
def admin(make_person) -> Person:
    return make_person("root", "admin")


@pytest.fixture
def client():
    from django.test import Client

    return Client()
