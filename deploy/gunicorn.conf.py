"""gunicorn settings for duecall's web process: Twilio's webhooks and /healthz.

Installed as /etc/duecall/gunicorn.conf.py and started by deploy/systemd/duecall-web.service:

    gunicorn -c /etc/duecall/gunicorn.conf.py 'duecall.app:wsgi_app()'

Read from the environment (all optional):

    DUECALL_BIND          where to listen, comma-separated (default 127.0.0.1:5000; a TLS
                          reverse proxy on the same host forwards to it)
    DUECALL_WEB_WORKERS   worker processes (default 2 x usable cores + 1, at most 8)
    FORWARDED_ALLOW_IPS   proxies trusted for X-Forwarded-Proto (default 127.0.0.1,::1)

The app itself reads its configuration and secrets as every duecall command does
(DUECALL_CONFIG, DUECALL_DATABASE_URL, DUECALL_PUBLIC_URL, TWILIO_AUTH_TOKEN[_FILE], ...).
See docs/deployment.md.
"""

from __future__ import annotations

import os

#: Ceiling of the default worker count. Webhooks are short, database-bound requests paced by
#: the Twilio account's calls per second; more processes only cost memory and connections.
_MAX_DEFAULT_WORKERS = 8


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPUAffinity= and container CPU sets
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _workers() -> int:
    raw = os.environ.get("DUECALL_WEB_WORKERS", "").strip()
    if not raw:
        return min(2 * _usable_cores() + 1, _MAX_DEFAULT_WORKERS)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"DUECALL_WEB_WORKERS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


bind = [
    address.strip()
    for address in os.environ.get("DUECALL_BIND", "127.0.0.1:5000").split(",")
    if address.strip()
]
workers = _workers()

# One request per process at a time: the handlers block on the database, and each process
# builds its own app, engine and connection pool after the fork (preload_app off), so no
# connection is ever shared between processes.
worker_class = "sync"
preload_app = False

# Twilio waits 15 s for a webhook's answer and then fails the call ("an application error has
# occurred"). A worker silent for 20 s is serving nobody: it is killed and replaced.
timeout = 20
# On SIGTERM (systemctl stop) and SIGHUP (systemctl reload) a worker finishes the request in
# hand; any webhook Twilio still waits for is done within its 15 s. The unit's TimeoutStopSec
# is longer than this.
graceful_timeout = 20

# X-Forwarded-Proto (and the other secure-scheme headers) is believed only when the request
# comes from one of these addresses, so nobody reaching the port directly can claim https.
# The TLS-terminating proxy sets it; list the proxy's address when it runs on another host.
# Never "*" unless only the proxy can reach this port (e.g. a Unix socket, always trusted).
# Twilio's signature check does not depend on it: duecall checks X-Twilio-Signature against
# DUECALL_PUBLIC_URL, not against the URL the request arrived on.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs to stdout/stderr: journald keeps them. The access log names the path without its query
# string: the ?attempt=<id> on Twilio's callbacks is harmless, but nothing a route may carry
# there later (a number in a filter, a token) should reach a log. The referrer is left out for
# the same reason. gunicorn never logs request bodies, where Twilio sends From, To and Digits.
# %(h)s is the proxy; the client (Twilio) is in X-Forwarded-For.
accesslog = "-"
errorlog = "-"
access_log_format = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" xff="%({x-forwarded-for}i)s"'
)

proc_name = "duecall-web"

# gunicorn 25.1+ opens a control socket ($HOME/.gunicorn/gunicorn.ctl) that can resize or stop
# the server; systemctl does both here, so that socket is not opened. (Older versions ignore it.)
control_socket_disable = True
