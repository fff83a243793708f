"""The authorization matrix (issue #9): every URL of the site × every role, generated.

What is covered, and why:

* **Every URL pattern.** ``test_every_url_pattern_is_in_the_matrix`` walks
  ``django.urls.get_resolver()`` recursively (the web pages, the JSON API under ``/api/`` and
  ``/api/labeling/``, the dashboards and every URL of the admin site) and fails for a pattern
  the matrix has no row for, and for a row whose pattern is gone. A new view cannot slip in
  unreviewed: whoever adds it must say here who may reach it.
* **Every role.** Eight columns: anonymous; an *outsider* (a contributor of a third DAO:
  signed in, a member somewhere, not here); a contributor, a reviewer, an admin and the
  creator of *this* DAO; *staff* (Django ``is_staff``, no model permissions, no DAO); and a
  *superuser*, who sees and may change every DAO's objects (so the privacy checks below are
  not theirs), but is no labeler of any DAO and raises no role of their own.
* **API tokens.** ``test_authz_matrix_tokens`` replays every row with the contributor's API
  tokens instead of a session: one per scope (upload, label, read), an expired and a revoked
  one. ``TOKEN_SCOPES`` names the scope each route needs; a token with it gets the
  contributor's cell, one without it 403 ``insufficient_scope``, an expired or revoked one 401
  ``token_expired``/``token_revoked``; every route not named there (pages, the console, token
  management, rewards downloads) answers any token 403 ``token_not_accepted``.
* **Public datasets.** The *public* variant is the other DAO's public dataset: its page,
  release and pinned content are everyone's, its contributions still only their contributor's.
* **Roles.** The ``role-*`` rows try each role change in the console: only the creator (and a
  superuser) grants or takes creator and admin, nobody raises their own role, and the last
  creator neither steps down nor leaves.
* **Objects of this DAO and of another one.** Path parameters (ids, slugs, CIDs) are filled
  from ``authz_world``: the same objects exist in this DAO and in the *other* DAO, of which no
  role is a member, and every dataset is members-only. So the other DAO's objects are private
  to every role, and the rule is: **a private object of another DAO answers 404** (the console
  answers as Django's admin does for any unknown id: a redirect to its index), exactly as an id
  that does not exist (checked on the same route), with no side effect: no SQL statement
  writes anything and no Celery task is published or queued for after the commit. The same
  holds for every refusal (401, 403, 404, 405, a redirect to a login). Nor may any response
  show a DAO's members-only dataset names to someone who is not its member.
* **Every admin model.** For each model registered in the console: changelist, add, change,
  delete, history and the bare object URL, per the model's kind in ``ADMIN_MODELS`` (a model
  registered without a kind fails ``test_every_console_model_is_in_the_matrix``).
* **Contributors' limits.** Besides the matrix rows for the console's writes (editing a schema,
  a reward policy or a membership, accepting a contribution, closing an epoch), the tests at the
  end check the state after a contributor tries each, against a manager who may, and that a
  labeler's next task carries nobody else's answer.
* **CSRF.** Every URL is POSTed without a token by a signed-in creator: a state-changing
  route answers 403 with Django's CSRF failure, any other that or 405, and nothing is written
  or dispatched. The sign-in routes (``/auth/verify``, ``/admin/login/``) refuse even an
  anonymous visitor (login CSRF). With a token the same POSTs get past the check, so the 403s
  were about the token.

Reading the tables: one column per role, in the order of ``ROLES``; each cell is the set of
outcomes allowed (``|`` between alternatives). ``302L`` is a redirect to the site's sign-in
(``LOGIN_URL``), ``302C`` to the console's login page, ``302I`` to the console's index (the
admin's answer to an unknown or out-of-scope id), ``302`` any other redirect; the rest are
status codes.

The objects are built once for the module, in a transaction rolled back at its end. Each row
is one test (in pytest-django's nested transaction) that sends each role's request from a fresh
``Client`` carrying the role's session cookie, in a savepoint of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from celery.app.task import Task
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from contributions.models import ApiToken, Status
from datadao.models import Dataset, Role
from ipfs.cid import RAW, Cid
from rewards.models import Epoch, EpochStatus, RewardEntry
from tests.security.authz_world import LABELS, ROLES, SECRET, TOKEN_ROLES, World, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

Fill = Callable[[World], str]
MISSING_ID = 2_147_483_000
NEWCOMER = "0x000000000000000000000000000000000000dEaD"
MISSING_CID = str(Cid.of_block(b"never pinned by the authorization matrix", codec=RAW))
CSRF_FAILURE = b"CSRF verification failed"
# Roles that are members of this DAO: the only ones that may see its private datasets.
MEMBERS = {"contributor", "reviewer", "admin", "creator"}

# --- the URL rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One row of the matrix: a URL pattern, a method, and the concrete URLs (per variant:
    ``this`` / ``other`` DAO, or ``-`` where no object is involved)."""

    name: str
    pattern: str
    urls: dict[str, Fill]
    method: str = "GET"
    data: Callable[[World], dict[str, Any]] | None = None
    as_json: bool = False
    # The same route for an object that does not exist: "other" must answer exactly as it.
    missing: Fill | None = None


def fixed(path: str) -> dict[str, Fill]:
    return {"-": lambda w: path}


def sides(fn: Callable[[Any], str]) -> dict[str, Fill]:
    return {"this": lambda w: fn(w.this), "other": lambda w: fn(w.other)}


def with_public(fn: Callable[[Any], str]) -> dict[str, Fill]:
    """Both sides and the other DAO's public dataset (``World.public``, the same attributes)."""
    return {**sides(fn), "public": lambda w: fn(w.public)}


def _token_id(w: World, name: str = "read") -> int:
    """The id of one of the contributor's API tokens (another user's, to every other role)."""
    return ApiToken.objects.get(user=w.users["contributor"], name=name).pk


def _member(role: str) -> Callable[[World], int]:
    return lambda w: w.roles[role].pk


def _dataset_form(w: World) -> dict[str, Any]:
    dataset = w.this.tabular
    return {
        "name": dataset.name,
        "description": "edited",
        "schema": json.dumps({"columns": [{"name": "edited", "type": "int"}]}),
        "license": "MIT",
        "visibility": "public",
        "scoring": "",
    }


def _policy_form(w: World) -> dict[str, Any]:
    # Typed in tokens (the DAO's token has 18 decimals): 999999 base units.
    return {
        "dataset": w.this.tabular.pk,
        "per_contribution": "0.000000000000999999",
        "per_label": "0",
    }


def _action(action: str, pk: Callable[[World], int]) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"action": action, "_selected_action": [pk(w)], "index": 0}


def _ct(model: type) -> int:
    return ContentType.objects.get_for_model(model).pk


# The apps with a console index page: whatever is registered (each needs its EXPECT row).
APP_LABELS = sorted({model._meta.app_label for model in admin.site._registry})
PIN_KINDS = ("contribution", "release", "item", "synthetic")

