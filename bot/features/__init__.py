"""Capabilities, one folder each: flows, service, store and a `feature.py` declaring what the core derives."""
