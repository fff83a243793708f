"""A DAO's validator, run by anyone against a datadao platform's API with its own key and no
database access: ``datadao validator run --api URL --key-file KEY``.

It fetches the contributions waiting for its attestation, validates and scores each one with
the same pure code the platform's fleet uses (``contributions.validator.replay``), and signs
its own EIP-712 ``ValidatorAttestation`` (``contributions.attestation``). It speaks the
platform's validator API through the SDK (``datadao_client.ValidatorClient``), which signs
each request with the validator's key.
"""
