"""`python -m jakderm scaffold NCT…`: draft a trial's rows from its ClinicalTrials.gov record.

The registry's API v2 record (read from the registry, or from a file) already holds a trial's
arms, participant flow, outcome measures with denominators and adverse events per group. This
module turns it into draft rows of the package's tables, mapping only what maps without a guess:

- arm roles from the arm-group type; a drug by its INN (or id) named in the arm's interventions;
  a dose, frequency or route only when the arm's text states exactly one;
- outcome measures that count participants, or give a percentage of participants, per group with
  a denominator: one outcome row per group and timepoint, `responders` or `percent` as posted
  (the registry's text, never recomputed) and `analysed` from the denominator;
- adverse events per group (serious and other tables, deaths and the serious-event totals), with
  the record's time frame as the period; MedDRA terms to `ae_terms` by their `meddra_pt`.

Everything else is left empty and listed for a person: the draft is a valid starting point to
check against the publication, not a finished curation. `--merge` adds the rows to the package
only if the package still validates with them, and never changes an existing row.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .descriptor import DescriptorError, load_package
from .formatting import canonical_text
from .report import Report
from .rows import read_rows
from .validation import validate_package

API = "https://clinicaltrials.gov/api/v2/studies/"
API_ENV = "JAKDERM_CTGOV_API"  # another base URL (a local server in tests)
TIMEOUT_S = 30
NCT = re.compile(r"^NCT[0-9]{8}$")
MAX_RECORD_BYTES = 64 * 1024 * 1024

ROLE = {"EXPERIMENTAL": "experimental", "ACTIVE_COMPARATOR": "active-comparator",
        "PLACEBO_COMPARATOR": "placebo", "SHAM_COMPARATOR": "placebo"}
PHASE = {("EARLY_PHASE1",): "1", ("PHASE1",): "1", ("PHASE2",): "2", ("PHASE3",): "3", ("PHASE4",): "4"}
FREQUENCY = {
    "QD": r"\b(once[- ]daily|once a day|qd|q\.d\.)\b",
    "BID": r"\b(twice[- ]daily|twice a day|bid|b\.i\.d\.)\b",
    "QW": r"\b(once[- ]weekly|once a week|every week|qw)\b",
    "Q2W": r"\b(every (2|two) weeks|every other week|q2w)\b",
    "Q4W": r"\b(every (4|four) weeks|q4w)\b",
}
ROUTE = {
    "topical": r"\b(cream|ointment|topical|topically|gel|lotion|foam)\b",
    "oral": r"\b(tablets?|capsules?|oral|orally|by mouth)\b",
    "subcutaneous": r"\b(subcutaneous|subcutaneously|s\.c\.|injections?)\b",
}
DOSE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mg/kg|mg|%)(?![\w/])", re.I)
WEEK = re.compile(r"\bweeks?\s*(\d+)\b", re.I)
POPULATION = [("mITT", r"\b(mitt|modified intent(ion)?[- ]to[- ]treat)\b"), ("FAS", r"\b(fas|full analysis set)\b"),
              ("PP", r"\b(per[- ]protocol)\b"), ("ITT", r"\b(itt|intent(ion)?[- ]to[- ]treat)\b")]
IMPUTATION = [("NRI-C", r"\bnri-c\b"), ("NRI", r"\b(nri|non-?responder imputation)\b"),
              ("LOCF", r"\b(locf|last observation carried forward)\b"), ("MI", r"\bmultiple imputation\b"),
              ("OC", r"\b(observed cases?|as observed)\b")]
PERCENT_UNIT = re.compile(r"percent(age)? of (participants|subjects|patients)", re.I)


class ScaffoldError(Exception):
    """One clear line for the person at the keyboard; nothing has been written."""


@dataclass
class Draft:
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    nct: str = ""
    todo: list[str] = field(default_factory=list)
    publications: list[str] = field(default_factory=list)

    def add(self, table: str, row: dict[str, str]) -> None:
        self.rows.setdefault(table, []).append(row)


# Reading the record ----------------------------------------------------------------------------

def check_id(nct_id: str) -> str:
    if not NCT.match(nct_id or ""):
        raise ScaffoldError(f"{nct_id!r} is not a ClinicalTrials.gov id: NCT followed by 8 digits, e.g. NCT03349060")
    return nct_id


def fetch_record(nct_id: str, timeout: float = TIMEOUT_S) -> dict:
    """One HTTPS request to the registry's API v2."""
    url = os.environ.get(API_ENV, API).rstrip("/") + "/" + nct_id
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "jakderm-scaffold"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_RECORD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise ScaffoldError(f"the registry has no record {nct_id} ({url} answered 404)") from None
        raise ScaffoldError(f"the registry answered {exc.code} for {url}; try again later, or use --from-file") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ScaffoldError(f"could not reach the registry at {url} ({reason}); offline? "
                            f"Save the record and use --from-file RECORD.json") from None
    return _parse(body, url)


