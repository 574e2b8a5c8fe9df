"""Small HTML building blocks shared by the run, index and campaign pages (layer: harness).

Everything that reaches the page goes through `esc`; pages are self-contained
(inline CSS, images as data: URIs, no scripts, no network).
"""

from __future__ import annotations

import html
import json

# Files never listed or served: a run's private SSH key.
SECRET_NAMES = ("id_ed25519", "id_rsa", "id_ecdsa")

VERDICT_WORD = {True: "PASSED", False: "FAILED", "unknown": "UNKNOWN", None: "NO RESULT"}
VERDICT_CLASS = {True: "pass", False: "fail", "unknown": "unknown", None: "none"}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.2em 2em;
 color:#222;max-width:1200px}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em;
 border-bottom:1px solid #ddd;padding-bottom:.2em} h3{font-size:1em}
table{border-collapse:collapse;margin:.4em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#d9f2d9} .fail{background:#f9d0d0} .unknown{background:#fde9c4}
.none{background:#e8e8e8} .info{color:#666}
.banner{display:inline-block;padding:.2em .7em;border-radius:4px;font-weight:bold}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
figure{margin:.6em 0} figcaption{font-size:.85em;color:#555}
img.plot{max-width:100%;border:1px solid #eee}
.muted{color:#777;font-size:.9em} code{font-size:.9em}
"""


def esc(value) -> str:
    """HTML-escaped text of any value (dicts and lists as compact JSON)."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str)
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def table(headers: list[str], rows: list[list], classes: list[str] | None = None) -> str:
    """A table; cells are escaped unless given as Raw; `classes` colours whole rows."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    out = [f"<table><tr>{head}</tr>"]
    for i, row in enumerate(rows):
        cls = f" class=\"{classes[i]}\"" if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(_cell(c) for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


class Raw(str):
    """Markup that `table` must not escape."""


def _cell(value) -> str:
    if isinstance(value, Raw):
        return f"<td>{value}</td>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<td class=\"num\">{esc(fmt(value))}</td>"
    return f"<td>{esc(value)}</td>"


def fmt(value, digits: int = 3) -> str:
    """Numbers for people: ints as is, floats with `digits` significant decimals, None as -."""
    if value is None:
        return "-"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def banner(valid) -> str:
    key = valid if valid in VERDICT_CLASS else "unknown"
    return (f"<span class=\"banner {VERDICT_CLASS[key]}\">"
            f"{esc(VERDICT_WORD.get(key, 'UNKNOWN'))}</span>")


def img(png_b64: str, alt: str) -> str:
    return (f"<img class=\"plot\" alt=\"{esc(alt)}\" "
            f"src=\"data:image/png;base64,{png_b64}\">")