ROUTES: list[Route] = [
    # Web pages.
    Route("home", "", fixed("/")),
    Route("dao-new", "daos/new", fixed("/daos/new")),
    Route("dao-new-post", "daos/new", fixed("/daos/new"), "POST", lambda w: {}),
    Route(
        "dao-detail",
        "daos/<slug:slug>/",
        # DAOs are public; their members-only datasets are not listed (the leak check).
        sides(lambda s: f"/daos/{s.dao.slug}/"),
    ),
    Route(
        "dataset-page",
        "daos/<slug:dao_slug>/<slug:dataset_slug>/",
        with_public(lambda s: f"/daos/{s.tabular.dao.slug}/{s.tabular.slug}/"),
        missing=lambda w: f"/daos/{w.other.dao.slug}/no-such-dataset/",
    ),
    Route(
        "dataset-example",
        "daos/<slug:dao_slug>/<slug:dataset_slug>/example.csv",
        with_public(lambda s: f"/daos/{s.tabular.dao.slug}/{s.tabular.slug}/example.csv"),
        missing=lambda w: f"/daos/{w.other.dao.slug}/no-such-dataset/example.csv",
    ),
    Route(
        "label-page",
        "daos/<slug:dao_slug>/<slug:dataset_slug>/label",
        sides(lambda s: f"/daos/{s.dao.slug}/{s.labeling.slug}/label"),
        missing=lambda w: f"/daos/{w.other.dao.slug}/no-such-dataset/label",
    ),
    Route(
        "review-page",
        "daos/<slug:dao_slug>/<slug:dataset_slug>/review",
        sides(lambda s: f"/daos/{s.dao.slug}/{s.labeling.slug}/review"),
        missing=lambda w: f"/daos/{w.other.dao.slug}/no-such-dataset/review",
    ),
    # Invite links: public to whoever holds the token; an unknown token is 404.
    Route(
        "dao-invite",
        "daos/<slug:slug>/invite/<str:token>",
        {
            **sides(lambda s: f"/daos/{s.dao.slug}/invite/{s.invite_token}"),
            "unknown": lambda w: f"/daos/{w.this.dao.slug}/invite/no-such-token",
        },
    ),
    Route("my-contributions", "me/contributions", fixed("/me/contributions")),
    # Owner only: the contributor's own; everyone else's answer is that of a missing id.
    Route(
        "my-contribution",
        "me/contributions/<int:contribution_id>",
        with_public(lambda s: f"/me/contributions/{s.contribution.pk}"),
        missing=lambda w: f"/me/contributions/{MISSING_ID}",
    ),
    Route("my-rewards", "me/rewards", fixed("/me/rewards")),
    Route(
        "release-page",
        "releases/<str:cid>/",
        with_public(lambda s: f"/releases/{s.release.cid}/"),
        missing=lambda w: f"/releases/{MISSING_CID}/",
    ),
    Route(
        "ipfs",
        "ipfs/<str:cid>",
        {
            f"{variant}/{kind}": (lambda w, v=variant, k=kind: f"/ipfs/{w.side(v).pins[k].cid}")
            for variant in ("this", "other")
            for kind in PIN_KINDS
        }
        | {
            f"public/{kind}": (lambda w, k=kind: f"/ipfs/{w.public.pins[k].cid}")
            for kind in ("contribution", "release")
        },
        missing=lambda w: f"/ipfs/{MISSING_CID}",
    ),
    Route("healthz", "healthz", fixed("/healthz")),
    # The scripts' translations, for anyone.
    Route("javascript-catalog", "jsi18n/", fixed("/jsi18n/")),
    # The language switcher: a cookie and a redirect back, for anyone.
    Route(
        "set_language",
        "i18n/setlang/",
        fixed("/i18n/setlang/"),
        "POST",
        lambda w: {"language": "zh-hans", "next": "/"},
    ),
    # Sign-in with Ethereum.
    Route(
        "siwe-nonce",
        "auth/nonce",
        fixed("/auth/nonce?address=0x3e951FC6f4dda55c993B1B3C79aE16Cf134D5164"),
    ),
    Route("siwe-verify", "auth/verify", fixed("/auth/verify"), "POST", lambda w: {}, True),
    Route("siwe-logout", "auth/logout", fixed("/auth/logout"), "POST", lambda w: {}),
    Route("siwe-me", "auth/me", fixed("/auth/me")),
    Route(
        "demo-sign-in", "auth/demo", fixed("/auth/demo"), "POST", lambda w: {"member": "creator"}
    ),
    # The contributions API.
    Route(
        "api-upload",
        "api/datasets/<int:dataset_id>/contributions",
        with_public(lambda s: f"/api/datasets/{s.tabular.pk}/contributions"),
        "POST",
        lambda w: {},
        missing=lambda w: f"/api/datasets/{MISSING_ID}/contributions",
    ),
    Route("api-openapi", "api/openapi.json", fixed("/api/openapi.json")),
    # Joining and leaving (datadao.views.join). DAOs are public: no "missing" comparison.
    Route(
        "api-dao-terms",
        "api/daos/<str:slug>/terms",
        sides(lambda s: f"/api/daos/{s.dao.slug}/terms?address={NEWCOMER}"),
    ),
    Route(
        "api-dao-join",
        "api/daos/<str:slug>/join",
        sides(lambda s: f"/api/daos/{s.dao.slug}/join"),
        "POST",
        lambda w: {},
        True,
    ),
    Route(
        "api-dao-leave",
        "api/daos/<str:slug>/leave",
        sides(lambda s: f"/api/daos/{s.dao.slug}/leave"),
        "POST",
        lambda w: {},
    ),
    Route("api-contributions", "api/contributions", fixed("/api/contributions")),
    Route(
        "api-contribution",
        "api/contributions/<int:contribution_id>",
        with_public(lambda s: f"/api/contributions/{s.contribution.pk}"),
        missing=lambda w: f"/api/contributions/{MISSING_ID}",
    ),
    Route(
        "api-contribution-proof",
        "api/contributions/<int:contribution_id>/proof",
        with_public(lambda s: f"/api/contributions/{s.contribution.pk}/proof"),
        missing=lambda w: f"/api/contributions/{MISSING_ID}/proof",
    ),
    # The validator API takes a validator's signed request only: no session, no token.
    Route("api-validator-work", "api/validators/work", fixed("/api/validators/work")),
    Route(
        "api-validator-content",
        "api/validators/contributions/<int:contribution_id>/content",
        sides(lambda s: f"/api/validators/contributions/{s.contribution.pk}/content"),
        missing=lambda w: f"/api/validators/contributions/{MISSING_ID}/content",
    ),
    Route(
        "api-validator-ciphertext",
        "api/validators/contributions/<int:contribution_id>/ciphertext",
        sides(lambda s: f"/api/validators/contributions/{s.contribution.pk}/ciphertext"),
        missing=lambda w: f"/api/validators/contributions/{MISSING_ID}/ciphertext",
    ),
    Route(
        "api-validator-attestations",
        "api/validators/contributions/<int:contribution_id>/attestations",
        sides(lambda s: f"/api/validators/contributions/{s.contribution.pk}/attestations"),
        "POST",
        lambda w: {},
        as_json=True,
        missing=lambda w: f"/api/validators/contributions/{MISSING_ID}/attestations",
    ),
    Route("api-token-create", "api/tokens", fixed("/api/tokens"), "POST", lambda w: {"name": "x"}),
    Route("api-token-list", "api/tokens", fixed("/api/tokens")),
    # The contributor's token: everyone else's answer is that of a token that does not exist.
    Route(
        "api-token-revoke",
        "api/tokens/<int:token_id>",
        {"contributor's": lambda w: f"/api/tokens/{_token_id(w)}"},
        "DELETE",
        missing=lambda w: f"/api/tokens/{MISSING_ID}",
    ),
    Route("my-tokens", "me/tokens", fixed("/me/tokens")),
    # Consent withdrawal: only a contributor of the dataset gets an offer; anyone else is
    # answered as for a dataset that does not exist.
    Route(
        "api-withdrawal-offer",
        "api/datasets/<int:dataset_id>/withdrawal",
        with_public(
            lambda s: f"/api/datasets/{s.tabular.pk}/withdrawal?contribution={s.contribution.pk}"
        ),
        missing=lambda w: f"/api/datasets/{MISSING_ID}/withdrawal",
    ),
    Route(
        "api-withdrawal",
        "api/datasets/<int:dataset_id>/withdrawal",
        with_public(lambda s: f"/api/datasets/{s.tabular.pk}/withdrawal"),
        "POST",
        lambda w: {},
        missing=lambda w: f"/api/datasets/{MISSING_ID}/withdrawal",
    ),
    Route("api-withdrawals", "api/withdrawals", fixed("/api/withdrawals")),
    # Aggregate queries: members of the DAO (anyone signed in, on a public release).
    Route(
        "api-release-queries",
        "api/releases/<str:cid>/queries",
        with_public(lambda s: f"/api/releases/{s.release.cid}/queries"),
        "POST",
        lambda w: {},
        missing=lambda w: f"/api/releases/{MISSING_CID}/queries",
    ),
    Route(
        "api-query",
        "api/queries/<int:query_id>",
        sides(lambda s: f"/api/queries/{s.query.pk}"),
        missing=lambda w: f"/api/queries/{MISSING_ID}",
    ),
    Route("api-me-export", "api/me/export.zip", fixed("/api/me/export.zip")),
    # Loopback (the test client's address) may scrape; see test_observability for the rest.
    Route("metrics", "metrics", fixed("/metrics")),
    Route(
        "my-tokens-new",
        "me/tokens/new",
        fixed("/me/tokens/new"),
        "POST",
        lambda w: {"name": "page", "scopes": ["read"]},
    ),
    Route(
        "my-token-revoke",
        "me/tokens/<int:token_id>/revoke",
        {"contributor's": lambda w: f"/me/tokens/{_token_id(w)}/revoke"},
        "POST",
        lambda w: {},
        missing=lambda w: f"/me/tokens/{MISSING_ID}/revoke",
    ),
    Route(
        "api-dataset-releases",
        "api/datasets/<int:dataset_id>/releases",
        with_public(lambda s: f"/api/datasets/{s.tabular.pk}/releases"),
        missing=lambda w: f"/api/datasets/{MISSING_ID}/releases",
    ),
    *(
        Route(
            f"api-release-{suffix.split('.')[-1]}",
            f"api/releases/<str:cid>/{suffix}",
            with_public(lambda s, f=suffix: f"/api/releases/{s.release.cid}/{f}"),
            missing=lambda w, f=suffix: f"/api/releases/{MISSING_CID}/{f}",
        )
        for suffix in ("manifest.json", "release.car", "data.csv", "data.parquet")
    ),
    # The labeling API.
    *(
        Route(
            name,
            f"api/labeling/<int:dataset_id>/{tail}",
            sides(lambda s, t=tail: f"/api/labeling/{s.labeling.pk}/{t}"),
            method,
            (lambda w, b=body: dict(b)) if body is not None else None,
            as_json,
            missing=lambda w, t=tail: f"/api/labeling/{MISSING_ID}/{t}",
        )
        for name, tail, method, body, as_json in (
            ("label-next", "next", "GET", None, False),
            ("label-undo", "undo", "POST", {}, True),
            ("label-me", "me", "GET", None, False),
            ("label-consensus", "consensus", "GET", None, False),
            ("label-review", "review", "GET", None, False),
            ("label-consensus-run", "consensus", "POST", {"method": "mv"}, True),
            ("label-import-create", "imports", "POST", {}, False),
            ("label-predict", "prediction-endpoint", "GET", None, False),
            ("label-predict-set", "prediction-endpoint", "POST", {}, True),
            ("label-predict-remove", "prediction-endpoint", "DELETE", None, False),
            ("label-predict-run", "prediction-endpoint/run", "POST", {}, True),
            ("label-csv", "export.csv", "GET", None, False),
            ("label-jsonl", "export.jsonl", "GET", None, False),
        )
    ),
    *(
        Route(
            f"label-{verb}",
            f"api/labeling/<int:dataset_id>/holds/<int:hold_id>/{verb}",
            sides(lambda s, v=verb: f"/api/labeling/{s.labeling.pk}/holds/{s.hold.pk}/{v}"),
            "POST",
            lambda w: {"label": "cat"},
            True,
            missing=lambda w, v=verb: f"/api/labeling/{MISSING_ID}/holds/{MISSING_ID}/{v}",
        )
        for verb in ("label", "skip")
    ),
    # Review decisions on the task of each side: open (not settled), so a reviewer's is refused.
    *(
        Route(
            f"label-review-{verb}",
            f"api/labeling/<int:dataset_id>/review/<int:task_id>/{verb}",
            sides(lambda s, v=verb: f"/api/labeling/{s.labeling.pk}/review/{s.task.pk}/{v}"),
            "POST",
            lambda w, b=body: dict(b),
            True,
            missing=lambda w, v=verb: f"/api/labeling/{MISSING_ID}/review/{MISSING_ID}/{v}",
        )
        for verb, body in (("accept", {}), ("fix", {"answer": "cat"}), ("reject", {"more": 1}))
    ),
    Route(
        "label-export",
        "api/labeling/<int:dataset_id>/export/<slug:fmt>",
        sides(lambda s: f"/api/labeling/{s.labeling.pk}/export/csv"),
        missing=lambda w: f"/api/labeling/{MISSING_ID}/export/csv",
    ),
    Route(
        "label-import",
        "api/labeling/imports/<int:import_id>",
        sides(lambda s: f"/api/labeling/imports/{s.label_import.pk}"),
        missing=lambda w: f"/api/labeling/imports/{MISSING_ID}",
    ),
    # Rewards lists and downloads.
    Route("api-royalties", "api/rewards/royalties", fixed("/api/rewards/royalties")),
    # Everyone signed in gets their own list (never anyone else's rows: see the test below).
    Route("api-allocations", "api/rewards/allocations", fixed("/api/rewards/allocations")),
    Route("api-vouchers", "api/rewards/vouchers", fixed("/api/rewards/vouchers")),
    Route(
        "allocation",
        "api/rewards/allocations/<int:allocation_id>",
        sides(lambda s: f"/api/rewards/allocations/{s.allocation.pk}"),
        missing=lambda w: f"/api/rewards/allocations/{MISSING_ID}",
    ),
    Route(
        "voucher",
        "api/rewards/vouchers/<int:voucher_id>",
        {
            **sides(lambda s: f"/api/rewards/vouchers/{s.voucher.pk}"),
            "this/reviewer's": lambda w: f"/api/rewards/vouchers/{w.this.peer_voucher.pk}",
        },
        missing=lambda w: f"/api/rewards/vouchers/{MISSING_ID}",
    ),
    # The console: dashboards and the admin site's own pages.
    # Data rights (rights.views, rights.api). DAOs are public: a DAO-level refusal (403
    # not_admin) comes before any object is looked up, so it is the same for a missing id.
    Route("my-access", "me/access", fixed("/me/access")),
    Route(
        "console-rights",
        "admin/data-rights/<slug:slug>/",
        sides(lambda s: f"/admin/data-rights/{s.dao.slug}/"),
        missing=lambda w: "/admin/data-rights/no-such-dao/",
    ),
    Route(
        "console-reads",
        "admin/data-rights/<slug:slug>/reads",
        sides(lambda s: f"/admin/data-rights/{s.dao.slug}/reads"),
        missing=lambda w: "/admin/data-rights/no-such-dao/reads",
    ),
    Route("api-my-grants", "api/me/grants", fixed("/api/me/grants")),
    Route("api-my-reads", "api/me/reads", fixed("/api/me/reads")),
    Route(
        "api-purchase-create",
        "api/datasets/<int:dataset_id>/purchases",
        with_public(lambda s: f"/api/datasets/{s.tabular.pk}/purchases"),
        "POST",
        lambda w: {},
        True,
        missing=lambda w: f"/api/datasets/{MISSING_ID}/purchases",
    ),
    Route(
        "api-offer-set",
        "api/datasets/<int:dataset_id>/offer",
        with_public(lambda s: f"/api/datasets/{s.tabular.pk}/offer"),
        "POST",
        lambda w: {},
        True,
        missing=lambda w: f"/api/datasets/{MISSING_ID}/offer",
    ),
    Route(
        "api-dao-grants",
        "api/daos/<str:slug>/grants",
        sides(lambda s: f"/api/daos/{s.dao.slug}/grants"),
    ),
    Route(
        "api-grant-record",
        "api/daos/<str:slug>/grants",
        sides(lambda s: f"/api/daos/{s.dao.slug}/grants"),
        "POST",
        lambda w: {},
        True,
    ),
    Route(
        "api-grant-draft",
        "api/daos/<str:slug>/grants/draft",
        sides(lambda s: f"/api/daos/{s.dao.slug}/grants/draft"),
    ),
    Route(
        "api-grant-revoke",
        "api/daos/<str:slug>/grants/<int:grant_id>/revoke",
        sides(lambda s: f"/api/daos/{s.dao.slug}/grants/{MISSING_ID}/revoke"),
        "POST",
        lambda w: {},
        True,
    ),
    Route(
        "api-dao-purchases",
        "api/daos/<str:slug>/purchases",
        sides(lambda s: f"/api/daos/{s.dao.slug}/purchases"),
    ),
    Route(
        "api-purchase-confirm",
        "api/daos/<str:slug>/purchases/<int:purchase_id>/confirm",
        sides(lambda s: f"/api/daos/{s.dao.slug}/purchases/{MISSING_ID}/confirm"),
        "POST",
        lambda w: {},
        True,
    ),
    Route("dashboards", "admin/dashboard/", fixed("/admin/dashboard/")),
    Route(
        "dashboard",
        "admin/dashboard/<slug:slug>/",
        sides(lambda s: f"/admin/dashboard/{s.dao.slug}/"),
        missing=lambda w: "/admin/dashboard/no-such-dao/",
    ),
    Route("console-index", "admin/", fixed("/admin/")),
    Route("console-login", "admin/login/", fixed("/admin/login/")),
    Route("console-logout", "admin/logout/", fixed("/admin/logout/"), "POST", lambda w: {}),
    Route("console-password", "admin/password_change/", fixed("/admin/password_change/")),
    Route(
        "console-password-done",
        "admin/password_change/done/",
        fixed("/admin/password_change/done/"),
    ),
    Route("console-autocomplete", "admin/autocomplete/", fixed("/admin/autocomplete/")),
    Route("console-jsi18n", "admin/jsi18n/", fixed("/admin/jsi18n/")),
    Route(
        "console-view-on-site",
        "admin/r/<path:content_type_id>/<path:object_id>/",
        sides(lambda s: f"/admin/r/{_ct(Dataset)}/{s.tabular.pk}/"),
        missing=lambda w: f"/admin/r/{_ct(Dataset)}/{MISSING_ID}/",
    ),
    Route(
        "console-app-index",
        "admin:app_list",
        {app: (lambda w, a=app: f"/admin/{a}/") for app in APP_LABELS},
    ),
    Route("console-catch-all", "admin/(?P<url>.*)$", fixed("/admin/no-such-page/")),
    Route(
        "console-user-password",
        "admin/datadao/user/<id>/password/",
        {"any": lambda w: f"/admin/datadao/user/{w.users['contributor'].pk}/password/"},
    ),
    # The console's writes that matter most (contributors' limits, issue #9).
    Route(
        "console-dataset-edit",
        "admin/datadao/dataset/<path:object_id>/change/",
        sides(lambda s: f"/admin/datadao/dataset/{s.tabular.pk}/change/"),
        "POST",
        _dataset_form,
        missing=lambda w: f"/admin/datadao/dataset/{MISSING_ID}/change/",
    ),
    Route(
        "console-policy-edit",
        "admin/rewards/rewardpolicy/<path:object_id>/change/",
        sides(lambda s: f"/admin/rewards/rewardpolicy/{s.policy.pk}/change/"),
        "POST",
        lambda w: _policy_form(w),
        missing=lambda w: f"/admin/rewards/rewardpolicy/{MISSING_ID}/change/",
    ),
    Route(
        "console-membership-edit",
        "admin/datadao/membership/<path:object_id>/change/",
        sides(lambda s: f"/admin/datadao/membership/{s.membership.pk}/change/"),
        "POST",
        lambda w: {"role": Role.ADMIN},
        missing=lambda w: f"/admin/datadao/membership/{MISSING_ID}/change/",
    ),
]

