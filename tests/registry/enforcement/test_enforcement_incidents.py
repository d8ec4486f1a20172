"""Incidents from mitigate attributed to product models, with the FAIR estimate of the loss to third parties."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iotmark.registry.enforcement.models import Attribution, Incident
from iotmark.registry.enforcement.third_party_loss import estimate, loss_models
from iotmark.registry.models import AuditEntry


def import_body(incident_file: Path, product, devices=24000) -> str:
    return json.dumps({"incident": incident_file.read_text(), "product": product.pk, "devices": devices})


def api_import(client, person, body):
    return client.post("/api/v1/incidents", data=body, content_type="application/json", **person.headers)


def test_estimate_mean_is_devices_times_the_mean_per_device_of_each_component():
    result = estimate("botnet-enlisted", 24000)
    model = loss_models().models["botnet-disruption"]
    expected = 0.0
    for part, component in zip(model.components, result["components"]):
        low, mode, high = part.per_device["pert"]
        per_device = (low + 4 * mode + high) / 6
        assert component["mean"] == pytest.approx(24000 * per_device, rel=0.03)
        expected += 24000 * per_device
    assert result["mean"] == pytest.approx(expected, rel=0.03)
    assert result["p90"] > result["mean"]
    assert [c["verified"] for c in result["components"]] == [True, False, False, False]


def test_estimate_is_reproducible_and_scales_with_the_device_count():
    assert estimate("botnet-enlisted", 1000) == estimate("botnet-enlisted", 1000)
    assert estimate("botnet-enlisted", 2000)["mean"] == pytest.approx(2 * estimate("botnet-enlisted", 1000)["mean"])
    assert estimate("compromised-update-server", 10)["model"] == "devices-disabled"
    assert estimate("a-playbook-added-later", 10)["model"] == "botnet-disruption"


def test_regulator_imports_an_incident_and_the_estimate_is_stored_with_its_inputs(client, regulator, product,
                                                                                incident_file):
    response = api_import(client, regulator, import_body(incident_file, product))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["playbook"]) == ("Plugs flooding a game server", "botnet-enlisted")
    [attribution] = body["attributions"]
    assert (attribution["product"], attribution["devices"], attribution["currency"]) == ("SmartPlug P1", 24000, "EUR")
    assert attribution["loss_mean"] == pytest.approx(estimate("botnet-enlisted", 24000)["mean"])
    assert attribution["estimate"]["components"][0]["source"].startswith("https://krebsonsecurity.com/")
    assert Incident.objects.get().document == incident_file.read_text()
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="incident.").order_by("id")] == [
        "incident.import", "incident.attribute"]


def test_vendor_sees_incidents_attributed_to_its_products_only(client, regulator, vendor, other_vendor, product,
                                                               incident_file):
    incident_id = api_import(client, regulator, import_body(incident_file, product)).json()["id"]
    assert [i["id"] for i in client.get("/api/v1/incidents", **vendor.headers).json()] == [incident_id]
    assert client.get("/api/v1/incidents", **other_vendor.headers).json() == []
    assert client.get(f"/api/v1/incidents/{incident_id}", **other_vendor.headers).status_code == 404
    client.force_login(vendor.user)
    page = client.get(f"/incidents/{incident_id}").content.decode()
    assert "Estimated loss to others" in page and "Assumption" in page and "Remove this attribution" not in page


def test_regulator_attributes_to_a_second_product_and_removes_it(client, regulator, product, other_product,
                                                                 incident_file):
    incident_id = api_import(client, regulator, import_body(incident_file, product)).json()["id"]
    added = client.post(f"/api/v1/incidents/{incident_id}/attributions",
                        data=json.dumps({"product": other_product.pk, "devices": 10}),
                        content_type="application/json", **regulator.headers)
    assert added.status_code == 201
    assert [a["product"] for a in added.json()["attributions"]] == ["SmartPlug P1", "Cam C2"]
    removed = client.delete(f"/api/v1/incidents/{incident_id}/attributions/{other_product.pk}", **regulator.headers)
    assert [a["product"] for a in removed.json()["attributions"]] == ["SmartPlug P1"]
    assert AuditEntry.objects.filter(action="incident.unattribute").count() == 1


def test_vendor_cannot_import_or_attribute(client, vendor, product, incident_file):
    response = api_import(client, vendor, import_body(incident_file, product))
    assert (response.status_code, response.json()) == (403, {"detail": "only regulators can do this"})
    assert Incident.objects.count() == 0


@pytest.mark.parametrize("devices", [-5, 0])
def test_negative_or_zero_device_count_is_refused(client, regulator, product, incident_file, devices):
    response = api_import(client, regulator, import_body(incident_file, product, devices))
    assert response.status_code == 422
    assert Incident.objects.count() == 0 and Attribution.objects.count() == 0


@pytest.mark.parametrize("text,message", [
    ("{not json", "not an incident file: invalid JSON at line 1 column 2"),
    ('{"id": "INC-1"}', "not an incident file: id: String should match pattern"),
    ("[" * 5000 + "]" * 5000, "not an incident file: JSON nested deeper than 48 levels"),
], ids=["syntax", "wrong-shape", "deep"])
def test_malformed_incident_file_is_a_400_and_nothing_is_stored(client, regulator, product, text, message):
    body = json.dumps({"incident": text, "product": product.pk, "devices": 3})
    response = api_import(client, regulator, body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert Incident.objects.count() == 0


def test_oversized_upload_on_the_web_page_is_a_413(client, regulator, product):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(regulator.user)
    big = SimpleUploadedFile("incident.json", b" " * (4 * 1024 * 1024 + 1), content_type="application/json")
    response = client.post("/incidents/import", {"file": big, "product": product.pk, "devices": 3})
    assert response.status_code == 413
    assert "larger than 4 MiB" in response.content.decode()
    assert Incident.objects.count() == 0


def test_web_import_attributes_and_shows_the_estimate(client, regulator, product, incident_file):
    client.force_login(regulator.user)
    with incident_file.open("rb") as handle:
        response = client.post("/incidents/import", {"file": handle, "product": product.pk, "devices": 500})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.incident_id}"
    page = client.get(response["Location"]).content.decode()
    assert "500 affected devices" in page and "Published figure" in page


def run_cli(*args: str, home: Path, database: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "IOTMARK_HOME": str(home), "IOTMARK_DATABASE_URL": database}
    return subprocess.run([str(Path(sys.executable).parent / "iotmark"), "registry", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture(scope="module")
def cli_registry(tmp_path_factory, signed):
    """A migrated SQLite registry file (separate from the test database) holding the sample's certificate."""
    home = tmp_path_factory.mktemp("cli-home")
    url = f"sqlite:///{home / 'cli.sqlite3'}"
    lab_pub = signed.keys / "issuer.pub"
    assert run_cli("migrate", home=home, database=url).returncode == 0
    script = ("from iotmark.registry.server import setup_django; setup_django()\n"
              "from iotmark.registry import services\n"
              f"services.trust_key(open({str(lab_pub)!r}, 'rb').read(), 'Lab')\n"
              "user = services.create_user('a', None, 'lab', 'Lab')\n"
              "import sys; services.upload_certificate(user, open(sys.argv[1]).read(), open(sys.argv[2]).read())\n")
    (home / "cert.json").write_text(signed.valid)
    (home / "assessment.json").write_text(signed.assessment)
    env = {**os.environ, "IOTMARK_HOME": str(home), "IOTMARK_DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", script, str(home / "cert.json"), str(home / "assessment.json")],
                   check=True, env=env, timeout=120)
    return home, url