def read_record_file(path: str | Path) -> dict:
    p = Path(path)
    try:
        if not p.is_file():
            raise ScaffoldError(f"{p}: no such file (or not a regular file)")
        if p.stat().st_size > MAX_RECORD_BYTES:
            raise ScaffoldError(f"{p}: {p.stat().st_size} bytes is larger than a registry record can be")
        body = p.read_bytes()
    except OSError as exc:
        raise ScaffoldError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    return _parse(body, str(p))


def _parse(body: bytes, where: str) -> dict:
    if len(body) > MAX_RECORD_BYTES:
        raise ScaffoldError(f"{where}: larger than a registry record can be")
    try:
        record = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ScaffoldError(f"{where}: not a JSON document ({type(exc).__name__})") from None
    if not isinstance(record, dict) or not isinstance(record.get("protocolSection"), dict):
        raise ScaffoldError(f"{where}: not a ClinicalTrials.gov API v2 study record (no protocolSection)")
    return record


def check_record(record: dict, nct_id: str) -> None:
    ident = _get(record, "protocolSection", "identificationModule") or {}
    found = ident.get("nctId")
    if found != nct_id:
        raise ScaffoldError(f"the record is for {found or 'no NCT id'}, not {nct_id}")
    status = _get(record, "protocolSection", "statusModule", "overallStatus")
    if status == "WITHDRAWN":
        raise ScaffoldError(f"{nct_id} was withdrawn before enrolling anyone: there is no trial to draft")
    if not record.get("hasResults") or not isinstance(record.get("resultsSection"), dict):
        raise ScaffoldError(f"{nct_id} has no results posted on the registry: nothing to draft from; "
                            f"curate it from its publication instead")


def _get(obj, *keys):
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _list(obj, *keys) -> list:
    value = _get(obj, *keys)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# Mapping helpers -------------------------------------------------------------------------------

def slug(text: str, limit: int = 48) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    s = s[:limit].rstrip("-")
    return s or "x"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _one(patterns: dict[str, str], text: str) -> str | None:
    found = [key for key, pattern in patterns.items() if re.search(pattern, text, re.I)]
    return found[0] if len(found) == 1 else None


def _first(patterns: list[tuple[str, str]], text: str) -> str | None:
    for value, pattern in patterns:
        if re.search(pattern, text, re.I):
            return value
    return None


def weeks(text: str) -> int | None:
    """The last week a time frame names ("Baseline, Week 12" → 12); None when it names none."""
    found = WEEK.findall(text or "")
    return int(found[-1]) if found else None


def _group_key(title: str) -> str:
    return _norm(title or "")


def _number(text) -> str | None:
    """A posted value as the registry prints it, when it is a plain number."""
    if text is None:
        return None
    s = str(text).strip()
    return s if re.fullmatch(r"-?\d+(\.\d+)?", s) else None


# The package, as far as the draft needs it --------------------------------------------------------

@dataclass
class Package:
    root: Path
    resources: dict
    rows: dict[str, list[dict[str, str]]]

    def ids(self, table: str) -> set[str]:
        key = self.resources[table].primary_key
        return {"|".join(r.get(k, "") for k in key) for r in self.rows.get(table, [])}


def open_package(path: str | Path) -> Package:
    report = Report()
    try:
        package = load_package(Path(path), report)
    except DescriptorError as exc:
        raise ScaffoldError(f"{Path(path) / 'datapackage.json'}: {exc}") from None
    try:
        rows = read_rows(package)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScaffoldError(f"a table of the package cannot be read ({exc})") from None
    return Package(package.root, package.resources, rows)


