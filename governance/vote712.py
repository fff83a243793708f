"""A proposal's hash and the EIP-712 ``Vote`` a member signs. Pure: no Django.

The vote follows Snapshot's ``Vote`` type (from, space, timestamp, proposal, choice, reason,
app, metadata), signed for the platform's domain ``{name: "datadao", version: "1", chainId}``:

* ``space`` is the DAO's id (its ``daoId``, 0x + 64 hex, as a string);
* ``proposal`` is the keccak-256 of the proposal's canonical JSON (sorted keys, no
  whitespace, UTF-8), so a vote binds to the exact change, period, quorum and voting power;
* ``choice`` is 1 for, 2 against, 3 abstain;
* ``timestamp`` (Unix seconds) orders a voter's votes: a later one replaces an earlier one.

Anyone holding a closed proposal's published JSON can recompute its hash, rebuild each vote's
typed data from its message, recover the signer and recompute the tally (``verify_published``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, keccak, to_checksum_address

from datadao.eip712 import DOMAIN_NAME, DOMAIN_TYPE, DOMAIN_VERSION, domain
from datadao.errors import ApplicationError, Detail

PRIMARY_TYPE = "Vote"
APP = "datadao"
FOR, AGAINST, ABSTAIN = 1, 2, 3
CHOICES = {FOR: "for", AGAINST: "against", ABSTAIN: "abstain"}
VOTE_TYPE: list[dict[str, str]] = [
    {"name": "from", "type": "address"},
    {"name": "space", "type": "string"},
    {"name": "timestamp", "type": "uint64"},
    {"name": "proposal", "type": "bytes32"},
    {"name": "choice", "type": "uint32"},
    {"name": "reason", "type": "string"},
    {"name": "app", "type": "string"},
    {"name": "metadata", "type": "string"},
]
TYPES = {"EIP712Domain": DOMAIN_TYPE, PRIMARY_TYPE: VOTE_TYPE}
MAX_REASON = 2000
MAX_METADATA = 2000
# secp256k1's order: only s <= n/2 is accepted (EIP-2), so a vote has one signature.
_SECP256K1_HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2
_UINT64 = 2**64 - 1


class VoteRefused(ApplicationError):
    """A vote that does not hold: ``code`` is stable, the message names why."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message, code=code, status_code=status)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same document always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def proposal_hash(document: dict[str, Any]) -> str:
    """The bytes32 a vote names: keccak-256 of the proposal document's canonical JSON."""
    return "0x" + keccak(canonical_json(document)).hex()


def eip712(chain_id: int) -> dict[str, Any]:
    """What a client needs to build the typed data of a vote (all but the message)."""
    return {
        "types": {name: [dict(f) for f in fields] for name, fields in TYPES.items()},
        "primaryType": PRIMARY_TYPE,
        "domain": domain(chain_id),
    }


@dataclass(frozen=True)
class Ballot:
    """A vote's message, checked for shape."""

    voter: str
    space: str
    timestamp: int
    proposal: str
    choice: int
    reason: str
    app: str
    metadata: str

    def message(self) -> dict[str, Any]:
        return {
            "from": self.voter,
            "space": self.space,
            "timestamp": self.timestamp,
            "proposal": self.proposal,
            "choice": self.choice,
            "reason": self.reason,
            "app": self.app,
            "metadata": self.metadata,
        }


