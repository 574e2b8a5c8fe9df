"""A campaign's outputs: terminal lines, campaign.json, Markdown, JUnit XML, an HTML page
(layer: harness).

JUnit follows the de-facto schema CI systems read (Jenkins xunit junit-10.xsd,
junitparser's xunit2): <testsuites> > one <testsuite> per case with
<properties> (priority, backend, seeds, node counts, each run's replay
command) > one <testcase> per run named CASE[n=N,seed=S] holding at most one
<failure> (the violation line; a failed run) or <error> (type "unknown" for
an undecided run, "not-run" for one that could not be carried out), and a
<system-out> with the run directory and replay command. The Markdown fits a
CI step summary (GitHub's limit is 1024 KiB: failing runs are capped).
"""

from __future__ import annotations

import json
import os
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.reports._html import Raw, esc, page, table

MARK = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN", "not-run": "NOT RUN"}
CLASS = {"pass": "pass", "fail": "fail", "unknown": "unknown", "not-run": "none"}
MD_FAILURES_MAX = 200


def progress_line(record: dict, done: int, total: int) -> str:
    where = record.get("run_dir") or record.get("violation") or ""
    line = (f"[{done:>{len(str(total))}}/{total}] {MARK[record['outcome']]:<7} "
            f"{record['name']}  {record['seconds']:.1f} s  {where}")
    if record["outcome"] in ("fail", "unknown") and record.get("violation"):
        line += f"\n      {record['violation']}"
    return line


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def summary_lines(data: dict) -> list[str]:
    """The end-of-campaign table for the terminal."""
    lines = [f"=== campaign {data['name']}: exit {data['exit_code']} "
             f"({data['runs_total']} runs: " + ", ".join(
                 f"{n} {k}" for k, n in data["totals"].items()) + ") ==="]
    lines.append(f"{'case':<12} {'prio':<4} {'pass':>9} {'fail':>4} {'unkn':>4} {'n/run':>5} "
                 f"{'fail-rate 95% ub':>16}  >95% supported")
    for c in data["cases"]:
        lines.append(f"{c['case']:<12} {c['priority']:<4} {c['pass']:>4}/{c['carried_out']:<4} "
                     f"{c['fail']:>4} {c['unknown']:>4} {c['not-run']:>5} "
                     f"{_pct(c['fail_rate_upper95']):>16}  {'yes' if c['supports_95'] else 'no'}")
    for g in data["gates"].values():
        lines.append(f"gate {g['gate']} ({'+'.join(g['priorities'])}): {g['verdict'].upper()}"
                     + (f" - blocking: {', '.join(g['blocking'][:5])}" if g["blocking"] else ""))
    if data.get("missing"):
        lines.append(f"! {len(data['missing'])} matrix cells have no result (shards missing)")
    for r in _flagged(data):
        lines.append(f"{'accepted ' if r['accepted'] else ''}regression {r['case']} "
                     f"n={r['nodes']} {r['metric']}: {_pct(r['change'])} worse (median "
                     f"{r['median']:.3g} vs {r['baseline_median']:.3g}, p={r['p']:.3f})")
    return lines


def _flagged(data: dict) -> list[dict]:
    """Baseline rows worth showing: worse by more than the threshold."""
    return [r for r in data.get("regressions") or [] if r["regression"] or r["note"]]


def _regression_md(data: dict) -> list[str]:
    if "regressions" not in data:
        return []
    rows = _flagged(data)
    out = ["", f"### Against baseline `{(data.get('baseline') or {}).get('source')}`", ""]
    if not rows:
        return out + ["No metric worse by more than 5%."]
    out += ["| case | nodes | metric | baseline median | median | change | p | verdict |",
            "|---|---|---|---|---|---|---|---|"]
    return out + [f"| {r['case']} | {r['nodes']} | {r['metric']} | {r['baseline_median']:.3g} | "
                  f"{r['median']:.3g} | {_pct(r['change'])} | {r['p']:.3f} | "
                  f"{'accepted' if r['accepted'] else ('REGRESSION' if r['regression'] else r['note'])} |"
                  for r in rows]


