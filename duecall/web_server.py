"""``duecall serve``: the web process under gunicorn, with duecall's own server settings.

The settings are :func:`duecall.gunicorn_config.server_settings` (the same the deployment recipe
uses), with the bind address and the worker count the command line chose. Each worker builds
its own app after the fork (``preload_app`` off): no database connection crosses a fork.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class WebServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn serving the app ``factory`` builds, configured from ``options``."""

    def __init__(self, factory: Callable[[], Flask], options: Mapping[str, Any]) -> None:
        self._factory = factory
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        known = self.cfg.settings
        for name, value in self._options.items():
            # A setting this gunicorn does not know (control_socket_disable before 25.1) is
            # left out, as gunicorn itself ignores it in a configuration file.
            if name in known:
                self.cfg.set(name, value)

    def load(self) -> Flask:
        return self._factory()


def run(factory: Callable[[], Flask], options: Mapping[str, Any]) -> None:
    """Serve until gunicorn is stopped (SIGTERM, SIGINT)."""
    WebServer(factory, options).run()
