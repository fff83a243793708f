"""Labeling: items to label, handing them out and taking answers, check questions, consensus,
reputation and export."""
