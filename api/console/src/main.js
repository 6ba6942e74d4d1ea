// The console's entry: log in, load the map, follow the stream, wire the tools.
import * as L from 'leaflet';
import { token, get, post, setUnauthorizedHandler } from './api.js';
import { connectStream } from './stream.js';
import { store, applyUnits, changed, onChange } from './store.js';
import { setRole, role, can } from './roles.js';
import { h, fill, act, toast } from './ui.js';
import { createMap, loadBasemap, showFences, showCoverage } from './map.js';
import { drawPolygon } from './draw.js';
import { detectFeatures, features } from './features.js';
import { refreshIncidents, scheduleIncidentRefresh, renderIncidentList, incidentPanel } from './incidents.js';
import { unitPanel, onCommandEvent } from './drones.js';
import { KIND_LABEL } from './glyphs.js';
import { renderPatrols, planPatrol } from './patrols.js';

const $ = (id) => document.getElementById(id);
let ctx = null; // map context, created once after login
let stopStream = null;
let mode = null; // {name, cancel}

// --- login -------------------------------------------------------------------------------
function showLogin(message) {
  stopStream?.();
  stopStream = null;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-token').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  token.set($('login-token').value.trim());
  $('login-token').value = '';
  start();
});
$('logout').addEventListener('click', () => { token.clear(); location.reload(); });
setUnauthorizedHandler((problem) => { token.clear(); showLogin(problem.detail || 'Please log in again.'); });

async function start() {
  if (!token.get()) { showLogin(); return; }
  $('login').hidden = true;
  $('app').hidden = false;
  if (!ctx) {
    ctx = createMap($('map'));
    ctx.reselect = () => select(store.selected);
    ctx.pickPoint = pickPoint;
    ctx.map.on('click', onMapClick);
    // A handle for the browser tests and for debugging from the devtools console.
    window.patrolfleet = { store, ctx };
    try {
      await Promise.all([loadBasemap(ctx), detectFeatures()]);
    } catch (err) {
      if (err.status === 401) return;
      toast(`Basemap: ${err.message}`, 'error');
      ctx.map.setView([60.17, 24.94], 15);
    }
  }
  stopStream = connectStream({
    onSnapshot: (data) => {
      setRole(data.role);
      $('role').textContent = data.role;
      store.units.clear();
      applyUnits(data.units);
      renderTools();
      $('patrols').hidden = !features.patrols;
      if (features.patrols) renderPatrols($('patrol-list'), ctx);
      refreshIncidents();
      refreshFences();
      refreshDocks();
    },
    onEvents,
    onStatus: (s) => { $('conn').textContent = s; $('conn').className = `conn ${s}`; },
    onAuthFailed: (reason) => { token.clear(); showLogin(reason); },
  });
}

// --- the stream --------------------------------------------------------------------------
function onEvents(events, dropped) {
  if (dropped && !onEvents.warned) {
    onEvents.warned = true;
    toast(`The stream dropped ${dropped} events; the picture catches up with the next update`, 'error');
  }
  let unitsChanged = false;
  for (const e of events) {
    const t = e.type;
    if (t === 'units.updated') {
      applyUnitsQuiet(e.data.units);
      unitsChanged = true;
    } else if (t.startsWith('incident.') || t.startsWith('assignment.') || t === 'drone.launched' || t === 'unit.on_scene') {
      scheduleIncidentRefresh();
      if (t === 'incident.created' && e.data?.properties?.source !== 'api') toast(`New incident: ${e.data?.properties?.category || ''}`, 'info');
    } else if (t === 'drone.discovered' || t === 'drone.reattached') {
      refreshDocks();
    } else if (t.startsWith('fence.')) {
      refreshFences();
    } else if (t.startsWith('patrol.') && features.patrols) {
      schedulePatrols();
    } else if (t.startsWith('command.')) {
      if (onCommandEvent(t, e.data || {})) changed('warnings');
    } else if (t === 'drone.link_lost' || t === 'drone.fence_breach' || t === 'incident.escalated') {
      toast(`${t.replace('.', ': ').replace('_', ' ')} ${e.data?.unit_id || e.data?.drone_id || ''}`, 'error');
    } else if (t === 'unit.offline' && e.data?.unit_id && store.units.has(e.data.unit_id)) {
      store.units.get(e.data.unit_id).online = false;
      unitsChanged = true;
    }
  }
  // One redraw per frame batch, however many units moved in it.
  if (unitsChanged) { store.unitsVersion += 1; changed('units'); }
}

