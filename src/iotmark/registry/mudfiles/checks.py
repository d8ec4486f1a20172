"""Checks on an uploaded MUD file before the registry serves it: size, JSON limits, the RFC 8520 YANG modules,
its `mud-url`, its match with the product, and its detached signature under the vendor's registered certificates.

Refusals are `MudRefused` (a RegistryError): one line for the user, plus every schema error when there are some.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from iotmark.registry.services import RegistryError

MAX_MUD_BYTES = 256 * 1024
MAX_SIGNATURE_BYTES = 256 * 1024
# ietf-mud.yang (RFC 8520 section 2.1): cache-validity is in hours, 1..168, default 48.
DEFAULT_CACHE_VALIDITY_HOURS = 48


class MudRefused(RegistryError):
    """An upload the registry refuses; `errors` lists every schema error (path: message) when the file does not
    conform to the MUD YANG modules."""

    def __init__(self, status: int, message: str, errors: list[str] | None = None):
        super().__init__(status, message)
        self.errors = errors or []


@dataclass
class CheckedMud:
    """A MUD file that passed every check, with what the registry keeps about it."""

    content: bytes
    sha256: str
    cache_validity_hours: int
    last_update: str
    signature: bytes | None = None
    signed_by: str = ""
    warnings: list[str] = field(default_factory=list)


def parse_mud(content: bytes) -> dict[str, Any]:
    """The parsed MUD JSON within the size and nesting limits, valid against the YANG modules, or MudRefused."""
    from iotmark.mitigate.untrusted import BadInput, parse_json
    from iotmark.mitigate.yang import YangModulesMissing, validate_mud

    if not content:
        raise MudRefused(400, "the MUD file is empty")
    if len(content) > MAX_MUD_BYTES:
        raise MudRefused(413, f"the MUD file is {len(content)} bytes; the registry takes at most {MAX_MUD_BYTES}")
    try:
        data = parse_json(content)
    except BadInput as exc:
        raise MudRefused(400, f"the MUD file is not usable JSON: {exc}") from None
    try:
        errors = validate_mud(data)
    except YangModulesMissing as exc:  # a broken installation, not the vendor's fault
        raise MudRefused(503, f"the registry cannot validate MUD files right now: {exc}") from None
    if errors:
        listed = [f"{e.path}: {e.message}" for e in errors]
        raise MudRefused(400, f"the MUD file does not conform to RFC 8520 ({len(listed)} "
                              f"error{'s' if len(listed) != 1 else ''}; first: {listed[0]})", listed)
    return data


def product_warnings(mud: dict[str, Any], vendor_name: str, model: str) -> list[str]:
    """Where the file's maker and model names disagree with the product it is uploaded for (not a refusal:
    vendors sometimes use a longer trading name)."""
    warnings = []
    mfg, model_name, info = mud.get("mfg-name"), mud.get("model-name"), mud.get("systeminfo")
    if mfg is not None and str(mfg).casefold() != vendor_name.casefold():
        warnings.append(f"mfg-name is {mfg!r} but the product is made by {vendor_name!r}")
    if model_name is not None and str(model_name).casefold() != model.casefold():
        warnings.append(f"model-name is {model_name!r} but the product is {model!r}")
    if info is not None and model.casefold() not in str(info).casefold():
        warnings.append(f"systeminfo {info!r} does not mention the product {model!r}")
    return warnings


def verify_signature(content: bytes, signature: bytes, anchors_pem: list[str], vendor_name: str) -> str:
    """The signer's name when `signature` is a good detached CMS signature over exactly `content` whose signer
    chains to one of the vendor's registered certificates; MudRefused saying what failed otherwise."""
    from cryptography import x509

    from iotmark.mitigate.sign import SignatureInvalid, verify_detached

    if len(signature) > MAX_SIGNATURE_BYTES:
        raise MudRefused(413, f"the signature is {len(signature)} bytes; the registry takes at most "
                              f"{MAX_SIGNATURE_BYTES}")
    if not anchors_pem:
        raise MudRefused(400, f"{vendor_name} has no MUD signer certificate registered: register the CA "
                              "certificate that issued your MUD signing certificate on the MUD page first")
    anchors = [x509.load_pem_x509_certificate(pem.encode("ascii")) for pem in anchors_pem]
    try:
        verified = verify_detached(content, signature, anchors)
    except SignatureInvalid as exc:
        raise MudRefused(400, f"the signature was checked against {vendor_name}'s registered MUD signer "
                              f"certificates and does not verify: {exc}") from None
    return verified.signer


def check_upload(content: bytes, signature: bytes | None, *, served_at: str, signature_url: str,
                 vendor_name: str, model: str, anchors_pem: list[str]) -> CheckedMud:
    """Every check on one upload, in order; the first refusal stops it and nothing is stored."""
    data = parse_mud(content)
    mud = data["ietf-mud:mud"]
    if mud.get("mud-url") != served_at:
        raise MudRefused(400, f"the file's mud-url is {mud.get('mud-url')!r}; this registry serves it at "
                              f"{served_at}: put exactly that URL in the file (and in the device) and upload again")
    warnings = product_warnings(mud, vendor_name, model)
    if not served_at.startswith("https://"):
        warnings.append("the MUD URL is not https://; RFC 8520 MUD managers only fetch https URLs, so serve the "
                        "registry over https (set IOTMARK_REGISTRY_URL to its public address)")
    declared_signature = mud.get("mud-signature")
    if declared_signature is not None and declared_signature != signature_url:
        warnings.append(f"mud-signature is {declared_signature!r}; the registry serves the signature at "
                        f"{signature_url}")
    if declared_signature is not None and signature is None:
        warnings.append("the file names a signature but none was uploaded; MUD managers will not find it")
    checked = CheckedMud(content=content, sha256=hashlib.sha256(content).hexdigest(),
                         cache_validity_hours=int(mud.get("cache-validity", DEFAULT_CACHE_VALIDITY_HOURS)),
                         last_update=str(mud.get("last-update", "")), warnings=warnings)
    if signature is not None:
        checked.signature = signature
        checked.signed_by = verify_signature(content, signature, anchors_pem, vendor_name)
    return checked
