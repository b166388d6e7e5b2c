"""Reading datapackage.json and the Table Schemas it names: the one source of truth for every field."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .report import Report


class DescriptorError(Exception):
    """datapackage.json is missing or is not JSON: nothing else can be checked (exit 2)."""


@dataclass
class Field:
    name: str
    type: str
    description: str
    constraints: dict

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    @property
    def enum(self) -> list | None:
        return self.constraints.get("enum")


@dataclass
class Resource:
    name: str
    path: str  # repository-relative, as datapackage.json gives it
    schema_path: str
    fields: list[Field]
    primary_key: list[str]
    foreign_keys: list[dict]
    descriptor: dict

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass
class Package:
    root: Path
    descriptor: dict
    resources: dict[str, Resource]


def read_json(path: Path, shown: str) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DescriptorError(f"{shown}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DescriptorError(f"{shown}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DescriptorError(f"{shown}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DescriptorError(f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise DescriptorError(f"{shown}: must hold a JSON object")
    return data


def load_package(root: Path, report: Report | None = None) -> Package:
    """Read the descriptor and every schema; problems with a schema are findings, not crashes."""
    root = Path(root)
    if root.is_file():
        root = root.parent
    descriptor = read_json(root / "datapackage.json", "datapackage.json")
    report = report if report is not None else Report()
    resources: dict[str, Resource] = {}
    raw = descriptor.get("resources")
    if not isinstance(raw, list):
        raise DescriptorError("datapackage.json: has no \"resources\" list")
    for i, res in enumerate(raw):
        name = res.get("name") if isinstance(res, dict) else None
        if not name or not isinstance(res.get("path"), str):
            report.add("datapackage.json", None, None, None, "descriptor",
                       f"resources[{i}] needs a \"name\" and a \"path\"")
            continue
        schema = res.get("schema")
        schema_path = schema if isinstance(schema, str) else None
        if schema_path is None:
            report.add("datapackage.json", None, None, name, "descriptor",
                       f"resource {name!r} must name its Table Schema file under schemas/ in \"schema\"")
            continue
        try:
            sd = read_json(root / schema_path, schema_path)
        except DescriptorError as exc:
            report.add(schema_path, None, None, None, "schema-missing" if "not found" in str(exc) else "schema-invalid",
                       f"{exc} (named by resource {name!r} in datapackage.json); the table {res['path']} is not checked")
            continue
        fields = [Field(f.get("name"), f.get("type", "string"), f.get("description", ""), f.get("constraints", {}))
                  for f in sd.get("fields", [])]
        pk = sd.get("primaryKey", [])
        pk = [pk] if isinstance(pk, str) else list(pk)
        fks = []
        for fk in sd.get("foreignKeys", []):
            fields_ = fk["fields"] if isinstance(fk["fields"], list) else [fk["fields"]]
            ref = fk["reference"]
            ref_fields = ref["fields"] if isinstance(ref["fields"], list) else [ref["fields"]]
            fks.append({"fields": fields_, "resource": ref.get("resource") or name, "ref_fields": ref_fields})
        if _schema_is_sound(name, schema_path, fields, pk, fks, report):
            resources[name] = Resource(name, res["path"], schema_path, fields, pk, fks, res)
    named = {r.get("name") for r in raw if isinstance(r, dict)}
    for name, res in resources.items():
        for fk in res.foreign_keys:
            target = resources.get(fk["resource"])
            if target is None and fk["resource"] in named:
                continue  # that resource's own schema is reported already
            if target is None or any(f not in target.field_names for f in fk["ref_fields"]):
                report.add(res.schema_path, None, fk["fields"][0], fk["resource"], "schema-invalid",
                           f"foreign key ({', '.join(fk['fields'])}) points to {fk['resource']}."
                           f"{'/'.join(fk['ref_fields'])}, which the package does not have")
    return Package(root, descriptor, resources)


# The Table Schema types this package uses and its checks understand.
KNOWN_TYPES = {"string", "integer", "number", "date", "boolean"}


def _schema_is_sound(name, schema_path, fields, pk, fks, report: Report) -> bool:
    """A schema the checks can trust; each flaw is a finding of the schema file (the table is
    then not checked, rather than checked against a schema that means something else)."""
    names = [f.name for f in fields]
    problems = []
    if not fields or any(not isinstance(n, str) or not n for n in names):
        problems.append((None, "every field needs a name"))
    for f in fields:
        if f.type not in KNOWN_TYPES:
            problems.append((f.name, f"field {f.name!r} has type {f.type!r}; the package uses "
                                     f"{', '.join(sorted(KNOWN_TYPES))}"))
    if len(set(names)) != len(names):
        problems.append((None, "two fields share a name"))
    for k in pk:
        if k not in names:
            problems.append((k, f"primaryKey names {k!r}, which is not a field"))
    for fk in fks:
        for k in fk["fields"]:
            if k not in names:
                problems.append((k, f"a foreign key names {k!r}, which is not a field"))
    for column, message in problems:
        report.add(schema_path, None, column, None, "schema-invalid",
                   f"{message} (resource {name!r}; the table is not checked until the schema is mended)")
    return not problems
