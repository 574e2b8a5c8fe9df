"""harness serve in a real headless browser (Debian's chromium): the rendered index lists the
runs of a small store, and a run's report page shows its plots and fault-window labels.

Needs the chromium package (scripts/install --test installs it); skipped without it
outside CI, a failure in CI.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OK_BLUE = np.array([0x3b, 0x8e, 0xe8]) / 255   # the ok points of the latency plots

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (scripts/install --test installs it)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, store) of `harness serve` over a store of two runs, in a subprocess."""
    assert CHROMIUM, "chromium missing: scripts/install --test must install it in CI"
    store = tmp_path_factory.mktemp("store")
    make_run(store, seed=7, stamp="20261128T010000")
    make_run(store, seed=8, stamp="20261128T020000", stale_read=True, lost_write=True)
    proc = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--store", str(store),
                             "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        yield _url(proc), store
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _url(proc) -> str:
    """The URL `harness serve` prints on its first line (waits at most 60 s)."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(60)
    assert line and "http://" in line[0], f"serve did not start: {proc.poll()} {line}"
    return re.search(r"http://\S+", line[0]).group(0)


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=180)


def test_index_page_lists_the_runs_by_verdict(served, tmp_path):
    url, _ = served
    dom = _chromium(tmp_path, "--dump-dom", url).stdout
    assert "HeliosDB harness results" in dom
    links = re.findall(r'<a href="(/tc-af-002/[^"]+/)">TC-AF-002</a>', dom)
    assert links == ["/tc-af-002/20261128T020000-8/", "/tc-af-002/20261128T010000-7/"]
    assert re.findall(r'<tr class="(\w+)"><td>2026', dom) == ["fail", "pass"]


def test_report_page_renders_plots_with_fault_windows(served, tmp_path):
    url, _ = served
    page = url + "tc-af-002/20261128T020000-8/report.html"
    dom = _chromium(tmp_path, "--dump-dom", page).stdout
    images = re.findall(r'<img class="plot" alt="([^"]*)" src="data:image/png;base64,'
                        r'([A-Za-z0-9+/=]+)"', dom)
    assert [alt.split(";")[0] for alt, _ in images] == [
        "latency scatter", "latency quantiles", "throughput", "node roles and terms"]
    for _, data in images:
        assert len(base64.b64decode(data)) > 10_000
    assert "Shaded: fault windows F1 kill n1, F2 kill n2." in dom
    assert "First violation" in dom and "Counterexample for key" in dom
    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,4000",
              f"--screenshot={shot}", page)
    pixels = mpimg.imread(shot)[..., :3]
    blue = np.all(np.abs(pixels - OK_BLUE) < 0.08, axis=-1).sum()
    assert blue > 500, f"the plots did not render: {blue} ok-blue pixels in the screenshot"
