"""Server-rendered pages: the DAO directory, a DAO's page, founding a DAO."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from datadao.models import DAO, JoinPolicy
from datadao.selectors import dao_list, dataset_cards, joining_state
from datadao.services import dao_create

PAGE_SIZE = 25


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The DAO directory, paginated."""
    page = Paginator(dao_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "datadao/home.html", {"page": page, "demo_sign_in": settings.DEMO_SIGN_IN}
    )


@require_GET
def dao_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A DAO and its datasets: what each takes, its license, counts and rewards."""
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        raise Http404("No DAO with that name.")
    datasets = dataset_cards(dao=dao, user=request.user)
    return render(
        request,
        "datadao/dao_detail.html",
        {"dao": dao, "datasets": datasets, "joining": joining_state(dao=dao, user=request.user)},
    )


class DAOForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=64, help_text="Short name used in URLs, e.g. city-air")
    token_symbol = forms.RegexField(
        regex=r"^[A-Za-z0-9]{1,11}$", max_length=11, help_text="1–11 letters or digits"
    )
    token_decimals = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=36,
        initial=18,
        help_text="The token's decimals: 18 for most ERC-20 tokens, 6 for USDC (empty: 18)",
    )

    def clean_token_decimals(self) -> int:
        value = self.cleaned_data.get("token_decimals")
        return 18 if value is None else value

    chain_id = forms.IntegerField(min_value=1, initial=1)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    join_policy = forms.ChoiceField(
        choices=JoinPolicy.choices,
        initial=JoinPolicy.REQUEST,
        required=False,
        help_text="How newcomers become members; change it later in the console.",
    )
    terms = forms.CharField(
        label="Contribution terms",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="What every member signs with their wallet when joining.",
    )


@login_required
def dao_new(request: HttpRequest) -> HttpResponse:
    """Found a DAO: the signed-in user becomes its creator and lands on its console page, where
    the checklist of next steps is."""
    form = DAOForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = {**form.cleaned_data}
            data["join_policy"] = data["join_policy"] or JoinPolicy.REQUEST
            dao = dao_create(creator=request.user, **data)
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                for error in errors:
                    form.add_error(None if field == "__all__" else field, error)
        else:
            return redirect("admin:datadao_dao_change", dao.pk)
    return render(request, "datadao/dao_new.html", {"form": form})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
