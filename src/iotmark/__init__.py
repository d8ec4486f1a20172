"""iotmark: measurable, certifiable, enforceable IoT security."""

__version__ = "0.1.0"
