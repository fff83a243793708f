"""End-to-end fixtures: Debian's Chromium driven by Playwright against a live Django server,
with an EIP-1193 wallet injected into every page whose signatures come from a Python test key.

Playwright's sync API keeps an asyncio loop marked as running in the main thread for as long
as it is started. Two consequences shape this file:

* Django refuses ORM calls from a thread with a running loop, so while these tests run (and
  only then) ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set. The tests and the live server never share
  a connection: the server answers from its own threads.
* pytest-playwright starts Playwright once per session. Left running, the loop would break
  every database test collected after this folder, so Playwright, the browser and the context
  arguments are package-scoped here and stop when the last browser test is done.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from playwright.sync_api import (
    Browser,
    BrowserContext,
    BrowserType,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer
from web3 import HTTPProvider, Web3

from datadao.models import User
from datadao.services import user_get_or_create
from rewards.onchain import sender
from tests.browser.tour import WIDTH, save_small_png

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
# Test-only wallet key, derived from a public string: it guards nothing.
WALLET_KEY = "0x" + hashlib.sha256(b"datadao-test-browser-wallet").hexdigest()
CHAIN_ID = 31337
# Long enough for a real worker on a busy two-core machine; a stuck page still fails.
SLOW_MS = 60_000
# Where the journeys save their tour screenshots (docs/tour/ to regenerate the README's);
# unset, they save none.
TOUR_DIR_VARIABLE = "DATADAO_TOUR_DIR"

# The wallet a page sees. `personal_sign` takes the message as a 0x-hex string of its UTF-8
# bytes (what MetaMask documents) or as plain text (what it also accepts); either way the
# Python side signs the exact bytes, as a wallet would.
PROVIDER_JS = """
(() => {
  const address = %(address)s;
  const chainId = "0x" + (%(chain_id)d).toString(16);
  const provider = {
    isDatadaoTestWallet: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [address];
        case "eth_chainId":
          return chainId;
        case "personal_sign":
          return await window.__datadaoWalletSign(params[0], params[1]);
        case "eth_signTypedData_v4":
          return await window.__datadaoWalletSignTyped(params[0], params[1]);
        case "eth_sendTransaction":
          return await window.__datadaoWalletSend(JSON.stringify(params[0]));
        default: {
          const err = new Error("Unsupported method " + method);
          err.code = 4200;
          throw err;
        }
      }
    },
    on() {},
    removeListener() {},
  };
  Object.defineProperty(window, "ethereum", { value: provider, configurable: true });
})();
"""

_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")


@pytest.fixture(scope="package", autouse=True)
def _django_orm_beside_playwright() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at the system Chromium."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (bin/test does it when "
            "run as root). The browser tests never skip.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(live_server: LiveServer) -> dict[str, Any]:
    """Every page talks to the live server; the clipboard is readable so a copy can be
    checked."""
    return {
        "base_url": live_server.url,
        "permissions": ["clipboard-read", "clipboard-write"],
    }


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page whose last state is saved as ``artifacts/browser/<test>.png``, pass or fail."""
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.originalname}.png"), full_page=True)


