"""Rewards and claims: royalty credits, and what claiming an epoch's allocation needs.

These take a signed-in session (SIWE), not an API token: the platform answers them only to
the wallet they belong to (and to the DAO's creators and admins).
"""

from __future__ import annotations

from typing import cast

from datadao_client.transport import Transport
from datadao_client.types import Claim, Royalty, SignedTypedData


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
