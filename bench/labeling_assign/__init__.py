"""Benchmark: ``next`` latency and submit throughput of labeling on PostgreSQL.

Run ``python -m bench.labeling_assign [--quick] [--labelers L] [--iterations I] [--repeat R]
[--consensus worker|off] [--gold-rate G] [--order arrival|uncertain] [--think-ms T]
[--task TYPE|all] [--json PATH] [--markdown PATH] [--keep] [--reuse]``.

``--task`` picks the dataset's task type (``classification``, the default, ``boxes``, ``spans``,
``pairwise`` or ``text``; ``bench/labeling_assign/types.py``): the same tasks, labels, holds and
truth, with each type's items, answers, check answers and consensus. ``--task all`` runs every
type in turn, each in a process and a database of its own, and reports each type's ``next`` and
submit p50/p95 over classification's of the same run (target: at most 1.5x).

The data (``bench/labeling_assign/data.py``): one DAO, one labeling dataset (10 classes, overlap 3,
max overlap 5, gold rate 0.05 with 0.2 % of the tasks gold) with 1,000,000 tasks (``--quick``:
100,000) and about 3.1 labels per task (3.1M labels, as many submitted holds), 85 % of the
tasks settled, 5 % partly labeled, 10 % fresh; ``--order uncertain`` serves the open ones
least confident first (the schema's ``order``); 1,000 labelers, all members, with their
``LabelerStats``. It lives in its own database ``datadao_bench_label`` (dropped and re-created,
migrated, filled in SQL, then ``VACUUM ANALYZE`` and ``CHECKPOINT``), dropped at the end unless
``--keep``; ``--reuse`` runs again on a kept one as it was left (and keeps it). Settings: the
production module ``config.settings`` (persistent connections), broker pointed at Redis
database 8 which must stay empty: nothing in the measured path may reach it.

``labelers`` processes (default 10; processes, as web workers are, so no GIL is shared), each
one of the dataset's labelers with its own connection, run in lock step, per round, after a
warm-up round:

* ``select_1``: ``SELECT 1`` through Django's cursor, ``floor`` times each: the round-trip
  floor under the same concurrency;
* ``commit_1``: a one-row UPDATE (each process its own row) committed: the durable-commit floor
  (WAL flush), since ``next`` and submit both commit;
* ``label``: ``iterations`` cycles of ``labeling.services.task_next`` then ``label_submit``
  (the product's services, nothing stubbed but the consensus dispatch below), answers right
  80 % of the time (gold 90 %). By default a closed loop without think time: 10 processes
  offer the load of hundreds of people, and on a small machine the figures are CPU queueing;
  ``--think-ms`` adds a random (exponential) pause between cycles, as people take.

Every answer dispatches its task's consensus on commit. ``dispatch_task_consensus`` is
replaced in the labeler processes: with ``--consensus worker`` (default) the task id goes to one
more process that runs the real ``task_consensus_update`` as the Celery worker would (settling
the task or raising its overlap), so finished tasks leave ``next``'s candidates as in
production; with ``off`` it is dropped and filled tasks stay open (the worst case for the
candidate scan). The rounds wait for the settler to catch up.

Reported per round and then as median/min/max over rounds: p50/p95/p99 of ``next`` (also split
into ordinary and gold hand-outs), submit, ``select_1`` and ``commit_1``; ``next`` p95 as a
ratio to the ``select_1`` and ``commit_1`` p95 of the same round; labels/s. Also the time per
SQL statement inside ``next`` and submit (an execute wrapper), EXPLAIN (ANALYZE, BUFFERS) of
the candidate queries, the CPU each cycle costs (client: the labeler process; server: its
PostgreSQL backend, from /proc) with the share of the machine busy meanwhile (other work on
a shared machine shows there), and a consistency check of every task's counters. Target: ``next``
p95 <= 20 ms at 1M tasks. JSON to stdout (and ``--json``), a markdown table with
``--markdown``, a summary on stderr; exit status 1 on any refusal, error or inconsistency.

On a 2-core machine ``--quick`` takes about 40 s; the full size about 12 minutes (of which the
load, reported apart, about 1).

The modules: ``config`` (sizes and the plan), ``data`` (the dataset, loaded in SQL),
``database`` (making or reusing the database, EXPLAIN), ``labeler`` and ``settler`` (the
child processes), ``drive`` (starting them and running the rounds in lock step), ``summary``
(the figures and problems), ``report`` (the table), ``cli`` (the arguments and clean-up).
"""