# The console's pages and buttons for one object (issue #20): an epoch's close page and its
# confirmation, a dataset's open/close button, a contribution's image for the review page.
ROUTES += [
    Route(
        "console-epoch-page",
        "admin/rewards/epoch/<int:object_id>/close/",
        sides(lambda s: f"/admin/rewards/epoch/{s.open_epoch.pk}/close/"),
        missing=lambda w: f"/admin/rewards/epoch/{MISSING_ID}/close/",
    ),
    Route(
        "console-epoch-confirm",
        "admin/rewards/epoch/<int:object_id>/close/",
        sides(lambda s: f"/admin/rewards/epoch/{s.open_epoch.pk}/close/"),
        "POST",
        lambda w: {"confirm": "yes", "root": "0x" + "00" * 32},
        missing=lambda w: f"/admin/rewards/epoch/{MISSING_ID}/close/",
    ),
    Route(
        "console-dataset-status",
        "admin/datadao/dataset/<int:object_id>/status/",
        sides(lambda s: f"/admin/datadao/dataset/{s.tabular.pk}/status/"),
        "POST",
        lambda w: {"status": "closed"},
        missing=lambda w: f"/admin/datadao/dataset/{MISSING_ID}/status/",
    ),
    Route(
        "console-contribution-file",
        "admin/contributions/contribution/<int:object_id>/file/",
        sides(lambda s: f"/admin/contributions/contribution/{s.contribution.pk}/file/"),
        missing=lambda w: f"/admin/contributions/contribution/{MISSING_ID}/file/",
    ),
]

# Governance (governance.api, governance.views): a DAO's proposals are public, but for those
# about a members-only dataset (the world's proposal), which are its members' only.
ROUTES += [
    Route(
        "proposals-page",
        "daos/<slug:slug>/proposals",
        sides(lambda s: f"/daos/{s.dao.slug}/proposals"),
    ),
    Route(
        "api-proposals",
        "api/daos/<str:slug>/proposals",
        sides(lambda s: f"/api/daos/{s.dao.slug}/proposals"),
    ),
    Route(
        "api-proposal-create",
        "api/daos/<str:slug>/proposals",
        sides(lambda s: f"/api/daos/{s.dao.slug}/proposals"),
        "POST",
        lambda w: {},
        True,
    ),
    Route(
        "api-proposal",
        "api/proposals/<int:proposal_id>",
        sides(lambda s: f"/api/proposals/{s.proposal.pk}"),
        missing=lambda w: f"/api/proposals/{MISSING_ID}",
    ),
    Route(
        "api-proposal-votes",
        "api/proposals/<int:proposal_id>/votes",
        sides(lambda s: f"/api/proposals/{s.proposal.pk}/votes"),
        missing=lambda w: f"/api/proposals/{MISSING_ID}/votes",
    ),
    Route(
        "api-proposal-vote",
        "api/proposals/<int:proposal_id>/votes",
        sides(lambda s: f"/api/proposals/{s.proposal.pk}/votes"),
        "POST",
        lambda w: {},
        True,
        missing=lambda w: f"/api/proposals/{MISSING_ID}/votes",
    ),
]

# Disputes (disputes.api, disputes.admin): a DAO's challenges are its members' (and the
# challenger's, and the challenged contributor's); deciding is for its creators and admins.
ROUTES += [
    Route(
        "api-challenges",
        "api/daos/<str:slug>/challenges",
        sides(lambda s: f"/api/daos/{s.dao.slug}/challenges"),
    ),
    Route(
        "api-challenge-create",
        "api/daos/<str:slug>/challenges",
        sides(lambda s: f"/api/daos/{s.dao.slug}/challenges"),
        "POST",
        lambda w: {},
        True,
    ),
    Route(
        "api-challenge",
        "api/challenges/<int:challenge_id>",
        sides(lambda s: f"/api/challenges/{s.challenge.pk}"),
        missing=lambda w: f"/api/challenges/{MISSING_ID}",
    ),
    Route(
        "api-challenge-decide",
        "api/challenges/<int:challenge_id>/decision",
        sides(lambda s: f"/api/challenges/{s.challenge.pk}/decision"),
        "POST",
        lambda w: {},
        True,
        missing=lambda w: f"/api/challenges/{MISSING_ID}/decision",
    ),
    Route(
        "console-challenge-page",
        "admin/disputes/challenge/<int:object_id>/decide/",
        sides(lambda s: f"/admin/disputes/challenge/{s.challenge.pk}/decide/"),
        missing=lambda w: f"/admin/disputes/challenge/{MISSING_ID}/decide/",
    ),
    Route(
        "console-challenge-decide",
        "admin/disputes/challenge/<int:object_id>/decide/",
        sides(lambda s: f"/admin/disputes/challenge/{s.challenge.pk}/decide/"),
        "POST",
        lambda w: {"action": "none"},
        missing=lambda w: f"/admin/disputes/challenge/{MISSING_ID}/decide/",
    ),
]

# Running consensus from the console: the dataset is posted, so one route per side.
ROUTES += [
    Route(
        f"console-consensus-run-{variant}",
        "admin/labeling/consensusrun/run/",
        {variant: lambda w: "/admin/labeling/consensusrun/run/"},
        "POST",
        lambda w, v=variant: {"dataset": w.side(v).labeling.pk, "method": "ds"},
    )
    for variant in ("this", "other")
]

# Who may change whose role in this DAO (datadao.services.membership_change_refusal): the
# variant names whose membership is changed. A refused form is the page again (200).
ROUTES += [
    Route(
        "role-make-creator",
        "admin/datadao/membership/<path:object_id>/change/",
        {
            f"this/{who}": (lambda w, r=who: f"/admin/datadao/membership/{_member(r)(w)}/change/")
            for who in ("contributor", "admin")
        },
        "POST",
        lambda w: {"role": Role.CREATOR},
    ),
    Route(
        "role-demote",
        "admin/datadao/membership/<path:object_id>/change/",
        {
            f"this/{who}": (lambda w, r=who: f"/admin/datadao/membership/{_member(r)(w)}/change/")
            for who in ("admin", "creator")
        },
        "POST",
        lambda w: {"role": Role.CONTRIBUTOR},
    ),
    Route(
        "role-remove",
        "admin/datadao/membership/<path:object_id>/delete/",
        {
            f"this/{who}": (lambda w, r=who: f"/admin/datadao/membership/{_member(r)(w)}/delete/")
            for who in ("admin", "creator")
        },
        "POST",
        lambda w: {"post": "yes"},
    ),
    Route(
        "role-add-admin",
        "admin/datadao/membership/add/",
        {"this": lambda w: "/admin/datadao/membership/add/"},
        "POST",
        lambda w: {"dao": w.this.dao.pk, "role": Role.ADMIN, "address": NEWCOMER},
    ),
]

