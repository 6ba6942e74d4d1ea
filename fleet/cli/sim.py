"""`patrolfleet sim ...`: start simulated drones, ground units and scenarios."""

from __future__ import annotations

import typer

app = typer.Typer(help="Simulated drones, ground units and city scenarios.", no_args_is_help=True)


@app.command("drones")
def drones(
    count: int = typer.Option(1, "--count", "-n", min=1, max=250, help="number of autopilots"),
    connect: str = typer.Option(
        "udp://127.0.0.1:14540", "--connect", help="ground station address, udp://HOST:PORT"
    ),
    base_sysid: int = typer.Option(1, "--base-sysid", min=1, max=250, help="first system id"),
    lat: float = typer.Option(60.1699, "--lat", help="latitude of the first dock"),
    lon: float = typer.Option(24.9384, "--lon", help="longitude of the first dock"),
    spacing_m: float = typer.Option(8.0, "--spacing-m", help="distance between docks"),
    control_port: int | None = typer.Option(
        None, "--control-port", help="JSON-over-UDP fault-injection port on 127.0.0.1"
    ),
    time_scale: float = typer.Option(1.0, "--time-scale", help="physics speed factor"),
    telemetry_hz: float = typer.Option(5.0, "--telemetry-hz", help="position stream rate"),
    duration_s: float | None = typer.Option(None, "--duration-s", help="stop after this long"),
    port_stride: int = typer.Option(
        0, "--port-stride", min=0, help="1: drone i sends to PORT+i, like PX4 SITL instances"
    ),
) -> None:
    """Start N simulated PX4-like MAVLink 2 autopilots, each with its own system id and socket."""
    import asyncio
    import contextlib
    import logging

    from sim.autopilot import SwarmConfig, run_swarm

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = SwarmConfig(
        count=count,
        connect=connect,
        base_sysid=base_sysid,
        lat=lat,
        lon=lon,
        spacing_m=spacing_m,
        control_port=control_port,
        time_scale=time_scale,
        telemetry_hz=telemetry_hz,
        port_stride=port_stride,
    )

    async def _run() -> None:
        async with run_swarm(config) as swarm:
            logging.getLogger("sim.autopilot").info(
                "sim.drones.ready count=%d control=%s", count, swarm.control_address
            )
            if duration_s is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration_s)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run())