# Drafting --------------------------------------------------------------------------------------

def draft(record: dict, package: Package, trial_id: str | None = None, read_via: str = "") -> Draft:
    d = Draft(nct=record["protocolSection"]["identificationModule"]["nctId"])
    proto = record["protocolSection"]
    results = record["resultsSection"]
    ident = proto.get("identificationModule") or {}
    nct = ident["nctId"]
    trial_id = trial_id or (slug(ident["acronym"]) if ident.get("acronym") else nct.lower())
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", trial_id):
        raise ScaffoldError(f"--trial-id {trial_id!r}: ids are lower-case kebab-case, e.g. jade-mono-1")
    source_id = f"{nct.lower()}-ctgov"
    registry = "ClinicalTrials.gov results"

    # sources, trial_sources
    status = proto.get("statusModule") or {}
    sponsor = _get(proto, "sponsorCollaboratorsModule", "leadSponsor", "name") or _get(ident, "organization", "fullName")
    title = ident.get("officialTitle") or ident.get("briefTitle") or nct
    posted = _get(status, "resultsFirstPostDateStruct", "date") or ""
    updated = _get(status, "lastUpdatePostDateStruct", "date") or ""
    if source_id not in package.ids("sources"):
        d.add("sources", {
            "source_id": source_id, "source_type": "registry-results",
            "citation": f"{sponsor.rstrip('.') + '. ' if sponsor else ''}{title}. ClinicalTrials.gov {nct}, results"
                        + (f" first posted {posted}" if posted else "") + ".",
            "year": posted[:4], "url": f"https://clinicaltrials.gov/study/{nct}",
            "read_via": read_via, "accessed": updated if re.fullmatch(r"\d{4}-\d{2}-\d{2}", updated) else "",
            "note": "Drafted by `python -m jakderm scaffold` from the registry's API v2 record"
                    + (f" (last updated {updated})" if updated else "") + "; check against the record.",
        })
    for ref in _list(proto, "referencesModule", "references"):
        if ref.get("type") in ("RESULT", "DERIVED") and ref.get("citation"):
            d.publications.append(f"{ref['citation']}" + (f" (PMID {ref['pmid']})" if ref.get("pmid") else ""))

    # indication
    conditions = [c for c in (_get(proto, "conditionsModule", "conditions") or []) if isinstance(c, str)]
    indication_id = _indication(conditions, package, d)

    # trial
    design_info = _get(proto, "designModule", "designInfo") or {}
    arm_groups = _list(proto, "armsInterventionsModule", "armGroups")
    randomized = design_info.get("allocation") == "RANDOMIZED"
    if not randomized and len(arm_groups) != 1:
        raise ScaffoldError(f"{nct} is a non-randomized study with {len(arm_groups)} arms: the data model has "
                            "no design for it (randomized, single-arm, case series, case report)")
    phases = tuple(_get(proto, "designModule", "phases") or ())
    phase = PHASE.get(phases, "")
    if phases and not phase:
        d.todo.append(f"trials: phase {'/'.join(phases)} has no single value in the vocabulary: set `phase` by hand")
    if trial_id in package.ids("trials"):
        raise ScaffoldError(f"trials.csv already has trial_id {trial_id!r}: choose another with --trial-id")

    # arms, matched to the result groups by title
    interventions = _list(proto, "armsInterventionsModule", "interventions")
    flow = _flow_started(results)
    arms: dict[str, str] = {}  # group title key -> arm_id
    arm_n: dict[str, int] = {}
    for group in arm_groups:
        label = group.get("label") or ""
        arm_id = f"{trial_id}/{slug(label)}"
        if arm_id in arms.values() or arm_id in package.ids("arms"):
            raise ScaffoldError(f"two arms would both be {arm_id!r}: their labels differ only in punctuation")
        row = _arm(group, interventions, package, d, trial_id, arm_id, source_id)
        n = flow.get(_group_key(label))
        if n is not None:
            row["n_randomized" if randomized else "n_enrolled"] = str(n)
            row["locator"] = f"{registry}: Participant Flow (STARTED)"
            arm_n[arm_id] = n
        else:
            row["locator"] = "ClinicalTrials.gov record: Arms and Interventions"
            if randomized:
                row["rule_exception"] = "randomized-arm-has-n"
                row["note"] = _join(row.get("note"), "No participant-flow group of the record matches this arm's "
                                    "title: n_randomized left for a person.")
                d.todo.append(f"arms: {arm_id}: no participant-flow count matched; fill n_randomized")
        arms[_group_key(label)] = arm_id
        d.add("arms", row)
    unmatched = [t for t in flow if t not in arms]
    if unmatched:
        d.todo.append(f"participant flow: {len(unmatched)} group(s) match no arm by title; their counts are not drafted")

    total = sum(arm_n.values()) if len(arm_n) == len(arm_groups) and arm_groups else None
    primary: dict = next((m for m in _list(proto, "outcomesModule", "primaryOutcomes")), {})
    primary_week = weeks(primary.get("timeFrame", ""))
    trial = {
        "trial_id": trial_id, "acronym": ident.get("acronym") or "", "title": title, "nct_id": nct,
        "design": "randomized" if randomized else "single-arm", "phase": phase, "indication_id": indication_id,
        "primary_timepoint_weeks": str(primary_week or ""), "source_id": source_id,
        "locator": "ClinicalTrials.gov record: Design; Outcome Measures; Participant Flow (STARTED)",
    }
    notes = [f"Drafted by `python -m jakderm scaffold` from the ClinicalTrials.gov record of {nct}."]
    if total is not None:
        trial["n_randomized" if randomized else "n_enrolled"] = str(total)
        notes.append("The size is the sum of the participant flow's STARTED counts: check it against the "
                     "publication's randomized (or enrolled) count.")
    if randomized:
        trial["rule_exception"] = "design-fields"
        notes.append("randomized_period_weeks left empty: the record does not state the length of the randomized, "
                     "controlled period.")
        d.todo.append("trials: randomized_period_weeks (the length of the controlled period) from the publication")
    trial["note"] = " ".join(notes)
    d.add("trials", trial)
    d.add("trial_sources", {"trial_id": trial_id, "source_id": source_id, "role": "registry",
                            "note": "Results read from the registry's API v2 record."})

    _outcomes(results, arms, arm_n, package, d, source_id)
    _adverse_events(results, arms, package, d, source_id)
    return d


