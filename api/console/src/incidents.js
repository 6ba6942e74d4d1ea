// Incidents: the open list with 1-3-5 timers, and one incident's panel (recommendations,
// assignment, drone launch, state changes).
import { get, post } from './api.js';
import { can } from './roles.js';
import { store, isOpen, changed } from './store.js';
import { h, fill, act, clock, fmt, toast } from './ui.js';
import { TIERS, timerColour, KIND_LABEL } from './glyphs.js';
import { features } from './features.js';
import { launchDrone, nearestDrones } from './drones.js';

const NEXT_STATES = {
  new: ['dispatched', 'en_route', 'on_scene', 'resolved', 'cancelled', 'referred'],
  dispatched: ['en_route', 'on_scene', 'resolved', 'cancelled'],
  en_route: ['on_scene', 'resolved', 'cancelled'],
  on_scene: ['resolved', 'cancelled'],
};
const ENDED = new Set(['replaced', 'released', 'cancelled', 'failed', 'declined']);
const LIVE_ASSIGNMENT = new Set(['accepted', 'launching', 'en_route', 'on_scene']);

export const elapsedOf = (inc) => (Date.now() - Date.parse(inc.properties.created_at)) / 1000;

let refreshTimer = null;
/** Refetch open incidents (and their assignments) soon; stream events only say "changed". */
export function scheduleIncidentRefresh(delay = 250) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshIncidents, delay);
}

export async function refreshIncidents() {
  const qs = ['new', 'dispatched', 'en_route', 'on_scene'].map((s) => `state=${s}`).join('&');
  const fc = await get(`/v1/incidents?${qs}&limit=500`).catch((err) => { toast(err.message, 'error'); return null; });
  if (!fc) return;
  store.incidents = new Map(fc.features.map((f) => [f.id, f]));
  if (store.selected?.type === 'incident' && !store.incidents.has(store.selected.id)) {
    // Keep showing a just-closed incident until the dispatcher moves on.
    const inc = await get(`/v1/incidents/${store.selected.id}`).catch(() => null);
    if (inc) store.incidents.set(inc.id, inc);
  }
  if (features.assignments) {
    const open = [...store.incidents.values()].filter(isOpen).slice(0, 40);
    await Promise.all(open.map(async (inc) => {
      const res = await get(`/v1/incidents/${inc.id}/assignments`).catch(() => null);
      if (res) store.assignments.set(inc.id, res.data);
    }));
  }
  changed('incidents');
}

/** An assignment's tier; a hand assignment may carry only its ETA, or neither. */
function tierOf(a, inc) {
  if (a.status === 'on_scene' && inc) {
    // Arrived: the tier is what the arrival time actually met.
    const arrived = (Date.parse(a.updated_at) - Date.parse(inc.properties.created_at)) / 1000;
    return TIERS.map((t) => t / 60).find((m) => arrived <= m * 60) ?? null;
  }
  if (a.tier !== null && a.tier !== undefined) return a.tier;
  if (a.eta_s === null || a.eta_s === undefined) return null;
  return TIERS.map((t) => t / 60).find((m) => a.eta_s <= m * 60) ?? null;
}

/** Per 1-3-5 tier: 'met' (a unit of that tier or faster is on it), 'late' or 'pending'. */
function tierStates(inc) {
  const elapsed = elapsedOf(inc);
  const live = (store.assignments.get(inc.id) || []).filter((a) => LIVE_ASSIGNMENT.has(a.status));
  return TIERS.map((t) => {
    const minutes = t / 60;
    if (live.some((a) => tierOf(a, inc) !== null && tierOf(a, inc) <= minutes)) return [minutes, 'met'];
    return [minutes, elapsed >= t ? 'late' : 'pending'];
  });
}

function timerRow(inc) {
  const elapsed = elapsedOf(inc);
  return h('span', { class: 'timer' },
    h('b', { style: `color:${timerColour(elapsed)}` }, clock(elapsed)),
    tierStates(inc).map(([m, s]) => h('span', { class: `tier ${s}`, title: `${m}-minute response: ${s}` }, `${m}′`)),
  );
}

