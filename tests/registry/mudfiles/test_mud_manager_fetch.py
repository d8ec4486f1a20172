"""The whole RFC 8520 flow against a real registry process: a vendor publishes a signed MUD file through the API of
`iotmark serve`, then a MUD manager fetches the MUD URL and the signature next to it over HTTP, validates the file
with `iotmark mud validate` and verifies the signature with `iotmark mud verify` under the vendor's CA."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from servers import IOTMARK, server_database, serving


def _iotmark(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(IOTMARK + args, env=env, capture_output=True, text=True, timeout=120)


def _multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, content in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _call(url: str, token: str, body: bytes | None = None, content_type: str = "application/json") -> dict:
    request = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {token}",
                                                              "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def served_registry(database, request, tmp_path_factory):
    """`iotmark serve` on a free port with a Northwind Devices vendor member, on SQLite in a scratch IOTMARK_HOME
    (or, in the PostgreSQL run, a fresh database on the test PostgreSQL server); yields (base URL, the member's
    token, the environment)."""
    home = tmp_path_factory.mktemp("mud-registry")
    with serving(home / "home", server_database(database, request, home / "database")) as server:
        created = server.cli("createuser", "northwind", "--role", "vendor", "--org", "Northwind Devices",
                             "--no-password", "--token")
        yield server.url, created.rsplit(": ", 1)[1].strip(), server.env


def test_a_mud_manager_fetches_validates_and_verifies_what_the_vendor_published(served_registry, vendor_pki,
                                                                                  make_mud, tmp_path: Path):
    base, token, env = served_registry
    # The vendor: a product, its MUD signing CA, then the MUD file at the URL the registry names, signed.
    product = _call(f"{base}/api/v1/vendor/products", token,
                    json.dumps({"model": "SmartPlug P1", "device_class": "consumer-general"}).encode())
    body, kind = _multipart({}, {"certificate": vendor_pki.ca_pem})
    _call(f"{base}/api/v1/mud/signers", token, body, kind)
    listed = _call(f"{base}/api/v1/mud/products", token)
    mud_url = next(p["mud_url"] for p in listed if p["product_id"] == product["id"])
    vendor_dir = tmp_path / "vendor"
    vendor_dir.mkdir()
    (vendor_dir / "plug.json").write_bytes(make_mud(mud_url))
    (vendor_dir / "signer.pem").write_bytes(vendor_pki.signer_pem)
    (vendor_dir / "signer.key").write_bytes(vendor_pki.key_pem)
    signing = _iotmark(["mud", "sign", str(vendor_dir / "plug.json"), "--cert", str(vendor_dir / "signer.pem"),
                        "--key", str(vendor_dir / "signer.key")], env)
    assert signing.returncode == 0, signing.stderr
    body, kind = _multipart({"product_id": str(product["id"])},
                            {"mud": (vendor_dir / "plug.json").read_bytes(),
                             "signature": (vendor_dir / "plug.json.p7s").read_bytes()})
    published = _call(f"{base}/api/v1/mud", token, body, kind)
    assert (published["mud_url"], published["version"]) == (mud_url, 1)

    # The MUD manager: fetch the MUD URL and, RFC 8520 section 13.2, the same URL with .p7s for the signature.
    manager = tmp_path / "manager"
    manager.mkdir()
    with urllib.request.urlopen(mud_url, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/mud+json"
        etag = response.headers["ETag"]
        (manager / "fetched.json").write_bytes(response.read())
    with urllib.request.urlopen(mud_url.removesuffix(".json") + ".p7s", timeout=30) as response:
        assert response.headers["Content-Type"] == "application/pkcs7-signature"
        (manager / "fetched.json.p7s").write_bytes(response.read())
    (manager / "ca.pem").write_bytes(vendor_pki.ca_pem)
    assert (manager / "fetched.json").read_bytes() == (vendor_dir / "plug.json").read_bytes()

    validated = _iotmark(["mud", "validate", str(manager / "fetched.json")], env)
    assert (validated.returncode, validated.stdout.strip()) == (0, f"{manager / 'fetched.json'}: valid")
    verified = _iotmark(["mud", "verify", str(manager / "fetched.json"), str(manager / "fetched.json.p7s"),
                         "--ca", str(manager / "ca.pem")], env)
    assert verified.returncode == 0, verified.stderr
    assert "signature good, signed by CN=Northwind MUD signer,O=Northwind Devices" in verified.stdout

    # A refresh within cache-validity with the validator it was given: 304, nothing to download again.
    refresh = urllib.request.Request(mud_url, headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        urllib.request.urlopen(refresh, timeout=30)
    assert not_modified.value.code == 304
