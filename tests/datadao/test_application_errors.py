"""One refusal family (``datadao.errors.ApplicationError``) and its one handler
(``datadao.http.ApplicationErrorMiddleware``)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import RequestFactory

from contributions.errors import ContributionRefused, TokenNotFound
from datadao.errors import ApplicationError
from datadao.http import ApplicationErrorMiddleware
from datadao.joining import JoinRefused
from datadao.jointerms import TermsRefused
from labeling.errors import LabelingRefused, Paused
from rewards.services import RewardsError
from synthetic.errors import SyntheticRefused


@pytest.mark.parametrize(
    "refusal",
    [
        ContributionRefused("x"),
        TokenNotFound("x"),
        LabelingRefused("x"),
        SyntheticRefused("x"),
        RewardsError("x"),
        JoinRefused("code", "x", 409),
        TermsRefused("code", "x"),
    ],
)
def test_every_app_refuses_with_the_one_family(refusal: Exception) -> None:
    assert isinstance(refusal, ApplicationError)
    assert refusal.message == "x"  # type: ignore[attr-defined]


def test_a_code_and_status_given_at_the_raise_win_over_the_class_defaults() -> None:
    refusal = JoinRefused("request_pending", "You asked already.", 409)
    assert (refusal.code, refusal.status_code) == ("request_pending", 409)
    assert (Paused("p").code, Paused("p").status_code) == ("paused", 403)
    assert (ApplicationError("m").code, ApplicationError("m").status_code) == ("refused", 400)


def _handle(path: str, exc: Exception, accept: str = "text/html"):  # type: ignore[no-untyped-def]
    request = RequestFactory().get(path, HTTP_ACCEPT=accept)
    return ApplicationErrorMiddleware(lambda r: None).process_exception(request, exc)  # type: ignore[arg-type, return-value]


def test_the_api_answers_a_refusal_as_json() -> None:
    response = _handle(
        "/api/datasets/1/labeling/next", Paused("Your accuracy is under <b>0.6</b>.")
    )
    assert response.status_code == 403
    assert json.loads(response.content) == {
        "error": "paused",
        "detail": "Your accuracy is under <b>0.6</b>.",
    }


def test_a_page_answers_a_refusal_as_a_page_with_the_message_escaped() -> None:
    response = _handle("/daos/x/", JoinRefused("closed", "The DAO <script> is closed.", 409))
    assert response.status_code == 409
    body = response.content.decode()
    assert "The DAO &lt;script&gt; is closed." in body and "<script>" not in body
    # A client that does not read HTML gets JSON on any path.
    assert _handle("/daos/x/", ApplicationError("no"), accept="application/json")[
        "Content-Type"
    ].startswith("application/json")


def test_anything_else_is_left_to_django() -> None:
    assert _handle("/api/x", ValueError("a bug")) is None


def test_the_handler_is_installed() -> None:
    assert "datadao.http.ApplicationErrorMiddleware" in settings.MIDDLEWARE