def markdown(data: dict) -> str:
    """The campaign as Markdown for a CI step summary."""
    out = [f"## Campaign `{data['name']}`: exit {data['exit_code']}", "",
           f"{data['runs_total']} runs; " + ", ".join(f"{n} {k}" for k, n in
                                                      data["totals"].items()), "",
           "| gate | priorities | verdict | runs |", "|---|---|---|---|"]
    out += [f"| {g['gate']} | {' '.join(g['priorities'])} | **{g['verdict'].upper()}** | "
            f"{g['runs']} |" for g in data["gates"].values()]
    out += ["", "| case | priority | passed | failed | unknown | not run | pass rate | "
            "fail rate 95% upper bound | >95% supported |", "|---|---|---|---|---|---|---|---|---|"]
    out += [f"| {c['case']} | {c['priority']} | {c['pass']}/{c['carried_out']} | {c['fail']} | "
            f"{c['unknown']} | {c['not-run']} | {_pct(c['pass_rate'])} | "
            f"{_pct(c['fail_rate_upper95'])} | {'yes' if c['supports_95'] else 'no'} |"
            for c in data["cases"]]
    out += _regression_md(data)
    bad = [r for r in data["runs"] if r["outcome"] != "pass"]
    if bad:
        out += ["", "### Runs that did not pass", ""]
        out += [f"- **{MARK[r['outcome']]}** `{r['name']}`: {_md(r.get('violation'))}  \n"
                f"  replay: `{r.get('replay')}`" for r in bad[:MD_FAILURES_MAX]]
        if len(bad) > MD_FAILURES_MAX:
            out.append(f"- ... and {len(bad) - MD_FAILURES_MAX} more (see campaign.json)")
    return "\n".join(out) + "\n"


def _md(text) -> str:
    return str(text or "-").replace("|", "\\|").replace("\n", " ")[:500]


