"""The `duecall` command's exit codes, in one place (README "Command line")."""

from __future__ import annotations

OK = 0
#: An unexpected failure: a database error, a worker that lost its lease.
FAILURE = 1
#: A usage or configuration problem, each printed as ``key.path: message`` or a sentence.
USAGE = 2
#: An import in which some rows were rejected; every good row landed.
REJECTS = 3
