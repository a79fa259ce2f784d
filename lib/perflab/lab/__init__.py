"""The lab: explore one query at a time in JupyterLab (plans, timings, what-ifs on a copy)."""
