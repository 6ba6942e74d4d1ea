"""Build hook: bundles the browser console (npm) into api/static/console on every pip install.

Everything else about the package is in pyproject.toml. The bundle is build output: it is never
committed, so `pip install .` and `pip install -e .` build it here, and wheels and sdists carry
it as package data (`static/**/*`). The editable install serves it straight from the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SOURCES = [ROOT / "package.json", ROOT / "package-lock.json", ROOT / "api" / "console"]
BUNDLE = ROOT / "api" / "static" / "console"


def _newest_source_mtime() -> float:
    newest = 0.0
    for src in SOURCES:
        files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def _bundle_is_fresh() -> bool:
    index = BUNDLE / "index.html"
    return index.is_file() and index.stat().st_mtime >= _newest_source_mtime()


def build_console() -> None:
    """`npm ci && npm run build` unless the bundle is newer than its sources.

    Set PATROLFLEET_SKIP_CONSOLE_BUILD=1 to install without Node.js (the service then serves a
    page at / saying the console is missing; the API is unaffected).
    """
    if os.environ.get("PATROLFLEET_SKIP_CONSOLE_BUILD") == "1":
        return
    if not (ROOT / "package.json").is_file():  # building from an sdist that carries the bundle
        return
    if _bundle_is_fresh():
        return
    npm = shutil.which("npm")
    if npm is None:
        if (BUNDLE / "index.html").is_file():
            return  # stale but present: better than none
        raise SystemExit(
            "patrolfleet: building the browser console needs Node.js and npm "
            "(apt-get install -y nodejs npm), or set PATROLFLEET_SKIP_CONSOLE_BUILD=1"
        )
    # pip hides a build's output unless it fails; the commands go to stderr for -v runs.
    installed = ROOT / "node_modules" / ".package-lock.json"
    lock = ROOT / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, stdout=sys.stderr
        )
    subprocess.run([npm, "run", "build"], cwd=ROOT, check=True, stdout=sys.stderr)


class BuildPyWithConsole(build_py):
    """build_py that first builds the console; runs for wheels and editable installs alike."""

    def run(self) -> None:
        build_console()
        super().run()


setup(cmdclass={"build_py": BuildPyWithConsole})
