"""The answer a crowd of labelers agrees on.

- ``dawid_skene``: majority vote and Dawid–Skene over sparse label arrays (pure).
- ``agreement``: inter-annotator agreement and accuracy against gold (pure).
- ``dataset_run``: a whole dataset's consensus, read into arrays outside any transaction.
- ``offline``: consensus from CSV files, for the ``aggregate_labels`` command (pure).
"""
