"""The dialer worker's configuration section (``dialer:`` in config.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DialerSettings(BaseModel):
    """Pacing, ticks, reconciliation."""

    model_config = ConfigDict(extra="forbid", frozen=True)
