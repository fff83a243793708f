"""Screenshots of the real pages for the README's tour (``docs/tour/``). Not a test.

Run it against the local demo (``bin/run``, which loads the demo DAO and turns on the demo
sign-in the script uses) once its worker has processed the demo's contributions::

    .venv/bin/python -m tests.browser.tour --url http://127.0.0.1:8000 --out docs/tour

Each page is taken at 1000 CSS pixels wide, cut to its most telling part and stored as a
palette PNG, so each image stays well under 150 KB.

The ``journey-*.png`` images come from the browser journeys instead (no demo needed), which
save their key pages with ``save_small_png`` when ``DATADAO_TOUR_DIR`` names a folder::

    DATADAO_TOUR_DIR=docs/tour .venv/bin/python -m pytest tests/browser/test_journeys.py
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # as in conftest.py, which needs Django and is not imported
WIDTH = 1000
COLOURS = 64  # the pages are flat: 64 colours keep text and charts crisp


@dataclass(frozen=True)
class Shot:
    name: str
    member: str  # the demo member to sign in as (the home page's demo buttons)
    path: str
    height: int  # CSS pixels kept from the top of the page


SHOTS = (
    Shot("dataset-labeling.png", "alice", "/daos/open-air/digit-labels/", 1250),
    Shot("labeling.png", "labeler-0", "/daos/open-air/digit-labels/label", 760),
    Shot("dashboard.png", "creator", "/admin/dashboard/open-air/?days=7", 1080),
)


def sign_in_as_demo_member(page: Page, base: str, member: str) -> None:
    page.goto(base + "/")
    page.locator(f'button[name="member"][value="{member}"]').click()
    page.wait_for_load_state()
    if not page.request.get(base + "/auth/me").json().get("authenticated"):
        raise SystemExit(f"Demo sign-in as {member!r} failed: is DEMO_SIGN_IN on (bin/run)?")


def save_small_png(png: bytes, out: Path) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(
        colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    small.save(out, optimize=True)
    return out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running demo")
    parser.add_argument("--out", type=Path, default=Path("docs/tour"), help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.url.rstrip("/")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        for shot in SHOTS:
            context = browser.new_context(viewport={"width": WIDTH, "height": shot.height})
            # The console's sidebar folded away, so the charts get the width.
            context.add_init_script(
                "localStorage.setItem('django.admin.navSidebarIsOpen', 'false')"
            )
            page = context.new_page()
            sign_in_as_demo_member(page, base, shot.member)
            page.goto(base + shot.path)
            page.wait_for_load_state("networkidle")
            png = page.screenshot(
                clip={"x": 0, "y": 0, "width": WIDTH, "height": shot.height}, full_page=True
            )
            size = save_small_png(png, args.out / shot.name)
            print(f"{args.out / shot.name}: {size / 1024:.0f} KB")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
