from django.core.management.base import BaseCommand

from contributions.demo import ensure_demo_validator_keystore
from datadao.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo DAO, its members and datasets. Idempotent: safe to run on every start."

    def handle(self, *args: object, **options: object) -> None:
        keystore = ensure_demo_validator_keystore()
        if keystore:
            self.stdout.write(
                self.style.WARNING(
                    f"Created a DEMONSTRATION-ONLY validator keystore at {keystore}. Never use "
                    "it for real attestations: set VALIDATOR_KEY or your own keystore."
                )
            )
        counts = load_demo()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo ready: {daos} DAO, {members} members, {datasets} datasets, "
                "{contributions} contributions ({new_contributions} new, processed by the "
                "worker).".format(**counts)
            )
        )
