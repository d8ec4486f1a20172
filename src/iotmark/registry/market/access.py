"""Who may use each URL of the market app: the status a plain GET returns (for POST-only pages, a POST with an
empty body; for API operations, a request with their own method and an empty body), per role. Ids in the URL are taken to name no existing object, so a role allowed to
look gets 404; vendor pages redirect anonymous visitors to the login page (302), the API answers 401 without a
token. Vendor data belongs to vendor members only: other roles get 403, other organisations' objects 404."""

_ALL = ("anonymous", "vendor", "lab", "regulator", "admin")


def _same(status: int) -> dict[str, int]:
    return dict.fromkeys(_ALL, status)


_PAGE_VENDOR = {"anonymous": 302, "vendor": 200, "lab": 403, "regulator": 403, "admin": 403}
_PAGE_VENDOR_OBJECT = {"anonymous": 302, "vendor": 404, "lab": 403, "regulator": 403, "admin": 403}
_API_VENDOR = {"anonymous": 401, "vendor": 200, "lab": 403, "regulator": 403, "admin": 403}
# POST or PUT with an empty JSON body: after authentication ninja refuses the missing fields (422) before the view.
_API_WRITE = {"anonymous": 401, "vendor": 422, "lab": 422, "regulator": 422, "admin": 422}

ACCESS = {
    "market-products": _same(200),
    "market-compare": _same(400),  # no certificates named: 400 saying to pick 2-4
    "market-vendors": _same(200),
    "market-vendor-scorecard": _same(404),
    "market-vendor-home": _PAGE_VENDOR,
    "market-vendor-profile": _PAGE_VENDOR,
    "market-vendor-product-new": _PAGE_VENDOR,
    "market-vendor-product": _PAGE_VENDOR_OBJECT,
    "market-vendor-firmware": _PAGE_VENDOR_OBJECT,
    "market-vendor-vulnerability-new": _PAGE_VENDOR,
    "market-vendor-vulnerability": _PAGE_VENDOR_OBJECT,
    "market-vendor-incident-new": _PAGE_VENDOR,
    "market-vendor-incident": _PAGE_VENDOR_OBJECT,
    "market-overdue": {"anonymous": 302, "vendor": 403, "lab": 403, "regulator": 200, "admin": 403},
    "market-api-products": _same(200),
    "market-api-compare": _same(400),
    "market-api-scorecard": _same(404),
    "market-api-profile": _API_VENDOR,
    "market-api-profile-update": _API_WRITE,
    "market-api-vendor-products": _API_VENDOR,
    "market-api-product-add": _API_WRITE,
    "market-api-product-class": _API_WRITE,
    "market-api-firmware": _API_WRITE,
    "market-api-reports": _API_VENDOR,
    "market-api-vulnerability-add": _API_WRITE,
    "market-api-vulnerability": _API_WRITE,
    "market-api-incident-add": _API_WRITE,
    "market-api-incident": _API_WRITE,
    "market-api-overdue": {"anonymous": 401, "vendor": 403, "lab": 403, "regulator": 200, "admin": 403},
}