def test_cli_imports_an_incident_and_reports_the_estimate(cli_registry, incident_file, database):
    if database != "sqlite":
        pytest.skip("the command runs against its own SQLite file; once is enough")
    home, url = cli_registry
    result = run_cli("enforce", "import-incident", str(incident_file), "--product", "Northwind Devices/SmartPlug P1",
                     "--devices", "100", home=home, database=url)
    assert result.returncode == 0, result.stderr
    assert "attributed to Northwind Devices / SmartPlug P1 (100 devices)" in result.stdout
    record = json.loads(run_cli("enforce", "record", "--vendor", "Northwind Devices", home=home, database=url).stdout)
    assert record["counts"]["incidents"] == 1
    assert record["counts"]["third_party_loss_eur"] == pytest.approx(estimate("botnet-enlisted", 100)["mean"])


@pytest.mark.parametrize("args,message", [
    (["--product", "Northwind Devices/SmartPlug P1", "--devices", "-3"], "error: --devices must be 1 or more, got -3"),
    (["--product", "Nobody/Nothing", "--devices", "3"], "error: no product 'Nobody/Nothing' in the registry"),
], ids=["negative-devices", "unknown-product"])
def test_cli_refuses_bad_input_in_one_line(cli_registry, incident_file, database, args, message):
    if database != "sqlite":
        pytest.skip("the command runs against its own SQLite file; once is enough")
    home, url = cli_registry
    result = run_cli("enforce", "import-incident", str(incident_file), *args, home=home, database=url)
    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_cli_refuses_a_malformed_file_in_one_line(cli_registry, tmp_path, database):
    if database != "sqlite":
        pytest.skip("the command runs against its own SQLite file; once is enough")
    home, url = cli_registry
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": ')
    result = run_cli("enforce", "import-incident", str(bad), "--product", "Northwind Devices/SmartPlug P1",
                     "--devices", "3", home=home, database=url)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {bad}: not an incident file: invalid JSON")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_incident_page_shows_the_playbook_response_and_overdue_cra_reports(client, regulator, product,
                                                                                  incident_file):
    from iotmark.mitigate.incidents import Incident as ResponseRecord
    from iotmark.mitigate.incidents import deadlines

    assert api_import(client, regulator, import_body(incident_file, product)).status_code == 201
    record = ResponseRecord.model_validate_json(incident_file.read_text())
    client.force_login(regulator.user)
    page = client.get(f"/incidents/{record.id}").content.decode()
    assert "Response by playbook" in page and f"0 of {len(record.tasks)} tasks done" in page
    assert all(task.title in page and task.owner in page for task in record.tasks)
    due = [d for d in deadlines(record) if d.due is not None]
    # Opened on 2026-03-01 with nothing sent: every report with a fixed due time is overdue by now.
    assert due and all(d.overdue for d in due)
    assert page.count('<strong class="error">overdue</strong>') == len(due)
