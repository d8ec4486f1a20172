"""Firmware image analysis: sandboxed extraction, then analysers over the extracted root filesystems."""
