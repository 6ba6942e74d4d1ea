"""One scenario's world: city, demand, incidents, no-fly zones, the fleet, and each policy's
posts and docks. Both policies get the same world; only `Deployment` differs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely

from fleet.dispatch.policy import DISPATCH_DELAY_S, DispatchPolicy
from fleet.types import UnitKind
from planners.geo import Airspace, NoFlyZone
from planners.roads import Mode
from sim.scenario.city import TEAM_SLOWDOWN, City
from sim.scenario.config import FleetSpec, ScenarioConfig, Shift
from sim.scenario.demand import (
    DemandPoint,
    HotSpot,
    Incident,
    demand_points,
    hot_spots,
    incident_stream,
)
from sim.scenario.posts import plan_posts, static_posts

__all__ = ["Deployment", "UnitSpec", "World", "build_world", "deploy_baseline", "deploy_optimized"]

FloatArray = npt.NDArray[np.float64]

GROUND_KINDS = (UnitKind.CAR, UnitKind.MOTORBIKE, UnitKind.BICYCLE, UnitKind.FOOT, UnitKind.TEAM)


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A ground unit of the fleet."""

    id: str
    kind: UnitKind
    shift: Shift


@dataclass(eq=False)
class World:
    """Everything both policies share."""

    city: City
    config: ScenarioConfig
    fleet: FleetSpec
    spots: tuple[HotSpot, ...]
    demand: tuple[DemandPoint, ...]
    incidents: tuple[Incident, ...]
    zones: tuple[NoFlyZone, ...]
    zones_xy: tuple[shapely.Polygon, ...]
    airspace: Airspace | None
    units: tuple[UnitSpec, ...]
    drone_ids: tuple[str, ...]

    @property
    def demand_xy(self) -> FloatArray:
        return np.asarray([d.xy for d in self.demand], dtype=np.float64).reshape(-1, 2)

    @property
    def demand_hourly(self) -> FloatArray:
        return np.asarray([d.hourly for d in self.demand], dtype=np.float64).reshape(-1, 24)


@dataclass(eq=False)
class Deployment:
    """Where one policy keeps its units: posts per kind, each unit's first post, the docks.

    Attributes
    ----------
    posts_xy : post id -> metres.
    posts_by_kind : the posts each unit kind may use.
    first_post : unit id -> the post it starts at.
    post_travel : kind -> (posts, demand) seconds, for hourly post weights (re-deployment).
    docks_xy : (k, 2) dock positions.
    drone_dock : dock index of each drone at the start.
    redeploy : whether idle units are moved toward uncovered posts.
    coverage : kind -> share of demand within 1/3/5 minutes of its posts (placement's own).
    """

    name: str
    policy: DispatchPolicy
    posts_xy: dict[str, tuple[float, float]]
    posts_by_kind: dict[UnitKind, list[str]]
    first_post: dict[str, str]
    post_travel: dict[UnitKind, FloatArray]
    docks_xy: FloatArray
    drone_dock: list[int]
    redeploy: bool
    coverage: dict[str, tuple[float, ...]] = field(default_factory=dict)


def _no_fly(city: City, rng: np.random.Generator, cfg: ScenarioConfig) -> list[NoFlyZone]:
    """``cfg.no_fly_zones`` octagons of ``no_fly_radius_m`` around random walkable nodes."""
    g = city.modes[Mode.FOOT]
    zones = []
    for k in range(cfg.no_fly_zones):
        c = g.xy[int(rng.integers(len(g.xy)))]
        ang = np.linspace(0, 2 * math.pi, 8, endpoint=False) + rng.uniform(0, math.pi / 4)
        ring = np.column_stack(
            [c[0] + cfg.no_fly_radius_m * np.cos(ang), c[1] + cfg.no_fly_radius_m * np.sin(ang)]
        )
        ll = city.proj.to_lonlat(ring)
        zones.append(NoFlyZone(f"nofly{k}", tuple((float(a), float(b)) for a, b in ll)))
    return zones


