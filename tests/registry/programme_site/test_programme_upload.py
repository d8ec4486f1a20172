"""Uploading a programme workspace: the example folder is stored as a version and comes back intact; hostile or
broken archives are refused with one clear line and nothing stored; CSRF is enforced."""

from __future__ import annotations

import gzip
import html as html_text
import io
import tarfile
import zipfile

import pytest
from conftest import EXAMPLE, example_files, tar_gz, zip_bytes
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from iotmark.registry.models import AuditEntry
from iotmark.registry.programme_site.models import WorkspaceVersion


def _post(client, data: bytes, name: str = "programme.tar.gz"):
    return client.post("/programme/upload", {"archive": SimpleUploadedFile(name, data)})


def _error_line(response) -> str:
    html = response.content.decode()
    start = html.index('role="alert">') + len('role="alert">')
    return html_text.unescape(html[start:html.index("</p>", start)].strip())


def test_example_workspace_upload_is_stored_as_version_one(logged_in, example_archive):
    response = _post(logged_in, example_archive)
    assert response.status_code == 302 and response["Location"] == "/programme"
    version = WorkspaceVersion.objects.get()
    assert version.number == 1
    assert version.organisation.name == "Northwind Devices"
    assert version.uploader == "northwind-lead"
    assert version.files == {k: v.decode() for k, v in example_files().items()}
    entry = AuditEntry.objects.filter(action="programme.workspace.upload").get()
    assert entry.actor == "northwind-lead" and entry.object_id == str(version.pk)
    assert entry.data["files"] == len(example_files()) and entry.data["digest"] == version.digest


def test_a_second_upload_keeps_the_first_as_history(logged_in, example_archive):
    files = example_files()
    files["champions.yaml"] = b"champions: []\n"
    assert _post(logged_in, example_archive).status_code == 302
    assert _post(logged_in, zip_bytes(files), "programme.zip").status_code == 302
    first, second = WorkspaceVersion.objects.order_by("number")
    assert (first.number, second.number) == (1, 2)
    assert first.files["champions.yaml"] == (EXAMPLE / "champions.yaml").read_text()
    assert second.files["champions.yaml"] == "champions: []\n"
    assert second.archive_name == "programme.zip"


