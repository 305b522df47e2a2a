"""Every table, for Alembic and the tests: importing this module loads all model modules."""

from __future__ import annotations

from store import models, models_api, models_concessions, models_desk, models_dialer, models_ivr
from store.models import Base

metadata = Base.metadata

__all__ = [
    "metadata",
    "models",
    "models_api",
    "models_concessions",
    "models_desk",
    "models_dialer",
    "models_ivr",
]
