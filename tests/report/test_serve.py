"""harness serve over real HTTP: the index (newest first, by verdict), run pages, reports made
on demand, and paths confined to the store."""

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.campaign_report import write_outputs
from harness.campaign_stats import outcome, summarize
from harness.reports._server import make_server
from synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    make_run(store, seed=7, stamp="20261128T010000")
    make_run(store, seed=8, stamp="20261128T020000", stale_read=True)
    unchecked = make_run(store, seed=9, stamp="20261128T030000", analyze=False)
    (unchecked / "id_ed25519").write_text("PRIVATE KEY")
    (store / "latest").symlink_to(unchecked.relative_to(store))
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("outside the store")
    (store / "escape").symlink_to(outside)
    (unchecked / "escape.txt").symlink_to(outside / "secret.txt")
    _campaign(store, [store / "tc-af-002" / "20261128T010000-7",
                      store / "tc-af-002" / "20261128T020000-8"])
    return store


def _campaign(store, run_dirs):
    """A stored campaign over two of the runs, as `harness campaign` writes it."""
    recs = []
    for i, run in enumerate(run_dirs):
        results = json.loads((run / "results.json").read_text())
        code = results["exit_code"]
        recs.append({"index": i, "name": f"TC-AF-002[n=3,seed={7 + i}]", "case": "tc-af-002",
                     "case_id": "TC-AF-002", "priority": "P0", "nodes": 3, "seed": 7 + i,
                     "rep": 0, "exit_code": code, "outcome": outcome(code), "seconds": 30.0,
                     "run_dir": str(run), "violation": None, "replay": "harness run ..."})
    data = {"name": "small", "source": "small.yaml", "backend": "docker",
            "started": "2026-11-28T03:00:00+0000", "runs": recs, **summarize(recs)}
    write_outputs(data, store / "campaigns" / "small" / "20261128T030000")


@pytest.fixture(scope="module")
def server(store):
    srv = make_server(store, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def get(server, path, method="GET"):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=120)
    try:
        conn.request(method, path)   # sent as is: no client-side normalisation of ../
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_index_lists_runs_newest_first_coloured_by_verdict(server):
    status, headers, body = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    rows = re.findall(r'<tr class="(\w+)"><td>(\d{8}T\d{6})</td>', body.decode())
    assert rows == [("none", "20261128T030000"), ("fail", "20261128T020000"),
                    ("pass", "20261128T010000")]
    assert "3 runs" in body.decode()


def test_index_lists_campaigns_and_their_page_links_each_run_report(server):
    body = get(server, "/")[2].decode()
    assert '<a href="/campaigns/small/20261128T030000/">small</a>' in body
    assert "release: fail" in body and '<tr class="fail"><td><a href="/campaigns' in body
    status, _, page = get(server, "/campaigns/small/20261128T030000/index.html")
    links = re.findall(r'<a href="([^"]+/report.html)">report</a>', page.decode())
    assert status == 200 and links == ["../../../tc-af-002/20261128T010000-7/report.html",
                                       "../../../tc-af-002/20261128T020000-8/report.html"]
    base = "/campaigns/small/20261128T030000/"
    for link in links:   # resolved as a browser would, relative to the campaign page
        path = "/" + str(Path(base + link).resolve().relative_to(Path("/").resolve()))
        status, _, report = get(server, path)
        assert status == 200 and b"data:image/png;base64," in report


def test_run_page_lists_files_but_not_the_private_key(server, store):
    status, _, body = get(server, "/tc-af-002/20261128T030000-9/")
    text = body.decode()
    assert status == 200 and "history.jsonl" in text and "report.html" in text
    assert "generated on first view" in text and "id_ed25519" not in text
    assert get(server, "/tc-af-002/20261128T030000-9")[0] == 301


def test_report_is_generated_on_first_view_and_after_a_recheck(server, store):
    run = store / "tc-af-002" / "20261128T010000-7"
    (run / "report.html").unlink(missing_ok=True)
    status, headers, body = get(server, "/tc-af-002/20261128T010000-7/report.html")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"data:image/png;base64," in body and (run / "report.html").exists()
    first = (run / "report.html").stat().st_mtime_ns
    later = time.time() + 5
    os.utime(run / "results.json", (later, later))     # as `harness check RUN_DIR` would
    assert get(server, "/tc-af-002/20261128T010000-7/report.html")[0] == 200
    assert (run / "report.html").stat().st_mtime_ns > first


def test_files_are_served_with_text_types(server):
    status, headers, body = get(server, "/tc-af-002/20261128T010000-7/run.json")
    assert status == 200 and json.loads(body)["seed"] == 7
    assert headers["Content-Type"].startswith("application/json")
    status, headers, body = get(server, "/latest/history.jsonl", method="HEAD")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert int(headers["Content-Length"]) > 1000 and body == b""


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/tc-af-002/..%2f..%2f..%2fetc",
    "/escape/secret.txt", "/tc-af-002/20261128T030000-9/escape.txt", "/nope",
    "/tc-af-002/%00/x", "/..\\..\\etc\\passwd"])
def test_paths_outside_the_store_are_not_found(server, path):
    status, _, body = get(server, path)
    assert status == 404 and b"outside the store" not in body and b"root:" not in body


@pytest.mark.parametrize("path", ["/tc-af-002/20261128T030000-9/id_ed25519",
                                  "/tc-af-002/20261128T030000-9/.report.html.1.tmp"])
def test_secrets_and_dotfiles_are_forbidden(server, path):
    status, _, body = get(server, path)
    assert status == 403 and b"PRIVATE" not in body


def test_cli_serve_rejects_a_missing_store_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "harness", "serve", "--store",
                           str(tmp_path / "nope"), "--port", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 254 and len(done.stderr.strip().splitlines()) == 1
    assert "--store" in done.stderr


def test_cli_serve_on_a_taken_port_is_one_line_254(store):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "harness", "serve", "--store", str(store),
                               "--port", str(port)], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 254 and len(done.stderr.strip().splitlines()) == 1
    assert f"--port {port}: cannot listen" in done.stderr