def install_wallet(
    context: BrowserContext,
    signer: LocalAccount,
    *,
    address: str | None = None,
    chain_id: int = CHAIN_ID,
    rpc_url: str | None = None,
) -> None:
    """Offer every page of ``context`` a ``window.ethereum`` on ``chain_id`` that shows
    ``address`` (the signer's own by default) and answers ``personal_sign`` and
    ``eth_signTypedData_v4`` with ``signer``'s key. With ``rpc_url`` (a JSON-RPC node of
    ``chain_id``) it also answers ``eth_sendTransaction``: signed with the key, fees and gas
    from the node, sent there, answered with the hash, as a wallet does."""
    shown = address or signer.address

    def sign(message: str, account: str) -> str:
        if account.lower() != shown.lower():
            raise ValueError(f"this wallet holds {shown}, not {account}")
        signable = (
            encode_defunct(hexstr=message) if _HEX.match(message) else encode_defunct(text=message)
        )
        return "0x" + signer.sign_message(signable).signature.hex().removeprefix("0x")

    def sign_typed(account: str, typed_json: str) -> str:
        if account.lower() != shown.lower():
            raise ValueError(f"this wallet holds {shown}, not {account}")
        signable = encode_typed_data(full_message=json.loads(typed_json))
        return "0x" + signer.sign_message(signable).signature.hex().removeprefix("0x")

    def send(tx_json: str) -> str:
        tx = json.loads(tx_json)
        if str(tx.get("from", "")).lower() != shown.lower():
            raise ValueError(f"this wallet holds {shown}, not {tx.get('from')}")
        if rpc_url is None:
            raise ValueError("this wallet is connected to no chain")
        w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        if int(w3.eth.chain_id) != chain_id:
            raise ValueError(f"the wallet's node is not chain {chain_id}")
        call = {
            "to": tx["to"],
            "data": tx.get("data", "0x"),
            "value": int(tx.get("value", "0x0"), 16),
        }
        nonce = int(w3.eth.get_transaction_count(signer.address, "pending"))
        gas = sender.estimate_gas(w3, signer.address, call)
        signed = sender.sign(w3, signer, call, nonce=nonce, fees=sender.current_fees(w3), gas=gas)
        sender.broadcast(w3, signed.raw)
        return signed.tx_hash

    context.expose_function("__datadaoWalletSign", sign)
    context.expose_function("__datadaoWalletSignTyped", sign_typed)
    context.expose_function("__datadaoWalletSend", send)
    context.add_init_script(PROVIDER_JS % {"address": json.dumps(shown), "chain_id": chain_id})


@pytest.fixture
def wallet(context: BrowserContext) -> LocalAccount:
    """The test key, offered to every page of the context as ``window.ethereum``."""
    account: LocalAccount = Account.from_key(WALLET_KEY)
    install_wallet(context, account)
    return account


@pytest.fixture
def wallet_user(wallet: LocalAccount) -> User:
    """The user the wallet signs in as, made beforehand so tests can give it memberships."""
    user, _ = user_get_or_create(address=wallet.address)
    return user


@pytest.fixture
def fresh_wallet(context: BrowserContext) -> LocalAccount:
    """A newcomer's wallet: a new random key for this test alone, offered to every page of the
    context as ``window.ethereum``. No user exists for it until it signs in."""
    account: LocalAccount = Account.create()
    install_wallet(context, account)
    return account


@pytest.fixture
def another_person(
    new_context: Callable[..., BrowserContext],
) -> Callable[[], tuple[Page, LocalAccount]]:
    """Another person at another browser: each call opens a context of its own (its own
    cookies, so its own session) with a fresh wallet, and gives its page and key."""

    def open_() -> tuple[Page, LocalAccount]:
        context = new_context()
        account: LocalAccount = Account.create()
        install_wallet(context, account)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page, account

    return open_


def tour_shot(page: Page, name: str, *, height: int, start: Locator | None = None) -> None:
    """Save ``height`` CSS pixels of ``page``, ``WIDTH`` wide, from its top (or from just above
    ``start``), as a palette PNG named ``name`` in ``$DATADAO_TOUR_DIR`` (the README's tour
    images); nothing when it is unset. The page is laid out at the tour's width and the
    console's sidebar folded for the picture; both are put back after it."""
    folder = os.environ.get(TOUR_DIR_VARIABLE, "")
    if not folder:
        return
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    page.set_viewport_size({"width": WIDTH, "height": height})
    page.wait_for_load_state("networkidle")
    sidebar = page.locator("#nav-sidebar")
    fold = sidebar.count() > 0 and sidebar.is_visible()
    if fold:
        page.locator("#toggle-nav-sidebar").click()
        expect(sidebar).to_be_hidden()
    top = 0
    if start is not None:
        top = max(0, start.evaluate("el => el.getBoundingClientRect().top + window.scrollY") - 16)
    png = page.screenshot(clip={"x": 0, "y": top, "width": WIDTH, "height": height}, full_page=True)
    if fold:
        page.locator("#toggle-nav-sidebar").click()
        expect(sidebar).to_be_visible()
    if before is not None:
        page.set_viewport_size(before)
    save_small_png(png, out / name)


def sign_in(page: Page, wallet: LocalAccount, path: str = "/") -> None:
    """Sign in through the page's own "Sign in with Ethereum" button: nonce, personal_sign in
    the wallet, verification of the real signature by the server, reload."""
    page.goto(path)
    page.get_by_role("button", name="Sign in with Ethereum").click()
    expect(page.locator("header .who")).to_have_attribute("title", wallet.address)
