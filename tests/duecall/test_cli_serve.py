"""`duecall serve`: gunicorn out of the box, Flask's development server only behind --dev."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # gunicorn and client processes, on sockets

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DUECALL_", "TWILIO_")) and key != "WERKZEUG_RUN_MAIN"
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DUECALL_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "serve-test-token",
            "DUECALL_SECRET_KEY": "serve-test-secret",
        }
    )
    return env


def _healthz(port: int, proc: subprocess.Popen[str]) -> bytes:
    """/healthz's body once the server answers (it may take a few seconds to boot)."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
                body: bytes = reply.read()
                return body
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _serve(tmp_path: Path, *args: str) -> tuple[bytes, str]:
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "duecall", "serve", *args],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            port = int(args[args.index("--port") + 1]) if "--port" in args else 0
            if "--bind" in args:
                port = int(args[args.index("--bind") + 1].rsplit(":", 1)[1])
            body = _healthz(port, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return body, log.read_text()


def test_serve_runs_gunicorn_with_the_workers_asked_for(tmp_path: Path) -> None:
    port = _free_port()
    body, output = _serve(tmp_path, "--bind", f"127.0.0.1:{port}", "--workers", "2")
    assert b'"status"' in body and b'"ok"' in body
    assert f"Listening at: http://127.0.0.1:{port}" in output
    assert output.count("Booting worker with pid") >= 2
    assert "development server" not in output


def test_serve_listens_on_host_and_port_by_default(tmp_path: Path) -> None:
    port = _free_port()
    body, output = _serve(tmp_path, "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
    assert b'"ok"' in body
    assert f"Listening at: http://127.0.0.1:{port}" in output


def test_serve_dev_is_flasks_own_server(tmp_path: Path) -> None:
    port = _free_port()
    body, output = _serve(tmp_path, "--dev", "--port", str(port))
    assert b'"ok"' in body
    assert "Listening at" not in output


def test_serve_refuses_a_bad_worker_count(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "duecall", "serve", "--workers", "0"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--workers" in done.stderr


@pytest.mark.parametrize("value", ["0", "two"])
def test_serve_names_a_bad_worker_count_from_the_environment(tmp_path: Path, value: str) -> None:
    env = {**_env(tmp_path), "DUECALL_WEB_WORKERS": value}
    done = subprocess.run(
        [sys.executable, "-m", "duecall", "serve", "--port", str(_free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DUECALL_WEB_WORKERS" in done.stderr