def build_world(
    city: City, config: ScenarioConfig, *, zones: Sequence[NoFlyZone] | None = None
) -> World:
    """Draw hot spots, demand, incidents and no-fly zones from ``config.seed``.

    ``zones`` replaces the drawn no-fly zones (tests put one where they want it).
    Each part has its own random stream (`numpy.random.SeedSequence.spawn`), so changing the
    fleet does not change the incidents.
    """
    ss = np.random.SeedSequence(config.seed)
    r_spots, r_inc, r_dem, r_zone = (np.random.default_rng(s) for s in ss.spawn(4))
    area = city.area_km2
    spots = hot_spots(city, r_spots, config.hot_spot_count(area))
    per_day = config.per_day(area)
    incidents = incident_stream(
        city,
        spots,
        r_inc,
        hours=config.hours,
        start_hour=config.start_hour,
        per_day=per_day,
        background_share=config.background_share,
    )
    demand = demand_points(
        city,
        spots,
        r_dem,
        per_day=per_day,
        background_share=config.background_share,
        samples=config.demand_samples,
    )
    zone_list = list(zones) if zones is not None else _no_fly(city, r_zone, config)
    airspace = (
        Airspace.from_lonlat(city.proj, zone_list, margin_m=config.no_fly_margin_m)
        if zone_list
        else None
    )
    fleet = config.fleet(area)
    units = tuple(
        UnitSpec(f"{kind.value}-{i + 1}", kind, fleet.shift_of(kind, i))
        for kind in GROUND_KINDS
        for i in range(fleet.ground.get(kind, 0))
    )
    return World(
        city=city,
        config=config,
        fleet=fleet,
        spots=spots,
        demand=demand,
        incidents=incidents,
        zones=tuple(zone_list),
        zones_xy=tuple(z.shape(city.proj) for z in zone_list),
        airspace=airspace,
        units=units,
        drone_ids=tuple(f"drone-{i + 1}" for i in range(fleet.drones)),
    )


def _dock_candidates(world: World, nodes_xy: FloatArray) -> FloatArray:
    """Nodes where a dock may stand: outside every buffered no-fly zone."""
    if world.airspace is None:
        return nodes_xy
    return np.asarray(nodes_xy[world.airspace.free_mask(nodes_xy)], dtype=np.float64)


def deploy_baseline(world: World, policy: DispatchPolicy | None = None) -> Deployment:
    """Static posts at seeded random road nodes, one per unit; docks at random nodes."""
    policy = policy or DispatchPolicy.baseline()
    rng = np.random.default_rng(np.random.SeedSequence([world.config.seed, 1]))
    posts_xy: dict[str, tuple[float, float]] = {}
    by_kind: dict[UnitKind, list[str]] = {}
    first: dict[str, str] = {}
    for kind in GROUND_KINDS:
        members = [u for u in world.units if u.kind is kind]
        g = world.city.graph_of(kind)
        idx = static_posts(len(g.xy), len(members), rng)
        by_kind[kind] = []
        for u, n in zip(members, idx.tolist(), strict=True):
            pid = f"post-{u.id}"
            posts_xy[pid] = (float(g.xy[n, 0]), float(g.xy[n, 1]))
            by_kind[kind].append(pid)
            first[u.id] = pid
    cand = _dock_candidates(world, world.city.modes[Mode.FOOT].xy)
    docks = cand[static_posts(len(cand), world.fleet.docks, rng)]
    return Deployment(
        name="baseline",
        policy=policy,
        posts_xy=posts_xy,
        posts_by_kind=by_kind,
        first_post=first,
        post_travel={},
        docks_xy=np.asarray(docks, dtype=np.float64).reshape(-1, 2),
        drone_dock=[i % len(docks) for i in range(world.fleet.drones)],
        redeploy=False,
    )


def _candidates(
    world: World, nodes_xy: FloatArray, rng: np.random.Generator, count: int
) -> npt.NDArray[np.intp]:
    """Candidate site nodes: ``count`` random nodes plus the node nearest each hot spot."""
    tree_idx = np.argmin(
        np.hypot(
            nodes_xy[None, :, 0] - np.asarray([s.xy[0] for s in world.spots])[:, None],
            nodes_xy[None, :, 1] - np.asarray([s.xy[1] for s in world.spots])[:, None],
        ),
        axis=1,
    )
    rand = rng.choice(len(nodes_xy), size=min(count, len(nodes_xy)), replace=False)
    return np.unique(np.concatenate([tree_idx, rand])).astype(np.intp)


