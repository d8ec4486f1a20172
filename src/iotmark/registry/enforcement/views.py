"""Pages of the enforcement app: cases (regulators and the vendor concerned), incidents, and the public record.

Every page checks the role server-side through the services module; refused requests get a short page with the
status (403 for a role that may not act, 404 for another organisation's object).
"""

from __future__ import annotations


from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iotmark.registry.enforcement import forms, public, services
from iotmark.registry.enforcement import grounds as ground_checks
from iotmark.registry.enforcement.models import Case, Ground
from iotmark.registry.models import Organisation
from iotmark.registry.services import RegistryError
from iotmark.registry.web import refusals

FILTER_STAGES = dict(Case.Stage.choices)


def _role(request: HttpRequest) -> str:
    member = services.role_of(request.user)
    return member.role if member else ""


# --- cases ----------------------------------------------------------------------------------------------------

@require_GET
@login_required
@refusals
def cases(request: HttpRequest) -> HttpResponse:
    found = services.visible_cases(request.user)
    stage, kind, vendor = (request.GET.get(k, "") for k in ("stage", "ground", "vendor"))
    if stage in FILTER_STAGES:
        found = found.filter(stage=stage)
    if kind in Ground.Kind.values:
        found = found.filter(grounds__kind=kind).distinct()
    if vendor.isdigit():
        found = found.filter(product__vendor_id=int(vendor))
    context = {"cases": found[:500], "stages": Case.Stage.choices, "kinds": Ground.Kind.choices,
               "vendors": Organisation.objects.filter(kind=Organisation.Kind.VENDOR).order_by("name"),
               "selected": {"stage": stage, "ground": kind, "vendor": vendor},
               "is_regulator": services.is_regulator(request.user)}
    return render(request, "enforcement/cases.html", context)


def _ground_inputs(values: list[str], other: str) -> list[services.GroundIn]:
    found = []
    for value in values:
        kind, provision, certificate, firmware, report = (value.split("|") + [""] * 5)[:5]
        found.append(services.GroundIn(kind=kind, provision=provision, certificate=certificate, firmware=firmware,
                                       report=report))
    if other.strip():
        found.append(services.GroundIn(kind="other", detail=other.strip()))
    return found


