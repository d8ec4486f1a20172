"""Send a signed certificate to a registry over HTTP (standard library only, so the CLI stays fast), or store it
in the embedded registry on this machine for `iotmark demo --serve`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MAX_CERTIFICATE_BYTES = 1024 * 1024
MAX_ASSESSMENT_BYTES = 16 * 1024 * 1024
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_REPLY_BYTES = 1024 * 1024
MAX_REPLY_DEPTH = 16  # the registry's answers are flat objects
MAX_IDEMPOTENCY_KEY = 100
TIMEOUT_SECONDS = 60


class PublishError(Exception):
    """Publishing failed; the message is one line for the user."""


@dataclass
class Published:
    cert_id: str
    verify_url: str
    created: bool  # False: the registry already held this certificate (or this retry's first attempt)


def _read(path: Path, limit: int, what: str) -> str:
    try:
        if path.stat().st_size > limit:
            raise PublishError(f"{path}: the {what} is larger than {limit // 1024} KiB")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PublishError(f"{path}: the {what} is not UTF-8 text") from None
    except OSError as exc:
        raise PublishError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def _reply(response, url: str) -> dict:
    from iotmark.inputs import JsonInputError, load_json_bytes  # here: importing pydantic would slow the CLI

    body = response.read(MAX_REPLY_BYTES + 1)
    if len(body) > MAX_REPLY_BYTES:
        raise PublishError(f"{url}: the reply is larger than {MAX_REPLY_BYTES // 1024} KiB; is this a registry?")
    try:
        data = load_json_bytes(body, max_bytes=None, max_depth=MAX_REPLY_DEPTH)
    except JsonInputError:
        data = None
    if not isinstance(data, dict):
        raise PublishError(f"{url}: the reply is not the registry's JSON; is this a registry?")
    return data


def publish(base_url: str, certificate: Path, assessment: Path, token: str, idempotency_key: str | None = None,
            timeout: float = TIMEOUT_SECONDS, bundle: Path | None = None) -> Published:
    """POST the certificate and its assessment to BASE_URL/api/certificates with a lab's bearer token."""
    if not base_url.lower().startswith(("http://", "https://")):
        raise PublishError(f"{base_url}: the registry address must start with http:// or https://")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise PublishError(f"the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    payload = {"certificate": _read(certificate, MAX_CERTIFICATE_BYTES, "certificate"),
               "assessment": _read(assessment, MAX_ASSESSMENT_BYTES, "assessment")}
    if bundle is not None:
        payload["bundle"] = _read(bundle, MAX_BUNDLE_BYTES, "evidence bundle")
    body = json.dumps(payload).encode("utf-8")
    url = base_url.rstrip("/") + "/api/certificates"
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, data = response.status, _reply(response, url)
    except urllib.error.HTTPError as exc:
        try:
            detail = _reply(exc, url).get("detail")
        except PublishError:
            detail = None
        reason = detail if isinstance(detail, str) else exc.reason
        raise PublishError(f"the registry refused the certificate (HTTP {exc.code}): {reason}") from None
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        raise PublishError(f"cannot reach the registry at {base_url}: {reason}") from None
    except TimeoutError:
        raise PublishError(f"the registry at {base_url} did not answer within {timeout:g} s") from None
    if not isinstance(data.get("id"), str) or not isinstance(data.get("verify_url"), str):
        raise PublishError(f"{url}: the reply names no certificate; is this a registry?")
    return Published(data["id"], data["verify_url"], status == 201)


def publish_embedded(certificate: Path, assessment: Path, public_key: Path, username: str = "demo-lab",
                     bundle: Path | None = None) -> str:
    """Store a certificate in the embedded registry (IOTMARK_HOME or IOTMARK_DATABASE_URL) through the same
    upload service as the API: the lab user and its key are set up if missing. Returns the certificate id."""
    from iotmark.registry.server import migrate, setup_django

    setup_django(None)
    migrate()
    from django.contrib.auth import get_user_model

    from iotmark.assess.certificate import read_certificate
    from iotmark.registry import services

    signed, _ = read_certificate(certificate)
    try:
        services.trust_key(public_key.read_bytes(), signed.issuer, actor="system")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = services.create_user(username, None, "lab", signed.issuer)
        record, _ = services.upload_certificate(
            user, _read(certificate, MAX_CERTIFICATE_BYTES, "certificate"),
            _read(assessment, MAX_ASSESSMENT_BYTES, "assessment"),
            bundle_json=_read(bundle, MAX_BUNDLE_BYTES, "evidence bundle") if bundle is not None else None)
    except services.RegistryError as exc:
        raise PublishError(f"the embedded registry refused the certificate: {exc}") from None
    return record.cert_id