def _join(*parts) -> str:
    return " ".join(p for p in parts if p)


def _indication(conditions: list[str], package: Package, d: Draft) -> str:
    known = {}
    for r in package.rows.get("indications", []):
        known[_norm(r["indication_id"])] = r["indication_id"]
        known[_norm(r.get("name", ""))] = r["indication_id"]
    for c in conditions:
        if _norm(c) in known:
            return known[_norm(c)]
    name = conditions[0] if conditions else "Unstated condition"
    new_id = slug(name)
    if new_id not in {r["indication_id"] for r in d.rows.get("indications", [])}:
        d.add("indications", {"indication_id": new_id, "name": name,
                              "note": "Drafted from the registry's condition list"
                                      + (f" ({'; '.join(conditions)})" if len(conditions) > 1 else "")
                                      + ": map it to an existing indication or keep it."})
        d.todo.append(f"indications: {new_id!r} drafted from the condition {name!r}: map or keep")
    return new_id


def _flow_started(results: dict) -> dict[str, int]:
    """Per participant-flow group (by title): the first period's STARTED count."""
    flow = results.get("participantFlowModule") or {}
    titles = {g.get("id"): g.get("title", "") for g in _list(flow, "groups")}
    periods = _list(flow, "periods")
    if not periods:
        return {}
    out = {}
    for milestone in _list(periods[0], "milestones"):
        if milestone.get("type") == "STARTED":
            for a in _list(milestone, "achievements"):
                n = _number(a.get("numSubjects"))
                if n is not None and "." not in n and a.get("groupId") in titles:
                    out[_group_key(titles[a["groupId"]])] = int(n)
    return out


