"""Interoperable label records (CTA-2120 USCTM registry data format) export/import, and federation: mirroring
another registry's public records over its API."""
