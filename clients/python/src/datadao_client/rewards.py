"""Rewards and claims: royalty credits, your allocations and vouchers, and what claiming
one needs.

These take a signed-in session (SIWE), not an API token: the platform answers them only to
the wallet they belong to (and the downloads also to the DAO's creators and admins).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from datadao_client.paging import MAX_LIMIT, params, walk
from datadao_client.transport import Transport
from datadao_client.types import (
    AllocationPage,
    AllocationSummary,
    Claim,
    Royalty,
    SignedTypedData,
    VoucherPage,
    VoucherSummary,
)


class RewardsMixin:
    _http: Transport

    def royalties(self) -> list[Royalty]:
        """Your parts of what data consumers paid, newest first (at most 200), settled (with
        their epoch) or accruing."""
        return cast(list[Royalty], self._http.json("my_royalties")["royalties"])

    def claim(self, allocation_id: int) -> Claim:
        """An epoch allocation's claim data: the amount (uint256 as a decimal string) and the
        Merkle proof the DAO's distributor contract's ``claim(epoch, amount, proof)`` takes."""
        return cast(
            Claim, self._http.json("allocation_download", path={"allocation_id": allocation_id})
        )

    def voucher(self, voucher_id: int) -> SignedTypedData:
        """A signed EIP-712 voucher (``eth_signTypedData_v4`` payload, signature, signer)."""
        return cast(
            SignedTypedData, self._http.json("voucher_download", path={"voucher_id": voucher_id})
        )

    def allocations(
        self, *, dao: str | None = None, after: str | None = None, limit: int = 50
    ) -> AllocationPage:
        """One page of your epoch allocations, newest first (``dao``: only that DAO's, by
        slug); pass a page's ``["next"]`` as ``after`` for the following one."""
        return cast(
            AllocationPage,
            self._http.json("allocation_list", params=params(after, limit, dao=dao)),
        )

    def iter_allocations(self, *, dao: str | None = None) -> Iterator[AllocationSummary]:
        """All your epoch allocations, newest first, a page at a time."""
        return walk(
            lambda after: self.allocations(dao=dao, after=after, limit=MAX_LIMIT), "allocations"
        )

    def vouchers(
        self, *, dao: str | None = None, after: str | None = None, limit: int = 50
    ) -> VoucherPage:
        """One page of the vouchers made out to you, newest first (``dao``: only that DAO's);
        pass a page's ``["next"]`` as ``after`` for the following one."""
        return cast(
            VoucherPage, self._http.json("voucher_list", params=params(after, limit, dao=dao))
        )

    def iter_vouchers(self, *, dao: str | None = None) -> Iterator[VoucherSummary]:
        """All the vouchers made out to you, newest first, a page at a time."""
        return walk(lambda after: self.vouchers(dao=dao, after=after, limit=MAX_LIMIT), "vouchers")
