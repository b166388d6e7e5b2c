"""`python -m jakderm forest`: a forest plot of one endpoint at one timepoint, drawn with matplotlib.

A row per comparison (trial, arm, events/total of the arm and of its control, the measure with
its 95% interval), grouped by drug and dose, with the random-effects pooled estimate of each group
as a diamond, the measure's null line, and a footer naming the package version and marking
derived counts. The numbers are those of `jakderm.effects()` and `jakderm.pool()`.

The SVG is byte-for-byte reproducible for one matplotlib version (no date, a fixed hash salt), and
carries the plotted rows as text in its description, so that a test can tell whether a committed
figure still shows the data (tests/test_forest.py).
"""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    import pandas as pd

# pandas, numpy and matplotlib are imported when a plot is drawn, not when the command line is
# parsed: `python -m jakderm validate` builds the same parser.

MEASURE_NAMES = {"RR": "risk ratio", "OR": "odds ratio", "RD": "risk difference"}
FORMATS = (".svg", ".png")
PRIMARY = "primary"
SALT = "jak-derm-data"  # svg.hashsalt: the ids of clip paths and glyphs, otherwise random


class ForestError(Exception):
    """A request the data cannot answer; the message says why and what would do."""


def parse_timepoint(value) -> int | str:
    """Weeks (a positive whole number), or "primary": each trial's primary timepoint."""
    if value == PRIMARY:
        return PRIMARY
    try:
        weeks = int(value)
    except (TypeError, ValueError):
        weeks = 0
    if weeks <= 0 or str(weeks) != str(value).strip():
        raise ForestError(f"--timepoint {value!r}: give the weeks as a positive whole number (e.g. 16), or "
                          f"{PRIMARY!r} for each trial's primary timepoint")
    return weeks


def when(timepoint) -> str:
    return "at each trial's primary timepoint" if timepoint == PRIMARY else f"at week {timepoint}"


