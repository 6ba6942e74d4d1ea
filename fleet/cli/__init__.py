"""The `patrolfleet` command line: one typer app, sub-commands per concern."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import typer

from fleet.cli import plan as _plan
from fleet.cli import sim as _sim
from fleet.settings import Settings

app = typer.Typer(
    name="patrolfleet",
    help="Coordinator for city policing fleets: police drones and ground patrol units.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(_plan.app, name="plan")
app.add_typer(_sim.app, name="sim")

BENCHES = ("ingest", "routing", "aerial", "eta", "drones", "dispatch", "api")

DataDirOpt = typer.Option(None, "--data-dir", help="Directory for the embedded database.")
DbOpt = typer.Option(None, "--db", help="Database URL (default: SQLite in the data dir).")


def _settings(**overrides: object) -> Settings:
    """Settings from PATROLFLEET_* env vars, with the CLI flags that were given on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


@app.command()
def up(
    host: str | None = typer.Option(None, help="HTTP bind address [127.0.0.1]."),
    port: int | None = typer.Option(None, help="HTTP port [8000]."),
    db: str | None = DbOpt,
    mqtt: str | None = typer.Option(
        None, help="MQTT broker URL, e.g. mqtt://127.0.0.1:1883 (default: embedded broker)."
    ),
    data_dir: Path | None = DataDirOpt,
    map_file: Path | None = typer.Option(None, "--map", help="OSM extract of the city."),
    sim_drones: int = typer.Option(
        0,
        "--sim-drones",
        min=0,
        max=250,
        help="Also start N simulated drones (and their payload companion) over MAVLink.",
    ),
    log_level: str = typer.Option("INFO", help="Logging level."),
) -> None:
    """Run the service (API, console, MQTT ingest, drone links) until Ctrl-C."""
    import uvicorn

    from api.app import create_app
    from fleet import logs

    settings = _settings(
        host=host, port=port, database_url=db, mqtt_url=mqtt, data_dir=data_dir, map_file=map_file
    )
    logs.configure(log_level, as_json=settings.env == "production")
    admin_token = asyncio.run(_first_start(settings))
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(f"patrolfleet {base}")
    typer.echo(f"  console   {base}/")
    typer.echo(f"  API docs  {base}/docs")
    typer.echo(f"  health    {base}/healthz   readiness {base}/readyz   metrics {base}/metrics")
    typer.echo(f"  database  {settings.effective_database_url}")
    typer.echo(
        "  MQTT      "
        + (settings.mqtt_url or f"embedded broker mqtt://127.0.0.1:{_embedded_port()}")
    )
    if admin_token:
        typer.echo(
            "First start: an admin token was created (also saved to "
            f"{settings.data_dir / 'admin.token'}). Use it as 'Authorization: Bearer':"
        )
        typer.echo(admin_token)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=3,  # SIGINT/SIGTERM: the service is down within 5 s
        ws_ping_interval=20,
    )
    with _simulators(settings, sim_drones):
        uvicorn.Server(config).run()


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook (Linux) that gives the child SIGTERM when the service dies, however
    it dies: uvicorn re-raises SIGTERM after its shutdown, so a `finally` in the parent is not
    enough. libc is looked up here, before the fork: the service has threads by then, and
    dlopen in a forked child of a threaded process is not safe."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG

    return hook


@contextlib.contextmanager
def _simulators(settings: Settings, drones: int) -> Iterator[None]:
    """Simulated drones and their payload companion as child processes: they reach the
    service only over UDP MAVLink and MQTT, exactly like real hardware."""
    if drones <= 0:
        yield
        return
    if not settings.drone_connections:
        raise typer.BadParameter("--sim-drones needs drone links (PATROLFLEET_DRONE_CONNECTIONS)")
    port = urlsplit(settings.drone_connections[0]).port or 14540
    mqtt_url = settings.mqtt_url or f"mqtt://127.0.0.1:{_embedded_port()}"
    base = [sys.executable, "-m", "fleet", "sim"]
    hook = _parent_death_signal()
    children = [
        subprocess.Popen(
            [*base, "drones", "--count", str(drones), "--connect", f"udp://127.0.0.1:{port}"],
            preexec_fn=hook,
        ),
        subprocess.Popen(
            [*base, "payload", "--mqtt", mqtt_url, "--root", settings.mqtt_root],
            preexec_fn=hook,
        ),
    ]
    typer.echo(f"  simulated {drones} drone(s) on udp://127.0.0.1:{port} and a payload companion")
    try:
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(3)
            except subprocess.TimeoutExpired:
                child.kill()


def _embedded_port() -> int:
    from fleet.settings import EMBEDDED_MQTT_PORT

    return EMBEDDED_MQTT_PORT


async def _first_start(settings: Settings) -> str | None:
    """Migrate, and on a database without any admin token create one; returns it."""
    from fleet.domain import SYSTEM
    from fleet.store.db import open_engine
    from fleet.store.repo import Store
    from fleet.types import Role

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with open_engine(settings.effective_database_url) as engine:
        store = Store(engine)
        if await store.count_tokens(role=Role.ADMIN):
            return None
        _, token = await store.create_token(SYSTEM, name="first-admin", role=Role.ADMIN)
    path = settings.data_dir / "admin.token"
    path.write_text(token + "\n")
    os.chmod(path, 0o600)
    return token


@db_app.command("upgrade")
def db_upgrade(db: str | None = DbOpt, data_dir: Path | None = DataDirOpt) -> None:
    """Apply the database migrations (the service also does this at start)."""
    from fleet.store.db import open_engine

    settings = _settings(database_url=db, data_dir=data_dir)

    async def go() -> None:
        async with open_engine(settings.effective_database_url):
            pass

    asyncio.run(go())
    typer.echo(f"database at head: {settings.effective_database_url}")


@token_app.command("create")
def token_create(
    role: str = typer.Option(..., help="viewer, dispatcher, operator or admin."),
    name: str | None = typer.Option(None, help="Who or what uses it (shown in the audit log)."),
    db: str | None = DbOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """Create an API token; the token itself is the last line of output (shown once)."""
    from fleet.domain import SYSTEM
    from fleet.store.db import open_engine
    from fleet.store.repo import Store
    from fleet.types import Role

    try:
        parsed = Role.parse(role)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    settings = _settings(database_url=db, data_dir=data_dir)

    async def go() -> tuple[str, str]:
        async with open_engine(settings.effective_database_url) as engine:
            return await Store(engine).create_token(
                SYSTEM, name=name or f"{parsed.name.lower()}-token", role=parsed
            )

    token_id, token = asyncio.run(go())
    typer.echo(f"created {parsed.name.lower()} token {token_id}")
    typer.echo(token)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    help=f"Run a benchmark from bench/ ({', '.join(BENCHES)}); prints one JSON object with --json.",
)
def bench(ctx: typer.Context, name: str = typer.Argument(..., help="benchmark name")) -> None:
    if name not in BENCHES:
        raise typer.BadParameter(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHES)}")
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        raise typer.BadParameter(f"benchmark {name!r} is not available: {exc}") from exc
    raise typer.Exit(module.main(list(ctx.args)) or 0)


def main() -> None:
    """Console-script entry point."""
    app()
