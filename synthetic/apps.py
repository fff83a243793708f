from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    name = "synthetic"

    def ready(self) -> None:
        from datadao.sweeper import Sweep, register
        from ipfs import access
        from synthetic import selectors

        # A job whose message was lost (or whose worker died) is dispatched again; its
        # attempt counter dead-letters a job that keeps killing workers.
        register(Sweep("synthetic-jobs", selectors.jobs_stuck, selectors.redispatch))
        # Published rows and checkpoints are as visible as their dataset.
        access.register("synthetic:", selectors.may_read_job_pin)
        # A members-only dataset's synthetic outputs are pinned sealed; readers get them opened.
        from contributions.selectors import unseal_sealed_pin
        from datadao.metrics import register_collector
        from ipfs import unseal
        from synthetic import metrics_state

        register_collector("synthetic-jobs", metrics_state.jobs)

        unseal.register("synthetic:", unseal_sealed_pin)
        # Consent withdrawn: the jobs that read the data are listed for the DAO.
        from contributions import derived
        from synthetic import withdrawn

        derived.register(derived.Derivation("synthetic", listed=withdrawn.listed))
        # Published sets are listed on their dataset's page and in its next release, apart
        # from the real contributions (contributions knows them only through this registry).
        from contributions import extras
        from synthetic import publication

        extras.register(
            extras.Extra(
                name="synthetic",
                release_entries=publication.release_entries,
                entry_cids=publication.entry_cids,
                page=publication.page_sets,
                page_template="synthetic/_dataset_sets.html",
                release_template="synthetic/_release_sets.html",
            )
        )