def _arm(group, interventions, package, d, trial_id, arm_id, source_id) -> dict[str, str]:
    label = group.get("label") or ""
    text = " ".join([label, group.get("description") or ""])
    names = [n.split(":", 1)[-1].strip() for n in group.get("interventionNames") or [] if isinstance(n, str)]
    linked = [i for i in interventions if i.get("name") in names or label in (i.get("armGroupLabels") or [])]
    itext = " ".join(" ".join([i.get("name") or "", i.get("description") or "", *(i.get("otherNames") or [])])
                     for i in linked)
    role = ROLE.get(group.get("type") or "")
    notes = []
    if role == "placebo" and re.search(r"\bvehicle\b", text + " " + itext, re.I):
        role = "vehicle"
    if role is None:
        role = "experimental"
        notes.append(f"Arm type {group.get('type') or 'unstated'} in the registry: role set to experimental; check.")
        d.todo.append(f"arms: {arm_id}: registry arm type {group.get('type')!r}; confirm the role")
    row = {"arm_id": arm_id, "trial_id": trial_id, "label": label, "role": role, "source_id": source_id}
    if role not in ("placebo", "vehicle"):
        drug = _drug(linked, package, d, arm_id)
        if drug:
            row["drug_id"] = drug
        doses = {(float(v), u.lower()) for v, u in DOSE.findall(text)}
        if len(doses) == 1:
            value, unit = doses.pop()
            row["dose"] = f"{value:g}"
            row["dose_unit"] = unit
        else:
            d.todo.append(f"arms: {arm_id}: dose " + ("not stated" if not doses else "ambiguous") + " in the arm's text")
            notes.append("Dose not drafted: the registry's arm text states " + ("none." if not doses else "several."))
        frequency = _one(FREQUENCY, text)
        if frequency:
            row["frequency"] = frequency
        else:
            d.todo.append(f"arms: {arm_id}: frequency not stated unambiguously")
    route = _one(ROUTE, text + " " + itext)
    if route:
        row["route"] = route
    row["note"] = _join(*notes, "Drafted from the registry's arm group; check against the publication.")
    return row


def _drug(linked, package, d, arm_id) -> str | None:
    drugs = package.rows.get("drugs", [])
    found = set()
    drafted = []
    for i in linked:
        words = " ".join([i.get("name") or "", *(i.get("otherNames") or [])])
        if re.search(r"\b(placebo|vehicle)\b", i.get("name") or "", re.I):
            continue
        hit = {r["drug_id"] for r in drugs
               if re.search(rf"\b{re.escape(r['inn'])}\b", words, re.I) or re.search(rf"\b{re.escape(r['drug_id'])}\b", words, re.I)}
        hit |= {r["drug_id"] for r in d.rows.get("drugs", [])
                if re.search(rf"\b{re.escape(r['inn'])}\b", words, re.I)}
        if hit:
            found |= hit
        elif i.get("type") in ("DRUG", "BIOLOGICAL", "COMBINATION_PRODUCT"):
            drafted.append(i.get("name") or "")
    if len(found) == 1 and not drafted:
        return found.pop()
    if not found and len(drafted) == 1:
        name = drafted[0]
        drug_id = slug(name)
        if drug_id in {r["drug_id"] for r in drugs}:
            return drug_id
        if drug_id not in {r["drug_id"] for r in d.rows.get("drugs", [])}:
            d.add("drugs", {"drug_id": drug_id, "inn": name, "drug_class": "other",
                            "note": f"Drafted from the registry's intervention {name!r}: give the INN and the class."})
            d.todo.append(f"drugs: {drug_id!r} drafted from the intervention {name!r}: INN and drug_class")
        return drug_id
    d.todo.append(f"arms: {arm_id}: drug not mapped ({'several' if found or len(drafted) > 1 else 'no'} candidates)")
    return None


def _endpoint(measure: dict, k: int, package: Package, d: Draft) -> str:
    """An existing endpoint whose label (instrument and threshold) the title names, alone; else a draft."""
    title = measure.get("title") or ""
    norm = _norm(title)
    hits = []
    for r in package.rows.get("endpoints", []):
        label = _norm(r.get("label", ""))
        if label and any(ch.isdigit() for ch in label):
            at = norm.find(label)
            if at >= 0 and not norm[at + len(label):at + len(label) + 1].isdigit():
                hits.append(r["endpoint_id"])
    if len(hits) == 1:
        return hits[0]
    short = re.sub(r"^(percentage|number|proportion|percent) of (participants|subjects|patients) "
                   r"(who (were|are|have|had|achieved)|with|achieving|who)\s+", "", title, flags=re.I)
    endpoint_id = f"{d.nct.lower()}-om{k}-{slug(short, 32).rsplit('-', 1)[0] if len(slug(short)) > 32 else slug(short)}"
    d.add("endpoints", {"endpoint_id": endpoint_id, "label": title[:120],
                        "definition": (measure.get("description") or title).replace("\r", " ").replace("\n", " ")[:2000]
                                      + " (Drafted from the registry's outcome measure: map it to an existing endpoint "
                                        "or give it a proper id, instrument and threshold.)"})
    d.todo.append(f"endpoints: {endpoint_id!r} drafted from Outcome Measure {k} ({title[:70]})")
    return endpoint_id


