"""Who may use each URL of the mudfiles app (status of a plain GET per role; for POST-only URLs, of a POST with an
empty body). The MUD URL and its pages are public; ids in the walk name nothing, so everyone gets 404 there.
Vendor pages send anonymous visitors to the login page and refuse other roles (403)."""

_ALL = ("anonymous", "vendor", "lab", "regulator", "admin")


def _same(status: int) -> dict[str, int]:
    return dict.fromkeys(_ALL, status)


# ninja checks the bearer token (401), then the multipart fields (422), before the view checks the role.
_API_WRITE = {"anonymous": 401, "vendor": 422, "lab": 422, "regulator": 422, "admin": 422}

ACCESS = {
    "mud-file": _same(404),
    "mud-signature": _same(404),
    "mud-version-file": _same(404),
    "mud-version-signature": _same(404),
    "mud-product": _same(404),
    "mud-vendor": {"anonymous": 302, "vendor": 200, "lab": 403, "regulator": 403, "admin": 403},
    # an empty form: the vendor's page shown again with what is missing (400)
    "mud-vendor-signer-add": {"anonymous": 302, "vendor": 400, "lab": 403, "regulator": 403, "admin": 403},
    "mud-api-vendor-products": {"anonymous": 401, "vendor": 200, "lab": 403, "regulator": 403, "admin": 403},
    "mud-api-upload": _API_WRITE,
    "mud-api-signer-add": _API_WRITE,
}