@app.command("payload")
def payload(
    mqtt: str = typer.Option("mqtt://127.0.0.1:1884", help="broker the service uses"),
    root: str = typer.Option("patrolfleet", help="topic root"),
    drones: str | None = typer.Option(None, help="comma-separated drone ids (default: all)"),
    out_dir: str | None = typer.Option(None, help="write spoken warnings as WAV (espeak-ng)"),
) -> None:
    """Run a simulated payload companion: it answers loudspeaker/spotlight commands."""
    import asyncio
    import contextlib
    from pathlib import Path

    from sim.payload import PayloadCompanion

    companion = PayloadCompanion(
        mqtt_url=mqtt,
        root=root,
        drones=frozenset(drones.split(",")) if drones else None,
        out_dir=Path(out_dir) if out_dir else None,
        seconds_per_word=0.4,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(companion.run())


@app.command("units")
def units(
    count: int = typer.Option(50, "--count", "-n", min=1, max=20000),
    base_url: str = typer.Option("http://127.0.0.1:8000", help="the service's HTTP API"),
    token: str = typer.Option(..., help="a dispatcher token (to register the units)"),
    mqtt: str = typer.Option("mqtt://127.0.0.1:1884", help="broker the service uses"),
    root: str = typer.Option("patrolfleet", help="topic root"),
    lat: float = typer.Option(60.1699, help="centre latitude"),
    lon: float = typer.Option(24.9384, help="centre longitude"),
    radius_m: float = typer.Option(2000.0, help="units are scattered within this radius"),
    seed: int = typer.Option(0),
) -> None:
    """Run simulated ground units and teams: register, check in, report, acknowledge, move."""
    import asyncio
    import contextlib

    from sim.units import GroundFleet, scatter

    fleet = GroundFleet(
        mqtt_url=mqtt, root=root, units=scatter(count, lon, lat, radius_m, seed=seed)
    )

    async def go() -> None:
        await fleet.register(base_url, token)
        await fleet.run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


@app.command("scenario")
def scenario(
    city: str = typer.Option("helsinki", help="'helsinki' (shipped extract) or an OSM file"),
    hours: float = typer.Option(24.0, min=0.1, max=336.0, help="simulated hours of calls"),
    seed: int = typer.Option(0, help="one seed for demand, calls, zones and posts"),
    out: str = typer.Option("scenario-out", help="directory for kpi.json, PNGs, report.html"),
    start_hour: int = typer.Option(0, min=0, max=23, help="hour of day the run starts"),
    placement_s: float = typer.Option(4.0, min=0.5, help="CP-SAT budget per placement"),
    no_report: bool = typer.Option(False, "--no-report", help="kpi.json only, no plots"),
) -> None:
    """Simulate a city day under the baseline and the optimized dispatch policy."""
    import json
    import logging
    from pathlib import Path

    from tqdm import tqdm

    from sim.scenario import ScenarioConfig, run_scenario

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = ScenarioConfig(
        hours=hours, seed=seed, start_hour=start_hour, placement_time_s=placement_s
    )
    bars: dict[str, tqdm] = {}

    def progress(name: str, t_s: float, total_s: float) -> None:
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = tqdm(total=round(total_s / 3600, 1), desc=name, unit="h")
        bar.n = round(t_s / 3600, 1)
        bar.refresh()
        if t_s >= total_s:
            bar.close()

    try:
        run = run_scenario(city, config, Path(out), progress=progress, report=not no_report)
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    summary = {
        name: {
            k: v for k, v in p.items() if k.startswith(("compliance", "p50", "p95", "drone_first"))
        }
        for name, p in run.kpi["policies"].items()
    }
    typer.echo(json.dumps({"out": out, "wall_s": run.kpi["scenario"]["wall_s"], **summary}))


@app.command("live")
def live(
    token: str = typer.Option(..., help="a dispatcher token (to register the units)"),
    city: str = typer.Option("helsinki", help="'helsinki' (shipped extract) or an OSM file"),
    hours: float = typer.Option(1.0, min=0.01, max=336.0, help="scenario hours of calls"),
    seed: int = typer.Option(0, help="the scenario seed (same calls as 'sim scenario')"),
    speed: float = typer.Option(1.0, min=0.01, help="time scale: 60 = one scenario hour a minute"),
    base_url: str = typer.Option("http://127.0.0.1:8000", help="the service's HTTP API"),
    mqtt: str = typer.Option("mqtt://127.0.0.1:1884", help="broker the service uses"),
    root: str = typer.Option("patrolfleet", help="topic root"),
    baseline_posts: bool = typer.Option(False, help="start units at random posts (no CP-SAT)"),
) -> None:
    """Drive a running service with a scenario: calls as MQTT alerts, ground units over MQTT.

    Start drones beside it with `patrolfleet sim drones` (MAVLink).
    """
    import asyncio
    import contextlib
    import logging

    from sim.scenario import City, ScenarioConfig, build_world, deploy_baseline, deploy_optimized
    from sim.scenario.live import run_live

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    world = build_world(City.load(city), ScenarioConfig(hours=hours, seed=seed))
    dep = deploy_baseline(world) if baseline_posts else deploy_optimized(world)
    with contextlib.suppress(KeyboardInterrupt):
        sent = asyncio.run(
            run_live(
                world, dep, mqtt_url=mqtt, root=root, base_url=base_url, token=token, speed=speed
            )
        )
        typer.echo(f"{sent} alerts sent")
