"""Who may use each URL of the interop app: the status a plain GET returns per role (for POST-only endpoints,
the status of a POST with an empty body). Checked by the shared permission-matrix test."""

EVERYONE_OK = {"anonymous": 200, "vendor": 200, "lab": 200, "regulator": 200, "admin": 200}
# Detail URLs walked with an id that names nothing: not found, for everyone alike.
EVERYONE_NOT_FOUND = {"anonymous": 404, "vendor": 404, "lab": 404, "regulator": 404, "admin": 404}

ACCESS = {
    "interop-record-list": EVERYONE_OK,
    "interop-record-detail": EVERYONE_NOT_FOUND,
    "interop-records": EVERYONE_OK,
    "interop-record": EVERYONE_OK,  # the matrix names a valid certificate (of another lab): public
    # empty body: anonymous gets 401, non-importing roles 403, importing roles 400 (no source / no records)
    "interop-records-import": {"anonymous": 401, "vendor": 403, "lab": 403, "regulator": 400, "admin": 400},
}
