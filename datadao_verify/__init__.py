"""The release verifier: replay a dataset release from IPFS alone (``datadao verify CID``).

No Django and no platform settings: it imports only the pure modules that define what it
re-checks (validation and scoring, proofs, CIDs and UnixFS, epoch settlement and Merkle
trees), so a fresh environment with the project installed and an IPFS node is enough.
"""
