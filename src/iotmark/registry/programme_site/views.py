"""Programme pages: overview, maturity (with radar charts), KPIs, upload and download of the workspace.

Vendor members see their own organisation's programme; admins pick an organisation with ?vendor=ID and only
read. Everyone else, and any other organisation's id, gets 404. Anonymous visitors go to the login page.
"""

from __future__ import annotations

import functools
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from iotmark.registry.models import Organisation
from iotmark.registry.programme_site import services
from iotmark.registry.programme_site.archive import write_tar_gz
from iotmark.registry.programme_site.forms import UploadForm
from iotmark.registry.programme_site.models import WorkspaceVersion
from iotmark.registry.programme_site.summary import (MATURITY_MODELS, as_of_date, compute_summary, live_facts,
                                                    maturity_model)
from iotmark.registry.programme_site.wording import say
from iotmark.registry.services import RegistryError
from iotmark.registry.web import refusals

CHART_CACHE_SECONDS = 24 * 3600
TREND_QUARTERS = 4


def _vendor_query(request: HttpRequest, org: Organisation) -> str:
    """Admins carry their choice of organisation from link to link; vendors need nothing."""
    return f"vendor={org.pk}" if request.GET.get("vendor") else ""


def _signed(value: float | None) -> str | None:
    return None if value is None else f"{value:+.2f}"


def _choose(request: HttpRequest, url_name: str) -> HttpResponse:
    with_programme = (Organisation.objects.filter(kind=Organisation.Kind.VENDOR, programme_versions__isnull=False)
                      .distinct().order_by("name"))
    return render(request, "programme_site/choose.html",
                  {"organisations": with_programme, "target": reverse(url_name)})


def _requested_version(request: HttpRequest) -> tuple[Organisation, WorkspaceVersion]:
    """The organisation and stored version (?version=N, default the latest) a file request names, or 404."""
    org = services.programme_organisation(request.user, request.GET.get("vendor"))
    if org is None:
        raise RegistryError(404, services.NOT_FOUND)
    return org, services.version_of(org, request.GET.get("version"))


def programme_page(url_name: str):
    """GET-only page of one organisation's programme: login, role and organisation checked, then the view
    gets (request, organisation, current version, shared context). An admin who has chosen no organisation
    gets the list to choose from; an organisation without a stored version gets the 'nothing yet' page."""
    def decorate(view):
        @require_GET
        @login_required
        @refusals
        @functools.wraps(view)
        def page(request: HttpRequest) -> HttpResponse:
            org = services.programme_organisation(request.user, request.GET.get("vendor"))
            if org is None:
                return _choose(request, url_name)
            version = services.current_version(org)
            context = {"org": org, "version": version, "vendor_query": _vendor_query(request, org),
                       "can_upload": services.role_of(request.user).role == "vendor"}
            if version is None:
                return render(request, "programme_site/empty.html", context)
            return view(request, org, version, context)
        return page
    return decorate


@programme_page("programme-overview")
def overview(request: HttpRequest, org: Organisation, version: WorkspaceVersion, context: dict) -> HttpResponse:
    as_of = as_of_date(request.GET.get("as_of"))
    summary = compute_summary(org, version, as_of)
    unit_cards = {c.id: c for c in summary.scorecards if c.scope == "unit"}
    context.update(
        summary=summary,
        organisation_card=next((c for c in summary.scorecards if c.scope == "organisation"), None),
        rows=[{"maturity": m, "card": unit_cards.get(m.unit), "change": _signed(m.change)} for m in summary.maturity],
        gaps=[(g, say("gap_problems", g.problem) if g.problem else "") for g in summary.maturity_gaps],
        champion_gaps=[(say("champion_gaps", g.kind), g) for g in summary.champion_gaps],
        pentests=[(p, [(say("retest_states", k), n) for k, n in p.by_retest.items() if n]) for p in summary.pentests],
        history=WorkspaceVersion.objects.filter(organisation=org).order_by("-number")[:50])
    return render(request, "programme_site/overview.html", context)


