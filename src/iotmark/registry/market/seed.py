"""Synthetic products, firmware versions and certificates for demos and benchmarks, written with bulk_create.

Seeded certificates are marked as such in their stored document ({"synthetic": true}) and are issued under an
untrusted key of the "Synthetic Seed Lab", so nothing real can be uploaded with it."""

from __future__ import annotations

import datetime as dt
import json
import random
from importlib import resources

import yaml
from django.db import connections, router, transaction

from iotmark.registry import audit
from iotmark.registry.market.listing import listing_for
from iotmark.registry.market.models import CertificateListing
from iotmark.registry.models import Certificate, FirmwareVersion, IssuerKey, Organisation, Product, Revocation

SEED_LAB = "Synthetic Seed Lab"
BATCH = 5000
MAX_SEED = 1_000_000


def _names() -> dict:
    text = resources.files("iotmark.registry.market").joinpath("data/seed-names.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _seed_key() -> IssuerKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    lab, _ = Organisation.objects.get_or_create(name=SEED_LAB, defaults={"kind": Organisation.Kind.LAB})
    key = IssuerKey.objects.filter(organisation=lab).first()
    if key is None:
        pem = Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
        key = IssuerKey.objects.create(key_id="seed" + format(random.getrandbits(48), "012x"), organisation=lab,
                                       public_key_pem=pem, trusted=False)
    return key


def _assessments(rng: random.Random) -> dict[int, list[str]]:
    """A few compact assessment documents per level: every provision's verdict, and failed findings by severity."""
    from iotmark.catalog.loader import level_provisions, load_standard

    standard = load_standard("etsi-en-303-645")
    required = level_provisions(standard.id)
    out: dict[int, list[str]] = {}
    for level in range(1, 5):
        needed = {p for lvl, ids in required.items() if lvl <= level for p in ids}
        docs = []
        for _ in range(4):
            verdicts = []
            for provision in standard.provisions:
                if provision.id in needed:
                    verdict = "PASS" if rng.random() < 0.9 else "NOT_APPLICABLE"
                else:
                    verdict = rng.choice(["PASS", "PASS", "FAIL", "INCONCLUSIVE"])
                verdicts.append({"provision": provision.id, "verdict": verdict})
            failed = sum(v["verdict"] == "FAIL" for v in verdicts)
            high = rng.randint(0, failed)
            risk = {"failed_findings_by_severity": {"critical": 0 if level >= 2 else rng.randint(0, 1), "high": high,
                                                    "medium": failed - high, "low": rng.randint(0, 3), "info": 0}}
            docs.append(json.dumps({"synthetic": True, "standard": standard.id, "level": level,
                                    "verdicts": verdicts, "risk": risk}, separators=(",", ":")))
        out[level] = docs
    return out


def bulk_insert(objs: list) -> None:
    """Insert many new rows of one model and set their primary keys. On PostgreSQL the ids are taken from the
    table's sequence and the rows sent with COPY: Django's array-based bulk insert escapes every quote of the stored
    JSON documents in Python, which makes 100,000 certificates take minutes instead of seconds."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=BATCH)
        return
    from django.db.models import JSONField
    from django.db.models.fields import AutoFieldMixin

    meta, quote = model._meta, connection.ops.quote_name
    fields = meta.concrete_fields
    with connection.cursor() as cursor:
        if isinstance(meta.pk, AutoFieldMixin):
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, meta.pk.column, len(objs)])
            for obj, (pk,) in zip(objs, cursor.fetchall()):
                obj.pk = pk
        prepared = {f.attname for f in fields
                    if isinstance(f, JSONField) or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
        columns = ", ".join(quote(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) if f.attname in prepared
                                else getattr(obj, f.attname) for f in fields])


def seed_certificates(n: int, vendors: int | list[str] = 40, rng_seed: int = 1, today: dt.date | None = None) -> int:
    """Create n synthetic certificates (about two firmware versions per product) across `vendors` new synthetic
    vendors, or the vendor organisations named; returns the number created. Seeding twice with the same rng_seed
    on one database is refused."""
    from iotmark.catalog.loader import load_device_classes
    from iotmark.registry.services import RegistryError, organisation_named

    if not 1 <= n <= MAX_SEED:
        raise RegistryError(400, f"seed between 1 and {MAX_SEED} certificates")
    named = list(vendors) if isinstance(vendors, list) else []
    vendors = len(named) or vendors
    if not 1 <= vendors <= 1000:
        raise RegistryError(400, "seed between 1 and 1000 vendors")
    today = today or dt.date.today()
    rng = random.Random(rng_seed)
    names = _names()
    classes = load_device_classes()
    prefix = f"iotm-s{rng_seed % 10**6:06d}-"
    if Certificate.objects.filter(cert_id__startswith=prefix).exists():
        raise RegistryError(409, f"this database was already seeded with rng seed {rng_seed}; pick another --seed")
    assessments = _assessments(rng)
    with transaction.atomic():
        key = _seed_key()
        orgs = []
        for i in range(vendors):
            name = named[i] if named else (f"{rng.choice(names['vendor_first'])}{rng.choice(names['vendor_second'])} "
                                           f"{rng.choice(names['vendor_suffix'])} {rng_seed}-{i + 1}")
            orgs.append(organisation_named(name, Organisation.Kind.VENDOR))
        products, plan = [], []
        for i in range((n + 1) // 2):
            cls = rng.choice(list(classes))
            vendor = orgs[i % vendors]
            model = f"{rng.choice(names['products'][cls])} {chr(65 + rng.randrange(26))}{i + 1}"
            products.append(Product(vendor=vendor, model=model, device_class=cls))
        bulk_insert(products)
        firmware = []
        for product in products:
            for v in range(2):
                if len(firmware) < n:
                    support = today + dt.timedelta(days=rng.randint(-400, 365 * 7))
                    firmware.append(FirmwareVersion(product=product, version=f"{rng.randint(1, 5)}.{v}.{rng.randint(0, 9)}",
                                                    support_until=support if rng.random() < 0.93 else None))
        bulk_insert(firmware)
        certs = []
        for i, fw in enumerate(firmware):
            cls = classes[fw.product.device_class]
            level = rng.choices([1, 2, 3, 4], weights=[4, 4, 2, 1])[0]
            issued = today - dt.timedelta(days=rng.randint(0, cls.certificate_validity_days + 400))
            expires = min(issued + dt.timedelta(days=cls.certificate_validity_days), fw.support_until or dt.date.max)
            cert_id = f"{prefix}{i:08d}"
            certs.append(Certificate(
                cert_id=cert_id, firmware=fw, issuer_key=key, issuer=SEED_LAB, device_class=cls.id,
                standard="etsi-en-303-645", standard_version="2.1.1", level=level,
                level_name=["Not certified", "Baseline", "Mandatory", "Comprehensive", "Tested"][level],
                meets_class=level >= cls.minimum_level, issued=issued, expires=max(expires, issued),
                summary=[], assessment_digest="0" * 64, document=json.dumps({"synthetic": True, "id": cert_id}),
                assessment=rng.choice(assessments[level])))
        bulk_insert(certs)
        revoked = [c for c in certs if rng.random() < 0.02]
        bulk_insert([Revocation(certificate=c, reason="Synthetic revocation for demo data", date=today)
                     for c in revoked])
        revoked_ids = {c.pk for c in revoked}
        bulk_insert([listing_for(c, c.firmware, c.firmware.product, c.firmware.product.vendor, c.pk in revoked_ids)
                     for c in certs])
        audit.record(None, "market.seed", f"seed-{rng_seed}",
                     {"certificates": len(certs), "vendors": vendors, "revoked": len(revoked)},
                     object_type="seed")
    return len(certs)
