"""Who may use each core URL: the status of a plain GET per role (for POST-only URLs, of a POST with an empty
body). Ids in URLs name existing objects of another organisation than the requesting user's (a certificate
issued by another lab). Checked by tests/registry/core/test_permission_matrix.py, which also reads the
`access` module of every other registry app."""

EVERYONE = {"anonymous": 200, "vendor": 200, "lab": 200, "regulator": 200, "admin": 200}
_LAB_PAGE = {"anonymous": 302, "vendor": 403, "lab": 200, "regulator": 403, "admin": 403}
_TOKEN_PAGE = {"anonymous": 302, "vendor": 200, "lab": 200, "regulator": 403, "admin": 403}
# ninja checks the bearer token first (401), then validates the body (422) before the view's role checks.
_API_POST = {"anonymous": 401, "vendor": 422, "lab": 422, "regulator": 422, "admin": 422}
# Django's admin site: only administrators (staff) get in; everyone else is sent to its login page.
_ADMIN_SITE = {"anonymous": 302, "vendor": 302, "lab": 302, "regulator": 302, "admin": 200}
_ADMIN_ONLY = {"anonymous": 302, "vendor": 302, "lab": 302, "regulator": 302}

ACCESS = {
    "index": EVERYONE,
    "verify": EVERYONE,
    "label-svg": EVERYONE,
    "label-png": EVERYONE,
    "report-html": EVERYONE,
    # another lab's certificate: only its issuing lab or an administrator may revoke it (GET: the reason form)
    "certificate-revoke": {"anonymous": 302, "vendor": 403, "lab": 403, "regulator": 403, "admin": 200},
    "certificate-upload": _LAB_PAGE,
    "account-tokens": _TOKEN_PAGE,
    "account-token-revoke": {"anonymous": 302, "vendor": 400, "lab": 400, "regulator": 403, "admin": 403},
    "logout": {"anonymous": 302, "vendor": 302, "lab": 302, "regulator": 302, "admin": 302},
    "api-certificate-upload": _API_POST,
    "api-certificate": EVERYONE,
    "api-certificate-verify": EVERYONE,
    "api-verify-fast": EVERYONE,  # the same answer as api-certificate-verify, routed ahead of the API framework
    "api-certificate-revoke": _API_POST,
    "openapi-json": EVERYONE,
    "openapi-view": EVERYONE,
    # the admin's own login page shows to anyone who is not yet an administrator
    "admin:login": {"anonymous": 200, "vendor": 200, "lab": 200, "regulator": 200, "admin": 302},
    "admin:logout": {"anonymous": 302, "vendor": 302, "lab": 302, "regulator": 302, "admin": 200},
    "admin:autocomplete": {**_ADMIN_ONLY, "admin": 403},  # refuses a request naming no field
    "admin:view_on_site": {**_ADMIN_ONLY, "admin": 404},
    "admin:auth_user_password_change": {**_ADMIN_ONLY, "admin": 404},
    # the audit log is read-only, even for administrators
    "admin:registry_auditentry_add": {**_ADMIN_ONLY, "admin": 403},
    "admin:registry_auditentry_delete": {**_ADMIN_ONLY, "admin": 403},
}

# Whole URL namespaces declared at once: the matrix test applies these to every URL name inside them.
NAMESPACES = {"admin": _ADMIN_SITE}
# Admin pages of one object, walked with an id that names none: the admin sends administrators back to the list.
NAMESPACE_OBJECTS = {"admin": {**_ADMIN_ONLY, "admin": 302}}
