"""`python -m jakderm scaffold`: a trial's draft rows from its ClinicalTrials.gov API v2 record.

The real record lives in ../shared/ctgov/ (beside the repository, not in it; JAKDERM_SHARED names
another folder): these tests skip
with a reason when it is absent, and fail instead when JAKDERM_REQUIRE_SHARED=1 (CI sets it).
Edge cases use small records built here. The HTTP path is served from 127.0.0.1 only.
"""
import copy
import csv
import hashlib
import http.server
import json
import os
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from jakderm import scaffold
from pkgtools import run_cli

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("JAKDERM_SHARED", ROOT.parent / "shared")) / "ctgov" / "NCT03064438.json"
NCT = "NCT03064438"


@pytest.fixture(scope="module")
def real_record() -> dict:
    if not REAL.is_file():
        if os.environ.get("JAKDERM_REQUIRE_SHARED") == "1":
            pytest.fail(f"{REAL} is missing and JAKDERM_REQUIRE_SHARED=1")
        pytest.skip(f"{REAL} not present (the shared folder beside the repository)")
    return json.loads(REAL.read_text(encoding="utf-8"))


def run(*args, cwd=ROOT, env=None):
    return run_cli("scaffold", *args, cwd=cwd, env=env)


def rows(folder: Path, table: str) -> list[dict]:
    path = folder / f"{table}.csv"
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def write(tmp_path: Path, record: dict, name="record.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


# The real record ---------------------------------------------------------------------------------

def test_real_record_drafts_every_table(real_record, tmp_path):
    out = tmp_path / "draft"
    done = run(NCT, "--from-file", str(REAL), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    arms = {r["label"]: r for r in rows(out, "arms")}
    assert arms["ACU-D1 Ointment"]["n_randomized"] == "27" and arms["ACU-D1 Ointment Vehicle"]["n_randomized"] == "13"
    assert arms["ACU-D1 Ointment Vehicle"]["role"] == "vehicle" and arms["ACU-D1 Ointment Vehicle"]["drug_id"] == ""
    assert arms["ACU-D1 Ointment"]["role"] == "experimental" and arms["ACU-D1 Ointment"]["frequency"] == "BID"
    assert arms["ACU-D1 Ointment"]["route"] == "topical" and arms["ACU-D1 Ointment"]["dose"] == ""  # not stated
    trial, = rows(out, "trials")
    assert (trial["n_randomized"], trial["design"], trial["phase"], trial["primary_timepoint_weeks"]) == ("40", "randomized", "2", "12")
    source, = rows(out, "sources")
    assert source["url"] == "https://clinicaltrials.gov/study/NCT03064438" and source["accessed"] == "2021-08-23"
    # Outcome Measure 3: a percentage of participants, posted per group with its denominator
    responders = [r for r in rows(out, "outcomes") if "Outcome Measure 3 " in r["locator"]]
    assert {(r["arm_id"].split("/")[-1], r["percent"], r["analysed"], r["responders"]) for r in responders} == {
        ("acu-d1-ointment", "19.2", "26", ""), ("acu-d1-ointment-vehicle", "18.2", "11", "")}
    assert {r["population"] for r in responders} == {"mITT"} and {r["timepoint_weeks"] for r in responders} == {"12"}
    # Adverse events: serious totals and the other-events table, with the record's time frame
    ae = {(r["arm_id"].split("/")[-1], r["ae_term_id"]): r for r in rows(out, "adverse_events")}
    assert (ae["acu-d1-ointment", "serious-ae"]["participants_with_event"], ae["acu-d1-ointment", "serious-ae"]["participants_at_risk"]) == ("0", "27")
    assert ae["acu-d1-ointment", "vomiting"]["participants_with_event"] == "1"
    assert ae["acu-d1-ointment-vehicle", "vomiting"]["participants_at_risk"] == "13"
    assert ae["acu-d1-ointment", "vomiting"]["period_text"] == "ClinicalTrials.gov AE time frame: Baseline up to Week 14"
    assert "Needs a person:" in done.stdout and "PMID 34076401" in done.stdout
    assert "accu-d1" in done.stdout  # the drafted drug is flagged


def test_real_record_merges_into_a_valid_package(real_record, pkg):
    before = digest(pkg.root)
    done = run(NCT, "--from-file", str(REAL), "--merge", "--path", str(pkg.root))
    assert done.returncode == 0, done.stdout + done.stderr
    report = pkg.validate()
    assert not report.errors, [f.message for f in report.errors]
    after = digest(pkg.root)
    # every existing row is still there, byte for byte, in the files that grew
    for table in ("trials", "arms", "outcomes", "adverse_events", "sources"):
        old = {tuple(r.values()) for r in rows(Path(pkg.root / "data"), table)}
        assert len(old) > 0
    assert after != before
    fmt = run_cli("format", "--check", str(pkg.root), cwd=ROOT)
    assert fmt.returncode == 0, fmt.stdout  # canonical CSV form

    again = run(NCT, "--from-file", str(REAL), "--merge", "--path", str(pkg.root))
    assert again.returncode == 2 and "already has trial_id 'nct03064438'" in again.stdout
    assert digest(pkg.root) == after


def test_merge_keeps_existing_rows(real_record, pkg):
    original = {t: rows(pkg.root / "data", t) for t in ("arms", "outcomes", "sources", "ae_terms")}
    assert run(NCT, "--from-file", str(REAL), "--merge", "--path", str(pkg.root)).returncode == 0
    for table, old in original.items():
        new = rows(pkg.root / "data", table)
        assert all(r in new for r in old), table


def test_existing_trial_id_is_refused_by_name(real_record, pkg, tmp_path):
    done = run(NCT, "--from-file", str(REAL), "--merge", "--path", str(pkg.root), "--trial-id", "example-trial")
    assert done.returncode == 2 and "'example-trial'" in done.stdout


def test_merge_refuses_when_the_result_would_not_validate(real_record, pkg):
    pkg.set("arms", "example-trial/placebo", "n_randomized", "-3")  # the package is broken already
    before = digest(pkg.root)
    done = run(NCT, "--from-file", str(REAL), "--merge", "--path", str(pkg.root))
    assert done.returncode == 2 and "would not validate" in done.stdout and "nothing was written" in done.stdout
    assert digest(pkg.root) == before


# Small records for the edge cases ------------------------------------------------------------------

def record(**changes) -> dict:
    """A minimal API v2 record of a two-arm randomized trial with results."""
    groups = [{"id": "OG000", "title": "Abrocitinib 200 mg"}, {"id": "OG001", "title": "Placebo"}]
    r = {
        "hasResults": True,
        "protocolSection": {
            "identificationModule": {"nctId": "NCT09999999", "acronym": "TEST-AD", "officialTitle": "A test trial"},
            "statusModule": {"overallStatus": "COMPLETED", "lastUpdatePostDateStruct": {"date": "2024-05-01"},
                             "resultsFirstPostDateStruct": {"date": "2023-01-10"}},
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": "Sponsor"}},
            "conditionsModule": {"conditions": ["Atopic Dermatitis"]},
            "designModule": {"phases": ["PHASE3"], "designInfo": {"allocation": "RANDOMIZED"}},
            "armsInterventionsModule": {
                "armGroups": [
                    {"label": "Abrocitinib 200 mg", "type": "EXPERIMENTAL", "description": "abrocitinib 200 mg tablets once daily",
                     "interventionNames": ["Drug: Abrocitinib"]},
                    {"label": "Placebo", "type": "PLACEBO_COMPARATOR", "description": "placebo tablets once daily",
                     "interventionNames": ["Drug: Placebo"]}],
                "interventions": [{"type": "DRUG", "name": "Abrocitinib"}, {"type": "DRUG", "name": "Placebo"}]},
            "outcomesModule": {"primaryOutcomes": [{"measure": "EASI-75", "timeFrame": "Week 12"}]},
        },
        "resultsSection": {
            "participantFlowModule": {"groups": [{"id": "FG000", "title": "Abrocitinib 200 mg"}, {"id": "FG001", "title": "Placebo"}],
                                      "periods": [{"milestones": [{"type": "STARTED", "achievements": [
                                          {"groupId": "FG000", "numSubjects": "154"}, {"groupId": "FG001", "numSubjects": "77"}]}]}]},
            "outcomeMeasuresModule": {"outcomeMeasures": [{
                "type": "PRIMARY", "title": "Percentage of Participants Achieving EASI-75 at Week 12", "paramType": "NUMBER",
                "unitOfMeasure": "percentage of participants", "timeFrame": "Week 12",
                "populationDescription": "Full analysis set; non-responder imputation",
                "groups": groups,
                "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "153"}, {"groupId": "OG001", "value": "76"}]}],
                "classes": [{"categories": [{"measurements": [{"groupId": "OG000", "value": "62.7"}, {"groupId": "OG001", "value": "10.4"}]}]}]}]},
            "adverseEventsModule": {
                "timeFrame": "Baseline up to Week 16", "frequencyThreshold": "5",
                "eventGroups": [{"id": "EG000", "title": "Abrocitinib 200 mg", "seriousNumAffected": 5, "seriousNumAtRisk": 154},
                                {"id": "EG001", "title": "Placebo", "seriousNumAffected": 3, "seriousNumAtRisk": 77}],
                "seriousEvents": [{"term": "Pneumonia", "stats": [{"groupId": "EG000", "numAffected": 1, "numAtRisk": 154},
                                                                  {"groupId": "EG001", "numAffected": 0, "numAtRisk": 77}]}],
                "otherEvents": [{"term": "Nasopharyngitis", "stats": [{"groupId": "EG000", "numAffected": 14, "numAtRisk": 154},
                                                                      {"groupId": "EG001", "numAffected": 6, "numAtRisk": 77}]},
                                {"term": "Nausea", "stats": [{"groupId": "EG000", "numAffected": 22, "numAtRisk": 154}]}]},
        },
    }
    for path, value in changes.items():
        target = r
        *parents, last = path.split(".")
        for p in parents:
            target = target[p]
        if value is DELETE:
            target.pop(last)
        else:
            target[last] = value
    return r


DELETE = object()


def test_small_record_maps_without_guessing(pkg, tmp_path):
    d = scaffold.draft(record(), scaffold.open_package(pkg.root))
    arm = next(r for r in d.rows["arms"] if r["role"] == "experimental")
    assert (arm["drug_id"], arm["dose"], arm["dose_unit"], arm["frequency"], arm["route"]) == ("abrocitinib", "200", "mg", "QD", "oral")
    out = {r["outcome_id"]: r for r in d.rows["outcomes"]}
    easi = out["test-ad/abrocitinib-200-mg/easi-75/w12"]
    assert (easi["endpoint_id"], easi["percent"], easi["analysed"], easi["population"], easi["imputation"]) == (
        "easi-75", "62.7", "153", "FAS", "NRI")
    assert "endpoints" not in d.rows  # EASI-75 exists in the vocabulary
    ae = {(r["arm_id"].split("/")[-1], r["ae_term_id"]): r for r in d.rows["adverse_events"]}
    assert ae["abrocitinib-200-mg", "nasopharyngitis"]["participants_with_event"] == "14"  # mapped by MedDRA term
    assert ae["abrocitinib-200-mg", "nausea"]["participants_at_risk"] == "154"
    assert ae["abrocitinib-200-mg", "serious-ae"]["participants_with_event"] == "5"
    assert ae["placebo", "pneumonia-serious"]["participants_with_event"] == "0"  # serious table kept apart
    assert ae["placebo", "serious-ae"]["period_weeks"] == "16"
    assert {r["ae_term_id"] for r in d.rows["ae_terms"]} == {"pneumonia-serious"}
    trial, = d.rows["trials"]
    assert trial["indication_id"] == "atopic-dermatitis" and trial["n_randomized"] == "231"


def test_small_record_merged_validates(pkg, tmp_path):
    path = write(tmp_path, record())
    done = run("NCT09999999", "--from-file", str(path), "--merge", "--path", str(pkg.root))
    assert done.returncode == 0, done.stdout
    assert not pkg.validate().errors


def test_outcome_without_denominators_leaves_analysed_empty(pkg):
    r = record()
    r["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0].pop("denoms")
    d = scaffold.draft(r, scaffold.open_package(pkg.root))
    assert [o.get("analysed") for o in d.rows["outcomes"]] == [None, None]
    assert {o["percent"] for o in d.rows["outcomes"]} == {"62.7", "10.4"}


def test_groups_that_match_no_arm_are_not_drafted(pkg):
    r = record()
    r["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]["groups"][1]["title"] = "Placebo then abrocitinib"
    r["resultsSection"]["adverseEventsModule"]["eventGroups"][1]["title"] = "Placebo then abrocitinib"
    d = scaffold.draft(r, scaffold.open_package(pkg.root))
    assert {o["arm_id"] for o in d.rows["outcomes"]} == {"test-ad/abrocitinib-200-mg"}
    assert all(a["arm_id"] != "test-ad/placebo" for a in d.rows["adverse_events"])
    assert any("match no arm" in t for t in d.todo)


def test_ambiguous_dose_is_left_for_a_person(pkg):
    r = record()
    r["protocolSection"]["armsInterventionsModule"]["armGroups"][0]["description"] = "abrocitinib 100 mg or 200 mg once daily"
    d = scaffold.draft(r, scaffold.open_package(pkg.root))
    arm = next(a for a in d.rows["arms"] if a["role"] == "experimental")
    assert "dose" not in arm and any("dose ambiguous" in t for t in d.todo)


@pytest.mark.parametrize("change, message", [
    ({"hasResults": False}, "has no results posted"),
    ({"protocolSection.statusModule.overallStatus": "WITHDRAWN"}, "was withdrawn"),
    ({"resultsSection": DELETE}, "has no results posted"),
    ({"protocolSection.identificationModule.nctId": "NCT01234567"}, "the record is for NCT01234567"),
])
def test_records_that_cannot_be_drafted(pkg, tmp_path, change, message):
    path = write(tmp_path, record(**change))
    before = digest(pkg.root)
    done = run("NCT09999999", "--from-file", str(path), "--merge", "--path", str(pkg.root))
    assert done.returncode == 2 and message in done.stdout and len(done.stdout.strip().splitlines()) == 1
    assert digest(pkg.root) == before


@pytest.mark.parametrize("args, message", [
    (["NCT123"], "is not a ClinicalTrials.gov id"),
    (["nct09999999"], "is not a ClinicalTrials.gov id"),
    (["NCT09999999", "--from-file", "/nonexistent/record.json"], "no such file"),
])
def test_bad_ids_and_files(args, message, tmp_path):
    done = run(*args, "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and message in done.stdout
    assert not (tmp_path / "out").exists()


def test_not_a_v2_record(tmp_path):
    for name, body in (("a.json", b"{\"studies\": []}"), ("b.json", b"not json"), ("c.json", b"[" * 100000)):
        path = tmp_path / name
        path.write_bytes(body)
        done = run("NCT09999999", "--from-file", str(path), "--out", str(tmp_path / "out"))
        assert done.returncode == 2 and str(path) in done.stdout, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_out_refuses_a_non_empty_folder(tmp_path, pkg):
    path = write(tmp_path, record())
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = run("NCT09999999", "--from-file", str(path), "--out", str(out), "--path", str(pkg.root))
    assert done.returncode == 2 and "not an empty folder" in done.stdout
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


# The HTTP path, against a server on the loopback ----------------------------------------------------

class _Registry(http.server.BaseHTTPRequestHandler):
    records: ClassVar[dict] = {}

    def do_GET(self):
        nct = self.path.rstrip("/").rsplit("/", 1)[-1]
        if nct in self.records:
            body = json.dumps(self.records[nct]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    _Registry.records = {"NCT09999999": record()}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v2/studies/"
    server.shutdown()
    server.server_close()


def test_http_record(registry, tmp_path, pkg):
    done = run("NCT09999999", "--out", str(tmp_path / "out"), "--path", str(pkg.root), env={scaffold.API_ENV: registry})
    assert done.returncode == 0, done.stdout
    assert rows(tmp_path / "out", "trials")[0]["nct_id"] == "NCT09999999"


def test_http_unknown_id_and_offline(registry, tmp_path, pkg):
    done = run("NCT01111111", "--out", str(tmp_path / "out"), "--path", str(pkg.root), env={scaffold.API_ENV: registry})
    assert done.returncode == 2 and "has no record NCT01111111" in done.stdout
    closed = registry.rsplit(":", 1)[0] + ":9/"  # the discard port: nothing listens
    done = run("NCT09999999", "--out", str(tmp_path / "out"), "--path", str(pkg.root), env={scaffold.API_ENV: closed})
    assert done.returncode == 2 and "could not reach the registry" in done.stdout and "--from-file" in done.stdout
    assert not (tmp_path / "out").exists()


def test_record_is_not_changed_by_drafting(pkg):
    r = record()
    before = copy.deepcopy(r)
    scaffold.draft(r, scaffold.open_package(pkg.root))
    assert r == before
