"""The command line: a thin skin over the library. Each command parses, calls, prints."""

from . import alerts, daemon, pages, sources, state  # noqa: F401  (each registers its commands)
from .base import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
