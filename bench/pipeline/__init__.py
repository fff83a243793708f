"""Benchmark: the contribution pipeline end to end, on PostgreSQL + Redis, with real workers.

Run ``python -m bench.pipeline [--quick] [--json PATH] [--repeat R] [--workers 1,2,4] [--lanes
batch,express,stages] [--compare-workers 2] [--workdir DIR] [--keep]``. Everything runs
isolated from the test suite and from ``bin/run``: its own database ``datadao_bench`` (a copy
of ``datadao_bench_pipeline_template``, migrated once and made again when a migration changes),
Redis database 14 (flushed), a temporary ``DATA_DIR`` with the embedded IPFS store. Settings:
the production module ``config.settings`` (``DEBUG=false``, ``CONN_MAX_AGE`` at its production
default) with the HTTPS redirect and secure cookies relaxed exactly as ``tests/settings.py``
does, and an hourly quota no run can reach. The validator key is derived from a public string:
it guards nothing.

The lanes, each selected by settings (the uploading side reads them too):

* ``batch`` (the product's default): small uploads wait for a batch message (one per burst,
  the batch ticket); a worker claims up to ``PIPELINE_BATCH_SIZE`` of them and records them in
  one transaction (``contributions.lanes.batch``);
* ``express`` (``PIPELINE_BATCH_SIZE=1``): one message per upload, every stage in that delivery;
* ``stages`` (also ``PIPELINE_EXPRESS_MAX_BYTES=0``): one message per stage, as a file above
  the express limit takes.

For every lane and worker count (the first lane at ``--workers``, the others at
``--compare-workers``) a fleet of ``celery -A config worker --concurrency 1`` processes on all
queues is started (as ``tests/fixtures_celery.py`` does) and left standing, as the platform's
fleet is; its start-up (``fleets[].ready_s``) is not on a contribution's path. On it: a warm-up
round of each workload, then ``repeat`` measured rounds of each (CSV files of 100 rows, 64x64
seeded-noise PNGs), with fresh files in a fresh dataset so nothing is a duplicate:

* ``floor``: sha256 + one write + one fsync of each file into a fresh folder (files/s; the
  median of FLOOR_PASSES passes);
* ``submit``: each file staged (copied into the staging folder while hashed, as the upload
  handler does) and kept with ``contribution_receive``: the web side of an upload minus HTTP,
  one after another, while the fleet works;
* end to end: from the first submission until every contribution is final (pinned, rejected,
  failed), polling the database; ``tail_after_submit_s`` is the part after the last
  submission.

Rates are contributions/s (median, min, max over the repetitions) and ratios to the floor of
the same round; the per-contribution overhead beyond hashing and writing the bytes once is
``1/rate - 1/floor``. The first lane over each other lane's end-to-end rate is reported paired
by repetition. Per-task times come from the workers' "succeeded in" log lines of the round.

Then the web process: gunicorn (one sync worker) receives one large text file through
``POST /api/datasets/{id}/contributions`` with an API token, streamed by the CLI's multipart
body, ``repeat`` times. Its worker's peak RSS growth (VmHWM after a reset, minus VmRSS before)
is reported next to the upload size (target <= 64 MiB), and the upload rate next to the floor
of hashing and writing the same bytes once.

The JSON summary goes to stdout (and ``--json``), a short summary to stderr. The exit status is
1 when any contribution did not end ``pinned`` or a check failed: a benchmark of failed work
measures nothing. A stuck stage (no status change for STALL_SECONDS) or a dead worker aborts the
run with the worker's log; every process started here is stopped in any case, and the database
and temporary folder are then kept for inspection (``--keep`` keeps them after a success too).

On a 2-core machine ``--quick`` (batch lane, 1 and 2 workers, 100 CSVs and 30 PNGs, 5 rounds
each) takes about 45 s; the full mode (batch lane at 1, 2 and 4 workers, express and stages at
2, 1,000 CSVs and 200 PNGs, 5 rounds each, 1 GiB uploads) about 25 minutes.

The modules: ``config`` (sizes, lanes, schemas), ``inputs`` (the seeded files and the floors),
``world`` (the DAO, submitting, waiting for final statuses), ``rounds`` (a fleet and one round
on it), ``upload`` (the web process), ``report`` (the figures), ``cli`` (the run and its
arguments); processes and databases through ``bench._procs`` and ``bench._db``.
"""
