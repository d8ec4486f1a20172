"""Who may use each URL of the enforcement app: the status a plain GET returns (for POST-only URLs, a POST with an
empty body), per role. Ids in the URL are taken to name no existing object, so a role allowed to look gets 404;
pages redirect anonymous visitors to the login page (302), the API answers 401 without a token."""

_PAGE_REGULATOR_ONLY = {"anonymous": 302, "vendor": 403, "lab": 403, "regulator": 200, "admin": 403}
_PAGE_CASES = {"anonymous": 302, "vendor": 200, "lab": 403, "regulator": 200, "admin": 200}
_PAGE_OBJECT = {"anonymous": 302, "vendor": 404, "lab": 403, "regulator": 404, "admin": 404}
_POST_REGULATOR = {"anonymous": 302, "vendor": 403, "lab": 403, "regulator": 404, "admin": 403}
_API_LIST = {"anonymous": 401, "vendor": 200, "lab": 403, "regulator": 200, "admin": 200}
_API_OBJECT = {"anonymous": 401, "vendor": 404, "lab": 403, "regulator": 404, "admin": 404}
# POST with an empty body: after authentication ninja refuses the missing JSON body (422) before the view runs.
_API_POST_REGULATOR = {"anonymous": 401, "vendor": 422, "lab": 422, "regulator": 422, "admin": 422}

ACCESS = {
    "enforcement-cases": _PAGE_CASES,
    "enforcement-case-new": _PAGE_REGULATOR_ONLY,
    "enforcement-case": _PAGE_OBJECT,
    "enforcement-case-notify": _POST_REGULATOR,
    "enforcement-case-respond": {"anonymous": 302, "vendor": 404, "lab": 403, "regulator": 403, "admin": 403},
    "enforcement-case-outcome": _POST_REGULATOR,
    "enforcement-case-close": _POST_REGULATOR,
    "enforcement-incidents": _PAGE_CASES,
    "enforcement-incident-import": _PAGE_REGULATOR_ONLY,
    "enforcement-incident": _PAGE_OBJECT,
    "enforcement-incident-attribute": _POST_REGULATOR,
    "enforcement-incident-unattribute": _POST_REGULATOR,
    "enforcement-vendor-record": {"anonymous": 404, "vendor": 404, "lab": 404, "regulator": 404, "admin": 404},
    "enforcement-api-cases": _API_LIST,
    "enforcement-api-case-open": _API_POST_REGULATOR,
    "enforcement-api-ground-choices": {"anonymous": 401, "vendor": 403, "lab": 403, "regulator": 400, "admin": 403},
    "enforcement-api-case": _API_OBJECT,
    "enforcement-api-case-notify": _API_POST_REGULATOR,
    "enforcement-api-case-respond": _API_POST_REGULATOR,
    "enforcement-api-case-outcome": _API_POST_REGULATOR,
    "enforcement-api-case-close": {"anonymous": 401, "vendor": 403, "lab": 403, "regulator": 404, "admin": 403},
    "enforcement-api-incidents": _API_LIST,
    "enforcement-api-incident-import": _API_POST_REGULATOR,
    "enforcement-api-incident": _API_OBJECT,
    "enforcement-api-incident-attribute": _API_POST_REGULATOR,
    # DELETE: only regulators may; the incident named does not exist.
    "enforcement-api-incident-unattribute": {"anonymous": 401, "vendor": 403, "lab": 403, "regulator": 404,
                                             "admin": 403},
    "enforcement-api-vendor-record": {"anonymous": 404, "vendor": 404, "lab": 404, "regulator": 404, "admin": 404},
}