def select(path, endpoint: str, timepoint: int | str, measure: str, population: str | None = None,
           imputation: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The comparisons to plot, or a ForestError naming what is wrong and the valid choices."""
    import pandas as pd

    from .loader import load, package_root
    from .meta_analysis import check_measure, effects

    check_measure(measure)
    timepoint = parse_timepoint(timepoint)
    tables = load(package_root(path))
    endpoints = sorted(tables["endpoints"]["endpoint_id"].astype(str))
    if endpoint not in endpoints:
        raise ForestError(f"unknown endpoint {endpoint!r}: the endpoints are {', '.join(endpoints)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        everything = effects(measure=measure, tables=tables)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    everything = everything[everything.subgroup.isna()]  # whole analysed arms: subgroups are not pooled
    e = everything[everything.endpoint_id == endpoint]
    with_data = sorted(int(w) for w in e.timepoint_weeks.dropna().unique())
    if not with_data:
        have = endpoints_with_comparisons(everything)
        raise ForestError(f"endpoint {endpoint!r} has no comparable arms (an arm and its trial's placebo or vehicle "
                          "arm, both with analysed and responders or a percent, on the same timepoint, population "
                          "and imputation)" + (f"; endpoints with comparable arms: {', '.join(have)}" if have
                                               else "; no endpoint has comparable arms yet"))
    if timepoint == PRIMARY:
        e = e[e.primary_timepoint]
    else:
        e = e[e.timepoint_weeks == timepoint]
    if e.empty:
        raise ForestError(f"endpoint {endpoint!r} has no comparable arms {when(timepoint)}; it has at week(s) "
                          f"{', '.join(map(str, with_data))}")
    for column, wanted in (("population", population), ("imputation", imputation)):
        if wanted is not None:
            values = sorted(e[column].dropna().astype(str).unique())
            e = e[e[column].astype("string") == wanted]
            if e.empty:
                raise ForestError(f"no comparable arms for {endpoint!r} {when(timepoint)} with {column} {wanted!r}; "
                                  f"there are: {', '.join(values) or '(empty)'}")
    twice = e[e.duplicated("arm_id", keep=False)]
    if len(twice):
        arm = twice.arm_id.iloc[0]
        rows = twice[twice.arm_id == arm]
        choices = "; ".join(f"population {p if not pd.isna(p) else '(empty)'}, imputation {i if not pd.isna(i) else '(empty)'}"
                            for p, i in zip(rows.population, rows.imputation, strict=True))
        raise ForestError(f"arm {arm!r} has {len(rows)} rows for {endpoint!r} {when(timepoint)} ({choices}): "
                          "choose one with --population and --imputation, so that no arm counts twice")
    return e.reset_index(drop=True), tables


def endpoints_with_comparisons(e: pd.DataFrame) -> list[str]:
    import pandas as pd

    counts = e.groupby(["endpoint_id", "timepoint_weeks"], dropna=False).size()
    return [f"{ep} (week {'?' if pd.isna(w) else int(w)}: {n})" for (ep, w), n in counts.items()]


def layout(e: pd.DataFrame, tables: dict, method: str, show_week: bool = False) -> list[dict]:
    """The plot's rows top to bottom: a heading per drug and dose, its comparisons, its pooled row."""
    import pandas as pd

    from .meta_analysis import pool

    inn = dict(zip(tables["drugs"].drug_id.astype(str), tables["drugs"].inn.astype(str), strict=True))
    trials = tables["trials"].set_index("trial_id")
    arms = tables["arms"].set_index("arm_id")
    # Which side's count is derived: the one whose outcome row has no responders.
    printed = tables["outcomes"].set_index("outcome_id")["responders"].notna()
    pooled = pool(e, by=["drug_id", "dose", "dose_unit"], method=method)
    rows = []
    for g in pooled.itertuples():
        members = e[(e.drug_id == g.drug_id) & same(e.dose, g.dose) & same(e.dose_unit, g.dose_unit)]
        dose = "" if pd.isna(g.dose) else f" {g.dose:g}{'' if pd.isna(g.dose_unit) else ' ' + str(g.dose_unit)}"
        rows.append({"kind": "group", "label": f"{inn.get(str(g.drug_id), g.drug_id)}{dose}"})
        for r in members.sort_values(["trial_id", "arm_id"]).itertuples():
            acronym = trials.loc[r.trial_id, "acronym"]
            arm_label = arms.loc[r.arm_id, "label"]
            trial = str(acronym) if not pd.isna(acronym) else r.trial_id
            mark = {side: "" if printed[outcome] else "*" for side, outcome in
                    (("arm", r.outcome_id), ("control", r.control_outcome_id))}
            # clipped so that the label columns never run into the counts beside them
            rows.append({"kind": "study", "trial": clip(trial, 15) + (f" (wk {r.timepoint_weeks})" if show_week else ""),
                         "arm": clip(str(arm_label) if not pd.isna(arm_label) else r.arm_id.split("/")[-1], 22),
                         "arm_counts": f"{r.ai}{mark['arm']}/{r.n1i}",
                         "control_counts": f"{r.ci}{mark['control']}/{r.n2i}", "estimate": r.estimate,
                         "lower": r.ci_lower, "upper": r.ci_upper, "weight": 1 / r.vi})
        rows.append({"kind": "pooled", "label": f"Pooled ({method}, k = {g.k}" +
                     (f", I\u00b2 = {g.i2:.0f}%)" if g.k > 1 else ")"),
                     "estimate": g.estimate, "lower": g.ci_lower, "upper": g.ci_upper})
    return rows


def clip(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def same(series: pd.Series, value) -> pd.Series:
    import pandas as pd

    return series.isna() if pd.isna(value) else (series == value).fillna(False)


def fmt(x: float, measure: str) -> str:
    return f"{x:.2f}" if measure != "RD" else f"{x:+.3f}".replace("+0.000", "0.000")


def description(e: pd.DataFrame, endpoint: str, timepoint: int | str, measure: str, method: str) -> str:
    """The plotted rows as text, stored in the SVG: what tests/test_forest.py compares."""
    lines = [f"jak-derm-data forest plot: {endpoint} {when(timepoint)}, {measure}, {method}; jakderm {__version__}"]
    for r in e.sort_values(["drug_id", "dose", "trial_id", "arm_id"]).itertuples():
        lines.append(f"{r.arm_id} vs {r.control_arm_id}, week {r.timepoint_weeks}: {r.ai}/{r.n1i} vs {r.ci}/{r.n2i}"
                     f"{' (derived)' if r.counts_derived else ''}; yi {r.yi:.10g}, vi {r.vi:.10g}")
    return "\n".join(lines)


def draw(rows: list[dict], title: str, measure: str, footer: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import transforms
    from matplotlib.patches import Polygon

    plt.rcParams["svg.hashsalt"] = SALT
    # Text stays text in the SVG (searchable, small); its layout uses the metrics of DejaVu Sans,
    # which ships with matplotlib, so the file is the same on every machine.
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["font.family"] = "DejaVu Sans"
    n = len(rows)
    fig = plt.figure(figsize=(11, 1.5 + 0.26 * (n + 1)), dpi=100)
    top = 1 - 0.75 / fig.get_figheight()
    bottom = 0.7 / fig.get_figheight()
    ax = fig.add_axes((0.50, bottom, 0.30, top - bottom))
    ax.set_ylim(-n + 0.4, 1.6)
    log = measure in ("RR", "OR")
    null = 1.0 if log else 0.0
    if log:
        ax.set_xscale("log")
    text = transforms.blended_transform_factory(fig.transFigure, ax.transData)
    size = 8.5
    headers = [(0.01, "Trial", "left"), (0.15, "Arm", "left"), (0.36, "Arm n/N", "right"),
               (0.47, "Control n/N", "right"), (0.985, f"{measure} [95% CI]", "right")]
    for x, label, ha in headers:
        fig.text(x, 1, label, transform=text, ha=ha, va="center", fontsize=size, fontweight="bold")
    values = [v for r in rows if "estimate" in r for v in (r["lower"], r["upper"])]
    weights = [r["weight"] for r in rows if r["kind"] == "study"]
    biggest = max(weights) if weights else 1.0
    for i, r in enumerate(rows):
        y = -i
        if r["kind"] == "group":
            fig.text(0.01, y, r["label"], transform=text, ha="left", va="center", fontsize=size + 0.5,
                     fontweight="bold")
            continue
        right = f"{fmt(r['estimate'], measure)} [{fmt(r['lower'], measure)}, {fmt(r['upper'], measure)}]"
        if r["kind"] == "study":
            for x, value, ha in ((0.02, r["trial"], "left"), (0.15, r["arm"], "left"), (0.36, r["arm_counts"], "right"),
                                 (0.47, r["control_counts"], "right")):
                fig.text(x, y, value, transform=text, ha=ha, va="center", fontsize=size)
            ax.plot([r["lower"], r["upper"]], [y, y], color="black", linewidth=0.9, solid_capstyle="butt")
            side = 4 + 6 * (r["weight"] / biggest) ** 0.5  # marker area follows the inverse-variance weight
            ax.plot([r["estimate"]], [y], marker="s", markersize=side, color="#1f4e79", linestyle="none")
        else:
            fig.text(0.02, y, r["label"], transform=text, ha="left", va="center", fontsize=size, fontstyle="italic")
            ax.add_patch(Polygon([(r["lower"], y), (r["estimate"], y + 0.32), (r["upper"], y),
                                  (r["estimate"], y - 0.32)], closed=True, color="#b03a2e"))
        fig.text(0.985, y, right, transform=text, ha="right", va="center", fontsize=size,
                 fontweight="bold" if r["kind"] == "pooled" else "normal")
    ax.axvline(null, color="grey", linewidth=0.8, linestyle="--", zorder=0)
    if values:
        low, high = min([*values, null]), max([*values, null])
        if log:
            ax.set_xlim(low / 1.25, high * 1.25)
        else:
            pad = 0.05 * (high - low or 1)
            ax.set_xlim(low - pad, high + pad)
    if log:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
        low, high = ax.get_xlim()
        subs = (1.0, 2.0, 5.0) if high / low < 300 else (1.0,)  # 1-2-5 ticks unless they would crowd
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks([])
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    ax.tick_params(axis="x", labelsize=size)
    ax.set_xlabel(f"{MEASURE_NAMES[measure]} (right of {null:g}: more responders on the arm than on control)",
                  fontsize=size)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold", y=1 - 0.18 / fig.get_figheight())
    fig.text(0.01, 0.18 / fig.get_figheight(), footer, ha="left", va="bottom", fontsize=7.5, color="#444444")
    return fig


def write_figure(fig, out: Path, title: str, desc: str) -> None:
    """Write atomically: a temporary file in the target folder, renamed over the target."""
    fmt_name = out.suffix.lower().lstrip(".")
    metadata: dict[str, str | None] = {"Description": desc, "Title": title}
    if fmt_name == "svg":
        metadata["Date"] = None  # no timestamp: the same data give the same file
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=fmt_name, metadata=metadata)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def forest(path=".", endpoint: str = "easi-75", timepoint: int | str = 16, out: str | Path = "forest.svg",
           measure: str = "RR", method: str = "REML", population: str | None = None,
           imputation: str | None = None) -> Path:
    """Draw the forest plot into `out` (.svg or .png). Raises ForestError (nothing written) when the
    request cannot be drawn."""
    import pandas as pd

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ForestError(f"--out {str(out)!r}: the file name must end in .svg or .png")
    if not out.parent.is_dir():
        raise ForestError(f"--out {str(out)!r}: the folder {str(out.parent)!r} does not exist")
    from .meta_analysis import check_measure, check_method

    try:
        check_measure(measure)
        check_method(method)
    except ValueError as exc:
        raise ForestError(str(exc)) from None
    import importlib.util
    if importlib.util.find_spec("matplotlib") is None:
        raise ForestError("the forest plot needs matplotlib: pip install 'jakderm[plot]' (or pip install matplotlib)")
    timepoint = parse_timepoint(timepoint)
    e, tables = select(path, endpoint, timepoint, measure, population, imputation)
    label = tables["endpoints"].set_index("endpoint_id").loc[endpoint, "label"]
    label = endpoint if pd.isna(label) else str(label)
    title = f"{label} {when(timepoint)}: {MEASURE_NAMES[measure]} against placebo or vehicle"
    derived = bool(e.counts_derived.any())
    footer = (f"jak-derm-data, jakderm {__version__}. {measure} and 95% CI as metafor::escalc; pooled: random effects, "
              f"{method}, as metafor::rma. "
              + ("* counts derived as round(percent \u00d7 analysed / 100): the source printed no count."
                 if derived else "Counts as printed (a derived count would be marked *)."))
    import matplotlib.pyplot as plt
    fig = draw(layout(e, tables, method, show_week=timepoint == PRIMARY), title, measure, footer)
    try:
        write_figure(fig, out, title, description(e, endpoint, timepoint, measure, method))
    finally:
        plt.close(fig)
    return out


def run(args) -> int:
    try:
        out = forest(args.path, args.endpoint, args.timepoint, args.out, args.measure, args.method,
                     args.population, args.imputation)
    except (ForestError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"forest plot written to {out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("forest", help="forest plot of one endpoint at one timepoint (needs matplotlib: .[plot])")
    p.add_argument("path", nargs="?", default=".", help="the package directory or its datapackage.json")
    p.add_argument("--endpoint", required=True, metavar="ID", help="an endpoint_id, e.g. easi-75")
    p.add_argument("--timepoint", required=True, metavar="WEEKS",
                   help="the timepoint in weeks, or 'primary' for each trial's primary timepoint")
    p.add_argument("--measure", default="RR", help="RR, OR or RD (default RR)")
    p.add_argument("--method", default="REML", help="pooling: REML or DL (default REML)")
    p.add_argument("--population", help="keep only this population (ITT, FAS, ...)")
    p.add_argument("--imputation", help="keep only this imputation (NRI, OC, ...)")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.svg or FILE.png")
    p.set_defaults(run=run)
