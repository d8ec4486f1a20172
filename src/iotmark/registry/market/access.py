"""Who may use each page and endpoint of the market app: the expected status of a plain GET (for POST-only
endpoints, of a POST with an empty body) per role. The shared permission-matrix test checks these."""

PUBLIC = {"anonymous": 200, "vendor": 200, "lab": 200, "regulator": 200, "admin": 200}

ACCESS = {
    "market-products": PUBLIC,
    # a plain GET names no certificates: 400 with a message saying to pick 2-4
    "market-compare": {"anonymous": 400, "vendor": 400, "lab": 400, "regulator": 400, "admin": 400},
}
