"""The organisation's security programme in the registry: vendor members keep their programme workspace here and
see maturity, KPIs (from the registry's own data), champions, training and external tests on pages."""
