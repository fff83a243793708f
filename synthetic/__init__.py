"""Synthetic data: GAN generator behind a quality-and-privacy gate (see issue #6)."""