# Adding to another DAO's dataset: its id is posted, not in the URL, so one route per side.
ROUTES += [
    Route(
        f"console-budget-add-{variant}",
        "admin/synthetic/privacybudget/add/",
        {variant: lambda w: "/admin/synthetic/privacybudget/add/"},
        "POST",
        lambda w, v=variant: {
            "dataset": w.side(v).labeling.pk,
            "epsilon": "2.5",
            "delta": "0.0001",
        },
    )
    for variant in ("this", "other")
]

# The console actions are POSTed to a changelist with the selected object's id, so their
# variants differ in the body, not the URL: one route per side.
ACTION_ROUTES: list[Route] = [
    Route(
        f"console-{name}-{variant}",
        pattern,
        {variant: lambda w, p=pattern: "/" + p},
        "POST",
        _action(action, lambda w, v=variant, g=get: g(w.side(v))),
    )
    for name, pattern, action, get in (
        (
            "contribution-accept",
            "admin/contributions/contribution/",
            "accept_override",
            lambda s: s.rejected.pk,
        ),
        ("epoch-close", "admin/rewards/epoch/", "close_epochs", lambda s: s.open_epoch.pk),
        ("join-approve", "admin/datadao/joinrequest/", "approve", lambda s: s.join_request.pk),
        ("join-decline", "admin/datadao/joinrequest/", "decline", lambda s: s.join_request.pk),
        ("invite-revoke", "admin/datadao/invitelink/", "revoke", lambda s: s.invite.pk),
        (
            "webhook-disable",
            "admin/webhooks/webhookendpoint/",
            "disable",
            lambda s: s.webhook_endpoint.pk,
        ),
        (
            "webhook-rotate",
            "admin/webhooks/webhookendpoint/",
            "rotate_secret",
            lambda s: s.webhook_endpoint.pk,
        ),
        (
            "webhook-redeliver",
            "admin/webhooks/webhookdelivery/",
            "redeliver",
            lambda s: s.webhook_delivery.pk,
        ),
    )
    for variant in ("this", "other")
]

