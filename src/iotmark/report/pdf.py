"""PDF report: the HTML report printed by WeasyPrint, with every network and file fetch refused."""

from __future__ import annotations

from pathlib import Path

from iotmark.model import Assessment, Bundle, Certificate
from iotmark.report.html import render_html


def _offline_fetcher():
    """A WeasyPrint URL fetcher that only serves `data:` URLs (the report needs nothing else).

    WeasyPrint >= 68 takes a URLFetcher object; older releases take a plain function.
    """
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 68
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args, **kwargs):
            if not url.startswith("data:"):
                raise ValueError(f"report rendering is offline; refused to fetch {url!r}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(bundle: Bundle, assessment: Assessment | None = None, certificate: Certificate | None = None) -> bytes:
    """The report as PDF bytes."""
    import weasyprint  # slow to import; only when a PDF is asked for

    html = render_html(bundle, assessment, certificate)
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_offline_fetcher())
    return document.write_pdf()


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    out.write_bytes(render_pdf(bundle, assessment, certificate))
