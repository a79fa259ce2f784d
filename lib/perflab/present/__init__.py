"""Figures, tables and pages: what a reader sees."""
