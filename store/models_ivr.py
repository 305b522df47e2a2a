"""Tables of the IVR: call sessions and what callers report."""

from __future__ import annotations
