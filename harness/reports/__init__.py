"""HTML reports: a run's report.html, the store index and campaign pages (layer: harness).

Public entry points:
- write_html_report(run_dir, results=None) -> Path: write RUN_DIR/report.html.
- render_run_html(run_dir, results=None) -> str: the same page as a string.
"""

from harness.reports._run import REPORT_NAME, render_run_html, write_html_report

__all__ = ["REPORT_NAME", "render_run_html", "write_html_report"]
