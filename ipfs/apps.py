from django.apps import AppConfig
from django.core import checks

from ipfs.checks import replicas_configured


class IpfsConfig(AppConfig):
    name = "ipfs"
    verbose_name = "IPFS pins"

    def ready(self) -> None:
        from datadao import sweeper
        from datadao.metrics import register_collector
        from ipfs import metrics_state, replication

        register_collector("pins", metrics_state.pins)
        checks.register(replicas_configured)
        sweeper.register(
            sweeper.Sweep(
                name="pin-replicas",
                find_stuck=replication.pins_short_of_replicas,
                dispatch=replication.pin_replicate_again,
            )
        )
