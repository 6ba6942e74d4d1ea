"""Where and when incidents happen: hot spots with hourly profiles, and a Poisson incident stream.

Everything is drawn from the scenario seed on the city's own road network, so any extract
gets a plausible demand without city-specific code:

* hot spots sit on walkable nodes, drawn with probability growing with the node's degree
  (junctions and squares rather than dead ends), each with a weight (lognormal: a few
  spots dominate), a spread and a *profile* (nightlife, transit, retail, residential,
  park) that shapes its hourly intensity;
* a share of incidents is *background*: anywhere on the network, following a city-wide
  daily curve, so no placement can anticipate all of them;
* per hour, each source emits Poisson(rate x 1 h) incidents at uniform times in the hour
  (a piecewise-constant non-homogeneous Poisson process), placed around the spot with a
  Gaussian offset and snapped to the nearest walkable node;
* each incident's category (with its priority and whether it is referred to a
  non-emergency desk) and its on-scene service time are drawn with it, so both policies
  see exactly the same stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planners.roads import Mode
from sim.scenario.city import City

__all__ = [
    "CATEGORIES",
    "CITY_PROFILE",
    "PROFILES",
    "Category",
    "DemandPoint",
    "HotSpot",
    "Incident",
    "demand_points",
    "hot_spots",
    "hourly_rate",
    "incident_stream",
]

FloatArray = npt.NDArray[np.float64]


def _norm(v: Sequence[float]) -> tuple[float, ...]:
    """Scale a 24-hour curve to mean 1 (so a weight keeps its meaning across profiles)."""
    a = np.asarray(v, dtype=np.float64)
    return tuple((a / a.mean()).tolist())


#: Relative hourly intensity (hour 0-23, mean 1) of each hot-spot profile.
PROFILES: dict[str, tuple[float, ...]] = {
    # bars and clubs: late evening and the small hours
    "nightlife": _norm([6, 6, 5, 3, 1, .5, .3, .3, .3, .3, .5, .5,
                        .8, .8, .8, 1, 1, 1.5, 2, 3, 4, 5, 6, 6]),
    # stations: the two rush hours
    "transit": _norm([.5, .3, .2, .2, .3, 1, 3, 5, 5, 3, 2, 2,
                      2, 2, 2, 3, 5, 5, 4, 3, 2, 1.5, 1, .8]),
    # malls and shopping streets: opening hours
    "retail": _norm([.1, .1, .1, .1, .1, .1, .2, .5, 1, 3, 4, 4,
                     4, 4, 4, 4, 4, 4, 3.5, 3, 1.5, .5, .2, .1]),
    # homes: evenings, quiet nights
    "residential": _norm([1, .8, .6, .4, .3, .3, .5, 1, 1, 1, 1, 1,
                          1, 1, 1, 1.2, 1.5, 2, 2.5, 2.5, 2.2, 2, 1.6, 1.2]),
    # parks and waterfronts: afternoons and summer evenings
    "park": _norm([.5, .3, .2, .1, .1, .1, .2, .5, 1, 1.5, 2, 2.5,
                   3, 3, 3, 3, 3, 3, 2.5, 2, 1.5, 1, .8, .6]),
}  # fmt: skip

#: City-wide intensity of background incidents (mean 1): low before dawn, high at night.
CITY_PROFILE: tuple[float, ...] = _norm(
    [2.5, 2.2, 1.8, 1.2, .8, .6, .6, .8, 1, 1, 1, 1.1,
     1.2, 1.2, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 2, 2.2, 2.4]
)  # fmt: skip

#: How often each profile is drawn for a hot spot.
PROFILE_SHARE = {"nightlife": 0.2, "transit": 0.2, "retail": 0.25, "residential": 0.2, "park": 0.15}


@dataclass(frozen=True, slots=True)
class Category:
    """An incident category: priority (1 most urgent) and mean on-scene time."""

    name: str
    priority: int
    share: float  # relative frequency
    service_mean_s: float
    night_boost: float = 1.0  # multiplier of `share` for nightlife spots


#: The category mix. The names match `DispatchPolicy`'s drone-first and referral sets; the
#: referral ones ("noise_complaint", "lost_property", "parking", "animal", "information")
#: go to the non-emergency desk and are not dispatched.
CATEGORIES: tuple[Category, ...] = (
    Category("fight", 1, 0.07, 1800, night_boost=4.0),
    Category("assault", 1, 0.05, 2400, night_boost=3.0),
    Category("robbery", 1, 0.03, 2700),
    Category("fire", 1, 0.01, 1800),
    Category("traffic_accident", 2, 0.08, 2400),
    Category("domestic", 2, 0.06, 2700),
    Category("crowd", 2, 0.03, 1800, night_boost=2.0),
    Category("missing_person", 2, 0.03, 3600),
    Category("theft", 3, 0.14, 1500),
    Category("suspicious", 3, 0.12, 900, night_boost=1.5),
    Category("vandalism", 3, 0.06, 1200, night_boost=2.0),
    Category("trespass", 3, 0.04, 1200),
    Category("shoplifting", 4, 0.06, 1500),
    Category("welfare_check", 4, 0.04, 1500),
    Category("noise_complaint", 5, 0.04, 0, night_boost=3.0),
    Category("lost_property", 5, 0.02, 0),
    Category("parking", 5, 0.02, 0),
)


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A place where incidents cluster."""

    id: str
    xy: tuple[float, float]  # metres
    weight: float  # share of hot-spot incidents (weights sum to 1)
    sigma_m: float  # spread of incidents around it
    profile: str  # key of `PROFILES`


