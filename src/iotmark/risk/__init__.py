"""FAIR risk engine: scenarios priced in money, portfolios, controls cost-benefit, scenarios driven by findings.

Kept free of imports so `iotmark --version` and `iotmark risk --help` stay fast; NumPy is loaded by the
modules that simulate (`simulate`, `portfolio`), not here.
"""
