// Units' panels: a drone (flight commands, loudspeaker warnings) or a ground unit (message).
import { get, post } from './api.js';
import { can } from './roles.js';
import { store, onChange } from './store.js';
import { h, fill, act, fmt, toast, clock } from './ui.js';
import { colourOf, KIND_LABEL } from './glyphs.js';

const ORBIT_RADIUS_M = 40;
const CRUISE_ALT_M = 60;
const ARRIVED_M = 25;

export function distanceM([lon1, lat1], [lon2, lat2]) {
  const k = Math.PI / 180;
  const x = (lon2 - lon1) * k * Math.cos(((lat1 + lat2) / 2) * k);
  const y = (lat2 - lat1) * k;
  return 6371000 * Math.hypot(x, y);
}

export function nearestDrones(lonlat, n) {
  return [...store.units.values()]
    .filter((u) => u.kind === 'drone' && u.online !== false && u.lon !== null && u.status !== 'charging')
    .map((u) => ({ unit: u, distance_m: distanceM([u.lon, u.lat], lonlat) }))
    .sort((a, b) => a.distance_m - b.distance_m)
    .slice(0, n);
}

/**
 * Sends a drone to an incident: goto now, then orbit once the stream shows it there.
 * The orbit waits for arrival because an orbit command replaces the goto at once.
 */
export async function launchDrone(button, droneId, inc) {
  const [lon, lat] = inc.geometry.coordinates;
  const ok = await act(button, `${droneId} launched to ${inc.properties.category}`, () =>
    post(`/v1/drones/${droneId}/goto`, { lon, lat, alt_m: CRUISE_ALT_M }));
  if (ok === undefined) return;
  const stop = onChange((what) => {
    if (what !== 'units') return;
    const u = store.units.get(droneId);
    if (!u || distanceM([u.lon, u.lat], [lon, lat]) > ARRIVED_M) return;
    stop();
    act(null, `${droneId} orbiting ${inc.properties.category}`, () =>
      post(`/v1/drones/${droneId}/orbit`, { lon, lat, radius_m: ORBIT_RADIUS_M, alt_m: CRUISE_ALT_M }));
  });
  setTimeout(stop, 15 * 60 * 1000); // give up watching after a quarter of an hour
}

function facts(u) {
  const rows = [
    ['Status', h('span', { class: 'dot', style: `background:${colourOf(u)}` }), ` ${u.online === false ? 'offline' : u.status}`],
    ['Battery', fmt(u.battery_pct, 0, ' %')],
    ['Altitude', fmt(u.alt_m, 0, ' m')],
    ['Speed', fmt(u.speed_mps, 1, ' m/s')],
    ['Heading', fmt(u.heading_deg, 0, '°')],
    u.kind !== 'drone' ? ['On duty', u.on_duty ? `yes (team of ${u.team_size})` : 'no'] : null,
    ['Last seen', u.last_seen ? `${clock((Date.now() - Date.parse(u.last_seen)) / 1000)} ago` : '–'],
  ].filter(Boolean);
  return h('dl', { class: 'facts' }, rows.map(([k, ...v]) => [h('dt', {}, k), h('dd', {}, ...v)]));
}

export function unitPanel(u, ctx) {
  const live = h('div', { class: 'live-facts' }, facts(u));
  // Facts refresh with the stream while this panel is shown.
  const stop = onChange((what) => {
    if (what !== 'units') return;
    if (!live.isConnected) { stop(); return; }
    fill(live, facts(store.units.get(u.id) || u));
  });
  return h('div', { class: 'panel unit', dataset: { id: u.id } },
    h('h2', {}, u.name || u.id, ' ', h('span', { class: 'muted' }, KIND_LABEL[u.kind] || u.kind)),
    live,
    u.kind === 'drone' ? droneActions(u, ctx) : groundActions(u));
}

