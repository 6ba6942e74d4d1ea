// One canvas over the map for every unit and incident: 500 units updating each second cost
// one redraw per stream batch instead of 500 DOM markers being moved.
import * as L from 'leaflet';
import { store } from './store.js';
import { drawUnit, label, timerColour, TIERS } from './glyphs.js';
import { clock } from './ui.js';

/** A canvas the size of the map, pinned to the view and repainted by `paint(ctx, map)`. */
export const CanvasLayer = L.Layer.extend({
  options: { pane: 'live' },
  onAdd(map) {
    this._map = map;
    this._canvas = L.DomUtil.create('canvas', 'live-overlay');
    map.getPane(this.options.pane).appendChild(this._canvas);
    this._queued = false;
    map.on('move zoom resize viewreset', this.redraw, this);
    this._resize();
    this.redraw();
  },
  onRemove(map) {
    map.off('move zoom resize viewreset', this.redraw, this);
    this._canvas.remove();
  },
  /** Coalesces redraw requests into one per animation frame. */
  redraw() {
    if (this._queued || !this._map) return;
    this._queued = true;
    requestAnimationFrame(() => { this._queued = false; this._draw(); });
  },
  _resize() {
    const size = this._map.getSize();
    const dpr = window.devicePixelRatio || 1;
    if (this._w === size.x && this._h === size.y && this._dpr === dpr) return;
    this._w = size.x; this._h = size.y; this._dpr = dpr;
    this._canvas.width = size.x * dpr;
    this._canvas.height = size.y * dpr;
    this._canvas.style.width = `${size.x}px`;
    this._canvas.style.height = `${size.y}px`;
  },
  _draw() {
    const t0 = performance.now();
    const map = this._map;
    this._resize();
    // The pane moves with the map while panning; pin the canvas to the container's corner.
    L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
    const ctx = this._canvas.getContext('2d');
    ctx.setTransform(this._dpr, 0, 0, this._dpr, 0, 0);
    ctx.clearRect(0, 0, this._w, this._h);
    this.paint(ctx, map);
    // The last draw times, read by the browser test and handy in the devtools console.
    (this.drawMs ||= []).push(performance.now() - t0);
    if (this.drawMs.length > 300) this.drawMs.shift();
  },
});

