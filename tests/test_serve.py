"""`python -m jakderm serve`: Datasette on a loopback port serves the release SQLite; a table
fetched as JSON equals the package; the server stops on SIGTERM and leaves no temporary folder."""
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from jakderm.descriptor import load_package
from pkgtools import ROOT

pytest.importorskip("datasette", reason="Datasette is the serve extra (installed by the test extra)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read().decode("utf-8"))


def typed(value: str, kind: str):
    if value == "":
        return None
    return {"integer": int, "number": float}.get(kind, str)(value)


def leftovers(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("jakderm-serve-*")}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the server's own temporary folder: what it leaves there is its own, whatever runs beside it
    tmp = tmp_path_factory.mktemp("serve-tmp")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jakderm", "serve", str(ROOT), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            get_json(base + "/-/versions.json")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("serve did not start:\n" + (proc.stdout.read() if proc.stdout else ""))
            time.sleep(0.3)
    yield base, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert not leftovers(tmp)


@pytest.mark.parametrize("table", ["trials", "arms", "outcomes", "adverse_events", "sources"])
def test_a_table_as_json_equals_the_package(server, table):
    base, _ = server
    res = load_package(ROOT).resources[table]
    with open(ROOT / res.path, encoding="utf-8", newline="") as fh:
        expected = [{f.name: typed(r[f.name], f.type) for f in res.fields} for r in csv.DictReader(fh)]
    got = get_json(f"{base}/jakderm/{table}.json?_shape=array&_size=max&_sort={res.primary_key[0]}")
    assert len(got) == len(expected) < 1000
    key = res.primary_key[0]
    assert {r[key]: r for r in got} == {r[key]: r for r in expected}


def test_metadata_and_a_canned_query_are_served(server):
    base, _ = server
    meta = get_json(base + "/-/metadata.json")
    assert meta["license"] == "Creative Commons Attribution 4.0"
    assert "easi-75" in meta["databases"]["jakderm"]["tables"]["outcomes"]["columns"]["endpoint_id"]
    rows = get_json(base + "/jakderm/sources_of_a_trial.json?_shape=array&trial_id=breeze-ad1")
    with open(ROOT / "data" / "trial_sources.csv", encoding="utf-8", newline="") as fh:
        linked = {r["source_id"] for r in csv.DictReader(fh) if r["trial_id"] == "breeze-ad1"}
    assert {r["source_id"] for r in rows} == linked and linked


def test_the_server_listens_on_loopback_only_and_stops_cleanly(server):
    base, proc = server
    assert base.startswith("http://127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_serve_refuses_a_package_that_does_not_validate_and_leaves_nothing(tmp_path):
    from pkgtools import Pkg

    pkg = Pkg(tmp_path)
    pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "population", "everyone")
    tmp = tmp_path / "serve-tmp"  # a process of its own, so that the server's TMPDIR is this folder
    tmp.mkdir()
    out = subprocess.run([sys.executable, "-m", "jakderm", "serve", str(pkg.root), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp)})
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.startswith("jakderm serve: the package does not validate ("), out.stderr
    assert "data/outcomes.csv" in out.stderr and not leftovers(tmp) and not list(tmp.iterdir())
