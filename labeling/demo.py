"""The demo's labeling: scikit-learn's bundled handwritten digits (``load_digits``) as PNG
items in the embedded IPFS store, simulated labelers of mixed skill (and one spammer) with
check questions, then a whole-dataset Dawid–Skene run on the worker. ``run`` shows the
consensus and the agreement metrics on the dataset page. Idempotent: skipped once the
dataset has tasks."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from datadao import services as dao_services
from datadao.demo import demo_address
from datadao.models import DAO, Membership, Role, User
from ipfs.services import content_add
from labeling import services
from labeling.models import LabelTask

DEMO_SLUG = "digit-labels"
ITEMS = 150
GOLD = 15
# (accuracy, tasks each labeler works through); the last one answers at random.
LABELERS = [(0.95, 90), (0.9, 90), (0.85, 80), (0.8, 80), (0.7, 70), (0.6, 60), (0.1, 60)]
SEED = 20261128


def digit_png(pixels: np.ndarray, scale: int = 4) -> bytes:
    """An 8×8 digit (values 0–16) as a dark-on-light PNG, scaled up so it is visible."""
    grey = (255 - pixels * 255 / 16).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((8 * scale, 8 * scale), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def load_demo_labeling(*, dao: DAO, creator: User) -> int:
    """Create the digit tasks and simulated labels once; return the number of labels given."""
    from sklearn.datasets import load_digits

    dataset = dao.datasets.filter(slug=DEMO_SLUG).first()
    if dataset is None or LabelTask.objects.filter(dataset=dataset).exists():
        return 0
    digits = load_digits()
    truth: dict[int, int] = {}
    for i in range(ITEMS + GOLD):
        pin = content_add(
            stream=io.BytesIO(digit_png(digits.images[i])),
            label=f"labeling:{dataset.pk}",
            content_type="image/png",
        )
        target = int(digits.target[i])
        gold = [str(target)] if i < GOLD else None
        task = LabelTask.objects.create(
            dataset=dataset,
            source_key=f"sklearn-digits:{i}",
            kind="image",
            payload={"cid": pin.cid, "media_type": "image/png"},
            gold=gold,
            is_gold=gold is not None,
            wanted=int(dataset.schema.get("overlap", 3)),
        )
        truth[task.pk] = target
    rng = np.random.default_rng(SEED)
    given = 0
    for n, (accuracy, quota) in enumerate(LABELERS):
        user, _ = dao_services.user_get_or_create(address=demo_address(f"labeler-{n}"))
        if not Membership.objects.filter(dao=dao, user=user).exists():
            dao_services.membership_add(dao=dao, user=user, role=Role.CONTRIBUTOR, actor=creator)
        for _ in range(quota):
            hold = services.task_next(dataset_id=dataset.pk, labeler=user)
            if hold is None:
                break
            right = truth[hold.task_id]
            answer = right if rng.random() < accuracy else int(rng.integers(10))
            services.label_submit(
                dataset_id=dataset.pk,
                labeler=user,
                hold_id=hold.pk,
                value=str(answer),
                duration_ms=int(rng.integers(800, 6000)),
            )
            given += 1
    # Per-task consensus runs on the worker as tasks fill; this whole-dataset run gives the
    # page its agreement metrics and the labelers their Dawid–Skene accuracy.
    services.consensus_run_request(dataset_id=dataset.pk, actor=None)
    return given