def typed_data(ballot: Ballot, *, chain_id: int) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` payload of a vote."""
    return {**eip712(chain_id), "message": ballot.message()}


def _uint(value: Any, bound: int, what: str) -> int:
    if isinstance(value, bool):
        raise VoteRefused("bad_vote", Detail("message.%(what)s must be a whole number.", what=what))
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= bound:
        raise VoteRefused("bad_vote", Detail("message.%(what)s must be a whole number.", what=what))
    return value


def _text(message: dict[str, Any], key: str, limit: int) -> str:
    value = message.get(key, "")
    if not isinstance(value, str):
        raise VoteRefused("bad_vote", Detail("message.%(key)s must be a string.", key=key))
    if len(value) > limit:
        raise VoteRefused(
            "bad_vote",
            Detail("message.%(key)s is over %(limit)s characters.", key=key, limit=limit),
        )
    return value


def parse_ballot(message: Any) -> Ballot:
    """The vote's message as a ``Ballot``, or a refusal naming the field that is wrong."""
    if not isinstance(message, dict):
        raise VoteRefused("bad_vote", Detail("typedData.message must be the Vote's fields."))
    unknown = sorted(set(message) - {f["name"] for f in VOTE_TYPE})
    if unknown:
        raise VoteRefused(
            "bad_vote", Detail("message has unknown fields: %(join)s.", join=", ".join(unknown))
        )
    voter = message.get("from")
    if not isinstance(voter, str) or not is_address(voter):
        raise VoteRefused("bad_vote", Detail("message.from must be the voter's address."))
    space = message.get("space")
    if not isinstance(space, str):
        raise VoteRefused("bad_vote", Detail("message.space must be the DAO's id (0x + 64 hex)."))
    proposal = message.get("proposal")
    if not isinstance(proposal, str) or len(proposal) != 66 or not proposal.startswith("0x"):
        raise VoteRefused(
            "bad_vote", Detail("message.proposal must be the proposal's hash (bytes32).")
        )
    choice = message.get("choice")
    if isinstance(choice, bool) or choice not in CHOICES:
        raise VoteRefused(
            "bad_choice", Detail("message.choice must be 1 (for), 2 (against) or 3 (abstain).")
        )
    return Ballot(
        voter=to_checksum_address(voter),
        space=space,
        timestamp=_uint(message.get("timestamp"), _UINT64, "timestamp"),
        proposal=proposal.lower(),
        choice=int(choice),
        reason=_text(message, "reason", MAX_REASON),
        app=_text(message, "app", 64),
        metadata=_text(message, "metadata", MAX_METADATA),
    )


def check_domain(submitted: Any, *, chain_id: int) -> None:
    """Refuse typed data signed for another domain (name, version or chain) or another type."""
    if not isinstance(submitted, dict):
        raise VoteRefused("bad_vote", Detail("typedData must be the JSON object you signed."))
    if submitted.get("primaryType") != PRIMARY_TYPE:
        raise VoteRefused(
            "bad_vote",
            Detail("typedData.primaryType must be %(primary_type)s.", primary_type=PRIMARY_TYPE),
        )
    got = submitted.get("domain")
    if not isinstance(got, dict):
        raise VoteRefused("bad_vote", Detail("typedData.domain is missing."))
    if (got.get("name"), got.get("version")) != (DOMAIN_NAME, DOMAIN_VERSION):
        raise VoteRefused(
            "wrong_domain",
            Detail(
                'typedData.domain must be name "%(domain_name)s", version "1".',
                domain_name=DOMAIN_NAME,
            ),
        )
    chain = got.get("chainId")
    if isinstance(chain, bool) or str(chain) != str(chain_id):
        raise VoteRefused(
            "wrong_domain",
            Detail(
                "The vote was signed for chain %(chain)s; this DAO is on chain %(chain_id)s.",
                chain=str(chain)[:24],
                chain_id=chain_id,
            ),
        )
    if set(got) - {"name", "version", "chainId"}:
        raise VoteRefused(
            "wrong_domain", Detail("typedData.domain has fields this platform does not sign.")
        )


def signature_bytes(signature: Any) -> bytes:
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise VoteRefused("bad_signature", Detail("signature must be 0x-hex (65 bytes)."))
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        raise VoteRefused("bad_signature", Detail("signature must be 0x-hex (65 bytes).")) from None
    if len(raw) != 65:
        raise VoteRefused(
            "bad_signature", Detail("signature is %(count)s bytes, not 65.", count=len(raw))
        )
    if int.from_bytes(raw[32:64], "big") > _SECP256K1_HALF_N:
        raise VoteRefused(
            "bad_signature", Detail("signature has a high s value (EIP-2); sign again.")
        )
    return raw


def recover(ballot: Ballot, signature: bytes, *, chain_id: int) -> str:
    """The address that signed the vote's typed data (rebuilt here, never taken as sent)."""
    payload = typed_data(ballot, chain_id=chain_id)
    try:
        return Account.recover_message(encode_typed_data(full_message=payload), signature=signature)
    except Exception as exc:  # eth-account raises several types for a malformed signature
        raise VoteRefused(
            "bad_signature", Detail("The signature cannot be recovered: %(exc)s", exc=exc)
        ) from None


def tally(votes: list[tuple[int, int]], *, quorum: int) -> dict[str, Any]:
    """The result of ``(choice, power)`` votes: powers per choice as decimal strings (a token
    balance exceeds JavaScript's numbers), whether the quorum (the power of every vote cast,
    abstentions included) is reached, and "passed" when it is and more power is for than
    against; else "rejected"."""
    sums = {name: 0 for name in CHOICES.values()}
    for choice, power in votes:
        sums[CHOICES[choice]] += power
    cast = sum(sums.values())
    reached = cast >= quorum
    passed = reached and sums["for"] > sums["against"]
    return {
        **{name: str(value) for name, value in sums.items()},
        "votes": len(votes),
        "cast": str(cast),
        "quorum": str(quorum),
        "quorum_reached": reached,
        "result": "passed" if passed else "rejected",
    }


def verify_published(published: dict[str, Any]) -> dict[str, Any]:
    """Check a closed proposal's published JSON on its own and return the tally recomputed
    from it: the proposal's hash, and for every vote its DAO, proposal and signer (recovered
    from the signature over the typed data rebuilt from its message). Raises ``ValueError``
    naming the first vote that does not hold."""
    document = published["proposal"]
    digest = proposal_hash(document)
    if digest != published["hash"]:
        raise ValueError(f"the proposal hashes to {digest}, not {published['hash']}")
    chain_id = int(document["dao"]["chain_id"])
    space = document["dao"]["id"]
    counted: list[tuple[int, int]] = []
    seen: set[str] = set()
    for vote in published["votes"]:
        ballot = parse_ballot(vote["message"])
        if ballot.space != space or ballot.proposal != digest:
            raise ValueError(f"the vote of {ballot.voter} is for another DAO or proposal")
        signer = recover(ballot, signature_bytes(vote["signature"]), chain_id=chain_id)
        if signer != ballot.voter:
            raise ValueError(f"the vote of {ballot.voter} was signed by {signer}")
        if ballot.voter in seen:
            raise ValueError(f"{ballot.voter} is counted twice")
        seen.add(ballot.voter)
        counted.append((ballot.choice, int(vote["power"])))
    return tally(counted, quorum=int(document["quorum"]))