@require_http_methods(["GET", "POST"])
@login_required
@refusals
def case_new(request: HttpRequest) -> HttpResponse:
    services.regulator_member(request.user)
    product_id = request.GET.get("product", "")
    if not product_id.isdigit():
        return render(request, "enforcement/case_new.html", {"choose": forms.ChooseProductForm()})
    product = services.product_by_id(int(product_id))
    choices = ground_checks.choices(product)
    form = forms.CaseForm(request.POST or None, product=product, choices=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        case = services.open_case(request.user, product, data["summary"],
                                  _ground_inputs(data["grounds"], data["other"]),
                                  firmware_version=data["firmware"], cert_id=data["certificate"])
        return redirect("enforcement-case", case_id=case.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "enforcement/case_new.html", {"form": form, "product": product}, status=status)


@require_GET
@login_required
@refusals
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = services.case_for(request.user, case_id)
    role = _role(request)
    context = {"case": case, "grounds": case.grounds.select_related("certificate", "firmware"),
               "events": case.events.all(), "is_regulator": role == "regulator", "is_vendor": role == "vendor",
               "notify_form": forms.NotifyForm(), "response_form": forms.ResponseForm(),
               "outcome_form": forms.OutcomeForm()}
    return render(request, "enforcement/case.html", context)


def _case_action(check, form_class, act):
    """A POST-only step of a case: check the role, validate the form, call the service, back to the case page."""
    @require_POST
    @login_required
    @refusals
    def view(request: HttpRequest, case_id: int) -> HttpResponse:
        check(request.user)
        form = form_class(request.POST)
        if not form.is_valid():
            services.case_for(request.user, case_id)  # 404 for cases the user may not see, before form errors
            raise RegistryError(400, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        act(request.user, case_id, form.cleaned_data)
        return redirect("enforcement-case", case_id=case_id)
    return view


def _require_vendor(user) -> None:
    member = services.role_of(user)
    if member is None or member.role != "vendor":
        raise RegistryError(403, "only the vendor concerned can respond to a case")


case_notify = _case_action(services.regulator_member, forms.NotifyForm,
                                lambda user, pk, data: services.notify_vendor(user, pk, data["note"]))
case_respond = _case_action(_require_vendor, forms.ResponseForm,
                                 lambda user, pk, data: services.respond(user, pk, data["text"]))
case_outcome = _case_action(services.regulator_member, forms.OutcomeForm,
                                 lambda user, pk, data: services.record_outcome(
                                     user, pk, data["outcome"], data["reasons"], data["fine_amount"],
                                     data["fine_currency"]))
case_close = _case_action(services.regulator_member, forms.NotifyForm,
                               lambda user, pk, data: services.close_case(user, pk))


# --- incidents ------------------------------------------------------------------------------------------------

@require_GET
@login_required
@refusals
def incidents(request: HttpRequest) -> HttpResponse:
    found = services.visible_incidents(request.user)
    return render(request, "enforcement/incidents.html", {"incidents": found[:500],
                                                          "is_regulator": services.is_regulator(request.user)})


@require_http_methods(["GET", "POST"])
@login_required
@refusals
def incident_import(request: HttpRequest) -> HttpResponse:
    services.regulator_member(request.user)
    form = forms.IncidentImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None and upload.size > services.MAX_INCIDENT_BYTES:
            raise RegistryError(413, f"incident file is larger than {services.MAX_INCIDENT_BYTES // (1024 * 1024)} MiB")
        if form.is_valid():
            data = form.cleaned_data
            incident, _ = services.import_incident(request.user, data["file"].read(), data["product"],
                                                   data["devices"])
            return redirect("enforcement-incident", incident_id=incident.incident_id)
    return render(request, "enforcement/incident_import.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@require_GET
@login_required
@refusals
def incident_detail(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = services.incident_for(request.user, incident_id)
    regulator = services.is_regulator(request.user)
    attributions = incident.attributions.select_related("product__vendor")
    member = services.role_of(request.user)
    if member is not None and member.role == "vendor":
        attributions = attributions.filter(product__vendor=member.organisation)
    return render(request, "enforcement/incident.html", {
        "incident": incident, "attributions": attributions, "is_regulator": regulator,
        "attribute_form": forms.AttributeForm() if regulator else None, "response": _response(incident)})


def _response(incident) -> dict | None:
    """The response as the imported incident file records it: playbook tasks with owners, the timeline, and the
    EU CRA Art. 14 reports with their deadlines (overdue judged now, on what the file says was sent)."""
    from pydantic import ValidationError

    from iotmark.mitigate.incidents import Incident as ResponseRecord
    from iotmark.mitigate.incidents import deadlines

    try:
        record = ResponseRecord.model_validate_json(incident.document)
    except ValidationError:
        return None
    return {"record": record, "deadlines": deadlines(record),
            "tasks_done": sum(1 for t in record.tasks if t.done), "tasks": len(record.tasks)}


@require_POST
@login_required
@refusals
def incident_attribute(request: HttpRequest, incident_id: str) -> HttpResponse:
    services.regulator_member(request.user)
    form = forms.AttributeForm(request.POST)
    services.incident_for(request.user, incident_id)
    if not form.is_valid():
        raise RegistryError(400, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    services.attribute(request.user, incident_id, form.cleaned_data["product"], form.cleaned_data["devices"])
    return redirect("enforcement-incident", incident_id=incident_id)


@require_POST
@login_required
@refusals
def incident_unattribute(request: HttpRequest, incident_id: str) -> HttpResponse:
    services.regulator_member(request.user)
    product = request.POST.get("product", "")
    services.incident_for(request.user, incident_id)
    if not product.isdigit():
        raise RegistryError(400, "say which product to remove the incident from")
    services.unattribute(request.user, incident_id, int(product))
    return redirect("enforcement-incident", incident_id=incident_id)


# --- public record --------------------------------------------------------------------------------------------

@require_GET
@refusals
def vendor_record(request: HttpRequest, org_id: int) -> HttpResponse:
    org = Organisation.objects.filter(pk=org_id, kind=Organisation.Kind.VENDOR).first()
    if org is None:
        raise RegistryError(404, f"no vendor {org_id}")
    return render(request, "enforcement/record.html", {"record": public.vendor_record(org)})
