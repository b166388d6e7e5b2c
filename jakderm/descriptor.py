"""Reading datapackage.json and the Table Schemas it names: the one source of truth for every field."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .files import Unreadable, inside, read_bytes
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
        text = read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        raise DescriptorError(f"{shown}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DescriptorError(f"{shown}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (Unreadable, OSError) as exc:
        raise DescriptorError(f"{shown}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DescriptorError(f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise DescriptorError(f"{shown}: JSON nested too deeply to be a descriptor or a schema") from None
    if not isinstance(data, dict):
        raise DescriptorError(f"{shown}: must hold a JSON object")
    return data


def load_package(root: Path, report: Report | None = None) -> Package:
    """Read the descriptor and every schema; problems with a schema are findings, not crashes.

    A resource whose path or schema path leads outside the package is a descriptor finding and
    its files are never opened. A resource name given twice is a finding too, and each entry is
    still read and checked (the later one under the key "NAME (resources[i])")."""
    root = Path(root)
    if root.is_file():
        root = root.parent
    descriptor = read_json(root / "datapackage.json", "datapackage.json")
    report = report if report is not None else Report()
    resources: dict[str, Resource] = {}
    raw = descriptor.get("resources")
    if not isinstance(raw, list):
        raise DescriptorError("datapackage.json: has no \"resources\" list")
    first_entry: dict[str, int] = {}
    for i, res in enumerate(raw):
        name = res.get("name") if isinstance(res, dict) else None
        if not isinstance(name, str) or not name or not isinstance(res.get("path"), str):
            report.add("datapackage.json", None, None, None, "descriptor",
                       f"resources[{i}] needs a \"name\" and a \"path\" (both text)")
            continue
        key = name
        if name in first_entry:
            key = f"{name} (resources[{i}])"
            report.add("datapackage.json", None, "name", name, "descriptor",
                       f"resources[{i}] is named {name!r} like resources[{first_entry[name]}]: every resource needs "
                       "its own name (each entry is still checked)")
        else:
            first_entry[name] = i
        why = inside(root, res["path"])
        if why:
            report.add("datapackage.json", None, "path", res["path"], "descriptor",
                       f"the path of resource {name!r} {why}; the file is not read")
            continue
        schema = res.get("schema")
        schema_path = schema if isinstance(schema, str) else None
        if schema_path is None:
            report.add("datapackage.json", None, None, name, "descriptor",
                       f"resource {name!r} must name its Table Schema file under schemas/ in \"schema\"")
            continue
        why = inside(root, schema_path)
        if why:
            report.add("datapackage.json", None, "schema", schema_path, "descriptor",
                       f"the schema path of resource {name!r} {why}; the file is not read")
            continue
        try:
            sd = read_json(root / schema_path, schema_path)
        except DescriptorError as exc:
            report.add(schema_path, None, None, None, "schema-missing" if "not found" in str(exc) else "schema-invalid",
                       f"{exc} (named by resource {name!r} in datapackage.json); the table {res['path']} is not checked")
            continue
        parsed = _parse_schema(sd)
        if isinstance(parsed, list):
            for column, message in parsed:
                report.add(schema_path, None, column, None, "schema-invalid",
                           f"{message} (resource {name!r}; the table is not checked until the schema is mended)")
            continue
        fields, pk, fks = parsed
        for fk in fks:
            fk["resource"] = fk["resource"] or name
        if _schema_is_sound(name, schema_path, fields, pk, fks, report):
            resources[key] = Resource(name, res["path"], schema_path, fields, pk, fks, res)
    named = {r.get("name") for r in raw if isinstance(r, dict)}
    for res in resources.values():
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


def _names(value) -> list[str] | None:
    """A field name or a list of them, as primaryKey and foreign keys give them; None if neither."""
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    return None


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _parse_schema(sd: dict):
    """(fields, primary key, foreign keys) of a Table Schema, or the list of (column, problem)
    that make it unusable: a schema is data from a pull request too, and every shape the JSON
    can take must give a finding, not a crash."""
    problems: list[tuple[str | None, str]] = []
    raw_fields = sd.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        return [(None, "\"fields\" must be a non-empty list of field objects")]
    fields: list[Field] = []
    for j, f in enumerate(raw_fields):
        if not isinstance(f, dict):
            problems.append((None, f"fields[{j}] must be an object with a \"name\""))
            continue
        name = f.get("name")
        shown = name if isinstance(name, str) and name else None
        if shown is None:
            problems.append((None, f"fields[{j}] needs a \"name\" (text)"))
        type_ = f.get("type", "string")
        if not isinstance(type_, str):
            problems.append((shown, f"field {shown or j!r}: \"type\" must be text"))
            type_ = "string"
        c = f.get("constraints", {})
        if not isinstance(c, dict):
            problems.append((shown, f"field {shown or j!r}: \"constraints\" must be an object"))
            c = {}
        desc = f.get("description", "")
        if not isinstance(desc, str):
            problems.append((shown, f"field {shown or j!r}: \"description\" must be text"))
            desc = ""
        for flag in ("required", "unique"):
            if flag in c and not isinstance(c[flag], bool):
                problems.append((shown, f"field {shown!r}: constraint {flag!r} must be true or false"))
        if "enum" in c and (not isinstance(c["enum"], list) or not c["enum"]
                            or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in c["enum"])):
            problems.append((shown, f"field {shown!r}: \"enum\" must be a non-empty list of values"))
        if "pattern" in c and not isinstance(c["pattern"], str):
            problems.append((shown, f"field {shown!r}: \"pattern\" must be text (a regular expression)"))
        for bound in ("minimum", "maximum"):
            if bound in c and type_ in ("integer", "number") and not _number(c[bound]):
                problems.append((shown, f"field {shown!r}: {bound!r} must be a number, not {c[bound]!r}"))
        fields.append(Field(shown or "", type_, desc, c))
    pk_raw = sd.get("primaryKey", [])
    pk = [] if pk_raw in ([], None) else _names(pk_raw)
    if pk is None:
        problems.append((None, "\"primaryKey\" must be a field name or a list of field names"))
        pk = []
    fks = []
    raw_fks = sd.get("foreignKeys", [])
    if not isinstance(raw_fks, list):
        problems.append((None, "\"foreignKeys\" must be a list"))
        raw_fks = []
    for j, fk in enumerate(raw_fks):
        ref = fk.get("reference") if isinstance(fk, dict) else None
        fields_ = _names(fk.get("fields")) if isinstance(fk, dict) else None
        ref_fields = _names(ref.get("fields")) if isinstance(ref, dict) else None
        target = ref.get("resource", "") if isinstance(ref, dict) else None
        if fields_ is None or ref_fields is None or not isinstance(target, str) or len(fields_) != len(ref_fields):
            problems.append((None, f"foreignKeys[{j}] needs \"fields\" and a \"reference\" with \"resource\" and as "
                                   "many \"fields\""))
            continue
        fks.append({"fields": fields_, "resource": target, "ref_fields": ref_fields})
    return problems if problems else (fields, pk, fks)


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