# fmt: off
# Columns:                              anonymous outsider contributor reviewer admin creator staff
EXPECT: dict[tuple[str, str], str] = {
    ("home", "-"):                          "200  200  200  200  200  200  200  200",
    ("dao-new", "-"):                       "302L 200  200  200  200  200  200  200",
    ("dao-new-post", "-"):                  "302L 200  200  200  200  200  200  200",
    ("dao-detail", "this"):                 "200  200  200  200  200  200  200  200",
    ("dao-detail", "other"):                "200  200  200  200  200  200  200  200",
    ("dataset-page", "this"):               "404  404  200  200  200  200  404  200",
    ("dataset-page", "public"):             "200  200  200  200  200  200  200  200",
    ("dataset-page", "other"):              "404  404  404  404  404  404  404  200",
    ("dataset-example", "this"):            "404  404  200  200  200  200  404  200",
    ("dataset-example", "public"):          "200  200  200  200  200  200  200  200",
    ("dataset-example", "other"):           "404  404  404  404  404  404  404  200",
    ("label-page", "this"):                 "404  404  200  200  200  200  404  200",
    ("label-page", "other"):                "404  404  404  404  404  404  404  200",
    ("review-page", "this"):                "404  404  200  200  200  200  404  200",
    ("review-page", "other"):               "404  404  404  404  404  404  404  200",
    ("dao-invite", "this"):                 "200  200  200  200  200  200  200  200",
    ("dao-invite", "other"):                "200  200  200  200  200  200  200  200",
    ("dao-invite", "unknown"):              "404  404  404  404  404  404  404  404",
    ("my-contributions", "-"):              "302L 200  200  200  200  200  200  200",
    ("my-contribution", "this"):            "302L 404  200  404  404  404  404  404",
    ("my-contribution", "public"):          "302L 404  404  404  404  404  404  404",
    ("my-contribution", "other"):           "302L 404  404  404  404  404  404  404",
    ("my-rewards", "-"):                    "302L 200  200  200  200  200  200  200",
    ("release-page", "this"):               "404  404  200  200  200  200  404  200",
    ("release-page", "public"):             "200  200  200  200  200  200  200  200",
    ("release-page", "other"):              "404  404  404  404  404  404  404  200",
    **{
        ("ipfs", f"this/{kind}"):           "404  404  200  200  200  200  404  200"
        for kind in PIN_KINDS
    },
    **{
        ("ipfs", f"other/{kind}"):          "404  404  404  404  404  404  404  200"
        for kind in PIN_KINDS
    },
    ("ipfs", "public/contribution"):        "200  200  200  200  200  200  200  200",
    ("ipfs", "public/release"):             "200  200  200  200  200  200  200  200",
    ("healthz", "-"):                       "200  200  200  200  200  200  200  200",
    ("javascript-catalog", "-"):            "200  200  200  200  200  200  200  200",
    ("set_language", "-"):                  "302  302  302  302  302  302  302  302",
    ("siwe-nonce", "-"):                    "200  200  200  200  200  200  200  200",
    ("siwe-verify", "-"):                   "400  400  400  400  400  400  400  400",
    ("siwe-logout", "-"):                   "200  200  200  200  200  200  200  200",
    ("siwe-me", "-"):                       "200  200  200  200  200  200  200  200",
    ("demo-sign-in", "-"):                  "404  404  404  404  404  404  404  404",
    ("api-upload", "this"):                 "404  404  400  400  400  400  404  403",
    ("api-upload", "public"):               "401  403  403  403  403  403  403  403",
    ("api-upload", "other"):                "404  404  404  404  404  404  404  403",
    ("api-openapi", "-"):                   "200  200  200  200  200  200  200  200",
    ("api-dao-terms", "this"):              "200  200  200  200  200  200  200  200",
    ("api-dao-terms", "other"):             "200  200  200  200  200  200  200  200",
    # Members: already_member (409); anyone else: the empty body's unsigned terms (400).
    ("api-dao-join", "this"):               "401  400  409  409  409  409  400  400",
    ("api-dao-join", "other"):              "401  400  400  400  400  400  400  400",
    # Members leave (204) but the last creator; non-members: not_member (409).
    ("api-dao-leave", "this"):              "401  409  204  204  204  409  409  409",
    ("api-dao-leave", "other"):             "401  409  409  409  409  409  409  409",
    ("api-contributions", "-"):             "401  200  200  200  200  200  200  200",
    ("api-contribution", "this"):           "401  404  200  404  200  200  404  200",
    ("api-contribution", "public"):         "401  404  404  404  404  404  404  200",
    ("api-contribution", "other"):          "401  404  404  404  404  404  404  200",
    ("api-contribution-proof", "this"):     "401  404  200  404  200  200  404  200",
    ("api-contribution-proof", "public"):   "401  404  404  404  404  404  404  200",
    ("api-contribution-proof", "other"):    "401  404  404  404  404  404  404  200",
    ("api-validator-work", "-"):            "401  401  401  401  401  401  401  401",
    ("api-validator-content", "this"):      "401  401  401  401  401  401  401  401",
    ("api-validator-content", "other"):     "401  401  401  401  401  401  401  401",
    ("api-validator-ciphertext", "this"):   "401  401  401  401  401  401  401  401",
    ("api-validator-ciphertext", "other"):  "401  401  401  401  401  401  401  401",
    ("api-validator-attestations", "this"): "401  401  401  401  401  401  401  401",
    ("api-validator-attestations", "other"): "401  401  401  401  401  401  401  401",
    ("api-token-create", "-"):              "401  201  201  201  201  201  201  201",
    ("api-token-list", "-"):                "401  200  200  200  200  200  200  200",
    # Another user's token is answered as one that does not exist.
    ("api-token-revoke", "contributor's"):  "401  404  204  404  404  404  404  404",
    ("my-tokens", "-"):                     "302L 200  200  200  200  200  200  200",
    ("api-withdrawal-offer", "this"):       "401  404  200  404  404  404  404  404",
    ("api-withdrawal-offer", "public"):     "401  404  404  404  404  404  404  404",
    ("api-withdrawal-offer", "other"):      "401  404  404  404  404  404  404  404",
    ("api-withdrawal", "this"):             "401  404  400  404  404  404  404  404",
    ("api-withdrawal", "public"):           "401  404  404  404  404  404  404  404",
    ("api-withdrawal", "other"):            "401  404  404  404  404  404  404  404",
    ("api-withdrawals", "-"):               "401  200  200  200  200  200  200  200",
    ("api-release-queries", "this"):        "401  404  400  400  400  400  404  404",
    ("api-release-queries", "public"):      "401  400  400  400  400  400  400  400",
    ("api-release-queries", "other"):       "401  404  404  404  404  404  404  404",
    ("api-query", "this"):                  "401  404  200  404  404  404  404  404",
    ("api-query", "other"):                 "401  404  404  404  404  404  404  404",
    ("api-me-export", "-"):                 "401  200  200  200  200  200  200  200",
    ("metrics", "-"):                       "200  200  200  200  200  200  200  200",
    ("my-tokens-new", "-"):                 "302L 201  201  201  201  201  201  201",
    ("my-token-revoke", "contributor's"):   "302L 404  302  404  404  404  404  404",
    ("api-dataset-releases", "this"):       "404  404  200  200  200  200  404  200",
    ("api-dataset-releases", "public"):     "200  200  200  200  200  200  200  200",
    ("api-dataset-releases", "other"):      "404  404  404  404  404  404  404  200",
    **{
        (f"api-release-{ext}", "this"):     "404  404  200  200  200  200  404  200"
        for ext in ("json", "car", "csv", "parquet")
    },
    **{
        (f"api-release-{ext}", "public"):   "200  200  200  200  200  200  200  200"
        for ext in ("json", "car", "csv", "parquet")
    },
    **{
        (f"api-release-{ext}", "other"):    "404  404  404  404  404  404  404  200"
        for ext in ("json", "car", "csv", "parquet")
    },
    # The contributor holds the task the reviewer (their peer) has answered.
    ("label-next", "this"):                 "401  404  200  200  200  200  404  403",
    ("label-next", "other"):                "401  404  404  404  404  404  404  403",
    ("label-label", "this"):                "401  404  201  404  404  404  404  403",
    ("label-label", "other"):               "401  404  404  404  404  404  404  403",
    ("label-skip", "this"):                 "401  404  200  404  404  404  404  403",
    ("label-skip", "other"):                "401  404  404  404  404  404  404  403",
    ("label-undo", "this"):                 "401  404  409  409  409  409  404  403",
    ("label-undo", "other"):                "401  404  404  404  404  404  404  403",
    ("label-me", "this"):                   "401  404  200  200  200  200  404  200",
    ("label-me", "other"):                  "401  404  404  404  404  404  404  200",
    ("label-consensus", "this"):            "401  404  200  200  200  200  404  200",
    ("label-consensus", "other"):           "401  404  404  404  404  404  404  200",
    ("label-review", "this"):               "401  404  403  200  200  200  404  200",
    ("label-review", "other"):              "401  404  404  404  404  404  404  200",
    ("label-review-accept", "this"):        "401  404  403  409  409  409  404  409",
    ("label-review-accept", "other"):       "401  404  404  404  404  404  404  409",
    ("label-review-fix", "this"):           "401  404  403  409  409  409  404  409",
    ("label-review-fix", "other"):          "401  404  404  404  404  404  404  409",
    ("label-review-reject", "this"):        "401  404  403  409  409  409  404  409",
    ("label-review-reject", "other"):       "401  404  404  404  404  404  404  409",
    ("label-consensus-run", "this"):        "401  404  403  403  202  202  404  202",
    ("label-consensus-run", "other"):       "401  404  404  404  404  404  404  202",
    ("label-import-create", "this"):        "401  404  403  403  400  400  404  400",
    ("label-import-create", "other"):       "401  404  404  404  404  404  404  400",
    # The model server: DAO admins only (no url: 400; nothing registered to run: 409).
    ("label-predict", "this"):              "401  404  403  403  200  200  404  200",
    ("label-predict", "other"):             "401  404  404  404  404  404  404  200",
    ("label-predict-set", "this"):          "401  404  403  403  400  400  404  400",
    ("label-predict-set", "other"):         "401  404  404  404  404  404  404  400",
    ("label-predict-remove", "this"):       "401  404  403  403  204  204  404  204",
    ("label-predict-remove", "other"):      "401  404  404  404  404  404  404  204",
    ("label-predict-run", "this"):          "401  404  403  403  409  409  404  409",
    ("label-predict-run", "other"):         "401  404  404  404  404  404  404  409",
    ("label-import", "this"):               "401  404  403  403  200  200  404  200",
    ("label-import", "other"):              "401  404  404  404  404  404  404  200",
    ("label-csv", "this"):                  "401  404  403  403  200  200  404  200",
    ("label-csv", "other"):                 "401  404  404  404  404  404  404  200",
    ("label-jsonl", "this"):                "401  404  403  403  200  200  404  200",
    ("label-jsonl", "other"):               "401  404  404  404  404  404  404  200",
    ("label-export", "this"):               "401  404  403  403  200  200  404  200",
    ("label-export", "other"):              "401  404  404  404  404  404  404  200",
    # The contributor's claim and voucher, their peer's voucher, the other DAO's.
    ("api-royalties", "-"):                 "401  200  200  200  200  200  200  200",
    ("api-allocations", "-"):               "401  200  200  200  200  200  200  200",
    ("api-vouchers", "-"):                  "401  200  200  200  200  200  200  200",
    ("allocation", "this"):                 "404  404  200  404  200  200  404  200",
    ("allocation", "other"):                "404  404  404  404  404  404  404  200",
    ("voucher", "this"):                    "404  404  200  404  200  200  404  200",
    ("voucher", "this/reviewer's"):         "404  404  404  200  200  200  404  200",
    ("voucher", "other"):                   "404  404  404  404  404  404  404  200",
    ("my-access", "-"):                     "302L 200  200  200  200  200  200  200",
    ("console-rights", "this"):             "302C 302C 302C 302C 200  200  404  200",
    ("console-rights", "other"):            "302C 302C 302C 302C 404  404  404  200",
    ("console-reads", "this"):              "302C 302C 302C 302C 200  200  404  200",
    ("console-reads", "other"):             "302C 302C 302C 302C 404  404  404  200",
    ("api-my-grants", "-"):                 "401  200  200  200  200  200  200  200",
    ("api-my-reads", "-"):                  "401  200  200  200  200  200  200  200",
    # Nothing is for sale in this world: not_for_sale, answered as no dataset.
    ("api-purchase-create", "this"):        "401  404  404  404  404  404  404  404",
    ("api-purchase-create", "public"):      "401  404  404  404  404  404  404  404",
    ("api-purchase-create", "other"):       "401  404  404  404  404  404  404  404",
    # Managers: the empty body has no price (400); anyone else: no dataset they manage.
    ("api-offer-set", "this"):              "401  404  404  404  400  400  404  400",
    ("api-offer-set", "public"):            "401  404  404  404  404  404  404  400",
    ("api-offer-set", "other"):             "401  404  404  404  404  404  404  400",
    ("api-dao-grants", "this"):             "401  403  403  403  200  200  403  200",
    ("api-dao-grants", "other"):            "401  403  403  403  403  403  403  200",
    # Anyone signed in may submit a grant; the empty body is no signed grant.
    ("api-grant-record", "this"):           "401  400  400  400  400  400  400  400",
    ("api-grant-record", "other"):          "401  400  400  400  400  400  400  400",
    ("api-grant-draft", "this"):            "401  403  403  403  400  400  403  400",
    ("api-grant-draft", "other"):           "401  403  403  403  403  403  403  400",
    ("api-grant-revoke", "this"):           "401  403  403  403  404  404  403  404",
    ("api-grant-revoke", "other"):          "401  403  403  403  403  403  403  404",
    ("api-dao-purchases", "this"):          "401  403  403  403  200  200  403  200",
    ("api-dao-purchases", "other"):         "401  403  403  403  403  403  403  200",
    ("api-purchase-confirm", "this"):       "401  403  403  403  404  404  403  404",
    ("api-purchase-confirm", "other"):      "401  403  403  403  403  403  403  404",
    # Governance: the proposal is about a members-only dataset. Proposing needs membership
    # (the empty body is then no proposal, 400); voting the proposal (the empty body is no vote).
    ("proposals-page", "this"):             "200  200  200  200  200  200  200  200",
    ("proposals-page", "other"):            "200  200  200  200  200  200  200  200",
    ("api-proposals", "this"):              "200  200  200  200  200  200  200  200",
    ("api-proposals", "other"):             "200  200  200  200  200  200  200  200",
    ("api-proposal-create", "this"):        "401  403  400  400  400  400  403  403",
    ("api-proposal-create", "other"):       "401  403  403  403  403  403  403  403",
    ("api-proposal", "this"):               "404  404  200  200  200  200  404  200",
    ("api-proposal", "other"):              "404  404  404  404  404  404  404  200",
    ("api-proposal-votes", "this"):         "404  404  200  200  200  200  404  200",
    ("api-proposal-votes", "other"):        "404  404  404  404  404  404  404  200",
    ("api-proposal-vote", "this"):          "404  404  400  400  400  400  404  400",
    ("api-proposal-vote", "other"):         "404  404  404  404  404  404  404  400",
    # Disputes: signed in, anyone lists the challenges they may see (members: all; others:
    # their own, none here). Filing needs membership (the empty body is then no challenge,
    # 400). The challenge is its DAO members' (and a superuser's); the empty body is no
    # decision.
    ("api-challenges", "this"):             "401  200  200  200  200  200  200  200",
    ("api-challenges", "other"):            "401  200  200  200  200  200  200  200",
    ("api-challenge-create", "this"):       "401  403  400  400  400  400  403  403",
    ("api-challenge-create", "other"):      "401  403  403  403  403  403  403  403",
    ("api-challenge", "this"):              "401  404  200  200  200  200  404  200",
    ("api-challenge", "other"):             "401  404  404  404  404  404  404  200",
    ("api-challenge-decide", "this"):       "401  404  400  400  400  400  404  400",
    ("api-challenge-decide", "other"):      "401  404  404  404  404  404  404  400",
    ("console-challenge-page", "this"):     "302C 302C 302C 302C 200  200  404  200",
    ("console-challenge-page", "other"):    "302C 302C 302C 302C 404  404  404  200",
    ("console-challenge-decide", "this"):   "302C 302C 302C 302C 302  302  404  302",
    ("console-challenge-decide", "other"):  "302C 302C 302C 302C 404  404  404  302",
    ("dashboards", "-"):                    "302C 302C 302C 302C 302  302  200  200",
    ("dashboard", "this"):                  "302C 302C 302C 302C 200  200  404  200",
    ("dashboard", "other"):                 "302C 302C 302C 302C 404  404  404  200",
    ("console-index", "-"):                 "302C 302C 302C 302C 200  200  200  200",
    ("console-login", "-"):                 "200  200  200  200  302I 302I 302I 302I",
    ("console-logout", "-"):                "302I 302I 302I 302I 200  200  200  200",
    ("console-password", "-"):              "302C 302C 302C 302C 200  200  200  200",
    ("console-password-done", "-"):         "302C 302C 302C 302C 200  200  200  200",
    ("console-autocomplete", "-"):          "302C 302C 302C 302C 403  403  403  403",
    ("console-jsi18n", "-"):                "302C 302C 302C 302C 200  200  200  200",
    ("console-view-on-site", "this"):       "302C 302C 302C 302C 404  404  404  404",
    ("console-view-on-site", "other"):      "302C 302C 302C 302C 404  404  404  404",
    # An app index lists the models one may see: none for staff, none of auth or ipfs for
    # managers (operators only), so those answer 404.
    ("console-app-index", "datadao"):       "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "contributions"): "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "labeling"):      "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "synthetic"):     "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "rewards"):       "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "governance"):    "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "disputes"):      "302C 302C 302C 302C 200  200  404  200",
    ("console-app-index", "auth"):          "302C 302C 302C 302C 404  404  404  200",
    ("console-app-index", "ipfs"):          "302C 302C 302C 302C 404  404  404  200",
    ("console-app-index", "webhooks"):      "302C 302C 302C 302C 200  200  404  200",
    ("console-catch-all", "-"):             "302C 302C 302C 302C 404  404  404  404",
    ("console-user-password", "any"):       "302C 302C 302C 302C 403  403  403  200",
    ("console-dataset-edit", "this"):       "302C 302C 302C 302C 302  302  403  302",
    ("console-dataset-edit", "other"):      "302C 302C 302C 302C 302I 302I 403  302",
    ("console-policy-edit", "this"):        "302C 302C 302C 302C 302  302  403  302",
    ("console-policy-edit", "other"):       "302C 302C 302C 302C 302I 302I 403  200",
    # An admin may not grant admin: the form is shown again with the error.
    ("console-membership-edit", "this"):    "302C 302C 302C 302C 200  302  403  302",
    ("console-membership-edit", "other"):   "302C 302C 302C 302C 302I 302I 403  302",
    # Roles: only a creator (or a superuser) grants or takes creator and admin; nobody raises
    # their own (the admin's own row); anyone may step down or leave, but the last creator.
    ("role-make-creator", "this/contributor"): "302C 302C 302C 302C 200  302  403  302",
    ("role-make-creator", "this/admin"):     "302C 302C 302C 302C 200  302  403  302",
    ("role-demote", "this/admin"):           "302C 302C 302C 302C 302  302  403  302",
    ("role-demote", "this/creator"):         "302C 302C 302C 302C 403  200  403  200",
    ("role-remove", "this/admin"):           "302C 302C 302C 302C 302  302  403  302",
    ("role-remove", "this/creator"):         "302C 302C 302C 302C 403  403  403  403",
    ("role-add-admin", "this"):              "302C 302C 302C 302C 200  302  403  302",
    # Another DAO's dataset is not a choice: the form is shown again with the error.
    ("console-budget-add-this", "this"):    "302C 302C 302C 302C 302  302  403  302",
    ("console-budget-add-other", "other"):  "302C 302C 302C 302C 200  200  403  302",
    # The epoch page shows the allocations; its confirmation redirects back with a message
    # (here: the posted root is not the epoch's, so nothing is closed).
    ("console-epoch-page", "this"):         "302C 302C 302C 302C 200  200  404  200",
    ("console-epoch-page", "other"):        "302C 302C 302C 302C 404  404  404  200",
    ("console-epoch-confirm", "this"):      "302C 302C 302C 302C 302  302  404  302",
    ("console-epoch-confirm", "other"):     "302C 302C 302C 302C 404  404  404  302",
    ("console-dataset-status", "this"):     "302C 302C 302C 302C 302  302  404  302",
    ("console-dataset-status", "other"):    "302C 302C 302C 302C 404  404  404  302",
    # Only raster images are served (the world's contribution is text): 404 for everyone.
    ("console-contribution-file", "this"):  "302C 302C 302C 302C 404  404  404  404",
    ("console-contribution-file", "other"): "302C 302C 302C 302C 404  404  404  404",
    ("console-consensus-run-this", "this"): "302C 302C 302C 302C 302  302  404  302",
    ("console-consensus-run-other", "other"): "302C 302C 302C 302C 404  404  404  302",
    # An action on an object outside the manager's DAOs selects nothing: no change.
    ("console-contribution-accept-this", "this"):   "302C 302C 302C 302C 302  302  403  302",
    ("console-contribution-accept-other", "other"): "302C 302C 302C 302C 302  302  403  302",
    ("console-epoch-close-this", "this"):   "302C 302C 302C 302C 302  302  403  302",
    ("console-epoch-close-other", "other"): "302C 302C 302C 302C 302  302  403  302",
    **{
        (f"console-{name}-{variant}", variant): "302C 302C 302C 302C 302  302  403  302"
        for name in (
            "join-approve",
            "join-decline",
            "invite-revoke",
            "webhook-disable",
            "webhook-rotate",
            "webhook-redeliver",
        )
        for variant in ("this", "other")
    },
}

