"""The container without a Docker engine: build the environment the Dockerfile describes in a fresh venv
(`pip install .`, its ENV), run its CMD, and ask its HEALTHCHECK, as Docker would."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from watcher import demo
from watcher.localsite import LocalServer

from . import kit
from .kit import real_today
from .receivers import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent


def instruction(dockerfile: str, name: str) -> str:
    """The last (run-stage) instruction of that name, continuation lines joined."""
    text = dockerfile.replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.+)$", text, re.M)
    assert found, f"no {name} in the Dockerfile"
    return str(found[-1])


def env_of(dockerfile: str) -> dict[str, str]:
    out = {}
    for pair in shlex.split(instruction(dockerfile, "ENV")):
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def test_the_dockerfile_environment_runs_and_is_healthy(server: LocalServer, tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert (
        instruction(dockerfile, "FROM").startswith("python:3.11-slim")
        and instruction(dockerfile, "USER") == "watcher"
    )
    install = instruction(dockerfile, "RUN python -m venv /opt/watcher &&")
    assert "pip install --no-cache-dir ." in install
    venv = tmp_path / "opt-watcher"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], capture_output=True, text=True
    )
    assert pip.returncode == 0, pip.stderr[-2000:]

    demo.publish(server, demo.sample_notices(real_today()))
    # mounted over the baked-in file, as the README says
    config = kit.write_config(tmp_path / "sources.yaml", [kit.demo_source(server, interval="1h")])
    env = env_of(dockerfile)
    port = free_port()
    env.update(
        PATH=f"{venv / 'bin'}:{os.environ['PATH']}", WATCHER_CONFIG=str(config), WATCHER_STATE=str(tmp_path / "state"),
        HOME=str(tmp_path),
    )  # fmt: skip
    cmd = json.loads(instruction(dockerfile, "CMD"))
    cmd = [part.replace("0.0.0.0:8080", f"127.0.0.1:{port}") for part in cmd]
    assert cmd[:2] == ["watcher", "run"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        health = json.loads(re.search(r"CMD (\[.*\])$", instruction(dockerfile, "HEALTHCHECK")).group(1))  # type: ignore[union-attr]
        health = [part.replace("8080", str(port)) for part in health]
        health[0] = str(venv / "bin" / "python")

        def healthy() -> bool:
            return subprocess.run(health, env=env, capture_output=True).returncode == 0

        wait_for(lambda: healthy() or proc.poll() is not None, timeout=30, what="the HEALTHCHECK to pass")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        wait_for(lambda: (tmp_path / "state" / "watcher.db").exists(), what="the state in the volume")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        log = proc.stderr.read().decode()
        proc.stderr.close()
    assert '"message": "stopped"' in log
