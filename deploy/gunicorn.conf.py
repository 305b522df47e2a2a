"""gunicorn settings for duecall's web process: Twilio's webhooks and /healthz.

Installed as /etc/duecall/gunicorn.conf.py and started by deploy/systemd/duecall-web.service:

    gunicorn -c /etc/duecall/gunicorn.conf.py 'duecall.app:wsgi_app()'

The settings themselves (and why each has its value) are in the installed package,
duecall/gunicorn_config.py, which `duecall serve` uses too. Read from the environment (all
optional):

    DUECALL_BIND          where to listen, comma-separated (default 127.0.0.1:5000; a TLS
                          reverse proxy on the same host forwards to it)
    DUECALL_WEB_WORKERS   worker processes (default 2 x usable cores + 1, at most 8)
    FORWARDED_ALLOW_IPS   proxies trusted for X-Forwarded-Proto (default 127.0.0.1,::1)

The app itself reads its configuration and secrets as every duecall command does
(DUECALL_CONFIG, DUECALL_DATABASE_URL, DUECALL_PUBLIC_URL, TWILIO_AUTH_TOKEN[_FILE], ...).
See docs/deployment.md.
"""

from __future__ import annotations

import os as _os

from duecall.gunicorn_config import server_settings as _server_settings

# gunicorn reads the module's public names: bind, workers, worker_class, timeout, ...
globals().update(_server_settings(_os.environ))
