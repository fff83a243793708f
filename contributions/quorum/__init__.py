"""A DAO's k-of-n validator set: registering it, the validators' attestations, and the
quorum that accepts a contribution.

A DAO without a set is attested by the platform's fleet key, as every DAO used to be. A DAO
with a set has each accepted contribution wait in ``attesting`` until k of its n validators,
each running on its own key (``datadao_validator``, against the API in ``api.py``), post
attestations that agree on the verdict and every signed score (``agree.py``, pure). Then the
proof carries their k signatures and the contribution goes on to pinning. When agreement can
no longer be reached the contribution is ``held`` for the DAO's review, and each validator out
of line is recorded (``ValidatorDisagreement``).
"""
