"""Accounts: the registry's log-in page, throttled per user name and per client address (counts kept in the
database so every server process shares them)."""
