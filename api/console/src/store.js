// The console's live picture: one place the stream writes and the views read.
export const store = {
  units: new Map(), // id -> unit dict as in the stream (id, kind, lon, lat, heading_deg, ...)
  incidents: new Map(), // id -> GeoJSON Feature from /v1/incidents
  assignments: new Map(), // incident id -> [assignment] (fetched for open incidents)
  fences: [], // GeoJSON Features from /v1/fences
  docks: [], // {id, lon, lat, drones: [id]}: where drones launch and land (home positions)
  warnings: new Map(), // command id -> {id, drone_id, text, status, state, reason}
  selected: null, // {type: 'unit'|'incident', id}
  unitsVersion: 0, // bumped on every unit change; the map redraws when it moves
};

const listeners = new Set();
/** Subscribe to "something changed" notifications; returns the unsubscribe function. */
export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function changed(what) { for (const fn of listeners) fn(what); }

export function applyUnits(units) {
  for (const u of units) {
    const prev = store.units.get(u.id);
    store.units.set(u.id, prev ? Object.assign(prev, u) : u);
  }
  store.unitsVersion += 1;
  changed('units');
}

export const OPEN_STATES = new Set(['new', 'dispatched', 'en_route', 'on_scene']);
export const isOpen = (inc) => OPEN_STATES.has(inc.properties.state);
