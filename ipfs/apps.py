from django.apps import AppConfig


class IpfsConfig(AppConfig):
    name = "ipfs"
    verbose_name = "IPFS pins"

    def ready(self) -> None:
        from datadao.metrics import register_collector
        from ipfs import metrics_state

        register_collector("pins", metrics_state.pins)
