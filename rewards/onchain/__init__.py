"""Talking to a chain: the compiled distributor, sending transactions, reading its events.

Pure of Django: these modules take a ``web3.Web3`` and plain values, so they run against any
JSON-RPC node (the tests use Hardhat's) and are reused by scripts without a server.
"""