@programme_page("programme-maturity")
def maturity(request: HttpRequest, org: Organisation, version: WorkspaceVersion, context: dict) -> HttpResponse:
    from iotmark.programme.samm import unit_scores

    model = maturity_model(request.GET.get("model"))
    units = []
    with services.loaded(version) as workspace:
        for unit in workspace.organisation.units:
            scores = unit_scores(workspace, model, unit.id)
            rows = [{"practice": p, "scores": [s.practices[i].score for s in scores],
                     "change": _signed(p.score - scores[-2].practices[i].score) if len(scores) > 1 else None}
                    for i, p in enumerate(scores[-1].practices)] if scores else []
            units.append({"unit": unit, "scores": scores, "rows": rows})
    context.update(model=model, models=MATURITY_MODELS, units=units)
    return render(request, "programme_site/maturity.html", context)


@require_GET
@login_required
@refusals
def maturity_chart(request: HttpRequest) -> HttpResponse:
    """PNG radar of one unit's assessments; drawn once per stored version, unit and model, then cached."""
    from iotmark.programme.radar import save_radar
    from iotmark.programme.samm import unit_scores

    org, version = _requested_version(request)
    model = maturity_model(request.GET.get("model"))
    unit = request.GET.get("unit", "")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", unit):
        raise RegistryError(404, "no such unit")
    key = f"programme-radar:{version.pk}:{version.digest[:16]}:{model}:{unit}"
    png = cache.get(key)
    if png is None:
        import tempfile
        from pathlib import Path

        with services.loaded(version) as workspace:
            if unit not in {u.id for u in workspace.organisation.units}:
                raise RegistryError(404, "no such unit")
            scores = unit_scores(workspace, model, unit)
            if not scores:
                raise RegistryError(404, f"unit {unit} has no {model} assessments to draw")
            name = workspace.organisation.unit(unit).name
            with tempfile.TemporaryDirectory(prefix="iotmark-radar-") as folder:
                written = save_radar(scores, Path(folder) / "radar.png", f"{name}: {model}")
                png = next(p for p in written if p.suffix == ".png").read_bytes()
        cache.set(key, png, CHART_CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@programme_page("programme-kpis")
def kpis(request: HttpRequest, org: Organisation, version: WorkspaceVersion, context: dict) -> HttpResponse:
    summary = compute_summary(org, version, as_of_date(request.GET.get("as_of")), trend_quarters=TREND_QUARTERS)
    trends = {(t.scope, t.id): t for t in summary.kpi_trends}
    cards = [{"card": c, "trend": trends.get((c.scope, c.id))} for c in summary.scorecards]
    context.update(summary=summary, cards=cards,
                   trend_dates=[p.as_of for p in summary.kpi_trends[0].points] if summary.kpi_trends else [])
    return render(request, "programme_site/kpis.html", context)


@programme_page("programme-board")
def board(request: HttpRequest, org: Organisation, version: WorkspaceVersion, context: dict) -> HttpResponse:
    """The programme library's board report (HTML) for this workspace and the registry's live facts."""
    import tempfile
    from pathlib import Path

    from iotmark.programme.board import build_board, render_board_html

    as_of = as_of_date(request.GET.get("as_of"))
    facts, note = live_facts(org)
    if facts is None:
        raise RegistryError(503, f"the board report needs the registry's facts: {note}")
    with services.loaded(version) as workspace, tempfile.TemporaryDirectory(prefix="iotmark-board-") as folder:
        facts_file = Path(folder) / "registry-facts.json"
        facts_file.write_text(facts.model_dump_json(), encoding="utf-8")
        report = render_board_html(build_board(workspace.root, facts_file, as_of=as_of))
    return HttpResponse(report)


@require_http_methods(["GET", "POST"])
@login_required
@refusals
def upload(request: HttpRequest) -> HttpResponse:
    org = services.uploading_organisation(request.user)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            archive = form.cleaned_data["archive"]
            try:
                version = services.store_workspace(request.user, org, archive.read(), archive.name or "")
            except RegistryError as exc:
                form.add_error("archive", str(exc))
            else:
                messages.success(request, f"Stored as version {version.number}.")
                return redirect("programme-overview")
        status = 400
    return render(request, "programme_site/upload.html",
                  {"form": form, "org": org, "current": services.current_version(org)}, status=status)


@require_GET
@login_required
@refusals
def download(request: HttpRequest) -> HttpResponse:
    org, version = _requested_version(request)
    body = write_tar_gz(version.files, version.uploaded.timestamp())
    slug = re.sub(r"[^a-z0-9]+", "-", org.name.lower()).strip("-") or "organisation"
    response = HttpResponse(body, content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="programme-{slug}-v{version.number}.tar.gz"'
    return response
