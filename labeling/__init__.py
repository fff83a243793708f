"""Labeling: assignment, gold questions, consensus, reputation (see issue #5)."""
