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
