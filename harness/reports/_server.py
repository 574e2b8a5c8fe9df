"""`harness serve`: browse a result store over HTTP (layer: harness).

Standard library only (http.server, one thread per request). Read-only, GET
and HEAD. Every request path is resolved (symlinks followed) and must stay
inside the store, else 404; dotfiles and a run's private SSH key are never
served (403). A run's report.html is generated on first view, and again when
results.json is newer than it (`harness check RUN_DIR` re-checked the run).

URLs: `/` the index; `/<case>/<run>/` a run's files; `/<path>` a file.
"""

from __future__ import annotations

import mimetypes
import shutil
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from harness.reports._html import SECRET_NAMES
from harness.reports._index import index_html, is_run_dir, listing_html
from harness.reports._run import REPORT_NAME, write_html_report

TEXT_SUFFIXES = (".jsonl", ".log", ".yaml", ".yml", ".txt", ".md", ".pub", ".xml")
_report_lock = threading.Lock()


class Forbidden(Exception):
    """The path exists in the store but is not served."""


def confine(store: Path, url_path: str) -> Path | None:
    """The store path a URL path names, or None if it leaves the store or does not exist.

    `store` must be resolved. Raises Forbidden for hidden files and secrets."""
    parts = [p for p in unquote(urlsplit(url_path).path).split("/") if p not in ("", ".")]
    if any(p == ".." or "\x00" in p or "\\" in p for p in parts):
        return None
    if any(p.startswith(".") or p in SECRET_NAMES for p in parts):
        raise Forbidden(url_path)
    try:
        target = store.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if target != store and store not in target.parents:
        return None
    if target.name in SECRET_NAMES:
        raise Forbidden(url_path)
    return target


def ensure_report(run_dir: Path) -> Path:
    """run_dir/report.html, written first if missing or older than results.json."""
    report, results = run_dir / REPORT_NAME, run_dir / "results.json"
    with _report_lock:
        stale = not report.exists() or (
            results.exists() and results.stat().st_mtime > report.stat().st_mtime)
        if stale:
            write_html_report(run_dir)
    return report


class StoreHandler(BaseHTTPRequestHandler):
    """Serves `self.server.store` (a resolved Path)."""

    server_version = "harness-serve"
    quiet = True

    def do_HEAD(self):
        self._respond(body=False)

    def do_GET(self):
        self._respond(body=True)

    def _respond(self, body: bool) -> None:
        store: Path = self.server.store
        try:
            target = self._target(store)
        except Forbidden:
            return self._send_text(HTTPStatus.FORBIDDEN, "not served\n", body)
        if target is None:
            return self._send_text(HTTPStatus.NOT_FOUND, "not found\n", body)
        if target.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                return self._redirect(self.path.split("?")[0] + "/")
            page = index_html(store) if target == store else listing_html(store, target)
            return self._send_bytes(page.encode("utf-8"), "text/html; charset=utf-8", body)
        self._send_file(target, body)

    def _target(self, store: Path) -> Path | None:
        path = urlsplit(self.path).path
        target = confine(store, path)
        if target is None and path.rstrip("/").endswith("/" + REPORT_NAME):
            run_dir = confine(store, path.rstrip("/")[: -len(REPORT_NAME)])
            if run_dir is not None and is_run_dir(run_dir):
                return ensure_report(run_dir)
        if target is not None and target.name == REPORT_NAME and is_run_dir(target.parent):
            return ensure_report(target.parent)
        return target

    def _send_file(self, path: Path, body: bool) -> None:
        ctype = "text/plain; charset=utf-8" if path.suffix in TEXT_SUFFIXES else (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        if ctype in ("text/html", "application/json"):
            ctype += "; charset=utf-8"
        with open(path, "rb") as f:
            size = path.stat().st_size
            self._head(HTTPStatus.OK, ctype, size)
            if body:
                shutil.copyfileobj(f, self.wfile, 1 << 16)

    def _send_bytes(self, data: bytes, ctype: str, body: bool) -> None:
        self._head(HTTPStatus.OK, ctype, len(data))
        if body:
            self.wfile.write(data)

    def _send_text(self, status, text: str, body: bool) -> None:
        data = text.encode()
        self._head(status, "text/plain; charset=utf-8", len(data))
        if body:
            self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _head(self, status, ctype: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        if not self.quiet:
            super().log_message(format, *args)


def make_server(store: Path, host: str, port: int, quiet: bool = True) -> ThreadingHTTPServer:
    """A bound (not yet serving) server for `store`; port 0 picks a free port."""
    handler = type("Handler", (StoreHandler,), {"quiet": quiet})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
    server = server_class((host, port), handler)
    server.daemon_threads = True
    server.store = Path(store).resolve()
    return server
