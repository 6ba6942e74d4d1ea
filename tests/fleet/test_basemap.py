"""The console's basemap: the default city's extract as small GeoJSON layers, cached on disk."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fleet.basemap import LAYERS, ROAD_CLASSES, BasemapCache, build, default_map_file


def test_default_extract_gives_every_layer_inside_central_helsinki() -> None:
    basemap = build(default_map_file(None))
    w, s, e, n = basemap.bounds
    assert 24.9 < w < e < 25.0 and 60.15 < s < n < 60.19
    assert list(basemap.layers) == list(LAYERS)
    assert all(basemap.layers[name]["features"] for name in ("roads", "buildings", "green"))
    classes = {f["properties"]["class"] for f in basemap.layers["roads"]["features"]}
    assert classes <= {*ROAD_CLASSES, "coastline"} and {"major", "minor"} <= classes
    assert any("name" in f["properties"] for f in basemap.layers["roads"]["features"])
    meta = basemap.meta()
    assert meta["attribution"] == "© OpenStreetMap contributors"
    assert w < meta["centre"][0] < e and s < meta["centre"][1] < n


def test_layers_stay_small_and_rounded_to_about_a_metre() -> None:
    basemap = build(default_map_file(None))
    body = json.dumps(basemap.layers, separators=(",", ":"))
    assert len(body) < 3_000_000
    first = basemap.layers["roads"]["features"][0]["geometry"]["coordinates"][0]
    assert all(len(repr(c).split(".")[1]) <= 5 for c in first)


def test_cache_is_written_once_and_read_back_identically(tmp_path: Path) -> None:
    extract = default_map_file(None)
    first = BasemapCache(extract, tmp_path).get()
    files = list(tmp_path.glob("basemap-*.json.gz"))
    assert len(files) == 1
    again = BasemapCache(extract, tmp_path).get()  # a new process: from the file
    same = json.loads(json.dumps(first.layers))  # tuples as lists, as JSON has them
    assert again.bounds == first.bounds and again.layers == same
    roads = json.loads(gzip.decompress(BasemapCache(extract, tmp_path).layer_gzip("roads")))
    assert roads == same["roads"]


def test_missing_extract_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        build(tmp_path / "nowhere.osm.pbf")
