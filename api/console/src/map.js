// The Leaflet map: basemap layers from /v1/map (no tiles, no internet), fences, coverage,
// and the live overlay. Leaflet draws them on 2D canvas, which needs no GPU.
import * as L from 'leaflet';
import { get } from './api.js';
import { LiveOverlay } from './overlay.js';
import { StreetLabels, streetAnchors } from './labels.js';

const ROAD_STYLE = {
  major: { color: '#f2b84b', weight: 7 },
  secondary: { color: '#ffffff', weight: 5.5 },
  minor: { color: '#ffffff', weight: 3.5 },
  path: { color: '#b8aea3', weight: 1.2, dashArray: '3 3' },
  coastline: { color: '#7fb6cc', weight: 1.5 },
};
const FENCE_STYLE = {
  no_fly: { color: '#b91c1c', fillColor: '#ef4444', fillOpacity: 0.15, weight: 2, dashArray: '6 4' },
  keep_in: { color: '#1d4ed8', fillOpacity: 0.03, weight: 2, dashArray: '2 4' },
  patrol_zone: { color: '#0f766e', fillColor: '#14b8a6', fillOpacity: 0.08, weight: 2 },
  checkpoint: { color: '#7c3aed', fillColor: '#a78bfa', fillOpacity: 0.15, weight: 2 },
};
const TIER_FILL = { 1: '#16a34a', 3: '#f59e0b', 5: '#dc2626' };

export function createMap(el) {
  const map = L.map(el, {
    zoomControl: true,
    // The live canvas redraws on every move; without zoom animation it never lags behind.
    zoomAnimation: false,
    markerZoomAnimation: false,
    zoomSnap: 0.5,
    attributionControl: true,
    preferCanvas: true,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('© OpenStreetMap contributors');
  map.createPane('basemap').style.zIndex = 200;
  map.createPane('labels').style.zIndex = 300;
  map.createPane('zones').style.zIndex = 350;
  map.createPane('live').style.zIndex = 600;
  map.createPane('drawing').style.zIndex = 650;
  const basemapRenderer = L.canvas({ pane: 'basemap', padding: 0.3 });
  const zoneRenderer = L.canvas({ pane: 'zones', padding: 0.3 });
  const live = new LiveOverlay().addTo(map);
  return { map, live, basemapRenderer, zoneRenderer, layers: {} };
}

/** Loads the basemap layers and fits the view to the extract; returns the map metadata. */
export async function loadBasemap(ctx) {
  const { map, basemapRenderer } = ctx;
  const meta = await get('/v1/map');
  const [w, s, e, n] = meta.bounds;
  ctx.bounds = L.latLngBounds([s, w], [n, e]);
  map.fitBounds(ctx.bounds);
  // Leave room to pan a little past the extract, not to lose it.
  map.setMaxBounds(ctx.bounds.pad(1.5));
  map.setMinZoom(Math.max(map.getZoom() - 3, 10));
  // Where the map data ends: beyond this line there are no streets to read, only units.
  L.rectangle(ctx.bounds, { renderer: basemapRenderer, pane: 'basemap', interactive: false, color: '#94a3b8', weight: 1.5, dashArray: '6 6', fill: false }).addTo(map);
  const layers = await Promise.all(
    ['water', 'green', 'buildings', 'roads'].map((name) => get(`/v1/map/layers/${name}.geojson`)),
  );
  const [water, green, buildings, roads] = layers;
  const common = { renderer: basemapRenderer, interactive: false, pane: 'basemap' };
  L.geoJSON(water, { ...common, style: { color: '#8cc3d6', weight: 1, fillColor: '#aad3df', fillOpacity: 1 } }).addTo(map);
  L.geoJSON(green, { ...common, style: { stroke: false, fillColor: '#cfe6c2', fillOpacity: 1 } }).addTo(map);
  L.geoJSON(buildings, { ...common, style: { color: '#bfb3a8', weight: 0.8, fillColor: '#d9d0c9', fillOpacity: 1 } }).addTo(map);
  // Thin roads first so the main ones are drawn on top at crossings.
  const order = { path: 0, coastline: 0, minor: 1, secondary: 2, major: 3 };
  roads.features.sort((a, b) => order[a.properties.class] - order[b.properties.class]);
  const roadLayer = L.geoJSON(roads, { ...common, style: (f) => ({ ...ROAD_STYLE[f.properties.class], opacity: 1 }) }).addTo(map);
  // Road widths are in pixels; scale them with the zoom so streets keep their proportions.
  const rescale = () => {
    const k = Math.min(1.6, Math.max(0.35, 2 ** (map.getZoom() - 16.5)));
    roadLayer.eachLayer((l) => {
      const base = ROAD_STYLE[l.feature.properties.class];
      l.setStyle({ weight: Math.max(base.weight * k, 1) });
    });
  };
  map.on('zoomend', rescale);
  rescale();
  new StreetLabels().addTo(map).setAnchors(streetAnchors(roads));
  ctx.meta = meta;
  return meta;
}

export function showFences(ctx, fences, onClick) {
  ctx.layers.fences?.remove();
  ctx.layers.fences = L.geoJSON({ type: 'FeatureCollection', features: fences }, {
    renderer: ctx.zoneRenderer,
    pane: 'zones',
    style: (f) => FENCE_STYLE[f.properties.kind] || FENCE_STYLE.patrol_zone,
    onEachFeature: (f, layer) => {
      layer.bindTooltip(`${f.properties.name} (${f.properties.kind.replace('_', ' ')})`, { sticky: true });
      if (onClick) layer.on('click', () => onClick(f));
    },
  }).addTo(ctx.map);
}

/** The 1-3-5 coverage grid: each cell coloured by the fastest tier that reaches it. */
export function showCoverage(ctx, grid) {
  ctx.layers.coverage?.remove();
  if (!grid) { ctx.layers.coverage = null; return; }
  ctx.layers.coverage = L.geoJSON(grid, {
    renderer: ctx.zoneRenderer,
    pane: 'zones',
    interactive: false,
    style: (f) => ({
      stroke: false,
      fillColor: TIER_FILL[f.properties.tier] || '#7f1d1d',
      fillOpacity: f.properties.tier ? 0.28 : 0.35,
    }),
  }).addTo(ctx.map);
}
