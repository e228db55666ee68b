"""`watcher run` (the daemon) and `watcher serve` (the page and feeds alone)."""

from __future__ import annotations

import asyncio

import click

from .. import config as config_mod
from .. import logs
from ..clock import Clock
from .base import Context, cli, fail


def parse_http(value: str | None) -> tuple[str, int] | None:
    """HOST:PORT; a warning when the page would be open beyond this machine without a password."""
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        fail(f"--http expects HOST:PORT, got {value!r}", 2)
    from ..web.access import exposure_warning, page_password

    if warning := exposure_warning(host or "127.0.0.1", page_password()):
        click.echo(f"warning: {warning}", err=True)
    return host or "127.0.0.1", int(port)


@cli.command()
@click.option("--http", help="Serve /healthz, /metrics, the page and the feeds on HOST:PORT.")
@click.option("--log-format", type=click.Choice(["plain", "json"]), default="plain", show_default=True)
@click.pass_obj
def run(obj: Context, http: str | None, log_format: str) -> None:
    """Watch every source on its own schedule and send alerts, until SIGTERM (SIGHUP reloads)."""
    from ..schedule import Daemon

    address = parse_http(http)
    logs.setup(log_format)
    daemon = Daemon(obj.config, obj.state, obj.clock)

    async def serve_http(d: Daemon) -> None:
        from ..web import build_app, serve  # Starlette, Jinja2 and uvicorn (8 MB) only with --http

        assert address is not None
        await serve(build_app(d.config, d, d.clock), *address)

    with obj.writer("run"):
        asyncio.run(daemon.run(serve_http if address else None))


@cli.command("serve")
@click.option("--http", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on.")
@click.pass_obj
def serve_command(obj: Context, http: str) -> None:
    """Serve the page and the Atom feeds on their own (read-only), without the daemon."""
    serve_page(obj.config, http, obj.clock)


def serve_page(config: config_mod.Config, http: str, clock: Clock) -> None:
    import uvicorn

    from ..web import build_app

    address = parse_http(http)
    assert address is not None
    click.echo(f"watcher page on http://{address[0]}:{address[1]}/ (Ctrl-C to stop)")
    uvicorn.run(build_app(config, clock=clock), host=address[0], port=address[1], log_level="warning")
