"""Programme-site fixtures: members of the example workspace's vendor (Northwind Devices), of another vendor, of
a lab and a regulator, an admin (each with an API token), and archives built from examples/programme/."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "programme"
AS_OF = "2026-11-01"


@dataclass
class Person:
    user: object
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def _person(username: str, role: str, org: str | None) -> Person:
    from iotmark.registry import services

    user = services.create_user(username, None, role, org)
    return Person(user, services.issue_token(user, "tests"))


@pytest.fixture
def vendor() -> Person:
    return _person("northwind-lead", "vendor", "Northwind Devices")


@pytest.fixture
def other_vendor() -> Person:
    return _person("southwind-lead", "vendor", "Southwind Gadgets")


@pytest.fixture
def admin() -> Person:
    return _person("root", "admin", None)


@pytest.fixture
def regulator() -> Person:
    return _person("inspector", "regulator", "Market Surveillance Authority")


@pytest.fixture
def assessor() -> Person:
    return _person("assessor-2", "lab", "Example Test Lab")


def example_files(root: Path = EXAMPLE) -> dict[str, bytes]:
    """Every file of the example workspace, by path relative to it."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def tar_gz(files: dict[str, bytes], prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def example_archive() -> bytes:
    """examples/programme/ packed as a .tar.gz, the way a user would upload it."""
    return tar_gz(example_files())


@pytest.fixture
def stored(vendor, example_archive):
    """The example workspace stored as the vendor's version 1."""
    from iotmark.registry.models import Member
    from iotmark.registry.programme_site import services

    org = Member.objects.get(user=vendor.user).organisation
    return services.store_workspace(vendor.user, org, example_archive, "programme.tar.gz")


@pytest.fixture
def logged_in(client, vendor):
    client.force_login(vendor.user)
    return client


@pytest.fixture
def certified(signed, lab):
    """The sample device (Northwind Devices SmartPlug P1) certified in this registry by its lab, so the
    registry's facts about the vendor hold a product with a certificate."""
    from django.test import override_settings

    from iotmark.registry import services

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        record, _ = services.upload_certificate(lab.user, signed.valid, signed.assessment)
    return record
