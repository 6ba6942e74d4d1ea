"""KPIs of one simulated policy: 1-3-5 compliance, response times, drone-first share, load.

Response time is call to first unit on scene. Two views, so nothing is hidden:

* **any unit** - a drone over the scene counts as the first arrival (the field model's
  "drone first": eyes and a loudspeaker on scene);
* **ground** - the first ground unit (car, motorbike, bicycle, foot patrol or team).

Compliance shares are over *dispatched* calls (referred calls go to the non-emergency desk
and are not answered by units); a call never answered by the end of the run counts as
missing every tier, and is left out of the percentiles (``unanswered`` counts it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from fleet.dispatch.policy import DispatchPolicy
from sim.scenario.engine import SimResult

__all__ = ["hourly", "policy_kpis"]


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def policy_kpis(res: SimResult, policy: DispatchPolicy, *, start_hour: int) -> dict[str, Any]:
    """The ``P`` object of ``kpi.json`` for one run."""
    tiers = policy.tiers_s
    disp = [o for o in res.outcomes if not o.referred]
    any_t = [o.first_any_s for o in disp]
    gnd_t = [o.first_ground_s for o in disp]
    answered_any = [t for t in any_t if t is not None]
    answered_gnd = [t for t in gnd_t if t is not None]
    out: dict[str, Any] = {
        "incidents": len(res.outcomes),
        "dispatched": len(disp),
        "referred": len(res.outcomes) - len(disp),
        "unanswered": sum(t is None for t in gnd_t),
    }
    for label, bound in zip(("1min", "3min", "5min"), tiers, strict=True):
        out[f"compliance_{label}"] = _share([t is not None and t <= bound for t in any_t])
    for label, bound in zip(("1min", "3min", "5min"), tiers, strict=True):
        out[f"ground_compliance_{label}"] = _share([t is not None and t <= bound for t in gnd_t])
    out |= {
        "p50_response_s": _pct(answered_any, 50),
        "p95_response_s": _pct(answered_any, 95),
        "mean_response_s": round(float(np.mean(answered_any)), 1) if answered_any else None,
        "ground_p50_response_s": _pct(answered_gnd, 50),
        "ground_p95_response_s": _pct(answered_gnd, 95),
        "drone_first_share": _share([o.first_kind == "drone" for o in disp]),
        "drone_dispatched_share": _share([o.drone_id is not None for o in disp]),
        "units_per_incident": round(float(np.mean([o.assigned for o in disp])), 2) if disp else 0.0,
        "called_per_incident": round(float(np.mean([o.called for o in disp])), 2) if disp else 0.0,
        "escalated_share": _share([bool(o.unmet_tiers) for o in disp]),
        "queued_share": _share([o.queued for o in disp]),
        "fallback_share": _share([o.fallback for o in disp]),
    }
    duty: dict[str, float] = defaultdict(float)
    busy: dict[str, float] = defaultdict(float)
    for u in res.units:
        duty[u.kind] += u.duty_s
        busy[u.kind] += u.busy_s
    util = {k: round(busy[k] / duty[k], 4) if duty[k] else 0.0 for k in sorted(duty)}
    total_duty = sum(duty.values())
    n_drones = len(res.drone_airborne_s)
    airborne = sum(res.drone_airborne_s.values())
    outs = [leg for leg in res.legs if leg.phase == "out"]
    backs = [leg for leg in res.legs if leg.phase == "back"]
    out |= {
        "utilisation": util,
        "utilisation_ground": round(sum(busy.values()) / total_duty, 4) if total_duty else 0.0,
        "drone_sorties": len(outs),
        "drone_flight_h": round(airborne / 3600.0, 2),
        "utilisation_drone": round(airborne / (n_drones * res.end_s), 4)
        if n_drones and res.end_s
        else 0.0,
        "min_landing_battery_pct": round(min(b.battery_end_pct for b in backs), 1)
        if backs
        else None,
        "redeploy_moves": res.redeploy_moves,
        "dispatch_calls": res.dispatch_calls,
        "events": res.events,
        "sim_end_h": round(res.end_s / 3600.0, 2),
        "hourly": hourly(res, policy, start_hour=start_hour),
    }
    return out


def hourly(res: SimResult, policy: DispatchPolicy, *, start_hour: int) -> list[dict[str, Any]]:
    """Per simulated hour of the call: count and 1/3/5 compliance (any and ground)."""
    tiers = policy.tiers_s
    by_h: dict[int, list[Any]] = defaultdict(list)
    for o in res.outcomes:
        if not o.referred:
            by_h[int(o.incident.t_s // 3600)].append(o)
    rows = []
    for h in range(int(np.ceil(res.horizon_s / 3600.0))):
        os_ = by_h.get(h, [])
        row: dict[str, Any] = {
            "hour": h,
            "hour_of_day": (start_hour + h) % 24,
            "incidents": len(os_),
        }
        for label, bound in zip(("1min", "3min", "5min"), tiers, strict=True):
            row[f"compliance_{label}"] = _share(
                [o.first_any_s is not None and o.first_any_s <= bound for o in os_]
            )
            row[f"ground_compliance_{label}"] = _share(
                [o.first_ground_s is not None and o.first_ground_s <= bound for o in os_]
            )
        row["drone_first_share"] = _share([o.first_kind == "drone" for o in os_])
        rows.append(row)
    return rows