@dataclass(frozen=True, slots=True)
class Incident:
    """One call: when, where, what, and how long units stay on scene."""

    id: str
    t_s: float  # seconds since the scenario start
    hour: int  # hour of day of the call (0-23)
    xy: tuple[float, float]  # metres (a walkable node)
    lonlat: tuple[float, float]
    category: str
    priority: int
    service_s: float  # on-scene time of each ground responder
    source: str  # hot-spot id or "background"


@dataclass(frozen=True, slots=True)
class DemandPoint:
    """A demand location for placement, with its weight per hour of day."""

    id: str
    xy: tuple[float, float]
    lonlat: tuple[float, float]
    hourly: tuple[float, ...]  # expected incidents per hour at this point, 24 values

    @property
    def weight(self) -> float:
        """Expected incidents per day."""
        return float(sum(self.hourly))


def hot_spots(city: City, rng: np.random.Generator, count: int) -> tuple[HotSpot, ...]:
    """Draw ``count`` hot spots on the walkable network (deterministic for ``rng``).

    Spots are kept at least 150 m apart (when the network allows) so that a small city
    does not get all its spots on one square.
    """
    g = city.modes[Mode.FOOT]
    deg = np.diff(g.graph.times.indptr).astype(np.float64) + np.diff(g.graph.times.T.tocsr().indptr)
    p = deg**2 / (deg**2).sum()
    names = list(PROFILE_SHARE)
    shares = np.asarray([PROFILE_SHARE[n] for n in names])
    chosen: list[int] = []
    for cand in rng.choice(len(p), size=min(len(p), 50 * count), replace=True, p=p):
        if len(chosen) == count:
            break
        if all(np.hypot(*(g.xy[cand] - g.xy[c])) >= 150.0 for c in chosen):
            chosen.append(int(cand))
    while len(chosen) < count:  # tiny network: accept close spots
        chosen.append(int(rng.integers(len(p))))
    w = rng.lognormal(0.0, 0.8, size=count)
    w = w / w.sum()
    profiles = rng.choice(len(names), size=count, p=shares / shares.sum())
    sigma = rng.uniform(60.0, 200.0, size=count)
    return tuple(
        HotSpot(
            f"hs{i}",
            (float(g.xy[n, 0]), float(g.xy[n, 1])),
            float(w[i]),
            float(sigma[i]),
            names[int(profiles[i])],
        )
        for i, n in enumerate(chosen)
    )


def hourly_rate(
    spots: Sequence[HotSpot], per_day: float, background_share: float
) -> tuple[FloatArray, FloatArray]:
    """Expected incidents per hour: (spots x 24) for each hot spot, and (24,) background."""
    spot = np.asarray([[s.weight * v for v in PROFILES[s.profile]] for s in spots])
    spot = spot * per_day * (1.0 - background_share) / 24.0
    bg = np.asarray(CITY_PROFILE) * per_day * background_share / 24.0
    return spot.reshape(len(spots), 24), bg


def _category_table(profile: str) -> tuple[list[Category], FloatArray]:
    cats = list(CATEGORIES)
    w = np.asarray([c.share * (c.night_boost if profile == "nightlife" else 1.0) for c in cats])
    return cats, w / w.sum()


def _place(
    city: City, rng: np.random.Generator, centre: tuple[float, float] | None, sigma_m: float
) -> npt.NDArray[np.float64]:
    """A walkable node near ``centre`` (anywhere on the network when ``centre`` is None)."""
    g = city.modes[Mode.FOOT]
    if centre is None:
        return np.asarray(g.xy[int(rng.integers(len(g.xy)))], dtype=np.float64)
    p = np.asarray(centre) + rng.normal(0.0, sigma_m, size=2)
    (node,), _ = g.snap(p)
    return np.asarray(g.xy[int(node)], dtype=np.float64)