def _outcomes(results, arms, arm_n, package, d, source_id) -> None:
    seen = set()
    for k, m in enumerate(_list(results, "outcomeMeasuresModule", "outcomeMeasures"), start=1):
        count = m.get("paramType") == "COUNT_OF_PARTICIPANTS"
        percent = m.get("paramType") == "NUMBER" and PERCENT_UNIT.search(m.get("unitOfMeasure") or "")
        if not (count or percent):
            continue
        classes = _list(m, "classes")
        if any(len(_list(c, "categories")) != 1 for c in classes) or not classes:
            d.todo.append(f"outcomes: Outcome Measure {k} has several categories per group ({(m.get('title') or '')[:60]}): "
                          "not drafted")
            continue
        groups = {g.get("id"): arms.get(_group_key(g.get("title", ""))) for g in _list(m, "groups")}
        if not any(groups.values()):
            d.todo.append(f"outcomes: Outcome Measure {k}: its groups match no arm by title; not drafted")
            continue
        endpoint = _endpoint(m, k, package, d)
        kind = (m.get("type") or "").lower().replace("_", "-")
        text = " ".join([m.get("populationDescription") or "", m.get("description") or ""])
        population = _first(POPULATION, text)
        imputation = _first(IMPUTATION, text) or "as-reported"
        measure_denoms = _denoms(m)
        for c in classes:
            week = weeks(c.get("title") or "") if c.get("title") else weeks(m.get("timeFrame") or "")
            denoms = _denoms(c) or measure_denoms
            for meas in _list(c["categories"][0], "measurements"):
                arm_id = groups.get(meas.get("groupId"))
                value = _number(meas.get("value"))
                if arm_id is None or value is None:
                    continue
                row = {"arm_id": arm_id, "endpoint_id": endpoint, "source_id": source_id,
                       "population": population or "", "imputation": imputation,
                       "locator": f"ClinicalTrials.gov results: Outcome Measure {k} ({kind})"}
                if week:
                    row["timepoint_weeks"] = str(week)
                else:
                    row["timepoint_text"] = (c.get("title") or m.get("timeFrame") or "as posted")[:200]
                if count:
                    row["responders"] = value
                else:
                    row["percent"] = value
                if meas.get("groupId") in denoms:
                    row["analysed"] = denoms[meas["groupId"]]
                estimand = (arm_id, endpoint, row.get("timepoint_weeks"), row.get("timepoint_text"), population, imputation)
                if estimand in seen:
                    d.todo.append(f"outcomes: Outcome Measure {k}: a second figure for {arm_id} / {endpoint} at the same "
                                  "timepoint; not drafted")
                    continue
                seen.add(estimand)
                exceptions = []
                if row.get("analysed") and arm_n.get(arm_id) is not None and int(row["analysed"]) > arm_n[arm_id]:
                    exceptions.append("analysed-within-arm")
                row["outcome_id"] = f"{arm_id}/{endpoint}/" + (f"w{week}" if week else f"om{k}")
                row["note"] = _join(f"Registry outcome measure: {(m.get('title') or '')[:200]}.",
                                    f"Population as the registry describes it: {(m.get('populationDescription') or 'not stated')[:300]}"
                                    + ("" if population else " (no population label mapped)."),
                                    "analysed is the registry's count of participants analysed." if row.get("analysed") else "")
                if exceptions:
                    row["rule_exception"] = exceptions[0]
                    row["note"] += " The registry's analysed count exceeds the arm's STARTED count: check."
                d.add("outcomes", row)


