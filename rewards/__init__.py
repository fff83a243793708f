"""Rewards: epochs, Merkle roots, EIP-712 vouchers (see issue #7)."""