def incident_stream(
    city: City,
    spots: Sequence[HotSpot],
    rng: np.random.Generator,
    *,
    hours: float,
    start_hour: int,
    per_day: float,
    background_share: float,
) -> tuple[Incident, ...]:
    """The incidents of ``hours`` hours from ``start_hour``, ordered by time.

    Every draw comes from ``rng`` in a fixed order (hour by hour, source by source), so the
    same seed gives the same stream.
    """
    spot_rate, bg_rate = hourly_rate(spots, per_day, background_share)
    sources: list[tuple[str, tuple[float, float] | None, float, str]] = [
        (s.id, s.xy, s.sigma_m, s.profile) for s in spots
    ]
    sources.append(("background", None, 0.0, "background"))
    tables = {prof: _category_table(prof) for *_, prof in sources}
    out: list[tuple[float, str, npt.NDArray[np.float64], Category, float]] = []
    n_hours = int(np.ceil(hours))
    for k in range(n_hours):
        hod = (start_hour + k) % 24
        span = min(1.0, hours - k) * 3600.0
        for j, (sid, centre, sigma, prof) in enumerate(sources):
            rate = bg_rate[hod] if centre is None else spot_rate[j, hod]
            n = int(rng.poisson(rate * span / 3600.0))
            cats, w = tables[prof]
            for _ in range(n):
                t = k * 3600.0 + float(rng.uniform(0.0, span))
                xy = _place(city, rng, centre, sigma)
                cat = cats[int(rng.choice(len(cats), p=w))]
                # Lognormal on-scene time with the category's mean (sd about 60 % of it).
                svc = (
                    float(cat.service_mean_s * rng.lognormal(-0.15, 0.55))
                    if cat.service_mean_s
                    else 0.0
                )
                out.append((t, sid, xy, cat, svc))
    out.sort(key=lambda r: r[0])
    if not out:
        return ()
    lonlat = city.proj.to_lonlat(np.asarray([r[2] for r in out]))
    return tuple(
        Incident(
            id=f"inc{i:05d}",
            t_s=t,
            hour=int(start_hour + t // 3600) % 24,
            xy=(float(xy[0]), float(xy[1])),
            lonlat=(float(lonlat[i, 0]), float(lonlat[i, 1])),
            category=cat.name,
            priority=cat.priority,
            service_s=max(120.0, svc) if svc else 0.0,
            source=sid,
        )
        for i, (t, sid, xy, cat, svc) in enumerate(out)
    )


def demand_points(
    city: City,
    spots: Sequence[HotSpot],
    rng: np.random.Generator,
    *,
    per_day: float,
    background_share: float,
    samples: int = 400,
) -> tuple[DemandPoint, ...]:
    """Demand for placement: ``samples`` draws from the expected daily incident density,
    merged per walkable node, each with its expected incidents per hour of day.

    This is what a planner could know in advance (the hot spots and their hours, and that
    some incidents happen anywhere); it uses its own random stream, not the incidents'.
    """
    spot_rate, bg_rate = hourly_rate(spots, per_day, background_share)
    daily = np.append(spot_rate.sum(axis=1), bg_rate.sum())
    src = rng.choice(len(daily), size=samples, p=daily / daily.sum())
    g = city.modes[Mode.FOOT]
    per_node: dict[int, FloatArray] = {}
    for s in src.tolist():
        if s == len(spots):
            node = int(rng.integers(len(g.xy)))
            curve = bg_rate / bg_rate.sum()
        else:
            p = np.asarray(spots[s].xy) + rng.normal(0.0, spots[s].sigma_m, size=2)
            (nd,), _ = g.snap(p)
            node = int(nd)
            curve = spot_rate[s] / spot_rate[s].sum()
        # Each sample stands for per_day / samples incidents a day, spread over its hours.
        per_node[node] = per_node.get(node, np.zeros(24)) + curve * per_day / samples
    nodes = sorted(per_node)
    xy = g.xy[nodes]
    lonlat = city.proj.to_lonlat(xy)
    return tuple(
        DemandPoint(
            f"d{n}",
            (float(xy[i, 0]), float(xy[i, 1])),
            (float(lonlat[i, 0]), float(lonlat[i, 1])),
            tuple(float(v) for v in per_node[n]),
        )
        for i, n in enumerate(nodes)
    )
