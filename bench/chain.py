"""Benchmark: settlement on a real JSON-RPC chain (Hardhat's node, ``tests/chainnode``).

Run ``python -m bench.chain [--quick] [--events N] [--keep] [--json PATH]``. It makes a
PostgreSQL database of its own (``bench_chain``, copied from a migrated template; dropped at the
end unless ``--keep``), starts a Hardhat node, deploys a token and a DAO's distributor through
``rewards.deploy`` and funds it, then measures, 5 rounds after a warm-up:

* ``relay_to_confirmed``: from an epoch's close to the chain reader storing its
  ``EpochRootSet`` as final: ``rewards.relay.epoch_relay`` until the root is set (the node mines
  each transaction at once), then the chain's confirmations (2) mined, then one reader pass
  (``rewards.watch.watch_dao``). The reference is the node's own ``eth_getLogs`` over the same
  block range, timed in the same round: the floor any reader pays to learn of the event.
* ``reader``: a fresh reader (no cursor) reading ``--events`` (``--quick``: 500; else 5,000)
  ``VoucherRedeemed`` events, 200 per block, into the database as final, in events per second;
  the reference is one ``eth_getLogs`` over the same blocks (events per second of the raw RPC).

Ratios are ours over the reference per round (median, min–max). The JSON summary goes to
stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._db import bench_env, create_database, drop_database
from bench._report import emit

BENCH_DB = "bench_chain"
TEMPLATE_DB = "bench_chain_template"
ROUNDS = 5
CONFIRMATIONS = 2
PER_BLOCK = 200
# Hardhat's funded development keys (public test keys): deployer, relayer, and the submitter
# of the vouchers (anyone may submit one; the tokens go to its contributor).
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RELAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SUBMITTER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
SIGNER_KEY = "0x" + "5e" * 32


def _spread(values: list[float], digits: int = 4) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def _setup(node: Any) -> tuple[Any, Any]:
    from eth_account import Account

    from datadao.services import dao_create, dataset_create, user_get_or_create
    from rewards.deploy import distributor_deploy
    from rewards.models import RewardPolicy
    from rewards.onchain import artifact, sender

    w3 = node.web3()
    deployer = Account.from_key(DEPLOYER_KEY)
    built = artifact.contract("TestToken")
    gas = sender.estimate_gas(w3, deployer.address, {"data": built["bytecode"]})
    nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    signed = sender.sign(w3, deployer, {"data": built["bytecode"]}, nonce=nonce,
                         fees=sender.current_fees(w3), gas=gas)  # fmt: skip
    sender.broadcast(w3, signed.raw)
    token = sender.receipt(w3, signed.tx_hash)["contractAddress"]
    owner, _ = user_get_or_create(address="0x" + "9" * 40)
    dao = dao_create(creator=owner, name="Bench DAO", slug="bench", token_symbol="BNCH")
    dataset = dataset_create(
        dao=dao, actor=owner, name="Bench", slug="bench", kind="tabular",
        schema={"columns": [{"name": "x", "type": "int"}]}, license="CC-BY-4.0",
    )  # fmt: skip
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    distributor_deploy(
        dao=dao, w3=w3, token=token, signer=Account.from_key(SIGNER_KEY).address,
        deployer=deployer,
    )  # fmt: skip
    from datadao.models import DAO

    dao = DAO.objects.get(pk=dao.pk)
    mint = w3.eth.contract(token, abi=built["abi"]).functions.mint(
        dao.reward_contract_address, 10**30
    )
    call = {"to": token, "data": mint._encode_transaction_data()}
    nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    signed = sender.sign(w3, deployer, call, nonce=nonce, fees=sender.current_fees(w3),
                         gas=sender.estimate_gas(w3, deployer.address, call))  # fmt: skip
    sender.broadcast(w3, signed.raw)
    return dao, dataset


def _close(dao: Any, dataset: Any, round_no: int) -> Any:
    from contributions.models import Contribution, Status
    from datadao.services import user_get_or_create
    from rewards import services

    for i in range(20):
        user, _ = user_get_or_create(address=f"0x{round_no:020x}{i:020x}")
        contribution = Contribution.objects.create(
            dataset=dataset, contributor=user, sha256=f"{round_no:032x}{i:032x}", size=1,
            storage_name=f"b{round_no}-{i}", status=Status.PINNED, cid=f"bafkbench{round_no}x{i}",
            score=10000,
        )  # fmt: skip
        services.reward_credit_contribution(contribution=contribution)
    return services.epoch_close(dao=dao, actor=None)


def relay_round(node: Any, dao: Any, dataset: Any, round_no: int) -> dict[str, float]:
    from rewards import relay, watch
    from rewards.models import ChainEvent

    epoch = _close(dao, dataset, round_no)
    w3 = node.web3()
    first = int(w3.eth.block_number) + 1
    start = time.perf_counter()
    while relay.epoch_relay(epoch_id=epoch.pk).state != "set":
        pass
    node.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    elapsed = time.perf_counter() - start
    assert ChainEvent.objects.filter(dao=dao, epoch=epoch.number, confirmed=True).exists()
    head = int(w3.eth.block_number)
    start = time.perf_counter()
    w3.eth.get_logs({"address": dao.reward_contract_address, "fromBlock": first, "toBlock": head})
    reference = time.perf_counter() - start
    return {"seconds": elapsed, "get_logs_seconds": reference, "ratio": elapsed / reference}


def _vouchers(node: Any, dao: Any, count: int) -> tuple[int, int]:
    """``count`` redeemed vouchers, ``PER_BLOCK`` per block; the block range they fill."""
    from eth_account import Account

    from rewards.eip712 import claim_typed_data, sign_typed_data
    from rewards.onchain import artifact, sender

    w3 = node.web3()
    signer, submitter = Account.from_key(SIGNER_KEY), Account.from_key(SUBMITTER_KEY)
    contract = w3.eth.contract(dao.reward_contract_address, abi=artifact.contract()["abi"])
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + 10**6
    fees = sender.current_fees(w3)
    nonce = w3.eth.get_transaction_count(submitter.address, "pending")
    node.automine(False)
    first = int(w3.eth.block_number) + 1
    for i in range(count):
        contributor = f"0x{(i + 1):040x}"
        typed = claim_typed_data(
            dao_id=dao.onchain_id, contributor=contributor, amount=1, nonce=i, deadline=deadline,
            dataset_id="0x" + "12" * 32, chain_id=dao.chain_id,
            verifying_contract=dao.reward_contract_address,
        )  # fmt: skip
        claim = (bytes.fromhex(dao.onchain_id[2:]), w3.to_checksum_address(contributor), 1, i,
                 deadline, bytes.fromhex("12" * 32))  # fmt: skip
        call = {
            "to": dao.reward_contract_address,
            "data": contract.functions.claimVoucher(
                claim, bytes.fromhex(sign_typed_data(typed, signer)[2:])
            )._encode_transaction_data(),
        }
        signed = sender.sign(w3, submitter, call, nonce=nonce + i, fees=fees, gas=150_000)
        sender.broadcast(w3, signed.raw)
        if (i + 1) % PER_BLOCK == 0:
            node.mine(1)
    node.mine(1 + CONFIRMATIONS)
    node.automine(True)
    return first, int(w3.eth.block_number)


def reader_round(node: Any, dao: Any, blocks: tuple[int, int]) -> dict[str, float]:
    from rewards import watch
    from rewards.models import ChainCursor, ChainEvent

    ChainEvent.objects.filter(dao=dao).delete()
    ChainCursor.objects.filter(dao=dao).delete()
    start = time.perf_counter()
    watch.watch_dao(dao_id=dao.pk)
    elapsed = time.perf_counter() - start
    events = ChainEvent.objects.filter(dao=dao, name="VoucherRedeemed", confirmed=True).count()
    w3 = node.web3()
    start = time.perf_counter()
    logs = w3.eth.get_logs(
        {"address": dao.reward_contract_address, "fromBlock": 0, "toBlock": blocks[1]}
    )
    reference = time.perf_counter() - start
    return {
        "events": events,
        "logs": len(logs),
        "events_per_second": events / elapsed,
        "get_logs_events_per_second": len(logs) / reference,
        "ratio": elapsed / reference,
    }


def run(quick: bool, events: int) -> dict[str, Any]:
    from tests.chainnode import ChainNode

    with ChainNode() as node:
        os.environ["CHAIN_RPC_URLS"] = f"31337={node.url}"
        import django

        django.setup()
        dao, dataset = _setup(node)
        relay_round(node, dao, dataset, 0)  # warm-up
        relays = [relay_round(node, dao, dataset, r) for r in range(1, ROUNDS + 1)]
        blocks = _vouchers(node, dao, events)
        reader_round(node, dao, blocks)  # warm-up
        reads = [reader_round(node, dao, blocks) for _ in range(ROUNDS)]
    return {
        "benchmark": "chain",
        "quick": quick,
        "repetitions": {"measured": ROUNDS, "warmup": 1, "of": "relay and reader rounds"},
        "confirmations": CONFIRMATIONS,
        "relay_to_confirmed": {
            "seconds": _spread([r["seconds"] for r in relays]),
            "get_logs_seconds": _spread([r["get_logs_seconds"] for r in relays]),
            "ratio": _spread([r["ratio"] for r in relays], 1),
        },
        "reader": {
            "events": reads[0]["events"],
            "logs_on_chain": reads[0]["logs"],
            "events_per_second": _spread([r["events_per_second"] for r in reads], 1),
            "get_logs_events_per_second": _spread(
                [r["get_logs_events_per_second"] for r in reads], 1
            ),
            "ratio": _spread([r["ratio"] for r in reads], 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chain", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    events = args.events or (500 if args.quick else 5000)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    env = bench_env(
        database=BENCH_DB, broker_url="memory://", data_dir=data_dir, log_level="WARNING",
        REWARD_SIGNER_KEY=SIGNER_KEY, RELAYER_KEY=RELAYER_KEY, DEPLOYER_KEY=DEPLOYER_KEY,
        CHAIN_CONFIRMATIONS=f"31337={CONFIRMATIONS}", CHAIN_LOG_BLOCK_RANGE="2000",
    )  # fmt: skip
    drop_database(BENCH_DB)
    how = create_database(env, BENCH_DB, TEMPLATE_DB)
    os.environ.update(env)
    try:
        summary = run(args.quick, events) | {"database": how}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(BENCH_DB)
    r, w = summary["relay_to_confirmed"], summary["reader"]
    human = (
        f"relay to confirmed: {r['seconds']['median']} s ({r['ratio']['median']}x the node's "
        f"eth_getLogs of the range, {r['get_logs_seconds']['median']} s)\n"
        f"reader: {w['events_per_second']['median']} events/s vs eth_getLogs "
        f"{w['get_logs_events_per_second']['median']} events/s ({w['ratio']['median']}x its time)"
    )
    emit(summary, json_path=args.json, human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