def _denoms(obj) -> dict[str, str]:
    out = {}
    for den in _list(obj, "denoms"):
        if (den.get("units") or "").lower() in ("participants", "subjects", "patients"):
            for c in _list(den, "counts"):
                n = _number(c.get("value"))
                if n is not None and "." not in n:
                    out[c.get("groupId")] = n
    return out


def _adverse_events(results, arms, package, d, source_id) -> None:
    ae = results.get("adverseEventsModule") or {}
    groups = {g.get("id"): arms.get(_group_key(g.get("title", ""))) for g in _list(ae, "eventGroups")}
    if not groups:
        return
    frame = ae.get("timeFrame") or ""
    period = weeks(frame)
    terms = {}
    for r in package.rows.get("ae_terms", []):
        if r.get("meddra_pt"):
            terms[_norm(r["meddra_pt"])] = r["ae_term_id"]
    base = {"source_id": source_id, "period_text": f"ClinicalTrials.gov AE time frame: {frame}"[:300] if frame else "",
            "period_weeks": ""}
    # period_weeks only where the time frame is one number of weeks from baseline ("Baseline to Week 14")
    if period and re.fullmatch(r"(baseline\s*(to|up to|through)\s*)?week\s*\d+", frame.strip(), re.I):
        base["period_weeks"] = str(period)

    def add(arm_id, term, affected, at_risk, locator, note=""):
        row = {**base, "arm_id": arm_id, "ae_term_id": term, "locator": locator,
               "adverse_event_id": f"{arm_id}/{term}/ctgov-period",
               "participants_with_event": affected, "participants_at_risk": at_risk,
               "note": _join("The registry's whole adverse-event reporting period, not a fixed-week window.", note)}
        d.add("adverse_events", row)

    for g in _list(ae, "eventGroups"):
        arm_id = groups.get(g.get("id"))
        if not arm_id:
            continue
        for term, key in (("serious-ae", "serious"), ("death", "deaths")):
            affected, at_risk = _number(g.get(f"{key}NumAffected")), _number(g.get(f"{key}NumAtRisk"))
            if affected is not None:
                add(arm_id, term, affected, at_risk or "",
                    "ClinicalTrials.gov results: Adverse Events (" + ("serious, total" if key == "serious" else "all-cause mortality") + ")")
    if any(not v for v in groups.values()):
        d.todo.append("adverse_events: some event groups match no arm by title; their counts are not drafted")
    unmapped = {}
    for table, label in (("seriousEvents", "serious"), ("otherEvents", "other")):
        for event in _list(ae, table):
            name = event.get("term") or ""
            found = terms.get(_norm(name))
            if found is None:
                term = slug(name) + ("-serious" if label == "serious" else "")
                unmapped[term] = (name, label)
            elif label == "serious":
                term = f"{found}-serious"
                unmapped[term] = (name, label)
            else:
                term = found
            for s in _list(event, "stats"):
                arm_id = groups.get(s.get("groupId"))
                affected = _number(s.get("numAffected"))
                if arm_id and affected is not None:
                    add(arm_id, term, affected, _number(s.get("numAtRisk")) or "",
                        f"ClinicalTrials.gov results: Adverse Events ({label}): {name}"[:200],
                        "Counted in the registry's " + ("serious" if label == "serious" else
                        f"other (non-serious; frequency threshold {ae.get('frequencyThreshold', '?')}%)") + " events table.")
    known = {r["ae_term_id"] for r in package.rows.get("ae_terms", [])}
    for term, (name, label) in sorted(unmapped.items()):
        if term in known:
            continue
        d.add("ae_terms", {"ae_term_id": term, "label": name + (" (serious)" if label == "serious" else ""),
                           "meddra_pt": name,
                           "definition": f"{name} as reported in a registry's {label} adverse-events table (MedDRA term). "
                                         "Drafted from the registry: map it to an existing term or keep it."})
    if unmapped:
        d.todo.append(f"ae_terms: {len(unmapped)} MedDRA term(s) of the record have no ae_terms row; drafted: "
                      + ", ".join(sorted(unmapped)[:12]) + (" …" if len(unmapped) > 12 else ""))


# Writing ---------------------------------------------------------------------------------------

