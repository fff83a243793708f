"""Benchmark: the whole platform under load: contributors uploading and labelers labeling at once.

Run ``python -m bench.load [--quick] [--contributors N] [--labelers N] [--duration S]
[--contributor-wait A,B] [--labeler-think A,B] [--drain-limit S] [--json PATH] [--markdown PATH]
[--keep]``, or stepped up to find the load's knee: ``python -m bench.load --step 50,100,200
[--stacks baseline,tuned] [--past-knee N] [--duration S]`` (``bench/load/steps.py``).

Everything runs on loopback, isolated from the test suite and from ``bin/run``: its own
database ``datadao_bench_load`` (dropped and re-created as a copy of
``datadao_bench_load_template``, a migrated database kept between runs and migrated afresh
whenever a migration file or Django changes: ``bench._db.create_database``); a redis-server of
its own on a free port as the broker (not a database of the shared Redis: test sessions flush
theirs when they start, and one that picked the same number once wiped messages in flight
here); a temporary ``DATA_DIR`` with the embedded IPFS store. Settings: the production module
``config.settings`` (``DEBUG=false``, persistent connections) relaxed for plain HTTP as
``bench.pipeline`` does, with an hourly upload quota no run can reach (a 429 would still be
counted, apart).

The served platform: ``gunicorn config.wsgi -w 2`` (sync workers, as ``bench.web`` starts it)
and 2 Celery workers (``--concurrency 1`` on every queue, as ``bench.pipeline`` starts them).
The data, made through the services: a DAO with a tabular dataset (the 5-column CSV schema of
``bench.pipeline``, a reward per contribution) and a text labeling dataset (3 labels, overlap
3, a reward per label) whose items (``tasks``: enough that nobody runs dry) are imported by
the workers from a CSV (``label_import_create``); ``contributors`` + ``labelers`` members with
an API token each.

The load (``bench/load/users.py``: locust as a library, headless, in its own process):
``contributors`` users each upload a new CSV of 20 rows (every row unique in the run, so every
file is accepted) and then wait ``--contributor-wait`` seconds; ``labelers`` users each loop
``next`` → read the item ``--labeler-think`` seconds → submit (the right label 85 % of the
time); one probe user reads ``/healthz`` once a second (``--quick``: every 0.2 s, so that
each window below has a dozen). Users start over ``ramp_s`` seconds and run for ``duration``
seconds; then none starts a request, those in flight finish (within 30 s), and the load ends.
Bounded in count too: a user makes at most ``duration`` / (its shortest pause) uploads or
labels. Full size: 50 + 50 users for 5 minutes (ramp 10 s); ``--quick``: 10 + 10 for 15
seconds (ramp 2 s; the whole run, set-up included, in under 30 s on a 2-core machine once the
template database exists, about 8 s more when it is made afresh).

Repetitions: the ramp is the warm-up, and the rest of the load is cut into 5 windows of equal
length (58 s full, 2.6 s quick); each request belongs to the window it started in. The ratios to
``/healthz`` are per window (each endpoint's p95 over ``/healthz``'s p95 in the same window),
reported as median and min–max over the windows that had answers of both. In the quick run a
window holds about a dozen of each labeling request and of ``/healthz`` but only 0–8 uploads
(10 contributors pausing 3–9 s; the first uploads all fall in the ramp), so a window's p95 is
close to its maximum, and the upload ratio often comes from 4 windows, not 5: the window right
after the ramp has none.

The figures:

* requests: every request with its status; 5xx (must be 0, from the client and from the
  server's access log), 4xx by endpoint, status and the API's error code, requests with no
  answer (connection errors, timeouts) by exception;
* latency (ms, p50/p95/p99, nearest rank; from sending the request to the end of the body, so
  the wait in gunicorn's backlog is in it) of ``next`` (200 with a task), submit (201) and
  upload accept (201), and of ``/healthz`` as the same-run reference: the ratio of each p95 to
  ``/healthz``'s says how much is the endpoint's own work rather than queueing for a worker.
  Also, from gunicorn's access log, the time of each in the web worker (p50/p95 of ``%(D)s``:
  from reading the request to the end of the response, so without the backlog; on a shared
  machine still with the time the worker waited for a CPU);
* throughput over the load: requests/s, uploads accepted/s, labels/s;
* the same p95s and ratios over the whole load (ramp included), as context;
* drain: from the end of the load until no contribution is in a non-final state and the
  broker holds nothing (every queue empty, nothing unacknowledged), polled from the database
  and Redis; target ≤ 60 s. The backlog at the end of the load is reported too;
* the invariant check of the fleet tests (``tests/fleet/invariants.check_invariants`` over the
  whole database, with the IPFS store: every contribution final, one pin, CID and proof per
  pinned one, pinned on the store, exactly one credit of the policy's amount each, …), plus
  two cross-checks: every upload answered 201 is in the database (and nothing else is), every
  submit answered 201 is a stored label;
* CPU: the machine's busy share during the load and the CPU seconds of the web workers, the
  Celery workers and the load generator (the machine may be shared: figures under contention
  are what they are, the busy share shows it).

The run fails (exit status 1, the problems listed) on any 5xx, request without an answer,
unexpected 4xx, labeler finding nothing to do, contribution rejected or failed, lost
contribution or label, drain over 60 s, or invariant violation. JSON to stdout (and ``--json``),
a markdown table with ``--markdown``; every process started here is stopped in any case (after
the drain and the checks, with nothing left to do, the web server and the Celery workers get a
quick shutdown); the database and logs are dropped at the end unless ``--keep`` (kept after a
crash).

The stack served: ``config.Stack``. A single run serves ``BASELINE``, the stepping mode
``BASELINE`` and ``TUNED`` (``gunicorn -k gthread``, 4 processes of 4 threads; a pgbouncer of its
own in transaction mode, ``tests/pgbouncer.py``, in front of PostgreSQL for the web server and
the workers, with ``DATABASE_POOLER=pgbouncer``; ``--prefetch-multiplier 4``) step by step.

The modules: ``config`` (sizes, limits and stacks), ``setup`` (the broker, the server's argv, the
world, the imported items), ``users`` (the locust users, in a process of their own),
``measure`` (the load, the drain, the checks, the server logs), ``report`` (the figures, the
problems, the table), ``cli`` (the run in its steps and the arguments), ``steps`` (the
stepping mode and its knee table).
"""
