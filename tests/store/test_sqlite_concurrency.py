"""Two processes writing to one SQLite file at once both finish, with no "database is locked".

One process runs `duecall accounts import` on a large file; the other runs a loop of
read-then-write transactions (the pattern that fails at once under a deferred BEGIN).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import Database
from store.migrate import upgrade
from store.models import Account, AuditLog

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from sqlalchemy import func, select
    from store.db import Database
    from store.models import AuditLog
    from store.audit import record_audit

    db = Database(sys.argv[1])
    for i in range(int(sys.argv[2])):
        with db.session() as s:
            seen = s.scalar(select(func.count()).select_from(AuditLog))  # read ...
            record_audit(                                                 # ... then write
                s, at=datetime.now(UTC), actor="loop", action="tick",
                entity_type="test", entity_id=str(i), detail={"seen": seen},
            )
    print("writer done")
    """
)


@pytest.mark.slow
def test_an_import_and_a_writer_loop_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    db = Database(url)
    upgrade(db)
    rows = 3000
    csv_path = tmp_path / "big.csv"
    with csv_path.open("w", encoding="utf-8") as f:
        f.write(
            "account_id,name,phone,language,timezone,balance,minimum_due,due_date,"
            "days_past_due,card_last4,birth_date\n"
        )
        for i in range(rows):
            f.write(
                f"{10_000 + i},P {i},+1415555{i % 100:04d},en-US,,10.00,1.00,2026-11-01,3,1234,"
                "1980-01-01\n"
            )
    config = tmp_path / "config.yaml"
    config.write_text("import:\n  batch_size: 50\n", encoding="utf-8")
    env = {**os.environ, "DUECALL_DATABASE_URL": url, "DUECALL_CONFIG": str(config)}
    importer = subprocess.Popen(
        [sys.executable, "-m", "duecall", "accounts", "import", str(csv_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, "400"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, imp_err = importer.communicate(timeout=240)
    wr_out, wr_err = writer.communicate(timeout=240)
    assert "locked" not in imp_err + wr_err
    assert importer.returncode == 0, imp_err
    assert writer.returncode == 0, wr_err
    assert "writer done" in wr_out
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Account)) == rows
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "tick"))
            == 400
        )
    db.dispose()
