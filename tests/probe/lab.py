"""The lab lives in the package now (iotmark.collect.probe.lab); benchmarks/probe.py imports it from here."""

from iotmark.collect.probe.lab import LabDevice, lab_unavailable, start_lab, stop_lab

__all__ = ["LabDevice", "lab_unavailable", "start_lab", "stop_lab"]