# Every model in the console, by what its managers (the DAO's creators and admins) may do.
ADMIN_MODELS: dict[str, str] = {
    "datadao.dao": "dao",
    "datadao.membership": "editable",
    "datadao.dataset": "no-delete",
    "datadao.auditevent": "read-only",
    "datadao.joinrequest": "read-only",
    "datadao.termsacceptance": "read-only",
    "datadao.invitelink": "add-only",
    "contributions.contribution": "read-only",
    "contributions.release": "read-only",
    "contributions.consentwithdrawal": "read-only",
    "contributions.validatorset": "add-only",
    "labeling.labeltask": "read-only",
    "labeling.labelerstats": "read-only",
    "labeling.consensusrun": "read-only",
    "labeling.review": "read-only",
    "labeling.labelimport": "add-only",
    "synthetic.syntheticjob": "add-only",
    "synthetic.privacybudget": "no-delete",
    "rewards.rewardpolicy": "no-delete",
    "rewards.royaltypolicy": "no-delete",
    "rewards.royaltypayment": "read-only",
    "rewards.epoch": "read-only",
    "rewards.rewardentry": "read-only",
    "rewards.voucher": "read-only",
    "governance.proposal": "read-only",
    "disputes.challenge": "read-only",
    "datadao.user": "operators",
    "datadao.workerheartbeat": "operators",
    "auth.group": "operators",
    "ipfs.pin": "operators",
    "ipfs.pinauditrun": "operators",
    "webhooks.webhookendpoint": "no-delete",
    "webhooks.webhookdelivery": "read-only",
}

# Columns, as above:                          anon outsider contrib reviewer admin creator staff
ADMIN_EXPECT: dict[tuple[str, str, str], str] = {
    ("dao", "changelist", "-"):                 "302C 302C 302C 302C 200  200  403",
    ("dao", "add", "-"):                        "302C 302C 302C 302C 200  200  200",
    ("dao", "change", "this"):                  "302C 302C 302C 302C 200  200  403",
    ("dao", "change", "other"):                 "302C 302C 302C 302C 302I 302I 403",
    ("dao", "delete", "this"):                  "302C 302C 302C 302C 403  403  403",
    ("dao", "delete", "other"):                 "302C 302C 302C 302C 403  403  403",
    ("dao", "history", "this"):                 "302C 302C 302C 302C 200  200  302I",
    ("dao", "history", "other"):                "302C 302C 302C 302C 302I 302I 302I",
    ("editable", "changelist", "-"):            "302C 302C 302C 302C 200  200  403",
    ("editable", "add", "-"):                   "302C 302C 302C 302C 200  200  403",
    ("editable", "change", "this"):             "302C 302C 302C 302C 200  200  403",
    ("editable", "change", "other"):            "302C 302C 302C 302C 302I 302I 403",
    ("editable", "delete", "this"):             "302C 302C 302C 302C 200  200  403",
    ("editable", "delete", "other"):            "302C 302C 302C 302C 302I 302I 403",
    ("editable", "history", "this"):            "302C 302C 302C 302C 200  200  302I",
    ("editable", "history", "other"):           "302C 302C 302C 302C 302I 302I 302I",
    ("no-delete", "changelist", "-"):           "302C 302C 302C 302C 200  200  403",
    ("no-delete", "add", "-"):                  "302C 302C 302C 302C 200  200  403",
    ("no-delete", "change", "this"):            "302C 302C 302C 302C 200  200  403",
    ("no-delete", "change", "other"):           "302C 302C 302C 302C 302I 302I 403",
    ("no-delete", "delete", "this"):            "302C 302C 302C 302C 403  403  403",
    ("no-delete", "delete", "other"):           "302C 302C 302C 302C 403  403  403",
    ("no-delete", "history", "this"):           "302C 302C 302C 302C 200  200  302I",
    ("no-delete", "history", "other"):          "302C 302C 302C 302C 302I 302I 302I",
    ("read-only", "changelist", "-"):           "302C 302C 302C 302C 200  200  403",
    ("read-only", "add", "-"):                  "302C 302C 302C 302C 403  403  403",
    ("read-only", "change", "this"):            "302C 302C 302C 302C 200  200  403",
    ("read-only", "change", "other"):           "302C 302C 302C 302C 302I 302I 403",
    ("read-only", "delete", "this"):            "302C 302C 302C 302C 403  403  403",
    ("read-only", "delete", "other"):           "302C 302C 302C 302C 403  403  403",
    ("read-only", "history", "this"):           "302C 302C 302C 302C 200  200  302I",
    ("read-only", "history", "other"):          "302C 302C 302C 302C 302I 302I 302I",
    ("add-only", "changelist", "-"):            "302C 302C 302C 302C 200  200  403",
    ("add-only", "add", "-"):                   "302C 302C 302C 302C 200  200  403",
    ("add-only", "change", "this"):             "302C 302C 302C 302C 200  200  403",
    ("add-only", "change", "other"):            "302C 302C 302C 302C 302I 302I 403",
    ("add-only", "delete", "this"):             "302C 302C 302C 302C 403  403  403",
    ("add-only", "delete", "other"):            "302C 302C 302C 302C 403  403  403",
    ("add-only", "history", "this"):            "302C 302C 302C 302C 200  200  302I",
    ("add-only", "history", "other"):           "302C 302C 302C 302C 302I 302I 302I",
    ("operators", "changelist", "-"):           "302C 302C 302C 302C 403  403  403",
    ("operators", "add", "-"):                  "302C 302C 302C 302C 403  403  403",
    ("operators", "change", "any"):             "302C 302C 302C 302C 403  403  403",
    ("operators", "delete", "any"):             "302C 302C 302C 302C 403  403  403",
    ("operators", "history", "any"):            "302C 302C 302C 302C 403  403  403",
}
# The bare object URL only redirects to the change page, whoever asks, once in the console.
OBJECT_REDIRECT =                               "302C 302C 302C 302C 302  302  302  302"
# fmt: on


def _admin_object(w: World, label: str, variant: str) -> int:
    """The id of the object of ``label`` the console rows request, on the variant's side."""
    s = w.side(variant)
    return {
        "datadao.dao": lambda: s.dao.pk,
        "datadao.membership": lambda: s.membership.pk,
        "datadao.dataset": lambda: s.tabular.pk,
        "datadao.auditevent": lambda: s.audit.pk,
        "datadao.joinrequest": lambda: s.join_request.pk,
        "datadao.termsacceptance": lambda: s.acceptance.pk,
        "datadao.invitelink": lambda: s.invite.pk,
        "contributions.contribution": lambda: s.contribution.pk,
        "contributions.release": lambda: s.release.pk,
        "contributions.consentwithdrawal": lambda: s.withdrawal.pk,
        "contributions.validatorset": lambda: s.validator_set.pk,
        "labeling.labeltask": lambda: s.task.pk,
        "labeling.labelerstats": lambda: s.stats.pk,
        "labeling.consensusrun": lambda: s.run.pk,
        "labeling.review": lambda: s.review.pk,
        "labeling.labelimport": lambda: s.label_import.pk,
        "synthetic.syntheticjob": lambda: s.job.pk,
        "synthetic.privacybudget": lambda: s.budget.pk,
        "rewards.rewardpolicy": lambda: s.policy.pk,
        "rewards.royaltypolicy": lambda: s.royalty_policy.pk,
        "rewards.royaltypayment": lambda: s.royalty_payment.pk,
        "rewards.epoch": lambda: s.closed_epoch.pk,
        "rewards.rewardentry": lambda: s.entry.pk,
        "rewards.voucher": lambda: s.voucher.pk,
        "governance.proposal": lambda: s.proposal.pk,
        "disputes.challenge": lambda: s.challenge.pk,
        "datadao.user": lambda: w.users["contributor"].pk,
        "datadao.workerheartbeat": lambda: w.heartbeat.pk,
        "auth.group": lambda: w.group.pk,
        "ipfs.pin": lambda: s.pins["contribution"].pk,
        "ipfs.pinauditrun": lambda: w.audit_run.pk,
        "webhooks.webhookendpoint": lambda: s.webhook_endpoint.pk,
        "webhooks.webhookdelivery": lambda: s.webhook_delivery.pk,
    }[label]()


ADMIN_ACTIONS = {
    "changelist": "",
    "add": "add/",
    "change": "<path:object_id>/change/",
    "delete": "<path:object_id>/delete/",
    "history": "<path:object_id>/history/",
    "object": "<path:object_id>/",
}


def _admin_routes() -> Iterator[tuple[Route, dict[str, str]]]:
    """A route per registered console model and URL, with its expected row per variant."""
    for label, kind in ADMIN_MODELS.items():
        app, model = label.split(".")
        base = f"admin/{app}/{model}/"
        for action, tail in ADMIN_ACTIONS.items():
            if "object_id" not in tail:
                route = Route(
                    f"{label}:{action}", base + tail, {"-": lambda w, p=base + tail: "/" + p}
                )
                yield route, {"-": _admin_row(label, kind, action, "-")}
                continue
            # The bare object URL redirects to the change page without a lookup: one variant.
            variants = ("any",) if kind == "operators" else ("this", "other")
            if action == "object":
                variants = variants[:1]
            step = tail.replace("<path:object_id>/", "")
            urls = {
                v: (lambda w, v=v, lb=label, b=base, s=step: f"/{b}{_admin_object(w, lb, v)}/{s}")
                for v in variants
            }
            route = Route(
                f"{label}:{action}",
                base + tail,
                urls,
                missing=lambda w, b=base, s=step: f"/{b}{MISSING_ID}/{s}",
            )
            yield route, {v: _admin_row(label, kind, action, v) for v in variants}


