"""Benchmark: web pages over HTTP (gunicorn, 2 workers) with 1M contributions in the database.

Run ``python -m bench.web [--quick] [--requests N] [--repeat R] [--json PATH] [--markdown PATH]
[--keep]``. Everything runs isolated from the test suite and from ``bin/run``: its own database
``datadao_bench_web`` (dropped and re-created as a copy of ``datadao_bench_web_template``, a
migrated database kept between runs and migrated afresh whenever a migration file or Django
changes: ``bench._db.create_database``), Redis database 11 as the broker (flushed; nothing
consumes it), a temporary ``DATA_DIR``. Settings: the production module ``config.settings``
(``DEBUG=false``, persistent connections) with the HTTPS redirect and secure cookies relaxed
exactly as ``tests/settings.py`` does; static files collected as ``bin/run`` does, unless the
collected manifest already names every static file and is newer than all of them.

The data: the demo DAO (``manage.py demo``: members, a tabular, a files, a labeling and a
synthetic dataset, labeling tasks with labels), then, in SQL (``INSERT … SELECT
generate_series``), 300 more contributors with their memberships, 1,000,000 contributions
(``--quick``: 100,000) over the tabular and files datasets, their statuses (80 % pinned, 12 %
rejected, 2 % failed, 6 % in flight), scores and dates spread over 90 days, one contributor
(the demo's Alice) holding 2 % of them; a reward entry per pinned contribution, three closed
epochs of 27 days (with an allocation per contributor) and the open one of the last 9 days,
whose credits are unsettled (about 10 % of them); a release of the tabular dataset whose
manifest lists its pinned contributions; a webhook endpoint with an event and a delivery per
tenth pinned contribution; then ``ANALYZE``.

``gunicorn config.wsgi -w 2`` serves it on a free loopback port (started before the bulk data
goes in, so that its workers boot meanwhile; ready once ``/healthz`` answers, within 60 s, or
the run fails; stopped in any case). Sessions for the DAO creator
and Alice are created directly in the database (``SessionStore``) and sent as cookies with
``requests`` (one keep-alive connection). After a warm-up, ``repeat`` rounds, each of
``requests`` sequential GETs of every page in turn (``pages``): every page a contributor, a
labeler or the DAO's creator opens whose work can grow with the data — the home, DAO, dataset,
proposals and release pages, ``/me/contributions``, ``/me/rewards`` and ``/me/access``
(Alice), the labeling and review pages, the console dashboard, the data-rights screens and the
console's lists (contributions, epochs, reward entries, vouchers, releases, label tasks,
labeler stats, consensus runs, reviews, proposals, disputes, validator sets, webhook
deliveries, synthetic jobs, members, the audit log; the creator) — and ``/healthz`` (one
``SELECT 1`` through the same stack: the same-run reference). Reported per page: p50/p95 ms
(median, min, max over rounds) and the ratio of each to ``/healthz``'s of the same round, the
response size, and the gunicorn workers' peak RSS. Every response must be 200 and name what the
page is about; otherwise the run fails (exit status 1). The database is dropped at the end
unless ``--keep``. The quick run (100k contributions, 5 rounds of 8 requests per page after 2
warm-up rounds) took about 8 minutes on a shared 2-core machine at load 8–15, the setup 3–4 of
them. JSON to stdout (and ``--json``), a markdown table with ``--markdown``.

The modules: ``seed`` (the bulk data and the sessions), ``seed_more`` (the release and the
webhook deliveries), ``pages`` (what is requested, by whom), ``measure`` (the timed requests,
the table), ``cli`` (the run and its arguments); processes and databases through
``bench._procs`` and ``bench._db``.
"""
