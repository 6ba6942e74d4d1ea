// Patrol plans (when the service has /v1/patrols): list, show routes, start and stop, and plan
// one for a zone drawn on the map with the drones that are free.
import * as L from 'leaflet';
import { get, post } from './api.js';
import { can } from './roles.js';
import { store } from './store.js';
import { h, fill, act, toast } from './ui.js';

const ROUTE_COLOURS = ['#1d4ed8', '#be185d', '#0f766e', '#a16207', '#6d28d9', '#b91c1c'];
let shownLayer = null;
let shownId = null;

export async function renderPatrols(el, ctx) {
  let res;
  try {
    res = await get('/v1/patrols');
  } catch (err) {
    fill(el, h('p', { class: 'error small' }, err.message));
    return;
  }
  const rows = res.data.slice(-8).reverse();
  fill(el, rows.length
    ? h('ul', { class: 'rows' }, rows.map((p) => h('li', { dataset: { id: p.id } },
      h('b', {}, p.name), ` ${p.status}`,
      h('div', { class: 'buttons' },
        h('button', { class: shownId === p.id ? 'active' : 'secondary', onclick: () => toggleRoutes(ctx, p.id, el) }, shownId === p.id ? 'Hide routes' : 'Show routes'),
        can('operator') && ['planned', 'stopped', 'draft'].includes(p.status)
          ? h('button', { onclick: (ev) => act(ev.target, `Patrol ${p.name} started`, async () => { await post(`/v1/patrols/${p.id}/start`); renderPatrols(el, ctx); }) }, 'Start') : null,
        can('operator') && ['running', 'active', 'started'].includes(p.status)
          ? h('button', { class: 'secondary', onclick: (ev) => act(ev.target, `Patrol ${p.name} stopped`, async () => { await post(`/v1/patrols/${p.id}/stop`); renderPatrols(el, ctx); }) }, 'Stop') : null))))
    : h('p', { class: 'muted small' }, 'No patrol plans yet.'));
}

async function toggleRoutes(ctx, id, el) {
  shownLayer?.remove();
  shownLayer = null;
  if (shownId === id) { shownId = null; renderPatrols(el, ctx); return; }
  try {
    const fc = await get(`/v1/patrols/${id}.geojson`);
    const colourOf = new Map();
    shownLayer = L.geoJSON(fc, {
      renderer: ctx.zoneRenderer,
      pane: 'zones',
      style: (f) => {
        const key = f.properties.drone_id || f.properties.unit_id || f.properties.kind;
        if (!colourOf.has(key)) colourOf.set(key, ROUTE_COLOURS[colourOf.size % ROUTE_COLOURS.length]);
        return { color: colourOf.get(key), weight: 3, opacity: 0.85, dashArray: f.properties.drone_id ? '8 5' : null };
      },
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { renderer: ctx.zoneRenderer, pane: 'zones', radius: 6, color: '#7c2d12', fillColor: '#fb923c', fillOpacity: 0.9, weight: 2 }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        layer.bindTooltip([p.kind, p.name, p.drone_id || p.unit_id].filter(Boolean).join(' · '), { sticky: true });
      },
    }).addTo(ctx.map);
    shownId = id;
  } catch (err) {
    toast(err.message, 'error');
  }
  renderPatrols(el, ctx);
}

/** Plans a one-hour patrol over the hot spots inside `zone` with every free drone. */
export async function planPatrol(zone, el, ctx) {
  const drones = [...store.units.values()].filter((u) => u.kind === 'drone' && u.online !== false && u.status === 'available').map((u) => u.id);
  const res = await act(null, null, () => post('/v1/patrols', {
    name: `Zone patrol ${new Date().toLocaleTimeString()}`, zone, duration_s: 3600, drones, allow_partial: true,
  }));
  if (!res) return;
  toast(`Patrol planned: ${res.sorties?.length ?? 0} sorties, ${res.routes?.length ?? 0} ground routes`, 'ok');
  shownId = null;
  await toggleRoutes(ctx, res.id, el);
}