# A superuser's console, per model rather than per kind: every DAO's objects, and the Django
# permissions the models grant (the read-only ones have no add page; few may be deleted).
SUPERUSER_CANNOT_ADD = {
    "datadao.auditevent",
    "datadao.joinrequest",
    "datadao.termsacceptance",
    "contributions.contribution",
    "contributions.release",
    "contributions.consentwithdrawal",
    "labeling.labeltask",
    "labeling.labelerstats",
    "labeling.consensusrun",
    "labeling.review",
    "rewards.epoch",
    "rewards.rewardentry",
    "rewards.voucher",
    "rewards.royaltypayment",
    "governance.proposal",
    "disputes.challenge",
    "datadao.workerheartbeat",
    "ipfs.pin",
    "ipfs.pinauditrun",
    "webhooks.webhookdelivery",
}
SUPERUSER_MAY_DELETE = {
    "datadao.membership",
    "datadao.dataset",
    "datadao.user",
    "datadao.workerheartbeat",
    "auth.group",
}


def _superuser_cell(label: str, action: str) -> str:
    if action == "add":
        return "403" if label in SUPERUSER_CANNOT_ADD else "200"
    if action == "delete":
        return "200" if label in SUPERUSER_MAY_DELETE else "403"
    return "200"


def _admin_row(label: str, kind: str, action: str, variant: str) -> str:
    if action == "object":
        return OBJECT_REDIRECT
    return f"{ADMIN_EXPECT[(kind, action, variant)]}  {_superuser_cell(label, action)}"


# --- outcomes, side effects and the cases ------------------------------------------------


def outcome(response: HttpResponse) -> str:
    """The response as a cell of the tables."""
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return "302C"
        if location == "/admin/":
            return "302I"
        if location.startswith(f"{settings.LOGIN_URL}?next="):
            return "302L"
        return "302"
    return str(response.status_code)


def content(response: HttpResponse) -> bytes:
    if response.streaming:
        # The test client closes the response once its content is consumed (closing it a
        # second time would close the database connection, in the middle of the transaction).
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content


@dataclass(frozen=True)
class Case:
    """One (route, variant) row: the allowed outcomes per role."""

    route: Route
    variant: str
    allowed: dict[str, frozenset[str]]

    def __str__(self) -> str:
        return f"{self.route.name}[{self.variant}]"


def _cells(row: str) -> dict[str, frozenset[str]]:
    cells = row.split()
    assert len(cells) == len(ROLES), row
    return {role: frozenset(cell.split("|")) for role, cell in zip(ROLES, cells, strict=True)}


def _rows() -> list[tuple[Route, dict[str, str]]]:
    rows = [(r, {v: EXPECT[(r.name, v)] for v in r.urls}) for r in ROUTES + ACTION_ROUTES]
    return rows + list(_admin_routes())


ROWS = _rows()
CASES = [Case(route, v, _cells(row)) for route, expected in ROWS for v, row in expected.items()]
# Outcomes decided before any object is looked up: they cannot depend on whether it exists.
GATES = {"302C", "302L", "401"}
REFUSALS = GATES | {"302I", "403", "404", "405"}
_published: list[str] = []


