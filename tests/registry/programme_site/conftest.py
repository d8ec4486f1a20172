"""Programme-site fixtures: a second assessor of the sample's lab, archives built from examples/programme/ and
that workspace stored for the parent's vendor (Northwind Devices)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "programme"
AS_OF = "2026-11-01"


@pytest.fixture
def assessor(make_person):
    """A second assessor of the lab that certified the sample device."""
    return make_person("assessor-2", "lab", "Example Test Lab")


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

