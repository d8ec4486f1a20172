"""Who may use each page and endpoint of the market app: the expected status of a plain GET (for POST-only
endpoints, of a POST with an empty body) per role. The shared permission-matrix test checks these."""

PUBLIC = {"anonymous": 200, "vendor": 200, "lab": 200, "regulator": 200, "admin": 200}

ACCESS = {
    "market-products": PUBLIC,
}