class Writes:
    """Records the SQL statements that write, while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in {"INSERT", "UPDATE", "DELETE"}:
            self.statements.append(sql[:120])
        return execute(sql, params, many, context)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The objects, once for the module (rolled back at its end)."""
    # Sessions in signed cookies: one query less for each of the matrix's thousands of
    # requests; the matrix is about who may do what, not about where sessions are stored.
    signed = override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        pytest.MonkeyPatch.context() as mp,
        signed,
    ):
        # Nothing the matrix does may reach the broker: publishing is recorded instead.
        mp.setattr(
            Task, "apply_async", lambda task, *a, **k: _published.append(task.name), raising=True
        )
        built = build_world()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def sessions(world: World) -> dict[str, str]:
    """The session cookie of each signed-in role."""
    cookies = {}
    for role, user in world.users.items():
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        cookies[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return cookies


def client_as(role: str, sessions: dict[str, str], *, csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf_checks)
    if role in sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = sessions[role]
    return client


def send(
    client: Client, route: Route, url: str, world: World, headers: dict[str, str] | None = None
) -> HttpResponse:
    if route.method == "GET":
        return client.get(url, headers=headers)
    if route.method == "DELETE":
        return client.delete(url, headers=headers)
    data = route.data(world) if route.data else {}
    if route.as_json:
        return client.post(url, json.dumps(data), content_type="application/json", headers=headers)
    return client.post(url, data, headers=headers)


# --- the generation checks ------------------------------------------------------------------


def _patterns(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _key(route: str, pattern: URLPattern) -> str:
    # The app index's regex lists the registered apps; its name is the stable key.
    return "admin:app_list" if pattern.name == "app_list" else route


def test_every_url_pattern_is_in_the_matrix() -> None:
    enumerated = {_key(route, p) for route, p in _patterns(get_resolver().url_patterns)}
    covered = {route.pattern for route, _ in ROWS}
    assert len(enumerated) > 150  # the walk reached into include()s and the admin site
    unclassified = sorted(enumerated - covered)
    assert not unclassified, (
        "URL patterns with no row in the authorization matrix; add a Route and its EXPECT "
        f"row (or the model to ADMIN_MODELS): {unclassified}"
    )
    stale = sorted(covered - enumerated)
    assert not stale, f"matrix rows for URL patterns that no longer exist: {stale}"


def test_every_console_model_is_in_the_matrix() -> None:
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"unclassified: {sorted(registered - set(ADMIN_MODELS))}, "
        f"stale: {sorted(set(ADMIN_MODELS) - registered)}"
    )


def test_every_row_has_its_expectations() -> None:
    named = {(r.name, v) for r in ROUTES + ACTION_ROUTES for v in r.urls}
    assert named == set(EXPECT), (sorted(named ^ set(EXPECT)),)
    assert len(CASES) == len({str(case) for case in CASES})  # test ids are unique


# --- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_authz_matrix(case: Case, world: World, sessions: dict[str, str]) -> None:
    """One row of the matrix: each role in turn, each request in a savepoint of its own."""
    problems = [p for role in ROLES for p in _check(case, role, world, sessions)]
    assert not problems, f"{case}:\n  " + "\n  ".join(problems)


# --- API tokens -----------------------------------------------------------------------------

# The scope each route needs of an API token; every route not named here refuses tokens
# (403 token_not_accepted), so a route that starts taking tokens must be added here.
TOKEN_SCOPES: dict[str, str] = {
    "api-upload": "upload",
    "label-import-create": "upload",
    "label-predict-set": "label",
    "label-predict-remove": "label",
    "label-predict-run": "label",
    "label-next": "label",
    "label-label": "label",
    "label-skip": "label",
    "label-undo": "label",
    "label-consensus-run": "label",
    "label-review-accept": "label",
    "label-review-fix": "label",
    "label-review-reject": "label",
    "api-openapi": "read",
    "api-contributions": "read",
    "api-contribution": "read",
    "api-contribution-proof": "read",
    "api-withdrawal-offer": "read",
    "api-withdrawal": "upload",
    "api-withdrawals": "read",
    "api-release-queries": "read",
    "api-query": "read",
    "api-me-export": "read",
    "api-dataset-releases": "read",
    **{f"api-release-{ext}": "read" for ext in ("json", "car", "csv", "parquet")},
    "api-proposals": "read",
    "api-proposal": "read",
    "api-proposal-votes": "read",
    "api-challenges": "read",
    "api-challenge": "read",
    "label-me": "read",
    "label-consensus": "read",
    "label-review": "read",
    "label-import": "read",
    "label-predict": "read",
    "label-csv": "read",
    "label-jsonl": "read",
    "label-export": "read",
    "ipfs": "read",
}


def token_expectation(case: Case, token: str) -> tuple[frozenset[str], str | None]:
    """(allowed outcomes, the error code a refusal must carry) for one token column. A token
    with the scope acts as the contributor it belongs to, so it gets the contributor's cell."""
    scope = TOKEN_SCOPES.get(case.route.name)
    kind = token.split(":")[1]
    if scope is None:
        return frozenset({"403"}), "token_not_accepted"
    if kind in ("expired", "revoked"):
        return frozenset({"401"}), f"token_{kind}"
    if kind != scope:
        return frozenset({"403"}), "insufficient_scope"
    return case.allowed["contributor"], None


@pytest.mark.parametrize("case", CASES, ids=str)
def test_authz_matrix_tokens(case: Case, world: World) -> None:
    """The same rows with the contributor's API tokens instead of a session: one per scope,
    an expired and a revoked one. Every refusal names why and leaves nothing behind."""
    problems = []
    for token in TOKEN_ROLES:
        allowed, code = token_expectation(case, token)
        url = case.route.urls[case.variant](world)
        headers = {"Authorization": f"Bearer {world.tokens[token]}"}
        writes = Writes()
        with transaction.atomic(), connection.execute_wrapper(writes):
            queued, published = len(connection.run_on_commit), len(_published)
            response = send(Client(), case.route, url, world, headers=headers)
            got, body = outcome(response), content(response)
            dispatched = len(connection.run_on_commit) - queued + len(_published) - published
            transaction.set_rollback(True)
        # The token's own last-use time is the credential's bookkeeping, not a side effect.
        written = [sql for sql in writes.statements if '"contributions_apitoken"' not in sql]
        where = f"{token}: {case.route.method} {url}"
        if got not in allowed:
            problems.append(
                f"{where} answered {got}; the matrix allows {'|'.join(sorted(allowed))}"
            )
        elif code is not None and json.loads(body).get("error") != code:
            problems.append(f"{where} answered {body[:200]!r}, not the error {code}")
        if SECRET["other"].encode() in body:
            problems.append(f"{where} shows the other DAO's private data")
        if (got in REFUSALS or case.variant.startswith("other")) and (written or dispatched):
            problems.append(f"{where} answered {got} but wrote {written} / dispatched {dispatched}")
    assert not problems, f"{case}:\n  " + "\n  ".join(problems)


def test_the_token_matrix_covers_every_scope_and_every_refusal() -> None:
    """Not vacuous: each scope lets some row through and refuses others, and the rows that
    take no token are the rest of the site."""
    cells = {
        (str(case), token): token_expectation(case, token)
        for case in CASES
        for token in TOKEN_ROLES
    }
    for scope in ("upload", "label", "read"):
        assert any(code is None for (c, t), (_, code) in cells.items() if t == f"token:{scope}")
        assert any(
            code == "insufficient_scope"
            for (c, t), (_, code) in cells.items()
            if t == f"token:{scope}"
        )
    assert set(TOKEN_SCOPES) <= {r.name for r in ROUTES}
    refused_everywhere = [c for c in CASES if c.route.name not in TOKEN_SCOPES]
    assert len(refused_everywhere) > 150


def _request(case: Case, role: str, url: str, world: World, sessions: dict[str, str]) -> Any:
    """(outcome, body, writes, after-commit callbacks queued, tasks published)."""
    writes = Writes()
    with transaction.atomic(), connection.execute_wrapper(writes):
        queued, published = len(connection.run_on_commit), len(_published)
        response = send(client_as(role, sessions), case.route, url, world)
        got, body = outcome(response), content(response)
        dispatched = len(connection.run_on_commit) - queued + len(_published) - published
        transaction.set_rollback(True)
    return got, body, writes.statements, dispatched


def _check(case: Case, role: str, world: World, sessions: dict[str, str]) -> list[str]:
    route, variant, allowed = case.route, case.variant, case.allowed[role]
    url = route.urls[variant](world)
    got, body, writes, dispatched = _request(case, role, url, world, sessions)
    where = f"{role}: {route.method} {url}"
    problems = []
    if got not in allowed:
        problems.append(f"{where} answered {got}; the matrix allows {'|'.join(sorted(allowed))}")
    # A superuser sees and may change every DAO's objects: the privacy rules are not theirs.
    everything = role == "superuser"
    if SECRET["other"].encode() in body and not everything:
        problems.append(f"{where} shows the other DAO's private data")
    if role not in MEMBERS and SECRET["this"].encode() in body and not everything:
        problems.append(f"{where} shows this DAO's members-only data to a non-member")
    other = variant.startswith("other") and not everything
    if (got in REFUSALS or other) and (writes or dispatched):
        problems.append(f"{where} answered {got} but wrote {writes} / dispatched {dispatched}")
    if other and route.missing is not None and got not in GATES:
        missing = _request(case, role, route.missing(world), world, sessions)[0]
        if missing != got:
            problems.append(f"{where} answered {got}, an unknown id {missing}: existence leaks")
    return problems


def test_the_side_effect_checks_see_a_write_and_a_dispatch(
    world: World, sessions: dict[str, str]
) -> None:
    """The matrix's "no side effect" is not vacuous: an admin queueing a consensus run writes
    (the run, its audit event) and queues the task for after the commit."""
    route = next(r for r in ROUTES if r.name == "label-consensus-run")
    url = route.urls["this"](world)
    got, _, writes, dispatched = _request(Case(route, "this", {}), "admin", url, world, sessions)
    assert got == "202" and dispatched == 1
    assert any("labeling_consensusrun" in sql for sql in writes), writes


# --- CSRF -------------------------------------------------------------------------------------


# Where a forged POST would sign a visitor in (login CSRF): refused for lack of a token even
# to the anonymous.
SIGN_IN_ROUTES = {"siwe-verify", "console-login"}


def _csrf_cases() -> Iterator[Any]:
    """Every row's first URL, POSTed by the creator; the POST routes also anonymously."""
    for route, expected in ROWS:
        variant = next(iter(expected))
        anonymous = route.method == "POST" or route.name in SIGN_IN_ROUTES
        for role in ("creator", "anonymous") if anonymous else ("creator",):
            yield pytest.param(route, variant, role, id=f"{route.name}[{variant}]-{role}")


@pytest.mark.parametrize(("route", "variant", "role"), list(_csrf_cases()))
def test_a_post_without_a_csrf_token_is_refused(
    route: Route, variant: str, role: str, world: World, sessions: dict[str, str]
) -> None:
    url = route.urls[variant](world)
    writes = Writes()
    with connection.execute_wrapper(writes):
        queued, published = len(connection.run_on_commit), len(_published)
        post = replace(route, method="POST")
        response = send(client_as(role, sessions, csrf_checks=True), post, url, world)
        body = content(response)
    got = outcome(response)
    refused_for_csrf = response.status_code == 403 and CSRF_FAILURE in body
    if route.name in SIGN_IN_ROUTES or (route.method == "POST" and role != "anonymous"):
        assert refused_for_csrf, f"{role}: POST {url} without a token answered {got}"
    elif route.method == "POST":
        # No session to ride: any refusal will do (the upload API looks the dataset up first).
        assert refused_for_csrf or got in REFUSALS, f"POST {url} without a token answered {got}"
    else:
        # A route that takes no POST may also say so (405) before the CSRF check.
        assert refused_for_csrf or got == "405", f"POST {url} without a token answered {got}"
    assert not writes.statements, writes.statements
    assert (len(connection.run_on_commit), len(_published)) == (queued, published)


@pytest.mark.parametrize("route", [r for r, _ in ROWS if r.method == "POST"], ids=lambda r: r.name)
def test_the_same_post_with_a_token_passes_the_check(
    route: Route, world: World, sessions: dict[str, str]
) -> None:
    client = client_as("creator", sessions, csrf_checks=True)
    client.get("/auth/nonce")  # sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    url = next(iter(route.urls.values()))(world)
    response = send(client, route, url, world, headers={"X-CSRFToken": token})
    assert CSRF_FAILURE not in content(response), url


def test_siwe_verify_refuses_a_cross_site_sign_in() -> None:
    """Login CSRF: a page elsewhere cannot sign a visitor in with the attacker's signature."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/auth/verify",
        json.dumps({"message": "x", "signature": "0x00"}),
        content_type="application/json",
    )
    assert response.status_code == 403 and CSRF_FAILURE in response.content
    assert "_auth_user_id" not in client.session


# --- what a contributor may not do, checked on the state --------------------------------------


def test_a_contributor_cannot_accept_their_own_rejected_contribution(
    world: World, sessions: dict[str, str]
) -> None:
    own = world.this.rejected
    data = {"action": "accept_override", "_selected_action": [own.pk], "index": 0}
    for role in ("contributor", "reviewer"):
        response = client_as(role, sessions).post("/admin/contributions/contribution/", data)
        assert outcome(response) == "302C", role
        own.refresh_from_db()
        assert own.status == Status.REJECTED and own.review == ""
    # The DAO's admin may: the refusals above were about the role.
    response = client_as("admin", sessions).post("/admin/contributions/contribution/", data)
    assert outcome(response) == "302"
    own.refresh_from_db()
    assert own.status == Status.ACCEPTED


def test_a_contributor_cannot_edit_a_schema_a_reward_policy_or_a_role(
    world: World, sessions: dict[str, str]
) -> None:
    dataset, policy, membership = world.this.tabular, world.this.policy, world.this.membership
    schema = dataset.schema
    writes = {
        f"/admin/datadao/dataset/{dataset.pk}/change/": _dataset_form(world),
        f"/admin/rewards/rewardpolicy/{policy.pk}/change/": _policy_form(world),
        f"/admin/datadao/membership/{membership.pk}/change/": {"role": Role.ADMIN},
    }
    for role in ("contributor", "reviewer"):
        client = client_as(role, sessions)
        for url, data in writes.items():
            assert outcome(client.post(url, data)) == "302C", (role, url)
    for obj in (dataset, policy, membership):
        obj.refresh_from_db()
    assert dataset.schema == schema and dataset.name == f"Tabular {SECRET['this']}"
    assert policy.per_contribution == 100
    assert membership.role == Role.CONTRIBUTOR
    creator = client_as("creator", sessions)
    for url, data in writes.items():
        assert outcome(creator.post(url, data)) == "302", url
    for obj in (dataset, policy, membership):
        obj.refresh_from_db()
    assert dataset.schema == {"columns": [{"name": "edited", "type": "int"}]}
    assert policy.per_contribution == 999999
    assert membership.role == Role.ADMIN


def test_a_contributor_cannot_close_an_epoch(
    world: World, sessions: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    side = world.this
    RewardEntry.objects.create(
        dao=side.dao,
        dataset=side.tabular,
        account=side.contributor,
        amount=9,
        reason="contribution",
        source_type="authz",
        source_id="unsettled",
    )
    key_variable = settings.SIGNER_KEY_VARIABLES["rewards"][0]
    monkeypatch.setenv(key_variable, "0x" + "5e" * 32)
    data = {"action": "close_epochs", "_selected_action": [side.open_epoch.pk], "index": 0}
    for role in ("contributor", "reviewer"):
        assert outcome(client_as(role, sessions).post("/admin/rewards/epoch/", data)) == "302C"
    side.open_epoch.refresh_from_db()
    assert side.open_epoch.status == EpochStatus.OPEN
    assert Epoch.objects.filter(dao=side.dao).count() == 2
    # The creator may, with the same request.
    assert outcome(client_as("creator", sessions).post("/admin/rewards/epoch/", data)) == "302"
    side.open_epoch.refresh_from_db()
    assert side.open_epoch.status == EpochStatus.CLOSED


def test_a_labeler_sees_no_one_elses_answer_before_submitting(
    world: World, sessions: dict[str, str]
) -> None:
    side = world.this
    client = client_as("contributor", sessions)
    body = client.get(f"/api/labeling/{side.labeling.pk}/next").json()
    task = body["task"]
    # The contributor's hold is on the task their peer has already answered ("dog").
    assert task["hold"] == side.hold.pk
    # The dataset's task type and its answer rules are the same for every item.
    assert set(task) == {
        "hold",
        "expires_at",
        "task_type",
        "item",
        "labels",
        "multi_choice",
        "rules",
        "suggestion",
    }
    # A model's pre-label at most: never another labeler's answer.
    assert task["suggestion"] is None
    assert task["task_type"] == "classification" and task["rules"] == {}
    assert task["item"] == {"kind": "text", "text": "is this a cat?"} and task["labels"] == LABELS
    rest = json.dumps({**body, "task": {k: v for k, v in task.items() if k != "labels"}})
    for hint in ("dog", side.peer.address, "label_count", "consensus", "gold"):
        assert hint not in rest.replace("gold_accuracy", "").replace("gold_answered", ""), hint
    page = client.get(f"/daos/{side.dao.slug}/{side.labeling.slug}/label").content.decode()
    assert side.peer.address not in page


def test_a_contributor_cannot_download_another_addresss_voucher(
    world: World, sessions: dict[str, str]
) -> None:
    client = client_as("contributor", sessions)
    own = client.get(f"/api/rewards/vouchers/{world.this.voucher.pk}")
    assert own.status_code == 200
    assert json.loads(own.content)["typedData"] == {"secret": SECRET["this"]}
    unknown = client.get(f"/api/rewards/vouchers/{MISSING_ID}")
    for voucher in (world.this.peer_voucher, world.other.voucher):
        refused = client.get(f"/api/rewards/vouchers/{voucher.pk}")
        assert refused.status_code == unknown.status_code == 404
        # The same answer as for a voucher that does not exist, but for the id it names.
        same = refused.content.replace(str(voucher.pk).encode(), b"<id>")
        assert same == unknown.content.replace(str(MISSING_ID).encode(), b"<id>")


def test_the_reward_lists_show_each_person_their_own_rows_only(
    world: World, sessions: dict[str, str]
) -> None:
    """A DAO's admins may download a member's claim by id, but the lists are "mine": the
    contributor sees their allocation and voucher, the reviewer their own voucher, the admin
    and the creator nothing of either, and nobody the other DAO's."""
    this = world.this

    def listed(role: str, what: str) -> list[int]:
        response = client_as(role, sessions).get(f"/api/rewards/{what}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["next"] is None
        return [row["id"] for row in body[what]]

    assert listed("contributor", "allocations") == [this.allocation.pk]
    assert listed("contributor", "vouchers") == [this.voucher.pk]
    assert listed("reviewer", "vouchers") == [this.peer_voucher.pk]
    for role in ("admin", "creator", "outsider", "staff"):
        assert listed(role, "allocations") == [] and listed(role, "vouchers") == [], role
    [row] = client_as("contributor", sessions).get("/api/rewards/allocations").json()["allocations"]
    assert (row["account"], row["amount"], row["state"]) == (
        this.contributor.address,
        "5",
        "unclaimed",
    )
    assert row["claimUrl"] == f"/api/rewards/allocations/{this.allocation.pk}"
