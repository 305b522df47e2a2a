"""The ivr's commands on the `duecall` CLI."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add the ivr's commands to `cli`."""
