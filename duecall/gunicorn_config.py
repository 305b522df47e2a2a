"""gunicorn settings for duecall's web process (Twilio's webhooks and /healthz), in one place.

``duecall serve`` runs gunicorn with :func:`server_settings`; deploy/gunicorn.conf.py, the file
the systemd unit passes to ``gunicorn -c``, takes its settings from here too, so an installed
duecall and a copied recipe never disagree.

Read from the environment (all optional):

    DUECALL_BIND          where to listen, comma-separated (default 127.0.0.1:5000; a TLS
                          reverse proxy on the same host forwards to it)
    DUECALL_WEB_WORKERS   worker processes (default 2 x usable cores + 1, at most 8)
    FORWARDED_ALLOW_IPS   proxies trusted for X-Forwarded-Proto (default 127.0.0.1,::1)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULT_BIND = "127.0.0.1:5000"

#: Ceiling of the default worker count. Webhooks are short, database-bound requests paced by
#: the Twilio account's calls per second; more processes only cost memory and connections.
MAX_DEFAULT_WORKERS = 8

#: The access log names the path without its query string: the ?attempt=<id> on Twilio's
#: callbacks is harmless, but nothing a route may carry there later (a number in a filter, a
#: token) should reach a log. The referrer is left out for the same reason. gunicorn never logs
#: request bodies, where Twilio sends From, To and Digits. %(h)s is the proxy; the client
#: (Twilio) is in X-Forwarded-For.
ACCESS_LOG_FORMAT = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" xff="%({x-forwarded-for}i)s"'
)


def usable_cores() -> int:
    """The cores this process may run on (honours CPUAffinity= and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """2 x usable cores + 1, at most :data:`MAX_DEFAULT_WORKERS`."""
    return min(2 * usable_cores() + 1, MAX_DEFAULT_WORKERS)


def workers_from(environ: Mapping[str, str]) -> int:
    """``DUECALL_WEB_WORKERS`` when set (a whole number of at least 1), else the default."""
    raw = environ.get("DUECALL_WEB_WORKERS", "").strip()
    if not raw:
        return default_workers()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"DUECALL_WEB_WORKERS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def binds_from(environ: Mapping[str, str], default: str = DEFAULT_BIND) -> list[str]:
    """``DUECALL_BIND`` split on commas, else ``default``."""
    raw = environ.get("DUECALL_BIND", default)
    return [address.strip() for address in raw.split(",") if address.strip()]


def server_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every gunicorn setting of the web process, by gunicorn's names."""
    return {
        "bind": binds_from(environ),
        "workers": workers_from(environ),
        # One request per process at a time: the handlers block on the database, and each
        # process builds its own app, engine and connection pool after the fork (preload_app
        # off), so no connection is ever shared between processes.
        "worker_class": "sync",
        "preload_app": False,
        # Twilio waits 15 s for a webhook's answer and then fails the call ("an application
        # error has occurred"). A worker silent for 20 s is serving nobody: it is replaced.
        "timeout": 20,
        # On SIGTERM (systemctl stop) and SIGHUP (reload) a worker finishes the request in
        # hand; any webhook Twilio still waits for is done within its 15 s. The unit's
        # TimeoutStopSec is longer than this.
        "graceful_timeout": 20,
        # X-Forwarded-Proto (and the other secure-scheme headers) is believed only from these
        # addresses, so nobody reaching the port directly can claim https. The TLS-terminating
        # proxy sets it; list the proxy's address when it runs on another host. Never "*"
        # unless only the proxy can reach this port (a Unix socket is always trusted). Twilio's
        # signature check does not depend on it: duecall checks X-Twilio-Signature against
        # DUECALL_PUBLIC_URL, not against the URL the request arrived on.
        "forwarded_allow_ips": environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        # Logs to stdout/stderr: journald keeps them.
        "accesslog": "-",
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "proc_name": "duecall-web",
        # gunicorn 25.1+ opens a control socket ($HOME/.gunicorn/gunicorn.ctl) that can resize
        # or stop the server; systemctl and `duecall serve`'s own signals do both, so that
        # socket is not opened. (Older versions ignore the setting.)
        "control_socket_disable": True,
    }