export function renderIncidentList(el, countEl, onSelect) {
  const open = [...store.incidents.values()].filter(isOpen)
    .sort((a, b) => a.properties.priority - b.properties.priority || Date.parse(a.properties.created_at) - Date.parse(b.properties.created_at));
  countEl.textContent = open.length ? `(${open.length})` : '';
  fill(el, ...open.map((inc) => h('li', {
    class: store.selected?.id === inc.id ? 'selected' : '',
    onclick: () => onSelect(inc.id),
    dataset: { id: inc.id },
  },
  h('span', { class: `prio p${inc.properties.priority}` }, `P${inc.properties.priority}`),
  h('span', { class: 'what' }, inc.properties.category),
  h('span', { class: `state s-${inc.properties.state}` }, inc.properties.state.replace('_', ' ')),
  timerRow(inc))));
  if (!open.length) fill(el, h('li', { class: 'muted' }, 'No open incidents.'));
}

/**
 * One incident's panel. Its live parts (state, timer, assignments, state buttons) are
 * updated in place by `panel.update(inc)`, so buttons a dispatcher is about to click do not
 * jump; the recommendations are fetched on open, after an assignment, or on request.
 */
export function incidentPanel(inc, ctx) {
  const [lon, lat] = inc.geometry.coordinates;
  const head = h('h2', {});
  const line = h('p', {});
  const assigned = h('div', {});
  const stateButtons = h('div', {});
  const recBox = h('div', { class: 'recs' }, h('p', { class: 'muted' }, 'Loading recommendations…'));
  const reload = () => fillRecommendations(store.incidents.get(inc.id) || inc, recBox, panel);
  const panel = h('div', { class: 'panel incident', dataset: { id: inc.id } },
    head, line,
    inc.properties.description ? h('p', {}, inc.properties.description) : null,
    h('p', { class: 'muted small' }, `${inc.id} · ${lat.toFixed(5)}, ${lon.toFixed(5)} · ${inc.properties.source}`),
    h('h3', {}, 'Assigned'), assigned,
    h('h3', {}, features.recommendations ? 'Recommended units ' : 'Nearest drones ',
      h('button', { class: 'link', title: 'refresh', onclick: reload }, '↻')),
    recBox, stateButtons);
  let lastState = null;
  let lastAssigned = null;
  panel.update = (cur) => {
    const p = cur.properties;
    fill(head, `${p.category} `, h('span', { class: `state s-${p.state}` }, p.state.replace('_', ' ')));
    fill(line, h('span', { class: `prio p${p.priority}` }, `P${p.priority}`), ' ', timerRow(cur));
    // One row per unit (its latest assignment); units taken off the job are only counted.
    const latest = new Map();
    for (const a of store.assignments.get(cur.id) || []) {
      const prev = latest.get(a.unit_id);
      if (!prev || a.updated_at >= prev.updated_at) latest.set(a.unit_id, a);
    }
    const active = [...latest.values()].filter((a) => !ENDED.has(a.status))
      .sort((a, b) => (a.eta_s ?? 1e9) - (b.eta_s ?? 1e9));
    const ended = latest.size - active.length;
    const key = JSON.stringify([active.map((a) => [a.unit_id, a.status]), ended]);
    if (key !== lastAssigned) {
      lastAssigned = key;
      fill(assigned,
        active.length
          ? h('ul', { class: 'rows' }, active.map((a) => h('li', {},
            h('b', {}, store.units.get(a.unit_id)?.name || a.unit_id), ` ${a.status.replace('_', ' ')}`,
            a.tier ? ` · ${a.tier}′ tier` : '', a.eta_s ? ` · ETA ${clock(a.eta_s)}` : '')))
          : h('p', { class: 'muted' }, 'Nobody yet.'),
        ended ? h('p', { class: 'muted small' }, `${ended} unit${ended === 1 ? '' : 's'} released or replaced`) : null);
    }
    if (p.state !== lastState) {
      const first = lastState === null;
      lastState = p.state;
      fill(stateButtons, isOpen(cur) && can('dispatcher') ? h('div', { class: 'buttons' },
        h('span', { class: 'muted small' }, 'Set state: '),
        (NEXT_STATES[p.state] || []).map((s) => h('button', {
          class: s === 'cancelled' || s === 'referred' ? 'secondary' : '',
          onclick: (ev) => act(ev.target, `Incident ${s.replace('_', ' ')}`, async () => {
            await post(`/v1/incidents/${cur.id}/state`, { state: s });
            await refreshIncidents();
          }),
        }, s.replace('_', ' ')))) : '');
      if (!first) reload(); // a closed incident offers no assignment any more
    }
  };
  panel.reload = reload;
  panel.update(inc);
  reload();
  return panel;
}

