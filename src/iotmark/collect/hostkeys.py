"""SSH host keys served on the network compared with the private keys found in the firmware image.

Both sides are reduced to one comparable value: the sha256 of the public key's DER SubjectPublicKeyInfo.
The probe records it for each host key the device serves (`evidence.host_key_sha256`); the firmware
secrets scan records it for each private key in the image (`evidence.sha256`), whether the key is PEM,
DER, OpenSSH or a Dropbear host key. A served key that is also in the image was baked in at build time
rather than generated at first boot, so every unit of the model shares it.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

from iotmark.collect.base import make_finding
from iotmark.model import Bundle, Finding

SHARED_HOST_KEY_CHECK = "probe.ssh.host_key_in_firmware"
FIRMWARE_KEY_CHECKS = ("firmware.secrets.private_key",)


def spki_sha256(public_key: Any) -> str:
    """sha256 hex of a `cryptography` public key's DER SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def ssh_key_type(blob: bytes) -> str:
    """The key type named at the start of an SSH wire-format public key ("ssh-ed25519", ...)."""
    size = int.from_bytes(blob[:4], "big")
    if len(blob) < 4 + size or size > 64:
        raise ValueError("not an SSH wire-format public key")
    return blob[4:4 + size].decode("ascii", "replace")


def ssh_public_key_sha256(blob: bytes) -> tuple[str, str]:
    """(key type, SPKI sha256) of an SSH wire-format public key (RSA, DSA, ECDSA or Ed25519).

    Raises ValueError for a blob `cryptography` cannot load (unknown type, certificate, garbage)."""
    kind = ssh_key_type(blob)
    try:
        with warnings.catch_warnings():  # old devices still serve DSA keys; fingerprinting them is the point
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            key = serialization.load_ssh_public_key(kind.encode() + b" " + base64.b64encode(blob))
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"unsupported SSH key type {kind}: {exc}") from None
    return kind, spki_sha256(key)


def _served_keys(finding: Finding) -> list[str]:
    value = getattr(finding.evidence, "host_key_sha256", None)
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


def shared_host_key_findings(bundle: Bundle) -> list[Finding]:
    """One critical `fail` per (served SSH host key, image path) pair where the device serves a key its
    firmware image carries; evidence names the address:port and the path, never the key."""
    in_image: dict[str, list[Finding]] = {}
    for f in bundle.findings:
        digest = getattr(f.evidence, "sha256", None)
        if f.check in FIRMWARE_KEY_CHECKS and isinstance(digest, str):
            in_image.setdefault(digest, []).append(f)
    out: list[Finding] = []
    seen: set[tuple[str | None, int | None, str | None, str]] = set()
    for probe in bundle.findings:
        if not probe.check.startswith("probe.ssh."):
            continue
        for digest in _served_keys(probe):
            for fw in in_image.get(digest, []):
                where = (probe.evidence.address, probe.evidence.port, fw.evidence.path, digest)
                if where in seen:
                    continue
                seen.add(where)
                out.append(make_finding(
                    SHARED_HOST_KEY_CHECK, "fail",
                    f"the SSH host key served on {probe.evidence.address}:{probe.evidence.port} is the private key "
                    f"at {fw.evidence.path} in the firmware image {fw.evidence.source or ''}".rstrip() + ": it was "
                    "not generated on the device, so every unit running this image shares it and one extracted "
                    "copy impersonates all of them",
                    title=f"SSH host key on port {probe.evidence.port} is baked into the firmware",
                    evidence={"address": probe.evidence.address, "port": probe.evidence.port, "protocol": "ssh",
                              "path": fw.evidence.path, "source": fw.evidence.source,
                              "excerpt": f"public key sha256:{digest[:16]}…"}))
    return out
