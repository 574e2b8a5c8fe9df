"""The store's index: every run (and campaign) newest first, coloured by verdict (layer: harness).

A run directory is a directory of the store, two levels down
(store/<case>/<YYYYmmddTHHMMSS>-<seed>), holding history.jsonl or run.json.
Its verdict comes from results.json (none: the run was interrupted or is
still running). Campaigns are store/campaigns/<name>/<stamp>/campaign.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from harness.reports._html import SECRET_NAMES, VERDICT_CLASS, Raw, banner, esc, page, table

RUN_MARKERS = ("history.jsonl", "run.json")
SKIP_TOP = ("campaigns", "latest")


@dataclass
class RunEntry:
    path: Path
    rel: str
    case: str
    stamp: str
    valid: object
    meta: dict
    summary: str


def _json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in RUN_MARKERS)


def find_runs(store: Path) -> list[RunEntry]:
    """Every run directory of the store, newest first (by the stamp in its name)."""
    store, out = Path(store), []
    for case_dir in sorted(p for p in store.iterdir() if p.is_dir() and not p.is_symlink()
                           and p.name not in SKIP_TOP and not p.name.startswith(".")) \
            if store.is_dir() else []:
        for run in case_dir.iterdir():
            if is_run_dir(run) and not run.is_symlink():
                out.append(run_entry(store, run))
    return sorted(out, key=lambda r: (r.stamp, r.rel), reverse=True)


def run_entry(store: Path, run: Path) -> RunEntry:
    results = _json(run / "results.json")
    meta = _json(run / "run.json") or {}
    errors = []
    for name, res in ((results or {}).get("checks") or {}).items():
        if isinstance(res, dict):
            errors += [f"{name}: {e}" for e in (res.get("errors") or [])[:1]]
    summary = errors[0] if errors else ("interrupted: " + str(meta["interrupted"])
                                        if meta.get("interrupted") else "")
    return RunEntry(path=run, rel=run.relative_to(store).as_posix(),
                    case=str(meta.get("case") or (results or {}).get("case") or run.parent.name),
                    stamp=run.name.split("-")[0], valid=(results or {}).get("valid"),
                    meta=meta, summary=summary)


def find_campaigns(store: Path) -> list[tuple[str, dict]]:
    """(path relative to the store, campaign.json) of every stored campaign, newest first."""
    root = Path(store) / "campaigns"
    found = []
    for path in root.glob("*/*/campaign.json") if root.is_dir() else []:
        data = _json(path)
        if data is not None:
            found.append((path.parent.relative_to(store).as_posix(), data))
    return sorted(found, key=lambda c: (c[1].get("started") or "", c[0]), reverse=True)


def _href(rel: str) -> str:
    return "/" + quote(rel.strip("/"))


def index_html(store: Path) -> str:
    """The index page of the store."""
    runs, campaigns = find_runs(store), find_campaigns(store)
    body = [f"<h1>HeliosDB harness results</h1><p class=\"muted\">store {esc(store)}: "
            f"{len(runs)} runs, {len(campaigns)} campaigns, newest first</p>"]
    if campaigns:
        rows = [[Raw(f"<a href=\"{_href(rel)}/\">{esc(c.get('name') or rel)}</a>"),
                 c.get("started"), c.get("exit_code", "-"), c.get("runs_total", "-"),
                 ", ".join(f"{g}: {v.get('verdict')}" for g, v in (c.get("gates") or {}).items()
                           if isinstance(v, dict)) or "-",
                 Raw(f"<a href=\"{_href(rel)}/index.html\">report</a>")]
                for rel, c in campaigns]
        body += ["<h2>Campaigns</h2>", table(["campaign", "started", "exit code", "runs",
                                              "gates", ""],
                                             rows, [_outcome_class(c) for _, c in campaigns])]
    rows = [[r.stamp, Raw(f"<a href=\"{_href(r.rel)}/\">{esc(r.case)}</a>"),
             r.meta.get("seed", "-"), len(r.meta.get("nodes") or []) or "-",
             r.meta.get("backend", "-"), Raw(banner(r.valid)), r.summary or "-",
             Raw(f"<a href=\"{_href(r.rel)}/report.html\">report</a>")] for r in runs]
    body += ["<h2>Runs</h2>", table(["started", "case", "seed", "nodes", "backend", "verdict",
                                     "first violation / note", ""], rows,
                                    [VERDICT_CLASS.get(r.valid, "unknown") for r in runs])
             if runs else "<p class=\"muted\">No runs in this store yet.</p>"]
    return page("harness results", body)


def _outcome_class(c: dict) -> str:
    return {0: "pass", 1: "fail", 2: "unknown"}.get(c.get("exit_code"), "none")


def listing_html(store: Path, directory: Path) -> str:
    """A directory of the store: its files and subdirectories, with the run's report first."""
    rel = directory.relative_to(store).as_posix()
    body = [f"<p><a href=\"/\">all runs</a></p><h1>{esc(rel)}</h1>"]
    if is_run_dir(directory):
        entry = run_entry(store, directory)
        made = "" if (directory / "report.html").exists() else " (generated on first view)"
        body.append(f"<p>{banner(entry.valid)} {esc(entry.summary)}</p><p><a href=\""
                    f"{_href(rel)}/report.html\">report.html</a>{esc(made)}</p>")
    rows = []
    for p in sorted(directory.iterdir(), key=lambda p: (not p.is_dir(), p.name)):
        if p.name.startswith(".") or p.name in SECRET_NAMES:
            continue
        name = p.name + ("/" if p.is_dir() else "")
        rows.append([Raw(f"<a href=\"{_href(rel + '/' + p.name)}{'/' if p.is_dir() else ''}\">"
                         f"{esc(name)}</a>"), "-" if p.is_dir() else p.stat().st_size])
    body.append(table(["name", "bytes"], rows))
    return page(rel, body)