let patrolTimer = null;
function schedulePatrols() {
  clearTimeout(patrolTimer);
  patrolTimer = setTimeout(() => renderPatrols($('patrol-list'), ctx), 1000);
}

function applyUnitsQuiet(units) {
  for (const u of units) {
    const prev = store.units.get(u.id);
    if (prev) Object.assign(prev, u); else store.units.set(u.id, u);
  }
}

onChange((what) => {
  if (!ctx) return;
  if (what === 'units') { ctx.live.redraw(); scheduleSummary(); }
  if (what === 'incidents') {
    ctx.live.redraw();
    renderIncidentList($('incident-list'), $('incident-count'), (id) => select({ type: 'incident', id }, true));
    const panel = document.querySelector('#details .panel.incident');
    const inc = store.selected?.type === 'incident' && store.incidents.get(store.selected.id);
    if (panel && inc && panel.dataset.id === inc.id) panel.update(inc);
  }
});

// Timers tick every second even when nothing else changes.
setInterval(() => {
  if (!ctx || $('app').hidden) return;
  ctx.live.redraw();
  renderIncidentList($('incident-list'), $('incident-count'), (id) => select({ type: 'incident', id }, true));
  const panel = document.querySelector('#details .panel.incident');
  const inc = panel && store.incidents.get(panel.dataset.id);
  if (inc) panel.update(inc);
}, 1000);

/** Docks, or the home positions of drones without one: where they launch and return. */
async function refreshDocks() {
  try {
    const res = await get('/v1/drones');
    const byPlace = new Map();
    for (const d of res.data) {
      const home = d.drone?.home;
      if (!home) continue;
      // Drones a few metres apart share one dock on the map.
      const key = d.dock_id || `${home[0].toFixed(4)},${home[1].toFixed(4)}`;
      const dock = byPlace.get(key) || { id: d.dock_id || 'home', lon: home[0], lat: home[1], drones: [] };
      dock.drones.push(d.id);
      byPlace.set(key, dock);
    }
    store.docks = [...byPlace.values()];
    ctx.live.redraw();
  } catch (err) { toast(`Drones: ${err.message}`, 'error'); }
}

async function refreshFences() {
  try {
    const fc = await get('/v1/fences');
    store.fences = fc.features;
    showFences(ctx, store.fences);
  } catch (err) { toast(`Fences: ${err.message}`, 'error'); }
}

// --- selection and details ---------------------------------------------------------------
function select(sel, pan = false) {
  store.selected = sel;
  const box = $('details');
  if (!sel) { fill(box); ctx.live.redraw(); return; }
  if (sel.type === 'unit') {
    const u = store.units.get(sel.id);
    if (!u) return;
    fill(box, closeButton(), unitPanel(u, ctx));
    if (pan && u.lat !== null) ctx.map.panTo([u.lat, u.lon]);
  } else if (sel.type === 'incident') {
    const inc = store.incidents.get(sel.id);
    if (!inc) return;
    fill(box, closeButton(), incidentPanel(inc, ctx));
    if (pan) ctx.map.panTo([inc.geometry.coordinates[1], inc.geometry.coordinates[0]]);
  } else if (sel.type === 'form') {
    fill(box, closeButton(), sel.node);
  }
  ctx.live.redraw();
  renderIncidentList($('incident-list'), $('incident-count'), (id) => select({ type: 'incident', id }, true));
}

const closeButton = () => h('button', { class: 'close link', title: 'close', onclick: () => select(null) }, '×');

function onMapClick(ev) {
  if (mode) return; // a tool owns clicks while it runs
  const hit = ctx.live.hit(ev.containerPoint);
  select(hit ? { type: hit.type, id: hit.id } : null);
}

