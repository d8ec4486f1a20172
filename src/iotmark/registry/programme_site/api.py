"""JSON API of the programme_site app (mounted at /api/v1/): the programme summary of the caller's organisation.

A vendor member's token gets their own organisation's numbers; an admin's token names one with ?vendor=ID.
Other roles, and other organisations' ids, get 404.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from iotmark.registry.api import ERRORS, TokenAuth
from iotmark.registry.programme_site import services
from iotmark.registry.programme_site.summary import ProgrammeSummary, as_of_date, compute_summary, maturity_model
from iotmark.registry.services import RegistryError

router = Router(tags=["programme"])


class SummaryQuery(Schema):
    vendor: str | None = Field(default=None, max_length=20, description="organisation id (admins only)")
    as_of: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD; default today")
    model: str | None = Field(default=None, max_length=20, description="samm-v2 (default) or iot-practices")
    trend: int = Field(default=0, ge=0, le=8, description="also the KPIs at the last N quarter ends")


@router.get("/programme/summary", auth=TokenAuth(), response={200: ProgrammeSummary, **ERRORS},
            url_name="programme-api-summary",
            summary="Maturity, KPIs, champion gaps, training flags and pentest status of your programme")
def summary(request: HttpRequest, query: Query[SummaryQuery]):
    org = services.programme_organisation(request.auth, query.vendor)
    if org is None:
        raise RegistryError(400, "name the organisation with ?vendor=ID")
    version = services.version_of(org, None)
    return compute_summary(org, version, as_of_date(query.as_of), maturity_model(query.model), query.trend)
