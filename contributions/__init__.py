"""Contribution pipeline: upload, validate, score, attest, pin (see issue #4)."""