def ground_travel(world: World, kind: UnitKind, site_nodes: npt.NDArray[np.intp]) -> FloatArray:
    """(sites, demand) seconds from call to arrival for ``kind`` on its road graph."""
    g = world.city.graph_of(kind)
    from scipy.sparse.csgraph import dijkstra

    dnodes, doff = g.snap(world.demand_xy)
    full = dijkstra(g.graph.times, directed=True, indices=np.unique(site_nodes))
    rows = np.searchsorted(np.unique(site_nodes), site_nodes)
    t = full[np.ix_(rows, dnodes)] + doff[None, :] / 1.4
    if kind is UnitKind.TEAM:
        t = t * TEAM_SLOWDOWN
    return np.asarray(t + DISPATCH_DELAY_S[kind], dtype=np.float64)


def drone_travel(world: World, policy: DispatchPolicy, sites_xy: FloatArray) -> FloatArray:
    """(sites, demand) seconds from call to a drone over the point (no-fly detours included)."""
    dxy = world.demand_xy
    if world.airspace is None:
        dist = np.hypot(
            sites_xy[:, None, 0] - dxy[None, :, 0], sites_xy[:, None, 1] - dxy[None, :, 1]
        )
    else:
        dist = np.vstack([world.airspace.distances_from(tuple(s), dxy) for s in sites_xy])
    climb_s = policy.drone_cruise_alt_m / 3.0  # planners.eta's default climb rate
    return np.asarray(
        policy.drone_launch_delay_s + climb_s + dist / policy.drone_cruise_speed_mps,
        dtype=np.float64,
    )


def deploy_optimized(
    world: World, policy: DispatchPolicy | None = None, *, redeploy: bool = True
) -> Deployment:
    """Posts and docks by `planners.placement` over the demand, per unit kind."""
    policy = policy or DispatchPolicy()
    cfg = world.config
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 2]))
    weight = [d.weight for d in world.demand]
    dlonlat = [d.lonlat for d in world.demand]
    posts_xy: dict[str, tuple[float, float]] = {}
    by_kind: dict[UnitKind, list[str]] = {}
    first: dict[str, str] = {}
    travel_of: dict[UnitKind, FloatArray] = {}
    coverage: dict[str, tuple[float, ...]] = {}
    for kind in GROUND_KINDS:
        members = [u for u in world.units if u.kind is kind]
        if not members:
            continue
        g = world.city.graph_of(kind)
        cand = _candidates(world, g.xy, rng, cfg.candidate_sites)
        travel = ground_travel(world, kind, cand)
        lonlat = world.city.proj.to_lonlat(g.xy[cand])
        chosen, result = plan_posts(
            [tuple(p) for p in lonlat.tolist()],
            dlonlat,
            weight,
            travel,
            len(members),
            tiers_s=policy.tiers_s,
            time_limit_s=cfg.placement_time_s,
            seed=cfg.seed,
        )
        coverage[kind.value] = result.covered_share
        ids = [f"{kind.value}-post-{k}" for k in range(len(chosen))]
        for pid, j in zip(ids, chosen.tolist(), strict=True):
            posts_xy[pid] = (float(g.xy[cand[j], 0]), float(g.xy[cand[j], 1]))
        by_kind[kind] = ids
        travel_of[kind] = travel[chosen]
        # Units start at the posts by weight at the start hour; re-deployment takes over.
        for k, u in enumerate(members):
            first[u.id] = ids[k % len(ids)]
    fxy = _dock_candidates(world, world.city.modes[Mode.FOOT].xy)
    pick = rng.choice(len(fxy), size=min(len(fxy), cfg.candidate_sites), replace=False)
    dock_sites = fxy[np.unique(pick)]
    dtravel = drone_travel(world, policy, dock_sites)
    dlon = world.city.proj.to_lonlat(dock_sites)
    chosen, result = plan_posts(
        [tuple(p) for p in dlon.tolist()],
        dlonlat,
        weight,
        dtravel,
        world.fleet.docks,
        tiers_s=policy.tiers_s,
        time_limit_s=cfg.placement_time_s,
        seed=cfg.seed,
    )
    coverage["drone"] = result.covered_share
    docks = dock_sites[chosen]
    return Deployment(
        name="optimized",
        policy=policy,
        posts_xy=posts_xy,
        posts_by_kind=by_kind,
        first_post=first,
        post_travel=travel_of,
        docks_xy=np.asarray(docks, dtype=np.float64).reshape(-1, 2),
        drone_dock=[i % len(docks) for i in range(world.fleet.drones)],
        redeploy=redeploy,
        coverage=coverage,
    )
