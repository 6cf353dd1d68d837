"""Self-contained HTML reports of a training run or a search (no server, no network)."""

from .html import write_run_report, write_search_report

__all__ = ["write_run_report", "write_search_report"]
