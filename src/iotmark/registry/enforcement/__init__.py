"""Liability and enforcement: regulators' non-compliance cases, incidents attributed to product models with the
FAIR estimate of third-party loss, and the public record per vendor."""