// --- modes: one map tool at a time, with a banner saying what the next click does -------
function setMode(name, text, cancel) {
  mode?.cancel?.();
  mode = name ? { name, cancel } : null;
  const banner = $('mode-banner');
  banner.hidden = !name;
  ctx.map.getContainer().classList.toggle('picking', Boolean(name));
  if (name) {
    fill(banner, h('span', {}, text), h('button', { class: 'secondary', onclick: () => { const m = mode; mode = null; banner.hidden = true; m?.cancel?.(); } }, 'Cancel'));
  }
  document.querySelectorAll('#tools button').forEach((b) => b.classList.toggle('active', b.dataset.mode === name));
}

function pickPoint(text, then) {
  const handler = (ev) => {
    ctx.map.off('click', handler);
    setMode(null);
    then(Number(ev.latlng.lng.toFixed(6)), Number(ev.latlng.lat.toFixed(6)));
  };
  // Registered at once (the buttons live outside the map, so their click never reaches it):
  // a deferred registration lost clicks that the browser ran before the timer.
  ctx.map.on('click', handler);
  setMode('pick', text, () => ctx.map.off('click', handler));
}

function startDrawing(name, prompt, onPolygon) {
  let tool = null;
  // The banner first: the tool reports its corner count into it from the start.
  setMode(name, prompt, () => tool?.cancel());
  const text = $('mode-banner').firstChild;
  tool = drawPolygon(ctx.map, {
    banner: (n) => {
      text.textContent = `${prompt} — ${n} corner${n === 1 ? '' : 's'}; double-click or Enter to finish, Esc to cancel`;
    },
    onDone: (polygon) => {
      mode = null;
      setMode(null);
      onPolygon(polygon);
      // Keep the drawn outline on the map while its form is open, so it can be checked.
      const outline = L.geoJSON(polygon, { pane: 'drawing', interactive: false, style: { color: '#111827', weight: 2, dashArray: '5 4', fillOpacity: 0.08 } }).addTo(ctx.map);
      removeWithForm(outline);
    },
    onCancel: () => { if (mode) { mode = null; setMode(null); } },
  });
  const finish = h('button', { onclick: () => tool.finish() }, 'Finish');
  $('mode-banner').insertBefore(finish, $('mode-banner').lastChild);
}

// --- tools -------------------------------------------------------------------------------
function renderTools() {
  const tools = [];
  if (can('dispatcher')) {
    tools.push(h('button', { 'data-mode': 'incident', onclick: newIncident }, '+ Incident'));
    tools.push(h('button', { 'data-mode': 'fence', onclick: newFence }, 'Draw zone'));
    if (features.groupCommands) tools.push(h('button', { 'data-mode': 'group', onclick: groupCommand }, 'Area command'));
    if (features.patrols) {
      tools.push(h('button', {
        'data-mode': 'patrol',
        onclick: () => startDrawing('patrol', 'Draw the patrol zone: click its corners', (zone) => planPatrol(zone, $('patrol-list'), ctx)),
      }, 'Plan patrol'));
    }
  }
  if (features.coverage) tools.push(h('button', { 'data-mode': 'coverage', class: coverageTimer ? 'active' : '', onclick: toggleCoverage }, '1-3-5 coverage'));
  tools.push(h('button', { class: 'secondary', onclick: fitUnits, title: 'Zoom to every unit' }, 'Show all units'));
  if (!can('dispatcher')) tools.push(h('span', { class: 'muted small' }, `Signed in as ${role()}: view only.`));
  fill($('tools'), ...tools);
}

/** Removes a map layer once the form shown in the details panel now is closed or replaced. */
function removeWithForm(layer) {
  const form = $('details').querySelector('.panel');
  const obs = new MutationObserver(() => {
    if (!form?.isConnected) { layer.remove(); obs.disconnect(); }
  });
  obs.observe($('details'), { childList: true });
}

function newIncident() {
  setMode('incident', 'Click the map where the incident is', () => ctx.map.off('click', place));
  function place(ev) {
    ctx.map.off('click', place);
    mode = null;
    setMode(null);
    incidentForm(ev.latlng);
  }
  ctx.map.on('click', place);
}