def test_download_returns_the_current_version_as_tar_gz(logged_in, stored):
    response = logged_in.get("/programme/workspace.tar.gz")
    assert response.status_code == 200 and response["Content-Type"] == "application/gzip"
    assert 'filename="programme-northwind-devices-v1.tar.gz"' in response["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        got = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    assert got == example_files()


def test_download_of_an_earlier_version_and_of_a_missing_one(logged_in, stored):
    assert logged_in.get("/programme/workspace.tar.gz?version=1").status_code == 200
    assert logged_in.get("/programme/workspace.tar.gz?version=2").status_code == 404
    assert logged_in.get("/programme/workspace.tar.gz?version=abc").status_code == 404


def test_a_folder_archived_with_its_name_is_accepted(logged_in):
    response = _post(logged_in, tar_gz(example_files(), prefix="programme/"))
    assert response.status_code == 302
    assert "organisation.yaml" in WorkspaceVersion.objects.get().files


def _tar_with(member: tarfile.TarInfo, content: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in example_files().items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        member.size = len(content) if member.isfile() else 0
        archive.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return buffer.getvalue()


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _hardlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info


def _gzip_bomb() -> bytes:
    # one 30 MiB file of zeros compresses to ~30 kB; the reader must stop at the unpacked-size limit
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("assessments/huge.yaml")
        info.size = 30 * 1024 * 1024
        archive.addfile(info, io.BytesIO(b"\0" * info.size))
    return buffer.getvalue()


def _zip_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in example_files().items():
            archive.writestr(name, data)
        info = zipfile.ZipInfo("assessments/link.yaml")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _with(path: str, content: bytes) -> dict[str, bytes]:
    files = example_files()
    files[path] = content
    return files


HOSTILE = {
    "path traversal": (lambda: tar_gz(_with("../escape.yaml", b"a: 1\n")), "'..' in a path is not allowed"),
    "absolute path": (lambda: tar_gz(_with("/tmp/escape.yaml", b"a: 1\n")), "absolute paths are not allowed"),
    "zip path traversal": (lambda: zip_bytes(_with("assessments/../../x.yaml", b"a: 1\n")),
                           "'..' in a path is not allowed"),
    "symlink": (lambda: _tar_with(_symlink("assessments/link.yaml", "/etc/passwd")), "links are not allowed"),
    "hard link": (lambda: _tar_with(_hardlink("assessments/link.yaml", "organisation.yaml")),
                  "links are not allowed"),
    "zip symlink": (_zip_symlink, "links are not allowed"),
    "too many members": (lambda: tar_gz({f"assessments/a{i}.yaml": b"" for i in range(501)}),
                         "more than 500 entries"),
    "zip too many members": (lambda: zip_bytes({f"imports/a{i}.csv": b"" for i in range(501)}),
                             "501 entries in the archive; the limit is 500"),
    "too large": (lambda: gzip.compress(b"x") + bytes(5 * 1024 * 1024), "the limit is 5 MiB"),
    "gzip bomb": (_gzip_bomb, "limit per file is 2 MiB"),
    "not an archive": (lambda: b"name: Northwind\nvendor: x\n", "not a .tar.gz or .zip archive"),
    "truncated archive": (lambda: tar_gz(example_files())[:300], "damaged or not a tar archive"),
    "other file type": (lambda: tar_gz(_with("tools/run.sh", b"rm -rf /\n")),
                        "tools/run.sh: only YAML, JSON, CSV and SARIF files"),
    "binary content": (lambda: tar_gz(_with("imports/x.json", b"\xff\xfe\x00")), "imports/x.json: not UTF-8 text"),
    "invalid YAML": (lambda: tar_gz(_with("champions.yaml", b"champions: [unclosed\n")), "champions.yaml"),
    "unknown unit": (lambda: tar_gz(_with("assessments/x.yaml", b"unit: moon\ndate: 2026-01-01\n")),
                     "assessments/x.yaml: field unit: unknown unit 'moon'"),
    "file and folder of one name": (lambda: tar_gz(_with("champions.yaml/x.yaml", b"a: 1\n")),
                                    "champions.yaml/x.yaml: cannot be placed in the workspace"),
    "name too long for the disk": (lambda: tar_gz(_with("imports/" + "\u00e9" * 200 + ".csv", b"a\n")),
                                   "cannot be placed in the workspace (File name too long)"),
    "no organisation.yaml": (lambda: tar_gz({"champions.yaml": b"champions: []\n"}), "organisation.yaml: file not found"),
    "another vendor": (lambda: tar_gz(_with("organisation.yaml", (EXAMPLE / "organisation.yaml").read_bytes()
                                            .replace(b"vendor: Northwind Devices", b"vendor: Southwind Gadgets"))),
                       "field vendor is 'Southwind Gadgets' but this registry knows your organisation as"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_or_broken_archives_are_refused_with_one_line_and_nothing_stored(logged_in, case):
    build, expected = HOSTILE[case]
    response = _post(logged_in, build())
    assert response.status_code == 400
    line = _error_line(response)
    assert line.startswith("upload refused: ") and expected in line and "\n" not in line
    assert "/tmp/iotmark-programme-" not in line and "Traceback" not in response.content.decode()
    assert not WorkspaceVersion.objects.exists()
    assert not AuditEntry.objects.filter(action="programme.workspace.upload").exists()


def test_upload_without_a_file_is_refused(logged_in):
    response = logged_in.post("/programme/upload", {})
    assert response.status_code == 400 and "This field is required." in _error_line(response)
    assert not WorkspaceVersion.objects.exists()


def test_upload_needs_the_csrf_token(vendor, example_archive):
    client = Client(enforce_csrf_checks=True)
    client.force_login(vendor.user)
    response = _post(client, example_archive)
    assert response.status_code == 403
    assert not WorkspaceVersion.objects.exists()
    page = client.get("/programme/upload")
    token = page.cookies["csrftoken"].value
    response = client.post("/programme/upload", {"archive": SimpleUploadedFile("p.tar.gz", example_archive),
                                                 "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and WorkspaceVersion.objects.count() == 1
