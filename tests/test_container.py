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
from typing import Any

import pytest
import yaml

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


def command(dockerfile: str) -> list[str]:
    """What the container runs: ENTRYPOINT then CMD."""
    return [*json.loads(instruction(dockerfile, "ENTRYPOINT")), *json.loads(instruction(dockerfile, "CMD"))]


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
    cmd = command(dockerfile)
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


def test_the_image_refuses_to_start_without_a_mounted_configuration(tmp_path: Path) -> None:
    """No sources are baked in: forgetting the config mount stops the container at once, saying where it
    looked and how to choose, instead of polling real sites; the page's exposure is warned of too."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY sources.yaml" not in dockerfile
    env = {**os.environ, **env_of(dockerfile), "HOME": str(tmp_path)}
    env["WATCHER_CONFIG"] = str(tmp_path / "app-config" / "sources.yaml")  # /app/config, not mounted
    env["WATCHER_STATE"] = str(tmp_path / "state")
    env.pop("WATCHER_PAGE_PASSWORD", None)
    cmd = command(dockerfile)
    assert cmd[0] == "watcher" and env_of(dockerfile)["WATCHER_CONFIG"] == "/app/config/sources.yaml"
    done = subprocess.run([sys.executable, "-m", "watcher", *cmd[1:]], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert f"tried {tmp_path / 'app-config' / 'sources.yaml'}" in said and "WATCHER_CONFIG" in said
    assert "open to anyone" in said and "WATCHER_PAGE_PASSWORD" in said  # 0.0.0.0 without a password
    assert not (tmp_path / "state" / "watcher.db").exists()


def compose(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / name).read_text("utf-8")))


@pytest.mark.parametrize("name", ["compose.yaml", "compose.postgres.yaml"])
def test_the_compose_files_agree_with_the_image(name: str) -> None:
    """What can be checked without an engine: the mounts are where the image looks, every secret is a file
    read through a *_FILE variable watcher (or PostgreSQL) understands, and no password is written inline."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    image_env = env_of(dockerfile)
    spec = compose(name)
    watcher = spec["services"]["watcher"]
    assert watcher["build"] == "."
    assert "./config:/app/config" in watcher["volumes"]
    assert str(Path(image_env["WATCHER_CONFIG"]).parent) == "/app/config"
    assert all(not p.startswith("0.0.0.0") and p.startswith("127.0.0.1:") for p in watcher["ports"])
    secrets = spec["secrets"]
    for service in spec["services"].values():
        for key, value in (service.get("environment") or {}).items():
            assert "PASSWORD=" not in key and not (key.endswith("PASSWORD") and value), f"{key} inline"
            if key.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in service["secrets"] and secrets[secret]["file"] == f"./secrets/{secret}"
    assert watcher["environment"]["WATCHER_PAGE_PASSWORD_FILE"] == "/run/secrets/page_password"
    if name == "compose.postgres.yaml":
        state = watcher["environment"]["WATCHER_STATE"]
        assert (
            state.startswith("postgresql://watcher@db:")
            and ":" not in state.split("@")[0][len("postgresql://") :]
        )
        assert (
            spec["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"]
            == watcher["environment"]["PGPASSWORD_FILE"]
        )
        assert watcher["depends_on"]["db"]["condition"] == "service_healthy"
    else:
        assert "watcher-state:/app/state" in watcher["volumes"] and image_env["WATCHER_STATE"] == "/app/state"
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"docker compose{' -f compose.postgres.yaml' if 'postgres' in name else ''} up -d" in readme
