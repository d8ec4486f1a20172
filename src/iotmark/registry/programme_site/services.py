"""Keeping programme workspaces in the registry: who may see which organisation's programme, storing a checked
upload as a new version (audited), and loading a stored version with the programme library.

A stored version is loaded by writing its files into a temporary folder that is deleted afterwards: the
programme library reads folders, and this keeps it the single reader of the workspace format.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db import router, transaction
from django.db.models import Max
from django.utils import timezone

from iotmark.inputs import InputError
from iotmark.programme.workspace import Workspace, load_workspace
from iotmark.registry import audit
from iotmark.registry.models import Member, Organisation
from iotmark.registry.programme_site.archive import ArchiveRefused, read_archive
from iotmark.registry.programme_site.models import WorkspaceVersion
from iotmark.registry.services import RegistryError, role_of

NOT_FOUND = "no such programme"


def programme_organisation(user, vendor_id: str | None) -> Organisation | None:
    """The vendor organisation whose programme `user` asks for: a vendor member always gets their own (asking
    for another one is 404); an admin names one by id (None: not chosen yet). Everyone else: 404."""
    member = role_of(user)
    if member is None or member.role not in (Member.Role.VENDOR, Member.Role.ADMIN):
        raise RegistryError(404, NOT_FOUND)
    if member.role == Member.Role.VENDOR:
        org = member.organisation
        if org is None or (vendor_id not in (None, "") and vendor_id != str(org.pk)):
            raise RegistryError(404, NOT_FOUND)
        return org
    if vendor_id in (None, ""):
        return None
    if not vendor_id.isdigit() or len(vendor_id) > 18:
        raise RegistryError(404, NOT_FOUND)
    org = Organisation.objects.filter(pk=int(vendor_id), kind=Organisation.Kind.VENDOR).first()
    if org is None:
        raise RegistryError(404, NOT_FOUND)
    return org


def uploading_organisation(user) -> Organisation:
    """Only vendor members upload, and only for their own organisation (admins read, they do not write)."""
    member = role_of(user)
    if member is None or member.role not in (Member.Role.VENDOR, Member.Role.ADMIN):
        raise RegistryError(404, NOT_FOUND)
    if member.role != Member.Role.VENDOR or member.organisation is None:
        raise RegistryError(403, "only members of the vendor organisation upload its programme")
    return member.organisation


def current_version(org: Organisation) -> WorkspaceVersion | None:
    return WorkspaceVersion.objects.filter(organisation=org).order_by("-number").first()


def version_of(org: Organisation, number: str | int | None) -> WorkspaceVersion:
    """A stored version of this organisation (the latest when `number` is None); 404 otherwise."""
    if number in (None, ""):
        found = current_version(org)
    elif str(number).isdigit() and len(str(number)) <= 9:
        found = WorkspaceVersion.objects.filter(organisation=org, number=int(number)).first()
    else:
        found = None
    if found is None:
        raise RegistryError(404, "no such workspace version" if number not in (None, "") else
                            "no programme workspace has been uploaded yet")
    return found


def files_digest(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode("utf-8") + b"\x00" + files[path].encode("utf-8") + b"\x00")
    return digest.hexdigest()


@contextlib.contextmanager
def materialised(files: dict[str, str]) -> Iterator[Workspace]:
    """The files loaded as a programme Workspace from a temporary folder (deleted on exit). Problems raise
    `InputError` with paths relative to the workspace, never the temporary folder's."""
    with tempfile.TemporaryDirectory(prefix="iotmark-programme-") as folder:
        root = Path(folder)
        for relative, text in files.items():
            target = (root / relative).resolve()
            if root.resolve() not in target.parents:  # stored paths were checked on upload; check again anyway
                raise InputError(f"{relative}: path outside the workspace")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            except OSError as exc:  # a file and a folder of the same name, a name too long for the disk, ...
                raise InputError(f"{relative}: cannot be placed in the workspace ({exc.strerror})") from None
        try:
            yield load_workspace(root)
        except InputError as exc:
            raise InputError(str(exc).replace(str(root) + "/", "").replace(str(root), "workspace")) from None


@contextlib.contextmanager
def loaded(version: WorkspaceVersion) -> Iterator[Workspace]:
    """A stored version as a Workspace; if it no longer loads (or its numbers cannot be computed) that is a
    RegistryError(422) telling the user to upload a corrected version."""
    try:
        with materialised(version.files) as workspace:
            yield workspace
    except InputError as exc:
        raise RegistryError(422, f"the stored workspace (version {version.number}) can no longer be read: {exc}; "
                                 "upload a corrected version") from None


def check_workspace(workspace: Workspace, org: Organisation) -> None:
    """What the pages need beyond loading: the workspace names this organisation as its vendor, every
    assessment answers known questions, and its KPI weights are valid."""
    from iotmark.programme.kpis import definitions_for
    from iotmark.programme.samm import unknown_questions

    if workspace.organisation.vendor != org.name:
        raise InputError(f"organisation.yaml: field vendor is {workspace.organisation.vendor!r} but this registry "
                         f"knows your organisation as {org.name!r}; set `vendor: {org.name}`")
    for assessment in workspace.assessments:
        unknown = unknown_questions(assessment)
        if unknown:
            raise InputError(f"assessment of {assessment.unit} on {assessment.date}: unknown question id(s) "
                             f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    definitions_for(workspace)


def store_workspace(user, org: Organisation, data: bytes, archive_name: str) -> WorkspaceVersion:
    """Check an uploaded archive (safe to unpack, loads as a workspace of this organisation) and store it as
    the organisation's next version; audited in the same transaction. Refusals are RegistryError(400)."""
    try:
        files = read_archive(data)
        with materialised(files) as workspace:
            check_workspace(workspace, org)
    except (ArchiveRefused, InputError) as exc:
        raise RegistryError(400, f"upload refused: {exc}") from None
    digest = files_digest(files)
    with transaction.atomic(using=router.db_for_write(WorkspaceVersion)):
        # lock the organisation row so two uploads at once cannot take the same number
        Organisation.objects.select_for_update().filter(pk=org.pk).first()
        last = WorkspaceVersion.objects.filter(organisation=org).aggregate(n=Max("number"))["n"] or 0
        version = WorkspaceVersion.objects.create(
            organisation=org, number=last + 1, files=files, digest=digest,
            size=sum(len(t.encode("utf-8")) for t in files.values()), archive_name=archive_name[:200],
            uploaded_by=user, uploader=user.get_username()[:150], uploaded=timezone.now())
        audit.record(user, "programme.workspace.upload", version,
                     {"organisation": org.name, "number": version.number, "files": len(files), "digest": digest,
                      "archive": version.archive_name})
    return version
