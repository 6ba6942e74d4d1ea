// Street names along their streets, from the basemap's road names: a dispatcher reads
// "Mannerheimintie", not "the orange line". Repainted only when the view changes.
import { CanvasLayer } from './overlay.js';

const MIN_SEGMENT_M = 40;
const FONT = 'italic 11px system-ui, sans-serif';
const RANK = { major: 0, secondary: 1, minor: 2 };

/** One anchor per long enough segment of each named road: its middle and its direction. */
export function streetAnchors(roads) {
  const anchors = [];
  for (const f of roads.features) {
    const { name, class: cls } = f.properties;
    if (!name || !(cls in RANK)) continue;
    const lines = f.geometry.type === 'LineString' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const line of lines) {
      for (let i = 1; i < line.length; i += 1) {
        const [x1, y1] = line[i - 1];
        const [x2, y2] = line[i];
        const k = Math.cos((y1 * Math.PI) / 180);
        const len = Math.hypot((x2 - x1) * k, y2 - y1) * 111320;
        if (len < MIN_SEGMENT_M) continue;
        anchors.push({ name, rank: RANK[cls], len, lon: (x1 + x2) / 2, lat: (y1 + y2) / 2, a: [x1, y1], b: [x2, y2] });
      }
    }
  }
  // Main roads and long segments get the first choice of space.
  return anchors.sort((p, q) => p.rank - q.rank || q.len - p.len);
}

export const StreetLabels = CanvasLayer.extend({
  options: { pane: 'labels' },
  setAnchors(anchors) { this._anchors = anchors; this.redraw(); },
  paint(ctx, map) {
    if (!this._anchors || map.getZoom() < 15) return;
    ctx.font = FONT;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const taken = [];
    const seen = new Map(); // name -> label centres, to keep repeats of a name apart
    for (const s of this._anchors) {
      const p = map.latLngToContainerPoint([s.lat, s.lon]);
      if (p.x < 0 || p.y < 0 || p.x > this._w || p.y > this._h) continue;
      const pa = map.latLngToContainerPoint([s.a[1], s.a[0]]);
      const pb = map.latLngToContainerPoint([s.b[1], s.b[0]]);
      const w = ctx.measureText(s.name).width;
      if (Math.hypot(pb.x - pa.x, pb.y - pa.y) < w + 12) continue; // would overhang its street
      if ((seen.get(s.name) || []).some((q) => Math.hypot(q.x - p.x, q.y - p.y) < 250)) continue;
      let angle = Math.atan2(pb.y - pa.y, pb.x - pa.x);
      if (angle > Math.PI / 2) angle -= Math.PI; // keep text upright
      if (angle < -Math.PI / 2) angle += Math.PI;
      // A square around the label's centre, big enough for any rotation, to avoid overlaps.
      const r = w / 2 + 4;
      const box = [p.x - r, p.y - r * Math.abs(Math.sin(angle)) - 7, p.x + r, p.y + r * Math.abs(Math.sin(angle)) + 7];
      if (taken.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
      taken.push(box);
      seen.set(s.name, [...(seen.get(s.name) || []), p]);
      ctx.save();
      ctx.translate(p.x, p.y);
      ctx.rotate(angle);
      ctx.lineWidth = 3;
      ctx.strokeStyle = 'rgba(255,255,255,0.9)';
      ctx.strokeText(s.name, 0, 0);
      ctx.fillStyle = '#4b5563';
      ctx.fillText(s.name, 0, 0);
      ctx.restore();
    }
  },
});