function incidentForm(latlng) {
  const marker = L.circleMarker(latlng, { pane: 'drawing', radius: 9, color: '#111827', weight: 2, fillColor: '#fbbf24', fillOpacity: 0.9 }).addTo(ctx.map);
  const category = h('input', { name: 'category', list: 'categories', value: 'disturbance', required: true, maxlength: 64 });
  const priority = h('select', { name: 'priority' }, [1, 2, 3, 4, 5].map((p) => h('option', { value: p, selected: p === 2 }, `P${p}${p === 1 ? ' (most urgent)' : ''}`)));
  const description = h('textarea', { name: 'description', rows: 2, maxlength: 2000, placeholder: 'What was reported' });
  const form = h('form', {
    class: 'panel',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const inc = await act(ev.submitter, 'Incident created', () => post('/v1/incidents', {
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [Number(latlng.lng.toFixed(6)), Number(latlng.lat.toFixed(6))] },
        properties: { category: category.value.trim(), priority: Number(priority.value), description: description.value.trim() },
      }));
      if (!inc) return;
      marker.remove();
      store.incidents.set(inc.id, inc);
      select({ type: 'incident', id: inc.id });
      scheduleIncidentRefresh(0);
    },
  },
  h('h2', {}, 'New incident'),
  h('label', {}, 'Category', category),
  h('datalist', { id: 'categories' }, ['disturbance', 'theft', 'assault', 'traffic', 'missing person', 'fire', 'suspicious'].map((c) => h('option', { value: c }))),
  h('label', {}, 'Priority', priority),
  h('label', {}, 'Description', description),
  h('div', { class: 'buttons' },
    h('button', { type: 'submit', 'data-action': 'create-incident' }, 'Create incident'),
    h('button', { type: 'button', class: 'secondary', onclick: () => { marker.remove(); select(null); } }, 'Cancel')));
  select({ type: 'form', node: form });
  removeWithForm(marker);
  category.focus();
}

function newFence() {
  startDrawing('fence', 'Draw the zone: click its corners', (polygon) => {
    const name = h('input', { name: 'name', required: true, maxlength: 200, value: 'Zone' });
    const kind = h('select', { name: 'kind' },
      [['patrol_zone', 'Patrol zone'], ['no_fly', 'No-fly zone'], ['keep_in', 'Keep-in (drones)'], ['checkpoint', 'Checkpoint']]
        .map(([v, t]) => h('option', { value: v }, t)));
    const form = h('form', {
      class: 'panel',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const f = await act(ev.submitter, 'Zone saved', () => post('/v1/fences', {
          type: 'Feature', geometry: polygon, properties: { name: name.value.trim(), kind: kind.value },
        }));
        if (f) { select(null); refreshFences(); }
      },
    }, h('h2', {}, 'New zone'), h('label', {}, 'Name', name), h('label', {}, 'Kind', kind),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', 'data-action': 'save-fence' }, 'Save zone'),
      h('button', { type: 'button', class: 'secondary', onclick: () => select(null) }, 'Cancel')));
    select({ type: 'form', node: form });
    name.select();
  });
}

function groupCommand() {
  startDrawing('group', 'Select the area: click its corners', (polygon) => {
    const message = h('textarea', { name: 'message', rows: 2, required: true, maxlength: 1000, placeholder: 'e.g. Go to the main entrance' });
    const kinds = ['car', 'motorbike', 'bicycle', 'foot', 'team', 'drone', 'boat'];
    const boxes = kinds.map((k) => h('input', { type: 'checkbox', value: k, checked: k !== 'drone' }));
    const result = h('div', { class: 'small' });
    const form = h('form', {
      class: 'panel',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const unitKinds = boxes.filter((b) => b.checked).map((b) => b.value);
        const res = await act(ev.submitter, null, () => post('/v1/commands/group', {
          area: polygon, message: message.value.trim(), unit_kinds: unitKinds.length ? unitKinds : null,
        }));
        if (!res) return;
        toast(`Area command sent to ${res.count} unit${res.count === 1 ? '' : 's'}`, res.count ? 'ok' : 'error');
        followGroup(res.group_id, result, res.count);
      },
    }, h('h2', {}, 'Command every unit in the area'),
    h('label', {}, 'Message', message),
    h('div', { class: 'kinds' }, boxes.map((b) => h('label', { class: 'small' }, b, ` ${KIND_LABEL[b.value]}`))),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', 'data-action': 'send-group' }, 'Send to area'),
      h('button', { type: 'button', class: 'secondary', onclick: () => select(null) }, 'Close')),
    result);
    select({ type: 'form', node: form });
    message.focus();
  });
}

