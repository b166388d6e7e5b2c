"""The R package under R/, installed once per test process into a temporary library, for tests and
README examples that call library(jakderm)."""
from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@cache
def r_library() -> str:
    """A library folder holding jakderm installed from R/ (`R CMD INSTALL`); removed at exit."""
    lib = tempfile.mkdtemp(prefix="jakderm-rlib-")
    atexit.register(shutil.rmtree, lib, ignore_errors=True)
    run = subprocess.run(["R", "CMD", "INSTALL", "--no-test-load", f"--library={lib}", str(ROOT / "R")],
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"R CMD INSTALL R failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return lib
