"""Who may use each URL of the accounts app (status of a plain GET per role): the log-in page shows to anonymous
visitors and sends users who are already logged in to the start page."""

ACCESS = {
    "login": {"anonymous": 200, "vendor": 302, "lab": 302, "regulator": 302, "admin": 302},
}
