"""Federation: fetch another iotmark registry's public record pages and import them under its origin.

The other registry is untrusted input: https only (plain http to loopback, or anywhere with `insecure`), no
redirects, a timeout per request, a size limit per page and a page limit. Every page is fetched and validated
before anything is stored, so a bad page anywhere leaves the database unchanged.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from iotmark.registry.interop import cta2120, exchange
from iotmark.registry.interop.models import RecordSource

RECORDS_PATH = "/api/v1/records"
DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_PAGES = 50
PAGE_SIZE = exchange.MAX_PAGE_SIZE
CHUNK = 64 * 1024


class MirrorError(Exception):
    """The other registry could not be mirrored; the message is one line."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        raise MirrorError(f"{req.full_url} redirects to {newurl}; give the final address instead")


_OPENER = urllib.request.build_opener(_NoRedirect)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def list_url(url: str, insecure: bool = False) -> tuple[str, str]:
    """(origin, record list URL) for what the user typed: a registry's base address or its records URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MirrorError(f"{url!r} is not an http(s) address of a registry")
    if parts.username or parts.password:
        raise MirrorError("the registry address must not carry a user name or password")
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname):
        raise MirrorError(f"refusing plain http to {parts.hostname}: use https (or --insecure on a network you trust)")
    origin = f"{parts.scheme}://{parts.netloc.lower()}"
    path = parts.path.rstrip("/") or RECORDS_PATH
    return origin, origin + path


def fetch(url: str, timeout: float, max_bytes: int = cta2120.MAX_DOCUMENT_BYTES) -> bytes:
    """One GET with a deadline for the whole response and a size cap; errors are one line."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "iotmark-mirror"})
    deadline = time.monotonic() + timeout
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MirrorError(f"{url}: the answer is {declared} bytes; the limit is {max_bytes}")
            body = bytearray()
            while chunk := response.read(CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise MirrorError(f"{url}: the answer is larger than the limit of {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise MirrorError(f"{url}: the answer took longer than {timeout:g} s")
            return bytes(body)
    except urllib.error.HTTPError as exc:
        raise MirrorError(f"{url}: the registry answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise MirrorError(f"{url}: no answer within {timeout:g} s") from None
        raise MirrorError(f"{url}: cannot reach the registry ({reason})") from None
    except (socket.timeout, TimeoutError):
        raise MirrorError(f"{url}: no answer within {timeout:g} s") from None
    except (ConnectionError, OSError) as exc:
        raise MirrorError(f"{url}: connection failed ({exc})") from None


@dataclass
class MirrorResult:
    origin: str
    pages: int
    since: dt.datetime | None
    imported: exchange.ImportResult


def resolve_since(origin: str, since: str | None) -> dt.datetime | None:
    """`auto`: where the last mirror of this origin stopped; `all` or None: everything; else an ISO time."""
    if since in (None, "", "all"):
        return None
    if since == "auto":
        source = RecordSource.objects.filter(name=origin).first()
        return source.last_modified if source else None
    try:
        parsed = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise MirrorError(f"--since: expected auto, all or an ISO 8601 time, got {since!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def fetch_pages(origin: str, first: str, since: dt.datetime | None, timeout: float,
                max_pages: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """All record pages from `first` on, validated: (records, withdrawn entries, pages read)."""
    query = {"page_size": PAGE_SIZE}
    if since is not None:
        query["since"] = cta2120.timestamp(since)
    url: str | None = f"{first}?{urlencode(query)}"
    records: list[dict[str, Any]] = []
    withdrawn: list[dict[str, Any]] = []
    pages = 0
    while url:
        if pages >= max_pages:
            raise MirrorError(f"{origin} has more than {max_pages} pages of records; raise --max-pages to fetch them")
        pages += 1
        try:
            document = cta2120.parse_list(fetch(url, timeout), what=f"page {pages}")
        except cta2120.RecordError as exc:
            raise MirrorError(f"{origin}: {exc}") from None
        records += document["records"]
        withdrawn += document.get("withdrawn", [])
        if len(records) > cta2120.MAX_RECORDS * max_pages:
            raise MirrorError(f"{origin} sent more records than its pages can hold")
        url = document.get("next")
        if url and not url.startswith(origin + "/"):
            raise MirrorError(f"{origin}: page {pages} points its next page to another site ({url[:100]})")
    return records, withdrawn, pages


def mirror(url: str, since: str | None = "auto", insecure: bool = False, timeout: float = DEFAULT_TIMEOUT,
           max_pages: int = DEFAULT_MAX_PAGES, actor: Any = None) -> MirrorResult:
    """Fetch, validate and import another registry's records under its origin; nothing is stored on error."""
    origin, first = list_url(url, insecure)
    start = resolve_since(origin, since)
    records, withdrawn, pages = fetch_pages(origin, first, start, timeout, max_pages)
    result = exchange.import_records(origin, records, withdrawn, actor=actor, mirrored=True)
    return MirrorResult(origin, pages, start, result)
