"""Rewards: reward policies, the ledger of credits, epochs settled as Merkle roots signed for the
DAO's distributor contract, and one-off EIP-712 vouchers."""
