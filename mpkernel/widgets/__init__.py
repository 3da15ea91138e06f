"""ipywidgets for the notebook: progress bars, pickers, panels."""