function droneActions(u, ctx) {
  if (!can('operator')) return h('p', { class: 'muted small' }, 'Flying and warnings need the operator role.');
  const mode = h('p', { class: 'muted small' });
  get(`/v1/drones/${u.id}`).then((d) => {
    mode.textContent = `${d.drone.flight_mode || ''}${d.drone.in_air ? ' · in air' : ' · on ground'}${d.drone.link_up ? '' : ' · LINK LOST'}`;
  }).catch(() => {});
  return h('div', {},
    mode,
    h('div', { class: 'buttons' },
      h('button', { 'data-action': 'goto', onclick: () => ctx.pickPoint(`Click the map to send ${u.name || u.id} there`, (lon, lat) =>
        act(null, `${u.id} flying to the point`, () => post(`/v1/drones/${u.id}/goto`, { lon, lat, alt_m: CRUISE_ALT_M }))) }, 'Fly to…'),
      h('button', { 'data-action': 'orbit', onclick: () => ctx.pickPoint(`Click the point ${u.name || u.id} should orbit`, (lon, lat) =>
        act(null, `${u.id} orbiting`, () => post(`/v1/drones/${u.id}/orbit`, { lon, lat, radius_m: ORBIT_RADIUS_M, alt_m: CRUISE_ALT_M }))) }, 'Orbit…'),
      h('button', { 'data-action': 'return', onclick: (ev) => act(ev.target, `${u.id} returning home`, () => post(`/v1/drones/${u.id}/return`)) }, 'Return home'),
      h('button', { class: 'secondary', onclick: (ev) => act(ev.target, `${u.id} landing`, () => post(`/v1/drones/${u.id}/land`)) }, 'Land')),
    warningForm(u));
}

let presetsCache = null;

function warningForm(u) {
  const select = h('select', { name: 'preset' }, h('option', { value: '' }, 'Custom text…'));
  const text = h('input', { name: 'text', placeholder: 'Text to speak', maxlength: 500 });
  const spot = h('input', { type: 'checkbox', name: 'spotlight' });
  const list = h('ul', { class: 'rows warnings' });
  (presetsCache ??= get('/v1/warning-presets').then((r) => r.data)).then((presets) => {
    for (const p of presets) select.append(h('option', { value: p.id }, p.name));
    if (presets.length) { select.value = presets[0].id; text.hidden = true; }
  }).catch((err) => toast(err.message, 'error'));
  select.addEventListener('change', () => { text.hidden = Boolean(select.value); });
  const renderList = () => {
    const mine = [...store.warnings.values()].filter((w) => w.drone_id === u.id).slice(-4).reverse();
    fill(list, ...mine.map((w) => h('li', { class: `w-${w.status}`, dataset: { status: w.status } },
      h('b', {}, w.status), w.state && w.state !== w.status ? ` (${w.state})` : '', ` ${w.text || ''}`,
      w.reason ? h('div', { class: 'error small' }, w.reason) : null)));
  };
  const stop = onChange((what) => { if (what === 'warnings') { if (!list.isConnected) stop(); else renderList(); } });
  renderList();
  return h('form', {
    class: 'warning-form',
    onsubmit: (ev) => {
      ev.preventDefault();
      const body = select.value ? { preset_id: select.value } : { text: text.value.trim() };
      if (spot.checked) body.spotlight = true;
      if (!select.value && !body.text) { toast('Type the warning text or choose a preset', 'error'); return; }
      act(ev.submitter, null, async () => {
        const w = await post(`/v1/drones/${u.id}/warnings`, body);
        store.warnings.set(w.id, w);
        renderList();
        toast(`Warning sent to ${u.id}: waiting for the loudspeaker`, 'info');
      });
    },
  },
  h('h3', {}, 'Loudspeaker warning'),
  select, text,
  h('label', { class: 'small' }, spot, ' spotlight'),
  h('button', { type: 'submit', 'data-action': 'warn' }, 'Send warning'),
  list);
}

function groundActions(u) {
  if (!can('dispatcher')) return null;
  const input = h('input', { name: 'message', placeholder: 'Message to the unit', maxlength: 1000 });
  return h('form', {
    class: 'unit-command',
    onsubmit: (ev) => {
      ev.preventDefault();
      if (!input.value.trim()) return;
      act(ev.submitter, `Message queued for ${u.id}`, () =>
        post(`/v1/units/${u.id}/commands`, { kind: 'message', payload: { message: input.value.trim() } }))
        .then((r) => { if (r) input.value = ''; });
    },
  }, h('h3', {}, 'Message'), input, h('button', { type: 'submit' }, 'Send'));
}

/** Folds command.* stream events into the warnings the console sent. */
export function onCommandEvent(type, data) {
  const w = store.warnings.get(data.id);
  if (!w) return false;
  const status = type === 'command.timed_out' ? 'failed' : data.status || type.split('.')[1];
  Object.assign(w, {
    status: status === 'timed_out' ? 'failed' : status,
    state: data.result?.state ?? w.state,
    reason: data.error || data.result?.reason || w.reason,
  });
  if (type === 'command.acked' || type === 'command.failed' || type === 'command.timed_out') {
    toast(`Warning on ${w.drone_id}: ${w.status}${w.reason ? ` (${w.reason})` : ''}`, w.status === 'acked' ? 'ok' : 'error');
  }
  return true;
}
