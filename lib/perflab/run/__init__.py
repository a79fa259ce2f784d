"""One run: the notebooks' context, papermill, the summary and the run folder."""
