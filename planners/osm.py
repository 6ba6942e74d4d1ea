"""OSM extract loader: the highway ways of an .osm / .osm.gz / .osm.pbf file, as plain arrays.

This is the one module of `planners` that reads a file (DESIGN.md keeps planners free of
I/O; a road network has to come from somewhere). `read_osm` is a pure function of the
file's bytes: same file, same `OsmRoads`, no network, no cache, no global state. Building
graphs from the result (`planners.roads`) is pure again.

Only what routing needs is kept: every way with a ``highway`` tag, its node references,
the node coordinates and the handful of tags that decide access, one-way rules and speed
(`KEPT_TAGS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import osmium

from planners.errors import MalformedProblem

__all__ = ["KEPT_TAGS", "OsmRoads", "OsmWay", "read_osm"]

#: Tags of a highway way that `planners.roads` looks at.
KEPT_TAGS = frozenset(
    {
        "highway",
        "access",
        "vehicle",
        "motor_vehicle",
        "motorcar",
        "motorcycle",
        "bicycle",
        "foot",
        "oneway",
        "oneway:bicycle",
        "cycleway",
        "cycleway:left",
        "cycleway:right",
        "cycleway:both",
        "junction",
        "maxspeed",
        "area",
        "name",
        "sidewalk",
    }
)


@dataclass(frozen=True, slots=True)
class OsmWay:
    """A highway way: indices into `OsmRoads` node arrays, and its kept tags."""

    id: int
    nodes: tuple[int, ...]
    tags: dict[str, str]


@dataclass(frozen=True, slots=True, eq=False)
class OsmRoads:
    """Highway ways of an extract and the coordinates of the nodes they use."""

    node_ids: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    ways: tuple[OsmWay, ...]


def read_osm(path: str | os.PathLike[str]) -> OsmRoads:
    """Read the highway ways of an OSM extract with pyosmium.

    Parameters
    ----------
    path : an .osm, .osm.gz, .osm.bz2 or .osm.pbf file (format from the extension).

    Returns
    -------
    OsmRoads

    Raises
    ------
    MalformedProblem
        If the file does not exist, cannot be parsed, or holds no highway way.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MalformedProblem(f"OSM file {path} not found", where="osm")
    index: dict[int, int] = {}
    lon: list[float] = []
    lat: list[float] = []
    ways: list[OsmWay] = []
    try:
        fp = (
            osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in fp:
            if not isinstance(way, osmium.osm.Way):
                continue
            refs: list[int] = []
            for n in way.nodes:
                if not n.location.valid():
                    continue  # node outside the extract
                k = index.get(n.ref)
                if k is None:
                    k = index[n.ref] = len(lon)
                    lon.append(n.location.lon)
                    lat.append(n.location.lat)
                refs.append(k)
            if len(refs) < 2:
                continue
            tags = {t.k: t.v for t in way.tags if t.k in KEPT_TAGS}
            ways.append(OsmWay(int(way.id), tuple(refs), tags))
    except RuntimeError as exc:  # libosmium parse errors surface as RuntimeError
        raise MalformedProblem(f"cannot read OSM file {path}: {exc}", where="osm") from exc
    if not ways:
        raise MalformedProblem(f"OSM file {path} has no highway ways", where="osm")
    ids = np.empty(len(index), dtype=np.int64)
    for ref, k in index.items():
        ids[k] = ref
    return OsmRoads(ids, np.asarray(lon), np.asarray(lat), tuple(ways))
