"""Plots (matplotlib, Agg) and a self-contained HTML report of a scenario run."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patches import Polygon as MplPolygon

from fleet.dispatch.policy import DISPATCH_DELAY_S
from fleet.types import UnitKind
from planners.roads import Mode
from sim.scenario.city import ACCESS_SPEED_MPS, TEAM_SLOWDOWN
from sim.scenario.posts import post_weights
from sim.scenario.world import Deployment

if TYPE_CHECKING:
    from sim.scenario.run import ScenarioRun

__all__ = ["PLOTS", "coverage_eta", "write_report"]

FloatArray = npt.NDArray[np.float64]

ATTRIBUTION = "Map data © OpenStreetMap contributors"
COLORS = {"baseline": "#7f7f7f", "optimized": "#1f77b4"}
TIER_COLORS = ["#1a9850", "#91cf60", "#fee08b", "#d73027"]  # <=1, <=3, <=5, >5 min
PLOTS = {
    "response_times.png": "Response-time distribution",
    "compliance_by_hour.png": "1/3/5-minute compliance by hour of the call",
    "drone_first.png": "Drone-first share by hour",
    "utilisation.png": "Utilisation by unit kind",
    "map.png": "Incidents, posts, docks and ground coverage",
}


def _ecdf(values: list[float]) -> tuple[FloatArray, FloatArray]:
    v = np.sort(np.asarray(values, dtype=float))
    return v, np.arange(1, len(v) + 1) / max(len(v), 1)


def plot_response_times(run: ScenarioRun, path: Path) -> None:
    """ECDF of call-to-first-unit time, any unit and ground only, with the 1-3-5 marks."""
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    for name, res in run.results.items():
        disp = [o for o in res.outcomes if not o.referred]
        n = max(len(disp), 1)
        for field, style, label in (
            ("first_any_s", "-", "any unit (drone counts)"),
            ("first_ground_s", "--", "first ground unit"),
        ):
            vals = [getattr(o, field) / 60.0 for o in disp if getattr(o, field) is not None]
            if name == "baseline" and field == "first_ground_s":
                continue  # baseline sends no drone: identical to "any unit"
            x, y = _ecdf(vals)
            y = y * len(vals) / n  # unanswered calls keep the curve below 1
            lbl = f"{name}: {label}" if name == "optimized" else f"{name} (ground only)"
            ax.step(x, y, where="post", ls=style, color=COLORS[name], lw=2, label=lbl)
    for m in (1, 3, 5):
        ax.axvline(m, color="black", lw=0.8, ls=":")
        ax.text(m, 1.01, f"{m} min", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(0, 20)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("call to first unit on scene (minutes)")
    ax.set_ylabel("share of dispatched calls answered within x")
    ax.set_title("Response-time distribution (cumulative)", pad=18)
    ax.grid(alpha=0.3)
    ax.legend(
        loc="lower right",
        fontsize=9,
        title="curves end below 1: slower than 20 min or never answered",
        title_fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def binned(rows: list[dict[str, Any]], keys: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Hourly rows merged into bins of 1, 2 or 3 hours so each bin holds enough calls for
    a share to mean something (a share of one call is 0 or 100 %)."""
    mean = sum(r["incidents"] for r in rows) / max(len(rows), 1)
    size = 1 if mean >= 8 else 2 if mean >= 4 else 3
    out = []
    for k in range(0, len(rows), size):
        group = rows[k : k + size]
        n = sum(r["incidents"] for r in group)
        row: dict[str, Any] = {
            "hour": group[0]["hour"],
            "label": f"{group[0]['hour_of_day']:02d}"
            + (f"-{(group[-1]['hour_of_day'] + 1) % 24:02d}" if size > 1 else ""),
            "incidents": n,
        }
        for key in keys:
            row[key] = sum(r[key] * r["incidents"] for r in group) / n if n else np.nan
        out.append(row)
    return out, size


_TIER_KEYS = [f"{p}compliance_{t}" for p in ("", "ground_") for t in ("1min", "3min", "5min")]


