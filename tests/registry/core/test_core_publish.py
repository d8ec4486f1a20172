"""`iotmark registry publish` against a real registry server in a subprocess, and publishing into the embedded
registry the way `iotmark demo --serve` does."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from servers import free_port, serving
from typer.testing import CliRunner

from iotmark.registry.cli import registry_app


@pytest.fixture(scope="module")
def registry_server(signed, tmp_path_factory):
    """A registry served by `iotmark serve` on a free port, SQLite in a scratch IOTMARK_HOME, with a lab
    assessor whose key is trusted; yields (base URL, the assessor's token)."""
    home = tmp_path_factory.mktemp("served-registry")
    with serving(home, f"sqlite:///{home}/registry.sqlite3") as server:
        server.cli("trust-key", str(signed.keys / "issuer.pub"), "--org", "Example Test Lab")
        out = server.cli("createuser", "assessor", "--role", "lab", "--org", "Example Test Lab", "--no-password",
                         "--token")
        yield server.url, out.rsplit(": ", 1)[1].strip()


@pytest.fixture(scope="module")
def files(signed, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("publish-files")
    paths = {name: folder / f"{name}.json" for name in ("valid", "expired", "assessment")}
    paths["valid"].write_text(signed.valid, encoding="utf-8")
    paths["expired"].write_text(signed.expired, encoding="utf-8")
    paths["assessment"].write_text(signed.assessment, encoding="utf-8")
    return paths


def publish(files, base: str, token: str, certificate: str = "valid", *extra: str):
    return CliRunner().invoke(registry_app, ["publish", str(files[certificate]), "--assessment",
                                             str(files["assessment"]), "--url", base, "--token", token, *extra])


def test_publish_prints_the_verify_page_and_a_retry_with_its_key_changes_nothing(registry_server, files, signed,
                                                                                  database):
    if database != "sqlite":
        pytest.skip("the served registry is its own SQLite database; one run is enough")
    base, token = registry_server
    first = publish(files, base, token, "valid", "--idempotency-key", "release-1.4.2")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [f"published {signed.cert_id}",
                                         f"verify: {base}/verify/{signed.cert_id}"]
    retry = publish(files, base, token, "valid", "--idempotency-key", "release-1.4.2")
    assert retry.exit_code == 0 and retry.output == first.output  # the stored first answer
    plain = publish(files, base, token)
    assert plain.exit_code == 0 and plain.output.startswith(f"already registered {signed.cert_id}")
    with urllib.request.urlopen(f"{base}/verify/{signed.cert_id}", timeout=10) as page:
        assert "Valid certificate" in page.read().decode()


def test_publish_reports_the_registrys_refusal_in_one_line(registry_server, files, database):
    if database != "sqlite":
        pytest.skip("the served registry is its own SQLite database; one run is enough")
    base, token = registry_server
    wrong_token = publish(files, base, "iotm_not-a-real-token")
    assert wrong_token.exit_code == 1
    assert wrong_token.output.strip() == "error: the registry refused the certificate (HTTP 401): Unauthorized"
    expired = publish(files, base, token, "expired")
    assert expired.exit_code == 1 and len(expired.output.strip().splitlines()) == 1
    assert expired.output.startswith("error: the registry refused the certificate (HTTP 422): certificate rejected: ")
    reused = publish(files, base, token, "expired", "--idempotency-key", "release-1.4.2")
    assert "(HTTP 422): idempotency key 'release-1.4.2' was already used for a different request" in reused.output


def test_publish_to_a_closed_port_or_a_bad_address_fails_in_one_line(files):
    closed = publish(files, f"http://127.0.0.1:{free_port()}", "iotm_x")
    assert closed.exit_code == 1
    assert closed.output.startswith("error: cannot reach the registry at http://127.0.0.1:")
    assert "Connection refused" in closed.output
    bad = publish(files, "ftp://registry.example", "iotm_x")
    assert bad.output.strip() == ("error: ftp://registry.example: the registry address must start with http:// "
                                  "or https://")
    missing = CliRunner().invoke(registry_app, ["publish", "/nonexistent/cert.json", "--assessment",
                                                str(files["assessment"]), "--url", "http://127.0.0.1:9",
                                                "--token", "iotm_x"])
    assert missing.exit_code == 1 and "/nonexistent/cert.json: cannot read the certificate" in missing.output


def test_a_reply_that_is_not_a_registry_is_named_as_such(files, tmp_path):
    (tmp_path / "api").mkdir()
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        result = publish(files, f"http://127.0.0.1:{port}", "iotm_x")
    finally:
        web.terminate()
        web.wait(timeout=10)
    assert result.exit_code == 1
    assert result.output.strip() == "error: the registry refused the certificate (HTTP 501): Unsupported method ('POST')"


def test_publish_embedded_sets_up_the_demo_lab_once_and_stores_the_certificate(signed, files, tmp_path):
    from iotmark.registry import services
    from iotmark.registry.models import AuditEntry, Certificate
    from iotmark.registry.publish import publish_embedded

    cert_id = publish_embedded(files["valid"], files["assessment"], signed.keys / "issuer.pub")
    assert cert_id == signed.cert_id
    assert publish_embedded(files["valid"], files["assessment"], signed.keys / "issuer.pub") == cert_id
    record = Certificate.objects.get()
    assert (record.uploaded_by.username, record.issuer_key.organisation.name) == ("demo-lab", record.issuer)
    assert services.role_of(record.uploaded_by).role == "lab"
    assert list(AuditEntry.objects.filter(action="certificate.upload").values_list("actor", flat=True)) == ["demo-lab"]
