from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from datadao.dispatch import send
        from datadao.sweeper import Sweep, register
        from governance import selectors, services
        from ipfs import access

        # A proposal whose settle message was lost (closed but not published, passed past its
        # timelock) is settled again.
        register(
            Sweep(
                name="proposals",
                find_stuck=lambda cutoff, limit: services.proposals_due(now=cutoff, limit=limit),
                dispatch=lambda pk: send("governance.tasks.settle_proposal", pk),
            )
        )
        # A published proposal is readable by whoever may read the proposal.
        access.register("proposal:", selectors.may_read_proposal_pin)
        # A person's export holds the proposals they made and the votes they cast.
        from datadao import personal
        from governance import personal_parts

        personal.register(
            personal.Part(
                "governance",
                personal_parts.files,
                "the proposals you made and every vote you cast, as signed, with its power",
            )
        )
