"""Data rights: consumers, EIP-712 access grants, paid access and the read log."""
