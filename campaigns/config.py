"""Campaign definitions (``campaigns:`` in config.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CampaignSettings(BaseModel):
    """One campaign: who, how, when."""

    model_config = ConfigDict(extra="forbid", frozen=True)