async function fillRecommendations(inc, box, panel) {
  const open = isOpen(inc);
  if (!features.recommendations) {
    // Fall-back while the dispatch API is absent: the nearest drones by straight line,
    // launched with goto + orbit (both exist on every service version).
    const rows = nearestDrones(inc.geometry.coordinates, 5);
    fill(box, h('p', { class: 'muted small' }, 'Dispatch recommendations are not available on this service; nearest drones by distance:'),
      h('table', {}, rows.map(({ unit, distance_m }) => h('tr', {},
        h('td', {}, unit.name || unit.id), h('td', {}, `${Math.round(distance_m)} m`),
        h('td', {}, open && can('operator') ? h('button', { onclick: (ev) => launchDrone(ev.target, unit.id, inc) }, 'Launch') : '')))));
    return;
  }
  let res;
  try {
    res = await get(`/v1/incidents/${inc.id}/recommendations?limit=500`);
  } catch (err) {
    fill(box, h('p', { class: 'error' }, err.message));
    return;
  }
  const summary = res.response;
  // The best eight, plus every feasible drone: drones go first to an incident.
  const shown = res.data.filter((r, i) => i < 8 || (r.kind === 'drone' && r.feasible));
  const onJob = new Map((store.assignments.get(inc.id) || []).filter((a) => !ENDED.has(a.status)).map((a) => [a.unit_id, a.status]));
  const rows = shown.map((r) => {
    const unit = store.units.get(r.unit_id);
    const assign = onJob.has(r.unit_id)
      ? h('span', { class: 'small' }, onJob.get(r.unit_id).replace('_', ' '))
      : open && can('dispatcher') && r.feasible
      ? h('button', {
        'data-action': 'assign',
        onclick: (ev) => act(ev.target, `${r.unit_id} assigned`, async () => {
          await post(`/v1/incidents/${inc.id}/assignments`, { unit_id: r.unit_id });
          await refreshIncidents();
          panel.reload();
        }),
      }, 'Assign')
      : h('span', { class: 'muted small', title: r.reason || '' }, r.feasible ? '' : (r.reason || 'not feasible'));
    return h('tr', { class: r.feasible ? '' : 'infeasible' },
      h('td', {}, h('b', {}, unit?.name || r.unit_id), h('div', { class: 'muted small' }, KIND_LABEL[r.kind] || r.kind)),
      h('td', {}, r.eta_s === null ? '–' : clock(r.eta_s)),
      h('td', {}, !r.feasible ? '–' : r.tier ? h('span', { class: 'tier met' }, `${r.tier}′`) : h('span', { class: 'tier late' }, '>5′')),
      h('td', {}, assign));
  });
  fill(box,
    rows.length ? h('table', {}, h('tr', {}, h('th', {}, 'unit'), h('th', {}, 'ETA'), h('th', {}, 'tier'), h('th', {})), rows)
      : h('p', { class: 'muted' }, 'No unit can reach it.'),
    summary?.unmet_tiers?.length ? h('p', { class: 'warn small' }, `Unmet: ${summary.unmet_tiers.map((t) => `${t}′`).join(' ')}`) : null,
    open && can('operator') ? h('p', {}, h('button', {
      'data-action': 'launch',
      onclick: (ev) => {
        const best = res.data.find((r) => r.kind === 'drone' && r.feasible) || { unit_id: nearestDrones(inc.geometry.coordinates, 1)[0]?.unit.id };
        if (!best.unit_id) { toast('No drone available', 'error'); return; }
        launchDrone(ev.target, best.unit_id, inc);
      },
    }, 'Launch nearest drone (goto + orbit)')) : null,
  );
}

export { fmt };
