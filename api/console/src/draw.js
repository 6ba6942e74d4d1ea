// A small polygon tool: click to add corners, double-click or Finish to close, Esc to cancel.
// Hand-written because the offline Leaflet draw plugins are unmaintained or heavy.
import * as L from 'leaflet';

export function drawPolygon(map, { banner, onDone, onCancel }) {
  const points = [];
  const line = L.polyline([], { pane: 'drawing', color: '#111827', weight: 2, dashArray: '5 4', interactive: false }).addTo(map);
  const shape = L.polygon([], { pane: 'drawing', color: '#111827', weight: 1, fillOpacity: 0.1, interactive: false }).addTo(map);
  const corners = L.layerGroup().addTo(map);
  map.doubleClickZoom.disable();
  map.getContainer().classList.add('drawing');

  function refresh() {
    line.setLatLngs(points);
    shape.setLatLngs(points.length >= 3 ? points : []);
    banner(points.length);
  }
  function click(ev) {
    points.push(ev.latlng);
    L.circleMarker(ev.latlng, { pane: 'drawing', radius: 4, color: '#111827', fillColor: '#fff', fillOpacity: 1, weight: 2 }).addTo(corners);
    refresh();
  }
  function finish() {
    // A double-click also fired two clicks: drop the duplicate corner it added.
    while (points.length > 1 && points.at(-1).equals(points.at(-2))) points.pop();
    if (points.length < 3) return;
    const ring = points.map((p) => [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))]);
    ring.push(ring[0]);
    cleanup();
    onDone({ type: 'Polygon', coordinates: [ring] });
  }
  function cancel() { cleanup(); onCancel?.(); }
  function key(ev) {
    if (ev.key === 'Escape') cancel();
    if (ev.key === 'Enter') finish();
  }
  function cleanup() {
    map.off('click', click);
    map.off('dblclick', finish);
    document.removeEventListener('keydown', key);
    line.remove(); shape.remove(); corners.remove();
    map.doubleClickZoom.enable();
    map.getContainer().classList.remove('drawing');
  }
  map.on('click', click);
  map.on('dblclick', finish);
  document.addEventListener('keydown', key);
  refresh();
  return { finish, cancel, count: () => points.length };
}
