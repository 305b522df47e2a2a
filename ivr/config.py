"""The IVR's configuration section (``ivr:`` in config.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class IvrSettings(BaseModel):
    """Keys, voices, limits of the call flow."""

    model_config = ConfigDict(extra="forbid", frozen=True)
