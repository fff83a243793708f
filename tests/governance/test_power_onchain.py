"""Token voting power read from a real JSON-RPC node (Hardhat's, tests/chainnode.py): each
member's ERC-20 balance at the proposal's snapshot block, so tokens that arrive after the
snapshot (bought, or moved in from another wallet that already voted) carry no vote."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from eth_account import Account

from datadao import services as dao_services
from datadao.governed import ChangeKind
from governance import services, vote712
from governance.models import ProposalStatus
from ipfs.services import content_open_verified
from rewards.onchain import artifact, sender
from tests.chainnode import CHAIN_ID, DEV_KEYS, ChainNode
from tests.governance.conftest import Gov, cast, propose

pytestmark = pytest.mark.django_db

TOKEN = 10**18
MINTER = Account.from_key(DEV_KEYS[0])


def _send(w3: Any, call: dict[str, Any]) -> dict[str, Any]:
    nonce = w3.eth.get_transaction_count(MINTER.address, "pending")
    gas = sender.estimate_gas(w3, MINTER.address, call)
    signed = sender.sign(w3, MINTER, call, nonce=nonce, fees=sender.current_fees(w3), gas=gas)
    sender.broadcast(w3, signed.raw)
    found = sender.receipt(w3, signed.tx_hash)
    assert found is not None and found["status"] == 1
    return found


def test_token_power_is_read_at_the_snapshot_block_on_a_json_rpc_node(
    gov: Gov, chain_node: ChainNode
) -> None:
    chain_node.automine(True)
    w3 = chain_node.web3()
    build = artifact.contract("TestToken")
    token = _send(w3, {"data": build["bytecode"]})["contractAddress"]
    contract = w3.eth.contract(token, abi=build["abi"])

    def mint(to: str, amount: int) -> None:
        _send(
            w3,
            {"to": token, "data": contract.functions.mint(to, amount)._encode_transaction_data()},
        )

    alice, bob, carol = (gov.users[n].address for n in ("alice", "bob", "carol"))
    mint(alice, 100 * TOKEN)
    mint(bob, 40 * TOKEN)
    with override_settings(CHAIN_RPC_URLS={CHAIN_ID: chain_node.url}):
        dao_services.dao_update(dao=gov.dao, actor=None, voting_power="token", voting_token=token)
        proposal = propose(
            gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, quorum=str(120 * TOKEN)
        )
        assert proposal.snapshot_block == w3.eth.block_number
        assert proposal.document["voting_power"]["eligible"] == str(140 * TOKEN)
        # After the snapshot: carol gets tokens, alice gets more. Neither counts.
        mint(carol, 500 * TOKEN)
        mint(alice, 1000 * TOKEN)
        now = timezone.now()
        assert int(cast(gov, "alice", proposal, vote712.FOR, at=now)[0].power) == 100 * TOKEN
        assert int(cast(gov, "bob", proposal, vote712.AGAINST, at=now)[0].power) == 40 * TOKEN
        with pytest.raises(vote712.VoteRefused) as refused:
            cast(gov, "carol", proposal, vote712.FOR, at=now)
        assert refused.value.code == "no_voting_power"
        services.proposal_settle(
            proposal_id=proposal.pk, now=proposal.ends_at + (proposal.ends_at - proposal.starts_at)
        )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED
    with content_open_verified(cid=proposal.cid) as pinned:
        published = json.loads(pinned.read())
    # Anyone can check the tally from the published file and the chain at the snapshot.
    assert vote712.verify_published(published) == proposal.tally
    snapshot = published["proposal"]["voting_power"]["snapshot_block"]
    for vote in published["votes"]:
        balance = contract.functions.balanceOf(vote["message"]["from"]).call(
            block_identifier=snapshot
        )
        assert int(vote["power"]) == balance
