"""The dialer's commands on the `duecall` CLI."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add the dialer's commands to `cli`."""