/** Shows the acknowledgement summary of a group command until every unit answered. */
async function followGroup(groupId, el, count) {
  if (!count) { el.textContent = 'No unit was inside the area.'; return; }
  for (let i = 0; i < 40 && el.isConnected; i += 1) {
    try {
      const st = await get(`/v1/commands/groups/${groupId}`);
      el.textContent = `${st.count} units: ${Object.entries(st.by_status).map(([k, v]) => `${v} ${k}`).join(', ')}`;
      if (!st.by_status.pending && !st.by_status.sent) return;
    } catch (err) { el.textContent = err.message; return; }
    await new Promise((r) => setTimeout(r, 1500));
  }
}

let coverageTimer = null;
async function toggleCoverage() {
  if (coverageTimer) {
    clearInterval(coverageTimer);
    coverageTimer = null;
    showCoverage(ctx, null);
    $('coverage-chip')?.remove();
    renderTools();
    return;
  }
  const load = async () => {
    try {
      const cov = await get('/v1/coverage?cell_m=200');
      showCoverage(ctx, cov.grid);
      const pct = (x) => `${Math.round(100 * x)}%`;
      const chip = $('coverage-chip') || document.body.appendChild(h('div', { id: 'coverage-chip', class: 'chip' }));
      chip.textContent = `Demand reached: 1′ ${pct(cov.tiers['1'])} · 3′ ${pct(cov.tiers['3'])} · 5′ ${pct(cov.tiers['5'])}`;
    } catch (err) { toast(`Coverage: ${err.message}`, 'error'); }
  };
  coverageTimer = setInterval(load, 15000);
  renderTools();
  await load();
}

function fitUnits() {
  const pts = [...store.units.values()].filter((u) => u.lat !== null && u.lat !== undefined).map((u) => [u.lat, u.lon]);
  for (const inc of store.incidents.values()) pts.push([inc.geometry.coordinates[1], inc.geometry.coordinates[0]]);
  if (!pts.length) { toast('No unit has reported a position yet', 'info'); return; }
  ctx.map.setMaxBounds(null);
  ctx.map.fitBounds(L.latLngBounds(pts).pad(0.1), { maxZoom: 17 });
}

// --- fleet summary -----------------------------------------------------------------------
let summaryQueued = false;
function scheduleSummary() {
  if (summaryQueued) return;
  summaryQueued = true;
  setTimeout(() => { summaryQueued = false; renderSummary(); }, 1000);
}

function renderSummary() {
  const byKind = new Map();
  let outside = 0;
  for (const u of store.units.values()) {
    const k = byKind.get(u.kind) || { total: 0, available: 0, offline: 0 };
    k.total += 1;
    if (u.online === false) k.offline += 1; else if (u.status === 'available') k.available += 1;
    byKind.set(u.kind, k);
    if (ctx.bounds && u.lat !== null && u.lat !== undefined && !ctx.bounds.contains([u.lat, u.lon])) outside += 1;
  }
  fill($('fleet-summary'), [
    h('table', {}, [...byKind].map(([kind, k]) => h('tr', {},
      h('td', {}, KIND_LABEL[kind] || kind), h('td', {}, `${k.total}`), h('td', {}, `${k.available} free`), h('td', {}, k.offline ? `${k.offline} offline` : '')))),
    outside ? h('p', { class: 'warn small' }, `${outside} unit${outside === 1 ? ' is' : 's are'} outside the map area — `,
      h('button', { class: 'link', onclick: fitUnits }, 'show all')) : null,
  ]);
}

start();
