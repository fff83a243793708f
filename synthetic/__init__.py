"""Synthetic data: a GAN generator of tabular rows behind a quality and privacy gate, and the
jobs that run it for a dataset."""