/** Every unit, dock and incident, on one canvas. */
export const LiveOverlay = CanvasLayer.extend({
  paint(ctx, map) {
    const zoom = map.getZoom();
    const now = Date.now();
    const sel = store.selected;
    this._points = [];

    // Docks under everything: a dark square with an H, like a helipad sign.
    for (const dock of store.docks) {
      const p = map.latLngToContainerPoint([dock.lat, dock.lon]);
      ctx.fillStyle = '#1f2937';
      ctx.fillRect(p.x - 8, p.y - 8, 16, 16);
      ctx.fillStyle = '#fff';
      ctx.font = 'bold 11px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('H', p.x, p.y + 0.5);
    }

    // Labels only where they stay legible: drones always (few, and the ones operators fly),
    // ground units once zoomed in close.
    const pad = 20;
    let inView = 0;
    let selectedUnit = null;
    for (const u of store.units.values()) {
      if (u.lon === null || u.lat === null || u.lon === undefined) continue;
      const p = map.latLngToContainerPoint([u.lat, u.lon]);
      if (p.x < -pad || p.y < -pad || p.x > this._w + pad || p.y > this._h + pad) continue;
      inView += 1;
      this._points.push({ type: 'unit', id: u.id, x: p.x, y: p.y });
      if (sel?.type === 'unit' && sel.id === u.id) { selectedUnit = [u, p]; continue; }
      drawUnit(ctx, u, p.x, p.y, false);
    }
    // Incidents on top of the units: they are few, and they are what the dispatcher works on.
    for (const inc of store.incidents.values()) {
      const [lon, lat] = inc.geometry.coordinates;
      const p = map.latLngToContainerPoint([lat, lon]);
      const elapsed = (now - Date.parse(inc.properties.created_at)) / 1000;
      drawIncident(ctx, p.x, p.y, elapsed, sel?.type === 'incident' && sel.id === inc.id, inc);
      this._points.push({ type: 'incident', id: inc.id, x: p.x, y: p.y });
    }
    // Labels never overlap: the selected unit's first, then drones, then ground units, each
    // only where its box is still free. Units stacked on one spot get one label with "+N".
    const taken = [];
    const place = (text, x, y, bold) => {
      ctx.font = `${bold ? 'bold ' : ''}12px system-ui, sans-serif`;
      const w = ctx.measureText(text).width + 6;
      const box = [x - w / 2, y, x + w / 2, y + 15];
      if (taken.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) return;
      taken.push(box);
      label(ctx, text, x, y, bold);
    };
    // Units drawn within 8 px of each other read as one glyph: their label says "+N", and
    // the units under it get no label of their own.
    const units = this._points.filter((q) => q.type === 'unit');
    const near = (it) => units.filter((q) => q !== it && (q.x - it.x) ** 2 + (q.y - it.y) ** 2 < 64);
    const covered = new Set();
    const more = (it) => {
      const others = near(it).filter((q) => !covered.has(q.id));
      others.forEach((q) => covered.add(q.id));
      return others.length ? ` +${others.length}` : '';
    };
    if (selectedUnit) {
      const [u, p] = selectedUnit;
      drawUnit(ctx, u, p.x, p.y, true);
      const it = units.find((q) => q.id === u.id);
      covered.add(u.id);
      place((u.kind === 'drone' ? droneLabel(u) : u.name || u.id) + more(it), p.x, p.y + 16, true);
    }
    for (const it of this._points) {
      if (it.type === 'incident') { taken.push([it.x - 50, it.y + 12, it.x + 50, it.y + 32]); continue; }
    }
    const groundLabels = zoom >= 17 && inView <= 300;
    const isDrone = (q) => store.units.get(q.id).kind === 'drone';
    const dronesFirst = [...units.filter(isDrone), ...(groundLabels ? units.filter((q) => !isDrone(q)) : [])];
    for (const it of dronesFirst) {
      if (covered.has(it.id)) continue;
      const u = store.units.get(it.id);
      covered.add(it.id);
      place((u.kind === 'drone' ? droneLabel(u) : u.name || u.id) + more(it), it.x, it.y + (u.kind === 'drone' ? 12 : 9), false);
    }
    this.inView = inView;
  },
  /** The unit or incident drawn nearest to a container point, within `radius` pixels. */
  hit(point, radius = 14) {
    let best = null;
    let bestD = radius * radius;
    for (const it of this._points || []) {
      const d = (it.x - point.x) ** 2 + (it.y - point.y) ** 2;
      // Incidents win ties: they sit under the units sent to them.
      if (d < bestD || (best && d === bestD && it.type === 'incident')) { best = it; bestD = d; }
    }
    return best;
  },
});

function droneLabel(u) {
  const alt = u.alt_m !== null && u.alt_m !== undefined ? `${Math.round(u.alt_m)} m` : '';
  const bat = u.battery_pct !== null && u.battery_pct !== undefined ? `${Math.round(u.battery_pct)}%` : '';
  return [u.name || u.id, alt, bat].filter(Boolean).join(' · ');
}

function drawIncident(ctx, x, y, elapsed, selected, inc) {
  const colour = timerColour(elapsed);
  // The ring fills toward the next 1-3-5 deadline, so its urgency reads at a glance.
  const next = TIERS.find((t) => elapsed < t) ?? TIERS[TIERS.length - 1];
  const prev = TIERS[TIERS.indexOf(next) - 1] ?? 0;
  const frac = Math.min(1, (elapsed - prev) / (next - prev));
  const r = selected ? 16 : 13;
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fillStyle = 'rgba(255,255,255,0.92)';
  ctx.fill();
  ctx.lineWidth = selected ? 3 : 2;
  ctx.strokeStyle = '#374151';
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(x, y, r - 3, -Math.PI / 2, -Math.PI / 2 + frac * 2 * Math.PI);
  ctx.lineWidth = 4;
  ctx.strokeStyle = colour;
  ctx.stroke();
  ctx.fillStyle = colour;
  ctx.font = 'bold 12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText('!', x, y + 0.5);
  label(ctx, `${inc.properties.category} ${clock(elapsed)}`, x, y + r + 3, true);
}
