"""Who may use each URL of the programme_site app: the status a plain GET returns per role, for a vendor
organisation that has uploaded no workspace yet. Vendor members see their own organisation's programme, admins
read any (a page without ?vendor=ID lets them choose one), everyone else gets 404; pages send anonymous visitors
to the login page, the API answers 401 without a token."""

_PAGE = {"anonymous": 302, "vendor": 200, "lab": 404, "regulator": 404, "admin": 200}
# the chart and the download need a stored version: none exists yet, and an admin has not chosen an organisation
_FILE = {"anonymous": 302, "vendor": 404, "lab": 404, "regulator": 404, "admin": 404}

ACCESS = {
    "programme-overview": _PAGE,
    "programme-maturity": _PAGE,
    "programme-maturity-chart": _FILE,
    "programme-kpis": _PAGE,
    "programme-board": _PAGE,
    "programme-upload": {"anonymous": 302, "vendor": 200, "lab": 404, "regulator": 404, "admin": 403},
    "programme-download": _FILE,
    "programme-api-summary": {"anonymous": 401, "vendor": 404, "lab": 404, "regulator": 404, "admin": 400},
}
