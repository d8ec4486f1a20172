"""Network probe: assess the running device as an attacker on its network would, within strict limits.

`probe_device(address, options)` (engine.py) discovers services and runs one module per protocol; each
module returns typed findings. Nothing is imported here so `iotmark --version` stays fast.
"""
