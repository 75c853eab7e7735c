"""Reporting: result tables (Markdown, LaTeX, CSV) and figures."""
