"""Secrets from the environment or from files: NAME, else the file NAME_FILE names (Docker and Compose
secrets are files under /run/secrets/), its trailing newline dropped. Used for `${NAME}` in the
configuration, WATCHER_STATE, WATCHER_PAGE_PASSWORD and PostgreSQL's own PGPASSWORD."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from .errors import SecretError


def secret(name: str, environ: MutableMapping[str, str] | None = None) -> str | None:
    """The value of NAME, else the content of the file in NAME_FILE, else None."""
    env = os.environ if environ is None else environ
    if name in env:
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text("utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise SecretError(f"{name}_FILE={path}: cannot read the secret: {reason}") from exc


def export(names: tuple[str, ...] = ("PGPASSWORD",), environ: MutableMapping[str, str] | None = None) -> None:
    """NAME set from NAME_FILE for libraries that read the environment themselves (libpq: PGPASSWORD)."""
    env = os.environ if environ is None else environ
    for name in names:
        if name not in env and (value := secret(name, env)) is not None:
            env[name] = value
