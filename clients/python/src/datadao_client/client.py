"""``Client``: the platform's JSON API as Python methods.

    client = Client("https://data.example.org")
    client.sign_in(account_from_keystore("key.json", password))   # SIWE: a session
    upload = client.upload(3, Path("readings.csv"), progress=print)
    done = client.wait_for_contribution(upload.contribution["id"], timeout=600)

Or, for a script, an API token (made once with ``create_token`` while signed in):
``Client(url, token="dd_…")``. Labeling, releases and rewards are in the mixins this class
joins (``labeling``, ``releases``, ``rewards``); ``routes`` says which method covers which
operation of the platform's OpenAPI document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount

from datadao_client.errors import ApiError, DatadaoError, WaitTimeout
from datadao_client.labeling import LabelingMixin
from datadao_client.releases import ReleasesMixin
from datadao_client.rewards import RewardsMixin
from datadao_client.transport import RetryPolicy, Transport
from datadao_client.types import (
    FINAL_STATUSES,
    ApiTokenCreated,
    ApiTokenPage,
    Contribution,
    ContributionDetail,
    ContributionPage,
    JoinRequest,
    Me,
    Membership,
    SignedIn,
    SignedTypedData,
    Upload,
)
from datadao_client.uploads import Multipart, Progress, is_duplicate, ownership_message, sha256_file

PAGE_SIZE = 100  # the platform's largest page


class Client(LabelingMixin, ReleasesMixin, RewardsMixin):
    """A connection to one datadao platform, signed in with a wallet or holding an API token.

    ``timeout`` bounds each request (seconds); ``retry`` says how reads and uploads are
    repeated after a lost connection or a 5xx (``RetryPolicy``). ``site`` is the host the
    ownership signatures of uploads name: the platform's sign-in domain, learnt at sign-in;
    give it when using a token behind a proxy whose host differs from the URL's.
    ``language``: an ``Accept-Language`` value (``"zh-CN"``) for the language of the
    platform's refusal details (``ApiError.detail``); their ``code`` is the same in every
    language.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        account: LocalAccount | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        site: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        language: str | None = None,
    ) -> None:
        self._http = Transport(
            base_url, token=token, timeout=timeout, retry=retry, sleep=sleep, language=language
        )
        #: Signs uploads' ownership texts and typed data; set by ``sign_in``.
        self.account = account
        self.site = site or self._http.host

    @property
    def base_url(self) -> str:
        return self._http.base_url

    # --- signing in ---------------------------------------------------------------------

    def sign_in(self, account: LocalAccount, *, chain_id: int | None = None) -> SignedIn:
        """Sign in with Ethereum (EIP-4361): ask for a nonce for this address, sign the exact
        message the platform returns, and keep the session it starts. ``chain_id``: the chain
        to sign in on (the platform's first allowed one when left out)."""
        params: dict[str, str | int] = {"address": account.address}
        if chain_id:
            params["chain_id"] = chain_id
        message = self._http.json("siwe_nonce", params=params)["message"]
        # EIP-4361's first line: "[scheme://]<domain> wants you to sign in with your
        # Ethereum account:"; the domain is the site the platform checks ownership texts for.
        self.site = message.split(" ", 1)[0].split("://", 1)[-1]
        signature = account.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
        signed_in = self._http.json(
            "siwe_verify", json={"message": message, "signature": signature}
        )
        self.account = account
        return cast(SignedIn, signed_in)

    def sign_out(self) -> None:
        """End the session (an API token stays valid until revoked)."""
        self._http.send("siwe_logout")

    def me(self) -> Me:
        """Who the platform takes this client for."""
        return cast(Me, self._http.json("siwe_me"))

    def openapi(self) -> dict[str, Any]:
        """The platform's OpenAPI document."""
        return cast(dict[str, Any], self._http.json("openapi"))

    # --- API tokens (a session makes them; scripts use them) ----------------------------

    def create_token(
        self, name: str, *, scopes: list[str] | None = None, expires_in_days: int | None = None
    ) -> ApiTokenCreated:
        """A new API token (``scopes`` among ``read``, ``upload``, ``label``; the platform's
        defaults when left out). Its secret, ``["token"]``, is shown this once."""
        body: dict[str, Any] = {"name": name}
        if scopes is not None:
            body["scopes"] = scopes
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return cast(ApiTokenCreated, self._http.json("api_token_create", json=body))

    def tokens(self) -> ApiTokenPage:
        """Your API tokens, newest first (never their secrets)."""
        return cast(ApiTokenPage, self._http.json("api_token_list"))

    def revoke_token(self, token_id: int) -> None:
        self._http.send("api_token_revoke", path={"token_id": token_id})

    # --- joining a DAO ------------------------------------------------------------------

    def join(self, slug: str, *, invite: str | None = None) -> Membership | JoinRequest:
        """Sign the DAO's terms (EIP-712) and join: a Membership where the DAO is open (or
        the invite is good), a pending JoinRequest where it asks for approval."""
        account = self._signer()
        terms = self._http.json(
            "dao_terms", path={"slug": slug}, params={"address": account.address}
        )
        typed = terms["typedData"]
        signature = account.sign_message(encode_typed_data(full_message=typed)).signature
        body: dict[str, Any] = {"typedData": typed, "signature": signature.to_0x_hex()}
        if invite:
            body["invite"] = invite
        return cast(
            Membership | JoinRequest, self._http.json("dao_join", path={"slug": slug}, json=body)
        )

    def _signer(self) -> LocalAccount:
        if self.account is None:
            raise DatadaoError("this needs a wallet: sign in, or give the Client an account")
        return self.account

    # --- contributions ------------------------------------------------------------------

    def upload(
        self,
        dataset_id: int,
        path: Path,
        *,
        sign: bool = True,
        progress: Progress | None = None,
        existing_ok: bool = False,
        retry: RetryPolicy | None = None,
    ) -> Upload:
        """Upload one file to a dataset as a contribution, with the ownership signature of
        the client's account (``sign=False``, or no account: unsigned).

        Retried after a lost connection or a 5xx (``retry``, else the client's policy); never
        uploaded twice: an attempt that arrived although its answer was lost is found by the
        file's SHA-256 (``Upload.recovered``). A file that was already in the dataset before
        this call is the platform's 409 ``duplicate`` refusal, or with ``existing_ok`` your
        earlier contribution (``Upload.existing``). ``progress(sent, size)`` is called as the
        file is sent, from 0 again on each attempt.
        """
        digest = sha256_file(path)
        fields: dict[str, str] = {}
        if sign and self.account is not None:
            text = ownership_message(self.site, dataset_id, digest)
            signature = self.account.sign_message(encode_defunct(text=text)).signature
            fields["signature"] = signature.to_0x_hex()
        body = Multipart.of(path, fields, progress)
        attempts = 0

        def count() -> None:
            nonlocal attempts
            attempts += 1

        try:
            response = self._http.send(
                "contribution_upload",
                path={"dataset_id": dataset_id},
                data=_Counted(body, count),
                headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
                retry=retry or self._http.retry,
            )
        except ApiError as exc:
            if not is_duplicate(exc) or not (attempts > 1 or existing_ok):
                raise
            found = self.find_contribution(dataset_id, digest)
            if found is None:
                # Someone else's identical file: the refusal stands.
                raise
            return Upload(found, digest, attempts, recovered=attempts > 1, existing=attempts == 1)
        return Upload(cast(Contribution, response.json()), digest, attempts)

    def find_contribution(self, dataset_id: int, sha256: str) -> Contribution | None:
        """Your contribution of the file with this SHA-256 to this dataset, if there is one."""
        for contribution in self.iter_contributions(dataset=dataset_id):
            if contribution["sha256"] == sha256:
                return contribution
        return None

    def contributions(
        self,
        *,
        dataset: int | None = None,
        status: str | None = None,
        page: int = 1,
        page_size: int = 25,
    ) -> ContributionPage:
        """One page of your contributions, newest first."""
        params: dict[str, str | int] = {"page": page, "page_size": page_size}
        if dataset is not None:
            params["dataset"] = dataset
        if status is not None:
            params["status"] = status
        return cast(ContributionPage, self._http.json("contribution_list", params=params))

    def iter_contributions(
        self, *, dataset: int | None = None, status: str | None = None
    ) -> Iterator[Contribution]:
        """All your contributions, newest first, a page at a time."""
        page = 1
        while True:
            batch = self.contributions(
                dataset=dataset, status=status, page=page, page_size=PAGE_SIZE
            )
            yield from batch["results"]
            if page * PAGE_SIZE >= batch["count"] or not batch["results"]:
                return
            page += 1

    def contribution(self, contribution_id: int) -> ContributionDetail:
        """A contribution's status, scores, reasons, CID and validation report."""
        return cast(
            ContributionDetail,
            self._http.json("contribution_detail", path={"contribution_id": contribution_id}),
        )

    def contribution_proof(self, contribution_id: int) -> SignedTypedData:
        """The validator's signed EIP-712 attestation of an accepted contribution."""
        return cast(
            SignedTypedData,
            self._http.json("contribution_proof", path={"contribution_id": contribution_id}),
        )

    def wait_for_contribution(
        self,
        contribution_id: int,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        on_change: Callable[[ContributionDetail], None] | None = None,
    ) -> ContributionDetail:
        """Poll a contribution until it is pinned, rejected or failed, and return it then.
        ``on_change`` sees each new status as it is seen. WaitTimeout (with the last state
        seen) when it is not final after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        seen = ""
        while True:
            current = self.contribution(contribution_id)
            if current["status"] != seen:
                seen = current["status"]
                if on_change is not None:
                    on_change(current)
            if current["status"] in FINAL_STATUSES:
                return current
            if time.monotonic() + poll > deadline:
                raise WaitTimeout(
                    f"contribution {contribution_id} is still {seen} after {timeout:g} s", current
                )
            self._http.sleep(poll)


class _Counted:
    """A request body that counts the attempts sending it (each iteration is one)."""

    def __init__(self, body: Multipart, on_attempt: Callable[[], None]) -> None:
        self.body = body
        self.on_attempt = on_attempt

    def __len__(self) -> int:
        return len(self.body)

    def __iter__(self) -> Iterator[bytes]:
        self.on_attempt()
        return iter(self.body)