def junit(data: dict) -> str:
    """JUnit XML: a testsuite per case, a testcase per run."""
    root = ET.Element("testsuites", name=f"campaign {data['name']}",
                      tests=str(len(data["runs"])),
                      failures=str(sum(r["outcome"] == "fail" for r in data["runs"])),
                      errors=str(sum(r["outcome"] in ("unknown", "not-run")
                                     for r in data["runs"])),
                      skipped="0", time=f"{sum(r['seconds'] for r in data['runs']):.3f}",
                      timestamp=data.get("started", ""))
    by_case: dict = {}
    for r in data["runs"]:
        by_case.setdefault(r["case_id"], []).append(r)
    for case, runs in by_case.items():
        _suite(root, data, case, runs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def _suite(root, data, case, runs) -> None:
    suite = ET.SubElement(root, "testsuite", name=case, tests=str(len(runs)),
                          failures=str(sum(r["outcome"] == "fail" for r in runs)),
                          errors=str(sum(r["outcome"] in ("unknown", "not-run") for r in runs)),
                          skipped="0", time=f"{sum(r['seconds'] for r in runs):.3f}",
                          timestamp=data.get("started", ""), hostname=data.get("host", ""))
    props = ET.SubElement(suite, "properties")
    for name, value in (("priority", runs[0]["priority"]), ("backend", data.get("backend")),
                        ("seeds", ",".join(sorted({str(r["seed"]) for r in runs}, key=int))),
                        ("nodes", ",".join(sorted({str(r["nodes"]) for r in runs}, key=int))),
                        ("campaign", data["name"])):
        ET.SubElement(props, "property", name=name, value=str(value))
    for r in runs:
        ET.SubElement(props, "property", name=f"replay {r['name']}", value=str(r.get("replay")))
    for r in runs:
        tc = ET.SubElement(suite, "testcase", classname=case, name=r["name"],
                           time=f"{r['seconds']:.3f}")
        message = _clean(r.get("violation") or "")
        if r["outcome"] == "fail":
            ET.SubElement(tc, "failure", message=message[:1000], type="violation").text = message
        elif r["outcome"] in ("unknown", "not-run"):
            ET.SubElement(tc, "error", message=message[:1000],
                          type=r["outcome"]).text = _clean(r.get("stderr") or message)
        ET.SubElement(tc, "system-out").text = _clean(
            f"run dir: {r.get('run_dir')}\nreplay: {r.get('replay')}\nexit code: "
            f"{r['exit_code']}\n" + "".join(f"{k}: {v.get('measured')} s pass={v.get('pass')}\n"
                                            for k, v in (r.get("slas") or {}).items()))


def _clean(text: str) -> str:
    """Text legal in XML 1.0 (control characters other than tab/newline dropped)."""
    return "".join(ch for ch in str(text) if ch in "\t\n\r" or ord(ch) >= 0x20)


def html_page(data: dict, out_dir: Path) -> str:
    """The campaign page: gates, per-case pass rates, and every run coloured by outcome with a
    link to its report (relative to the campaign directory)."""
    gates = table(["gate", "priorities", "verdict", "runs", "blocking"],
                  [[g["gate"], " ".join(g["priorities"]), g["verdict"].upper(), g["runs"],
                    ", ".join(g["blocking"][:10]) or "-"] for g in data["gates"].values()],
                  [{"pass": "pass", "fail": "fail"}.get(g["verdict"], "unknown")
                   for g in data["gates"].values()])
    cases = table(["case", "priority", "passed", "failed", "unknown", "not run", "pass rate",
                   "fail rate 95% ub", ">95% supported"],
                  [[c["case"], c["priority"], f"{c['pass']}/{c['carried_out']}", c["fail"],
                    c["unknown"], c["not-run"], _pct(c["pass_rate"]),
                    _pct(c["fail_rate_upper95"]), "yes" if c["supports_95"] else "no"]
                   for c in data["cases"]])
    runs = table(["run", "priority", "outcome", "seconds", "violation / note", "report"],
                 [[r["name"], r["priority"], MARK[r["outcome"]], r["seconds"],
                   r.get("violation") or "-", _report_link(r, out_dir)] for r in data["runs"]],
                 [CLASS[r["outcome"]] for r in data["runs"]])
    body = [f"<p><a href=\"/\">all runs</a></p><h1>Campaign {esc(data['name'])}: exit "
            f"{data['exit_code']}</h1><p class=\"muted\">{esc(data.get('source'))}, started "
            f"{esc(data.get('started'))}, backend {esc(data.get('backend'))}</p>",
            "<h2>Gates</h2>", gates, "<h2>Matrix</h2>", matrix_html(data, out_dir),
            "<h2>Cases</h2>", cases, *_regression_html(data), "<h2>Runs</h2>", runs]
    return page(f"campaign {data['name']}", body)


def _regression_html(data: dict) -> list[str]:
    if "regressions" not in data:
        return []
    rows = _flagged(data)
    head = f"<h2>Against baseline {esc((data.get('baseline') or {}).get('source'))}</h2>"
    if not rows:
        return [head, "<p>No metric worse by more than 5%.</p>"]
    return [head, table(["case", "nodes", "metric", "baseline median", "median", "change", "p",
                         "verdict"],
                        [[r["case"], r["nodes"], r["metric"], r["baseline_median"], r["median"],
                          _pct(r["change"]), r["p"], "accepted" if r["accepted"] else (
                              "REGRESSION" if r["regression"] else r["note"])] for r in rows],
                        ["fail" if r["regression"] and not r["accepted"] else "unknown"
                         for r in rows])]


def matrix_html(data: dict, out_dir: Path) -> str:
    """Cases (with their DB options) down, node count x seed across, each cell the run's
    outcome coloured and linked to its report."""
    def row_of(r):
        return r["case_id"] + "".join(f" {o}" for o in r.get("db_opt") or [])

    cols = sorted({(r["nodes"], r["seed"], r.get("rep", 0)) for r in data["runs"]})
    rows: dict = {}
    for r in data["runs"]:
        rows.setdefault(row_of(r), {})[(r["nodes"], r["seed"], r.get("rep", 0))] = r
    head = "".join(f"<th>n={n} seed={s}{f' #{k}' if k else ''}</th>" for n, s, k in cols)
    out = [f"<table><tr><th>case</th>{head}</tr>"]
    for name, cells in rows.items():
        tds = []
        for col in cols:
            r = cells.get(col)
            if r is None:
                tds.append("<td></td>")
                continue
            link = _report_link(r, out_dir)
            mark = MARK[r["outcome"]]
            text = link.replace(">report<", f">{mark}<") if isinstance(link, Raw) else mark
            tip = esc(r.get("violation") or "")
            tds.append(f"<td class=\"{CLASS[r['outcome']]}\" title=\"{tip}\">{text}</td>")
        out.append(f"<tr><td>{esc(name)}</td>{''.join(tds)}</tr>")
    return "".join(out) + "</table>"


def _report_link(record: dict, out_dir: Path):
    if not record.get("run_dir"):
        return "-"
    rel = os.path.relpath(Path(record["run_dir"]) / "report.html", out_dir)
    return Raw(f"<a href=\"{esc(Path(rel).as_posix())}\">report</a>")


def write_outputs(data: dict, out_dir: Path, markdown_file=None, junit_file=None) -> None:
    """campaign.json, summary.md, junit.xml and index.html in out_dir, plus the files asked for."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data.setdefault("host", socket.gethostname())
    texts = {"campaign.json": json.dumps(data, indent=2, default=str) + "\n",
             "summary.md": markdown(data), "junit.xml": junit(data),
             "index.html": html_page(data, out_dir)}
    for name, text in texts.items():
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
    for target, name in ((markdown_file, "summary.md"), (junit_file, "junit.xml")):
        if target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(texts[name], encoding="utf-8")