def plot_compliance_by_hour(kpi: dict[str, Any], path: Path) -> None:
    """Calls per hour (or bin of hours), and 1/3/5-minute compliance for both policies."""
    pols = kpi["policies"]
    fig, axes = plt.subplots(4, 1, figsize=(9, 9), dpi=110, sharex=True)
    bins = {name: binned(p["hourly"], _TIER_KEYS) for name, p in pols.items()}
    base, size = bins["baseline"]
    x = np.arange(len(base))
    unit = "hour" if size == 1 else f"{size}-hour bin"
    axes[0].bar(x, [r["incidents"] for r in base], color="#9ecae1")
    axes[0].set_ylabel(f"dispatched calls\nper {unit}")
    axes[0].set_title(f"Calls and 1/3/5-minute compliance by {unit} of the call")
    for ax, tier in zip(axes[1:], ("1min", "3min", "5min"), strict=True):
        for name, (rows, _) in bins.items():
            y = [r[f"compliance_{tier}"] * 100 for r in rows]
            lbl = f"{name}: any unit" if name == "optimized" else f"{name} (ground units only)"
            ax.plot(x, y, marker="o", ms=4, color=COLORS[name], label=lbl)
            if name == "optimized":
                yg = [r[f"ground_compliance_{tier}"] * 100 for r in rows]
                ax.plot(
                    x, yg, ls="--", marker=".", color=COLORS[name], label=f"{name}: ground unit"
                )
        ax.set_ylim(-3, 103)
        ax.set_ylabel(f"within {tier[0]} min\n(% of calls)")
        ax.grid(alpha=0.3)
    handles, labels_ = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="lower center", ncol=3, fontsize=9, frameon=False)
    step = max(1, len(x) // 24)
    axes[-1].set_xticks(x[::step], [r["label"] for r in base][::step])
    axes[-1].set_xlabel("hour of day of the call (gaps: no calls)")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def plot_drone_first(kpi: dict[str, Any], path: Path) -> None:
    """Share of calls where a drone was first on scene, by hour or bin of hours (optimized)."""
    p = kpi["policies"]["optimized"]
    rows, size = binned(p["hourly"], ["drone_first_share"])
    x = np.arange(len(rows))
    y = [r["drone_first_share"] * 100 if r["incidents"] else 0.0 for r in rows]
    fig, ax = plt.subplots(figsize=(9, 3.8), dpi=110)
    ax.bar(
        x,
        y,
        color=COLORS["optimized"],
        label="optimized, per " + ("hour" if size == 1 else f"{size} hours"),
    )
    for xi, r in zip(x, rows, strict=True):
        if not r["incidents"]:
            ax.text(float(xi), 2, "no\ncalls", ha="center", va="bottom", fontsize=7, color="#555")
        else:
            ax.text(
                float(xi), y[xi] + 1, f"n={r['incidents']}", ha="center", va="bottom", fontsize=7
            )
    ax.axhline(
        p["drone_first_share"] * 100,
        color="black",
        ls="--",
        lw=1,
        label=f"optimized, whole run: {p['drone_first_share'] * 100:.0f} %",
    )
    ax.set_ylim(0, 125)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.set_ylabel("calls with a drone\nfirst on scene (%)")
    ax.set_xlabel("hour of day of the call (n: dispatched calls; baseline sends no drone: 0 %)")
    step = max(1, len(x) // 24)
    ax.set_xticks(x[::step], [r["label"] for r in rows][::step])
    ax.set_title("Drone-first share")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="upper center", fontsize=9, ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_utilisation(kpi: dict[str, Any], path: Path) -> None:
    """Busy share of on-duty time per ground kind, and drones' airborne share."""
    pols = kpi["policies"]
    kinds = sorted({k for p in pols.values() for k in p["utilisation"]})
    cats = [*kinds, "drone"]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    width = 0.38
    for i, (name, p) in enumerate(pols.items()):
        vals = [p["utilisation"].get(k, 0.0) * 100 for k in kinds] + [p["utilisation_drone"] * 100]
        xs = np.arange(len(cats)) + (i - 0.5) * width
        bars = ax.bar(xs, vals, width, color=COLORS[name], label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=8, padding=1)
    ax.set_xticks(np.arange(len(cats)), cats)
    ax.set_ylabel("busy share of on-duty time (%)")
    ax.set_title("Utilisation (ground: dispatched to cleared; drone: airborne)")
    ax.set_ylim(0, max(10.0, ax.get_ylim()[1] * 1.1))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def manned_posts(run: ScenarioRun, dep: Deployment, hour: int) -> dict[UnitKind, list[str]]:
    """Posts manned at ``hour`` of day with every on-duty unit at a post: the baseline's
    units at their own posts, the optimized ones at the heaviest posts of that hour (what
    re-deployment aims for)."""
    w = run.world
    out: dict[UnitKind, list[str]] = {}
    for kind, ids in dep.posts_by_kind.items():
        on = [u for u in w.units if u.kind is kind and u.shift.on_duty(hour)]
        if kind in dep.post_travel:
            weight = post_weights(dep.post_travel[kind], w.demand_hourly, hour)
            out[kind] = [ids[k] for k in np.argsort(-weight, kind="stable")[: len(on)]]
        else:
            out[kind] = [dep.first_post[u.id] for u in on]
    return out


def coverage_eta(run: ScenarioRun, dep: Deployment, points_xy: FloatArray, hour: int) -> FloatArray:
    """Fastest call-to-arrival time (s) by road from a manned post to each point at
    ``hour``: what the map's shading shows."""
    city = run.world.city
    best = np.full(len(points_xy), np.inf)
    for kind, ids in manned_posts(run, dep, hour).items():
        g = city.graph_of(kind)
        nodes, off = g.snap(points_xy)
        for pid in ids:
            (pn,), (po,) = g.snap(dep.posts_xy[pid])
            t = g.times_from(int(pn), 600.0)[nodes] + (off + po) / ACCESS_SPEED_MPS
            if kind is UnitKind.TEAM:
                t = t * TEAM_SLOWDOWN
            best = np.minimum(best, t + DISPATCH_DELAY_S[kind])
    return best


def plot_map(run: ScenarioRun, path: Path) -> None:
    """Side by side for both policies: roads, 3-minute ground coverage shading, calls,
    hot spots, posts, docks and no-fly zones."""
    w = run.world
    foot = w.city.modes[Mode.FOOT]
    g = foot.graph.times.tocoo()
    segs = np.stack([foot.xy[g.row], foot.xy[g.col]], axis=1)
    ext_w, ext_h = w.city.extent_m()
    aspect = ext_h / max(ext_w, 1.0)
    if aspect < 0.75:  # a wide city: panels one above the other
        fig, axes = plt.subplots(2, 1, figsize=(12, 2 * 12 * max(aspect, 0.25) + 2.5), dpi=110)
    else:
        fig, axes = plt.subplots(1, 2, figsize=(13, 6.5 * min(1.6, aspect)), dpi=110)
    inc = np.asarray([i.xy for i in w.incidents]).reshape(-1, 2)

    def size(base: float, n: int, ref: int) -> float:
        """Marker area shrinking with the number of markers, so a big city stays readable."""
        return float(np.clip(base * np.sqrt(ref / max(n, 1)), base / 8, base))

    cmap = ListedColormap(TIER_COLORS)
    step = max(1, len(foot.xy) // 4000)
    pts = foot.xy[::step]
    # Shade the coverage of the busiest hour of day (by expected calls).
    hour = int(np.argmax(w.demand_hourly.sum(axis=0)))
    for ax, (name, dep) in zip(axes, run.deployments.items(), strict=True):
        eta = coverage_eta(run, dep, pts, hour)
        tier = np.digitize(eta, [60.0, 180.0, 300.0])
        ax.add_collection(LineCollection(list(segs / 1000.0), colors="#cccccc", linewidths=0.4))
        ax.scatter(pts[:, 0] / 1000, pts[:, 1] / 1000, c=tier, cmap=cmap, vmin=0, vmax=3, s=3, lw=0)
        for z in w.zones_xy:
            ax.add_patch(
                MplPolygon(
                    np.asarray(z.exterior.coords) / 1000.0,
                    closed=True,
                    fc="#ff000033",
                    ec="red",
                    lw=1.2,
                    hatch="//",
                )
            )
        if len(inc):
            ax.scatter(
                inc[:, 0] / 1000,
                inc[:, 1] / 1000,
                s=size(10, len(inc), 300),
                c="black",
                ec="white",
                lw=0.3,
            )
        hs = np.asarray([s.xy for s in w.spots])
        ax.scatter(
            hs[:, 0] / 1000,
            hs[:, 1] / 1000,
            marker="*",
            s=size(140, len(hs), 20),
            c="#ff7f0e",
            ec="k",
        )
        manned = {p for ids in manned_posts(run, dep, hour).values() for p in ids}
        posts = np.asarray([xy for p, xy in dep.posts_xy.items() if p in manned]).reshape(-1, 2)
        ax.scatter(
            posts[:, 0] / 1000,
            posts[:, 1] / 1000,
            marker="^",
            s=size(45, len(posts), 30),
            c="#6a3d9a",
            ec="w",
        )
        if name == "optimized":
            d = dep.docks_xy
            ax.scatter(
                d[:, 0] / 1000,
                d[:, 1] / 1000,
                marker="s",
                s=size(70, len(d), 10),
                c="#1f77b4",
                ec="w",
            )
        sh = run.kpi["policies"][name]
        ax.set_title(f"{name}: {sh['compliance_3min'] * 100:.0f} % of calls answered within 3 min")
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.set_xlabel("east (km)")
        ax.set_ylabel("north (km)")
        ax.text(
            0.99,
            0.01,
            ATTRIBUTION,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            bbox={"fc": "white", "alpha": 0.8, "lw": 0},
        )
    handles = [
        Patch(color=TIER_COLORS[0], label=f"ground unit from a post at {hour:02d}:00 ≤ 1 min"),
        Patch(color=TIER_COLORS[1], label="≤ 3 min"),
        Patch(color=TIER_COLORS[2], label="≤ 5 min"),
        Patch(color=TIER_COLORS[3], label="> 5 min"),
        Patch(fc="#ff000033", ec="red", hatch="//", label="no-fly zone"),
        Line2D([], [], marker="o", ls="", c="black", ms=3, label="call"),
        Line2D([], [], marker="*", ls="", c="#ff7f0e", mec="k", ms=12, label="hot spot"),
        Line2D([], [], marker="^", ls="", c="#6a3d9a", ms=8, label=f"manned post at {hour:02d}:00"),
        Line2D([], [], marker="s", ls="", c="#1f77b4", ms=8, label="drone dock (optimized)"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle(
        f"All calls of the run; shading: fastest ground unit from a manned post at the busiest"
        f" hour ({hour:02d}:00), by road (drones not shaded)"
    )
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    fig.savefig(path)
    plt.close(fig)


_ROWS = [
    ("incidents", "calls", "{}"),
    ("dispatched", "dispatched (not referred)", "{}"),
    ("compliance_1min", "within 1 min, any unit", "pct"),
    ("compliance_3min", "within 3 min, any unit", "pct"),
    ("compliance_5min", "within 5 min, any unit", "pct"),
    ("ground_compliance_1min", "within 1 min, ground unit", "pct"),
    ("ground_compliance_3min", "within 3 min, ground unit", "pct"),
    ("ground_compliance_5min", "within 5 min, ground unit", "pct"),
    ("p50_response_s", "median response, any unit (s)", "{}"),
    ("p95_response_s", "95th percentile, any unit (s)", "{}"),
    ("ground_p50_response_s", "median response, ground (s)", "{}"),
    ("ground_p95_response_s", "95th percentile, ground (s)", "{}"),
    ("drone_first_share", "drone first on scene", "pct"),
    ("units_per_incident", "units sent per call", "{}"),
    ("queued_share", "calls that waited for a free unit", "pct"),
    ("unanswered", "calls never answered", "{}"),
    ("utilisation_ground", "ground utilisation", "pct"),
    ("drone_sorties", "drone sorties", "{}"),
    ("min_landing_battery_pct", "lowest landing battery (%)", "{}"),
    ("redeploy_moves", "re-deployment moves", "{}"),
]


def _fmt(v: Any, how: str) -> str:
    if v is None:
        return "n/a"
    if how == "pct":
        return f"{100 * float(v):.1f} %"
    return how.format(v)


def render_html(run: ScenarioRun, out_dir: Path) -> str:
    """The report page; every PNG is embedded (base64), so the file stands alone."""
    kpi = run.kpi
    sc = kpi["scenario"]
    pols = kpi["policies"]
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{_fmt(pols[p].get(key), how)}</td>" for p in ("baseline", "optimized"))
        + "</tr>"
        for key, label, how in _ROWS
    )
    figs = []
    for fname, title in PLOTS.items():
        data = base64.b64encode((out_dir / fname).read_bytes()).decode()
        figs.append(
            f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(title)} ({fname})</figcaption></figure>"
        )
    fleet = sc["fleet"]
    ground = ", ".join(f"{n} {k}" for k, n in fleet["ground"].items())
    d3 = 100 * (pols["optimized"]["compliance_3min"] - pols["baseline"]["compliance_3min"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>patrolfleet scenario: {html.escape(str(sc["city"]))}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 3px 10px; }}
td:nth-child(n+2) {{ text-align: right; }} figure {{ margin: 1.5em 0; }}
img {{ max-width: 100%; }} .note {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>City scenario: {html.escape(str(sc["city"]))}</h1>
<p>{sc["hours"]} h of calls from {sc["start_hour"]:02d}:00, seed {sc["seed"]};
{sc["area_km2"]} km² of walkable network, {sc["hot_spots"]} hot spots, {sc["calls"]} calls.
Fleet: {html.escape(ground)}; {fleet["drones"]} drones on {fleet["docks"]} docks;
{len(sc["no_fly_zones"])} no-fly zone(s). Wall time {sc["wall_s"]} s.</p>
<p><b>3-minute compliance (any unit): baseline
{100 * pols["baseline"]["compliance_3min"]:.1f} %, optimized
{100 * pols["optimized"]["compliance_3min"]:.1f} % ({d3:+.1f} points).</b>
Ground units only: baseline {100 * pols["baseline"]["ground_compliance_3min"]:.1f} %,
optimized {100 * pols["optimized"]["ground_compliance_3min"]:.1f} %.</p>
<table><tr><th></th><th>baseline</th><th>optimized</th></tr>{rows}</table>
<p class="note">Baseline: nearest idle unit (<code>DispatchPolicy.baseline()</code>), static
posts at random road nodes, no drone. Optimized: the default <code>DispatchPolicy</code>
(drone first, multi-point call), posts and docks from <code>planners.placement</code>,
re-deployment of idle units. Response time is call to first unit on scene; "any unit" counts
a drone over the scene, "ground unit" does not. Calls never answered count as missing every
tier.</p>
{"".join(figs)}
<p class="note">{ATTRIBUTION}</p>
</body></html>
"""


def write_report(run: ScenarioRun, out_dir: Path) -> list[Path]:
    """Write every PNG of `PLOTS` and ``report.html`` into ``out_dir``."""
    kpi = run.kpi
    plot_response_times(run, out_dir / "response_times.png")
    plot_compliance_by_hour(kpi, out_dir / "compliance_by_hour.png")
    plot_drone_first(kpi, out_dir / "drone_first.png")
    plot_utilisation(kpi, out_dir / "utilisation.png")
    plot_map(run, out_dir / "map.png")
    (out_dir / "report.html").write_text(render_html(run, out_dir), encoding="utf-8")
    return [out_dir / f for f in PLOTS] + [out_dir / "report.html"]
