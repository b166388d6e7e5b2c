"""The Table Schema layer: what datapackage.json and schemas/*.json state, checked cell by cell.

Types, required, enum, minimum/maximum, pattern, unique, primary and foreign keys are read from the
schemas and nowhere else. The checks are column-wise (pyarrow compute), so a million rows cost
about as much as reading them.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fast
from .csvfile import NUMBER_PATTERNS, TextTable
from .report import Report

# Lexical forms accepted for each Table Schema type (RE2 syntax, as pyarrow uses).
TYPE_PATTERNS = {
    "integer": NUMBER_PATTERNS[True],
    "number": NUMBER_PATTERNS[False],
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "boolean": r"^(true|false)$",
}
TYPE_HINTS = {
    "integer": "a whole number such as 42 (no decimals, no text; leave empty if not reported)",
    "number": "a number such as 12.5 (no % sign, no text; leave empty if not reported)",
    "date": "a date as YYYY-MM-DD",
    "boolean": "true or false",
}
# What a spreadsheet may run as a formula when the CSV is opened (the OWASP CSV-injection list):
# a cell starting with =, +, -, @, a tab or a carriage return, also after leading spaces.
FORMULA_STARTS = np.frombuffer(b"=+-@\t\r ", np.uint8)  # first bytes worth a closer look
FORMULA = r"^[ ]*[=+\-@\t\r]"
PLAIN_NUMBER = r"^[ ]*" + NUMBER_PATTERNS[False][1:]  # "-0.5" is a number to a spreadsheet, not a formula
# Characters no cell may hold (fast.CONTROL): spreadsheets, terminals and R's readers treat them
# differently, or drop them.
MAX_CELL = 32_767  # characters a spreadsheet cell holds (Excel, LibreOffice): longer is cut on opening
SHOWN_VALUE = 200  # characters of a long value kept in a finding


def _shown(value):
    if isinstance(value, str) and len(value) > 1000:
        return value[:SHOWN_VALUE] + f"… ({len(value):,} characters)"
    return value


class Sink:
    """Adds findings for the rows flagged in a mask. Beyond the report's cap per file and rule
    the rows are only counted, so a broken million-row column costs no message per row."""

    def __init__(self, report: Report, table: TextTable):
        self.report, self.table = report, table

    def flag(self, mask, column: str | None, rule: str, message, values: pa.Array | None = None,
             severity: str = "error") -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(mask)
        if column and len(idx) and rule not in ("primary-key", "unique", "formula-injection"):
            prev = self.table.bad.get(column)
            self.table.bad[column] = mask.copy() if prev is None else (prev | mask)
        shown = self.table.resource.path
        col = self.table.positions.get(column) if column else None
        room = self.report.room(shown, rule, severity)
        for i in idx[:room]:
            value = None if values is None else _shown(values[int(i)].as_py())
            msg = message(int(i)) if callable(message) else message
            self.report.add(shown, int(self.table.lines[i]), column, value, rule, msg, severity, col)
        self.report.count(shown, rule, severity, len(idx) - min(room, len(idx)))
        return idx


def _np(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _match(table: TextTable, name: str, pattern: str) -> np.ndarray:
    """Which cells match a regular expression (run once per distinct text of a key column)."""
    return table.per_value(name, lambda v: _np(pc.match_substring_regex(v, pattern)))


def _numbers(table: TextTable, name: str, type_: str, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float values with NaN where empty or malformed, well-formed mask); the cast is shared
    with the typing."""
    cast, malformed = table.numbers(name, type_ == "integer")
    nums = pc.fill_null(pc.cast(cast, pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
    finite = np.isfinite(nums) | ~present  # 'inf' and 'nan' cast, but are no Table Schema number
    if malformed is not None:
        finite &= ~malformed
    return np.where(finite, nums, np.nan), finite


def check_fields(table: TextTable, report: Report) -> None:
    sink = Sink(report, table)
    for fld in table.resource.fields:
        values = table.columns.get(fld.name)
        if values is None:
            continue
        empty = table.empty(fld.name)
        # A cell longer than a spreadsheet holds is one finding, and no other check reads it.
        too_long = _too_long(values)
        sink.flag(too_long, fld.name, "cell-too-long",
                  lambda i, values=values: f"this cell holds {len(values[i].as_py()):,} characters; a spreadsheet cell holds "
                            f"{MAX_CELL:,} and would cut it on opening: shorten it (quote the rest in the source)",
                  values)
        present = ~empty & ~too_long
        c = fld.constraints
        if c.get("required"):
            sink.flag(empty, fld.name, "required", f"{fld.name} is required and may not be empty")
        if fld.type in ("integer", "number"):
            nums, ok = _numbers(table, fld.name, fld.type, present)
            bad = present & ~ok
            sink.flag(bad, fld.name, "type", _type_message(fld.name, fld.type, values), values)
            with np.errstate(invalid="ignore"):
                if "minimum" in c:
                    sink.flag(nums < c["minimum"], fld.name, "minimum",
                              f"{fld.name} must be at least {c['minimum']}", values)
                if "maximum" in c:
                    sink.flag(nums > c["maximum"], fld.name, "maximum",
                              f"{fld.name} must be at most {c['maximum']}", values)
        elif fld.type in TYPE_PATTERNS:
            ok = _match(table, fld.name, TYPE_PATTERNS[fld.type])
            if fld.type == "date":
                ok &= _valid_dates(values, ok & present)
            bad = present & ~ok
            sink.flag(bad, fld.name, "type", _type_message(fld.name, fld.type, values), values)
        elif "enum" not in c and "pattern" not in c:
            # Free text (an enum or a pattern already keeps such text out of the other columns).
            risky = present & _formula(table, fld.name, values)
            sink.flag(risky, fld.name, "formula-injection",
                      "a text cell may not begin with =, +, -, @, a tab or a carriage return, even after spaces (a "
                      "spreadsheet would run it as a formula); reword it", values)
            control = present & ~risky & fast.control_cells(values)
            sink.flag(control, fld.name, "control-character", lambda i, values=values: _control_message(values[i].as_py()), values)
        if "enum" in c:
            allowed = pa.array([str(v) for v in c["enum"]], pa.string())
            bad = present & ~table.per_value(fld.name, lambda v, allowed=allowed: _np(pc.is_in(v, value_set=allowed)))
            choices = [str(v) for v in c["enum"]]
            sink.flag(bad, fld.name, "enum",
                      lambda i, name=fld.name, values=values, choices=choices:
                          f"{name} must be one of: {', '.join(choices)}" + _did_you_mean(values[i].as_py(), choices),
                      values)
        if "pattern" in c:
            try:
                matched = _match(table, fld.name, c["pattern"])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                report.add(table.resource.schema_path, None, fld.name, c["pattern"], "schema-invalid",
                           f"the pattern of field {fld.name!r} is not a regular expression the checks can run "
                           f"({str(exc).splitlines()[0][:160]}); the column's pattern is not checked")
                matched = None
            if matched is not None:
                bad = present & ~matched
                sink.flag(bad, fld.name, "pattern",
                          f"{fld.name} must match {c['pattern']}" + _pattern_hint(fld.name), values)
        if c.get("unique"):
            _flag_duplicates(sink, [fld.name], present, "unique", f"{fld.name} must be unique")


def _too_long(values: pa.Array) -> np.ndarray:
    """Cells over MAX_CELL characters, read off the offsets (bytes) before counting characters."""
    offsets = fast.offsets(values)
    suspect = (offsets[1:] - offsets[:-1]) > MAX_CELL
    if not suspect.any():
        return suspect
    out = np.zeros(len(values), bool)
    for i in np.flatnonzero(suspect):
        out[i] = len(values[int(i)].as_py()) > MAX_CELL
    return out


def _formula(table: TextTable, name: str, values: pa.Array) -> np.ndarray:
    first = fast.first_bytes(values)
    suspect = np.isin(first, FORMULA_STARTS)
    if not suspect.any():
        return suspect
    looks = _np(pc.match_substring_regex(values, FORMULA))
    number = _np(pc.match_substring_regex(values, PLAIN_NUMBER))
    return suspect & looks & ~number


CONTROL_NAMES = {0: "NUL", 9: "a tab", 0x0B: "a vertical tab", 0x0C: "a form feed", 0x1B: "ESC", 0x7F: "DEL"}


def _control_message(text: str) -> str:
    import re
    m = re.search("[\x00-\x1f\x7f\x80-\x9f]", text)
    if m is None:
        return "holds a control character; remove it"
    code = ord(m.group())
    name = CONTROL_NAMES.get(code, "a control character")
    return (f"holds {name} (U+{code:04X}) at character {m.start() + 1}: no cell may hold control characters "
            "(spreadsheets and readers drop or misread them); remove it")


def _type_message(name: str, type_: str, values: pa.Array):
    """The message for a cell of the wrong type, saying why when it looks right (a date that does
    not exist, a number too large to hold)."""
    import re

    def message(i: int) -> str:
        text = values[i].as_py()
        base = f"{name} must be {TYPE_HINTS[type_]}"
        if type_ == "date" and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return base + f"; {text} does not exist in the calendar"
        if type_ == "integer" and re.fullmatch(r"[+-]?[0-9]+", text):
            return base + "; this one is beyond what a 64-bit integer holds (±9,223,372,036,854,775,807)"
        if type_ in ("integer", "number") and re.fullmatch(r"[+-]?(inf|infinity|nan)", text.strip(), re.I):
            return base + "; infinity and NaN are no number a source prints"
        if type_ == "number" and re.fullmatch(NUMBER_PATTERNS[False].replace("$", "").replace("^", ""), text):
            return base + "; this one is beyond what a 64-bit floating-point number holds"
        return base
    return message


def _did_you_mean(value: str, options, many=None) -> str:
    """'; did you mean 'NRI'?' for the valid value closest to `value` (same letters in another
    case first, then the most similar), or ''."""
    found = closest(value, options, many)
    return f"; did you mean {found!r}?" if found else ""


def closest(value: str, options, many=None) -> str | None:
    import difflib
    if not isinstance(value, str) or not value:
        return None
    lowered = value.strip().lower()
    for option in options:
        if option.lower() == lowered:
            return option
    found = difflib.get_close_matches(value, options, n=1, cutoff=0.75)
    return found[0] if found else None


def _pattern_hint(name: str) -> str:
    return {
        "nct_id": " (NCT followed by 8 digits, e.g. NCT03349060)",
        "doi": " (a bare DOI such as 10.1016/S0140-6736(20)30732-7, without https://doi.org/)",
        "pmid": " (digits only)",
        "pmcid": " (PMC followed by digits)",
        "eudract_id": " (YYYY-NNNNNN-NN)",
        "url": " (a full http(s) address)",
    }.get(name, " (lower-case words joined by '-', levels by '/')" if name.endswith("_id") else "")


def _valid_dates(values: pa.Array, shaped: np.ndarray) -> np.ndarray:
    """Calendar check (2021-02-30 is shaped like a date but is none); date columns are short."""
    import datetime

    ok = np.ones(len(values), bool)
    for i in np.flatnonzero(shaped):
        try:
            datetime.date.fromisoformat(values[int(i)].as_py())
        except ValueError:
            ok[i] = False
    return ok


def _flag_duplicates(sink: Sink, names: list[str], eligible: np.ndarray, rule: str, message: str) -> None:
    """Flag each eligible row whose value (of the columns `names` together) stands on an earlier
    row. Eligibility follows the value (a part empty or too long), so a repeat's first row is
    eligible too."""
    table = sink.table
    first = fast.first_of_keys([(e.indices, len(e.dictionary)) for e in (table.encoded(k) for k in names)])
    mask = eligible & (first != np.arange(table.n_rows))
    columns = [table.columns[k] for k in names]
    key_text = lambda i: "/".join(c[i].as_py() for c in columns)
    sink.flag(mask, names[0], rule,
              lambda i: f"{message}: {key_text(i)!r} is already on line {int(table.lines[first[i]])}", columns[0])


def _adjacent_order(table: TextTable, pk: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each row after the first: whether it comes strictly after the row before it in key
    order, and whether strictly before (strings by code point, numbers numerically). Shared by the
    primary-key and row-order checks."""
    def compare():
        n = table.n_rows - 1
        after, before, tie = np.zeros(n, bool), np.zeros(n, bool), np.ones(n, bool)
        for k in pk:
            fld, col = table.resource.field(k), table.columns[k]
            if fld.type in ("integer", "number"):
                cast, _ = table.numbers(k, fld.type == "integer")
                nums = pc.fill_null(pc.cast(cast, pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
                a, b = nums[:-1], nums[1:]
                greater, less, equal = b > a, b < a, b == a
            else:  # UTF-8 bytes compare in code-point order
                a, b = col.slice(0, n), col.slice(1)
                greater, less, equal = _np(pc.greater(b, a)), _np(pc.less(b, a)), _np(pc.equal(b, a))
            after |= tie & greater
            before |= tie & less
            tie &= equal
        return after, before
    return table.view(("order", tuple(pk)), compare)


def _order_breaks(table: TextTable, pk: list[str]) -> np.ndarray:
    """Rows (1..n-1) that do not come strictly after the row before them in key order."""
    if table.n_rows < 2:
        return np.zeros(0, np.int64)
    return np.flatnonzero(~_adjacent_order(table, pk)[0]) + 1


def check_primary_key(table: TextTable, report: Report) -> None:
    pk = table.resource.primary_key
    if not pk or any(k not in table.columns for k in pk):
        return
    if all(table.resource.field(k).type == "string" for k in pk) and not len(_order_breaks(table, pk)):
        return  # the canonical, sorted file: every key follows a smaller one, so none repeats
    complete = np.ones(table.n_rows, bool)
    for k in pk:
        complete &= ~table.empty(k)
    _flag_duplicates(Sink(report, table), pk, complete, "primary-key",
                     f"the primary key ({', '.join(pk)}) must be unique")


def check_foreign_keys(table: TextTable, tables: dict[str, TextTable], report: Report) -> None:
    sink = Sink(report, table)
    for fk in table.resource.foreign_keys:
        parent = tables.get(fk["resource"])
        if parent is None or any(f not in table.columns for f in fk["fields"]) \
                or any(f not in parent.columns for f in fk["ref_fields"]):
            continue  # the missing file or column is reported already
        child_cols = [table.columns[f] for f in fk["fields"]]
        present = np.ones(table.n_rows, bool)
        for f in fk["fields"]:
            present &= ~table.empty(f)
            if f in table.bad:  # a cell reported already (its pattern, say): one finding per cell
                present &= ~table.bad[f]
        if len(child_cols) == 1:
            keys = parent.columns[fk["ref_fields"][0]]
            found = table.per_value(fk["fields"][0], lambda v, keys=keys: _np(pc.is_in(v, value_set=keys)))
        else:
            sep = "\x1f"
            child = pc.binary_join_element_wise(*child_cols, sep)
            par = pc.binary_join_element_wise(*[parent.columns[f] for f in fk["ref_fields"]], sep)
            found = _np(pc.is_in(child, value_set=par))
        target = f"{fk['resource']}.{'/'.join(fk['ref_fields'])}"
        base = (f"{'/'.join(fk['fields'])} must name an existing {target}; there is none with this value"
                + (f" (add it to {parent.resource.path} first)" if fk["resource"] != table.resource.name else ""))
        message: Callable[[int], str] | str = base
        if len(child_cols) == 1:
            suggest = _Suggestions(parent.columns[fk["ref_fields"][0]])
            message = lambda i, base=base, suggest=suggest, child=child_cols[0]: base + suggest(child[i].as_py())
        sink.flag(present & ~found, fk["fields"][0], "foreign-key", message, child_cols[0])


class _Suggestions:
    """The closest existing key to an unknown one. The keys are sorted once; an unknown value is
    compared with the keys next to it in that order (they share its beginning: a typo late in a
    slug) and with those sharing its first characters when they are few (a typo early in it), so
    a suggestion costs a few dozen comparisons however many keys there are. Past the first
    SUGGESTED unknown values (a broken merge, not a typo) none is looked for."""

    NEAR = 4  # keys on each side of the value in sorted order
    FEW = 40  # keys sharing its first characters, looked at when no more than this
    SUGGESTED = 200

    def __init__(self, keys: pa.Array):
        self.keys = keys
        self.sorted: list[str] | None = None
        self.lower: dict[str, str] = {}
        self.by_start: dict[str, list[str]] = {}
        self.memo: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        if value in self.memo:
            return self.memo[value]
        if self.sorted is None:
            self.sorted = sorted(k for k in pc.unique(self.keys).to_pylist() if k)
            for k in self.sorted:
                self.lower.setdefault(k.lower(), k)
                self.by_start.setdefault(k[:3].lower(), []).append(k)
        if len(self.memo) >= self.SUGGESTED:
            return ""
        same_letters = self.lower.get(value.strip().lower())
        if same_letters is not None:
            found = f"; did you mean {same_letters!r}?"
        else:
            candidates = self.sorted
            if len(candidates) > 2000:
                at = bisect.bisect_left(candidates, value)
                candidates = candidates[max(0, at - self.NEAR):at + self.NEAR]
                same = self.by_start.get(value[:3].lower(), [])
                if len(same) <= self.FEW:
                    candidates = candidates + same
            found = _did_you_mean(value, candidates)
        self.memo[value] = found
        return found


def check_row_order(table: TextTable, report: Report) -> None:
    """Rows in primary-key order: strings by code point, numbers numerically."""
    pk = table.resource.primary_key
    if not pk or table.n_rows < 2 or any(k not in table.columns for k in pk):
        return
    before = _adjacent_order(table, pk)[1]
    bad = np.flatnonzero(before)
    if len(bad):
        i = int(bad[0]) + 1
        report.add(table.resource.path, int(table.lines[i]), pk[0], "/".join(table.columns[k][i].as_py() for k in pk),
                   "row-order",
                   f"rows must be sorted by {', '.join(pk)}; this row belongs before line {int(table.lines[i - 1])}"
                   f" ({len(bad)} row(s) out of order; python -m jakderm format sorts them)",
                   col=table.positions.get(pk[0]))
