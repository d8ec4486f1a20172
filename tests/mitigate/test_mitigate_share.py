"""STIX 2.1 export checked by stix2-validator; publish and fetch against medallion, a real TAXII 2.1 server
started here on loopback with its memory backend; the manufacturer → operator notice."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time

import pytest
import requests
from stix2validator import ValidationOptions, validate_string
from test_mitigate_detect import BEACON, BOT
from test_mitigate_incident import detection  # noqa: F401 - the shared fixture: real detect output
from typer.testing import CliRunner

from iotmark.mitigate.cli import app
from iotmark.mitigate.incidents import open_incident
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.notice import build_notice, notice_markdown
from iotmark.mitigate.share import ShareError, detection_objects, incident_objects, load_bundle, make_bundle

runner = CliRunner()
API_ROOT = "sharing"
COLLECTION_ID = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
USER, PASSWORD = "operator", "lab-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def taxii(tmp_path_factory):
    """A medallion TAXII 2.1 server on 127.0.0.1 with one readable and writable collection; its API root URL."""
    folder = tmp_path_factory.mktemp("medallion")
    port = _free_port()
    data = {
        "/discovery": {"title": "iotmark test TAXII server", "default": f"http://127.0.0.1:{port}/{API_ROOT}/",
                       "api_roots": [f"http://127.0.0.1:{port}/{API_ROOT}/"]},
        API_ROOT: {
            "information": {"title": "IoT sharing", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10485760},
            "status": [],
            "collections": [{"id": COLLECTION_ID, "title": "iot-botnets", "can_read": True, "can_write": True,
                             "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}],
        },
    }
    (folder / "data.json").write_text(json.dumps(data))
    config = {"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                          "filename": str(folder / "data.json")},
              "users": {USER: PASSWORD}, "taxii": {"max_page_size": 100}}
    (folder / "config.json").write_text(json.dumps(config))
    log = (folder / "medallion.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port",
                               str(port), str(folder / "config.json")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/{API_ROOT}/"
    try:
        for _ in range(300):  # wait until it answers, not for a fixed time
            if server.poll() is not None:
                pytest.fail(f"medallion exited: {(folder / 'medallion.log').read_text()}")
            try:
                requests.get(f"http://127.0.0.1:{port}/taxii2/", auth=(USER, PASSWORD), timeout=1,
                             headers={"Accept": "application/taxii+json;version=2.1"})
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _validate(text: str):
    result = validate_string(text, ValidationOptions(strict=True, version="2.1"))
    return result.is_valid, [str(e) for e in result.errors], [str(w) for w in result.warnings]


def test_detection_bundle_is_valid_stix_with_bot_and_c2_indicators(detection):
    bundle = make_bundle(detection_objects(json.loads(detection.read_text())))
    assert _validate(bundle.serialize()) == (True, [], [])
    patterns = {o.pattern: o for o in bundle.objects if o.type == "indicator"}
    assert patterns[f"[ipv4-addr:value = '{BOT}']"].indicator_types == ["compromised"]
    assert patterns["[ipv4-addr:value = '198.51.100.77']"].indicator_types == ["malicious-activity"]
    assert f"[ipv4-addr:value = '{BEACON}']" in patterns
    assert sorted({o.type for o in bundle.objects}) == ["identity", "indicator", "malware", "relationship"]


def test_exporting_twice_gives_the_same_object_ids(detection):
    report = json.loads(detection.read_text())
    first = sorted(o.id for o in make_bundle(detection_objects(report)).objects)
    assert first == sorted(o.id for o in make_bundle(detection_objects(report)).objects)


def test_incident_bundle_is_valid_stix(detection):
    opened = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.timezone.utc)
    inc = open_incident("botnet-enlisted", "cameras in a botnet", detection=json.loads(detection.read_text()),
                        now=opened)
    bundle = make_bundle(incident_objects(inc))
    assert _validate(bundle.serialize()) == (True, [], [])
    stix_incident = next(o for o in bundle.objects if o.type == "incident")
    assert stix_incident.name == "cameras in a botnet"
    assert stix_incident.external_references[0].external_id == inc.id
    related = [o for o in bundle.objects if o.type == "relationship" and o.relationship_type == "related-to"]
    assert {r.target_ref for r in related} == {stix_incident.id}
    assert len(related) == len(inc.affected_hosts) + 1  # each host, plus the C2 server one of them beacons to


def test_cli_export_publish_fetch_round_trip_through_medallion(taxii, detection, tmp_path):
    bundle_path = tmp_path / "bundle.json"
    exported = runner.invoke(app, ["share", "export", "--detections", str(detection), "--indicator",
                                   "bad.example", "-o", str(bundle_path)])
    assert exported.exit_code == 0, exported.output
    sent = json.loads(bundle_path.read_text())
    published = runner.invoke(app, ["share", "publish", str(bundle_path), "--url", taxii, "--collection",
                                    "iot-botnets", "--user", USER, "--password", PASSWORD])
    assert published.exit_code == 0, published.output
    count = len(sent["objects"])
    assert published.stdout == f"{count} of {count} object(s) added to iot-botnets (complete)\n"
    fetched = runner.invoke(app, ["share", "fetch", "--url", taxii, "--collection", COLLECTION_ID],
                            env={"IOTMARK_TAXII_USER": USER, "IOTMARK_TAXII_PASSWORD": PASSWORD})
    assert fetched.exit_code == 0, fetched.output
    got = json.loads(fetched.stdout)
    assert _validate(fetched.stdout)[0] is True
    assert sorted(o["id"] for o in got["objects"]) == sorted(o["id"] for o in sent["objects"])


def test_cli_publish_with_a_wrong_password_is_one_line_exit_2(taxii, tmp_path):
    bundle_path = tmp_path / "bundle.json"
    runner.invoke(app, ["share", "export", "--indicator", "203.0.113.9", "-o", str(bundle_path)])
    result = runner.invoke(app, ["share", "publish", str(bundle_path), "--url", taxii, "--collection", "iot-botnets",
                                 "--user", USER, "--password", "wrong"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {taxii}: TAXII server at {taxii}: HTTP 401 UNAUTHORIZED\n"


def test_cli_fetch_from_an_unknown_collection_is_refused(taxii):
    result = runner.invoke(app, ["share", "fetch", "--url", taxii, "--collection", "nope", "--user", USER,
                                 "--password", PASSWORD])
    assert result.exit_code == 2
    assert result.stderr == f"error: {taxii}: no collection 'nope' at {taxii}\n"


def test_cli_publish_refuses_a_file_that_is_not_a_bundle(tmp_path):
    bad = tmp_path / "bundle.json"
    bad.write_text('{"type": "indicator"}')
    result = runner.invoke(app, ["share", "publish", str(bad), "--url", "http://127.0.0.1:9/x/", "--collection", "c"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad}: not a STIX bundle: expected an object with type 'bundle'\n"


@pytest.fixture
def plug_mud():
    return build_mud(mud_url="https://lab.example/plug.json", manufacturer="Northwind", model="Plug",
                     endpoints=[Endpoint("cloud.lab.example", "tcp", 8443)])


def test_notice_names_products_indicators_mud_and_containment(detection, plug_mud):
    notice = build_notice(manufacturer="Northwind", affected=[{"model": "Plug", "firmware": ["1.0.2", "1.0.3"]}],
                          summary="Plugs on 1.0.x are being enlisted.", detection=json.loads(detection.read_text()),
                          mud=plug_mud, resolved={"cloud.lab.example": ["203.0.113.10"]},
                          now=dt.datetime(2026, 10, 2, tzinfo=dt.timezone.utc))
    roles = {i["value"]: i["role"] for i in notice["indicators"]}
    assert roles[BOT] == "compromised device" and roles["198.51.100.77"] == "command and control"
    assert notice["mud"]["url"] == "https://lab.example/plug.json"
    assert {"direction": "from-device", "action": "accept", "protocol": "tcp", "peer": "cloud.lab.example",
            "peer_port": "8443", "device_port": None} in notice["mud"]["permitted"]
    bots = [h["address"] for h in json.loads(detection.read_text())["hosts"] if h["verdict"] == "botnet"]
    assert BOT in bots
    assert [(c["device"], c["kind"]) for c in notice["containment"]] == [
        (b, k) for b in bots for k in ("quarantine to MUD-permitted flows", "block telnet scanning and rate-limit")]
    assert (f"ip saddr {BOT} ip daddr {{ 203.0.113.10 }} meta l4proto 6 th dport 8443 counter accept"
            in notice["containment"][0]["nftables"])
    markdown = notice_markdown(notice)
    assert markdown.startswith("# Security notice from Northwind to network operators\n")
    assert "- Plug: firmware 1.0.2, 1.0.3\n" in markdown


def test_cli_notice_writes_json_and_markdown(detection, plug_mud, tmp_path):
    mud_path = tmp_path / "plug.json"
    mud_path.write_text(json.dumps(plug_mud))
    out = tmp_path / "notice.json"
    result = runner.invoke(app, ["share", "notice", "--manufacturer", "Northwind", "--affected", "Plug=1.0.2",
                                 "--summary", "Enlisted plugs.", "--mud", str(mud_path), "--device", "10.9.9.9",
                                 "--indicator", "bad.example", "-o", str(out)])
    assert result.exit_code == 0, result.output
    notice = json.loads(out.read_text())
    assert notice["affected"] == [{"model": "Plug", "firmware": ["1.0.2"]}]
    assert notice["indicators"] == [{"value": "bad.example", "pattern": "[domain-name:value = 'bad.example']",
                                     "role": "indicator", "behaviours": []}]
    assert [c["device"] for c in notice["containment"]] == ["10.9.9.9", "10.9.9.9"]
    assert out.with_suffix(".md").read_text().startswith("# Security notice from Northwind to network operators\n")


def test_cli_notice_refuses_a_bad_device_address(tmp_path):
    result = runner.invoke(app, ["share", "notice", "--manufacturer", "N", "--affected", "Plug", "--summary", "s",
                                 "--device", "not-an-ip"])
    assert result.exit_code == 2
    assert result.stderr == "error: notice: device 'not-an-ip' is not an IP address\n"


def test_custom_properties_are_refused_for_publishing_but_kept_when_fetched():
    identity = {"type": "identity", "spec_version": "2.1", "id": "identity--11e0e65d-3ac2-445c-a7e1-0a6f40f95b13",
                "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "x", "x_team": "red"}
    data = json.dumps({"type": "bundle", "id": "bundle--11e0e65d-3ac2-445c-a7e1-0a6f40f95b13",
                       "objects": [identity]}).encode()
    assert load_bundle(data, allow_custom=True)["objects"][0]["x_team"] == "red"
    with pytest.raises(ShareError) as refused:
        load_bundle(data)
    assert str(refused.value) == ("not a valid STIX 2.1 bundle: Invalid value for Bundle 'objects': "
                                  "Unexpected properties for Identity: (x_team).")
