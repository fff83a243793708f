"""The answer a crowd of labelers agrees on.

- ``dawid_skene``: majority vote and Dawid–Skene over sparse label arrays (pure).
- ``agreement``: inter-annotator agreement and accuracy against gold (pure).
- ``dataset_run``: a whole dataset's consensus, read into arrays outside any transaction.
- ``offline``: consensus from CSV files, for the ``aggregate_labels`` command (pure).
- ``boxes``, ``spans``, ``pairwise``, ``text``: the other task types' aggregators, each
  returning ``result.Aggregate`` (pure); ``exports``: their export formats (pure);
  ``offline_types``: their CSV side of ``aggregate_labels --task`` (pure); ``typed``: the
  aggregators over stored answers (class names, candidate ids), for the services (pure).
"""
