from django.core.management.base import BaseCommand

from datadao.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo DAO, its members and datasets. Idempotent: safe to run on every start."

    def handle(self, *args: object, **options: object) -> None:
        counts = load_demo()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo ready: {daos} DAO, {members} members, {datasets} datasets.".format(**counts)
            )
        )