def _texts(d: Draft, package: Package, with_existing: bool) -> dict[str, str]:
    """The canonical CSV text of each table the draft adds to (with the package's rows, or alone)."""
    out = {}
    for table, rows in d.rows.items():
        res = package.resources[table]
        header = res.field_names
        taken = package.ids(table)
        for r in rows:
            key = "|".join(r.get(k, "") for k in res.primary_key)
            if with_existing and key in taken:
                raise ScaffoldError(f"{res.path}: {'/'.join(res.primary_key)} {key!r} exists already; the draft "
                                    "never changes an existing row (use --trial-id for another id)")
            taken.add(key)
            unknown = set(r) - set(header)
            if unknown:
                raise ScaffoldError(f"{res.path}: the package's schema has no column {sorted(unknown)[0]!r}")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        existing = package.rows.get(table, []) if with_existing else []
        w.writerow(header)
        for r in [*existing, *rows]:
            w.writerow([r.get(h) or "" for h in header])
        out[table] = canonical_text(buf.getvalue(), res)
    return out


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_out(d: Draft, package: Package, out: str | Path) -> list[Path]:
    """The drafted rows alone, one canonical CSV per table, into a new (or empty) folder."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ScaffoldError(f"{out}: exists and is not an empty folder; name a new one")
    texts = _texts(d, package, with_existing=False)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ScaffoldError(f"{parent}: no such folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for table, text in texts.items():
            (tmp / f"{table}.csv").write_text(text, encoding="utf-8", newline="")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ScaffoldError(f"{out}: cannot be written ({exc.strerror or exc})") from None
    return [out / f"{t}.csv" for t in texts]


def merge(d: Draft, package: Package) -> list[str]:
    """Add the draft to the package: validated on a copy first, then each file replaced atomically."""
    texts = _texts(d, package, with_existing=True)
    with tempfile.TemporaryDirectory(prefix="jakderm-scaffold-") as tmp:
        copy = Path(tmp)
        for name in ("datapackage.json", "CITATION.cff", "LICENSE"):  # what the attribution checks read
            if (package.root / name).is_file():
                shutil.copy2(package.root / name, copy / name)
        for res in package.resources.values():
            for rel in filter(None, [res.path, getattr(res, "schema_path", None)]):
                src, dst = package.root / rel, copy / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                if src.is_file():
                    shutil.copy2(src, dst)
        for table, text in texts.items():
            (copy / package.resources[table].path).write_text(text, encoding="utf-8", newline="")
        report = validate_package(copy)
        if report.errors:
            first = "; ".join(f"{e.file}:{e.line or ''} {e.column or ''} [{e.rule}] {e.message}" for e in report.errors[:3])
            raise ScaffoldError(f"the package would not validate with the draft ({len(report.errors)} error(s): {first}); "
                                "nothing was written — use --out to look at the draft")
    for table, text in texts.items():
        _write_atomic(package.root / package.resources[table].path, text)
    return [package.resources[t].path for t in texts]


def summary(d: Draft, nct: str) -> str:
    lines = [f"Drafted from {nct}:"]
    for table in sorted(d.rows):
        lines.append(f"  {table:<16}{len(d.rows[table]):>5} row(s)")
    lines.append("Needs a person:" if d.todo else "Needs a person: nothing flagged (still check the figures).")
    lines += [f"  - {t}" for t in d.todo]
    lines.append("Check the draft against the publication (arm sizes, the primary endpoint's population and "
                 "imputation, the timepoint):")
    lines += [f"  - {p}" for p in d.publications] or ["  - the record names no publication: find it (PubMed, the sponsor)"]
    return "\n".join(lines)


def run(nct_id: str, from_file: str | None, out: str | None, do_merge: bool, path: str = ".",
        trial_id: str | None = None, read_via: str = "") -> int:
    try:
        check_id(nct_id)
        package = open_package(path)
        record = read_record_file(from_file) if from_file else fetch_record(nct_id)
        check_record(record, nct_id)
        d = draft(record, package, trial_id=trial_id, read_via=read_via)
        if out:
            action = f"wrote {len(write_out(d, package, out))} file(s) to {out}"
        elif do_merge:
            action = "merged into " + ", ".join(merge(d, package)) + "; run `python validate.py`"
        else:
            action = "nothing written (give --out DIR or --merge)"
    except ScaffoldError as exc:
        print(f"scaffold: {exc}")
        return 2
    print(summary(d, nct_id))
    print(action)
    return 0
