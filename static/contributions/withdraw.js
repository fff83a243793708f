// Withdrawing consent for a contribution: the server builds the exact EIP-712
// ConsentWithdrawal (GET /api/datasets/{id}/withdrawal?contribution=ID), the wallet signs it
// with eth_signTypedData_v4, and POST to the same URL applies it. It cannot be undone.
(function () {
  "use strict";
  const wallet = () => window.datadaoWallet;
  function say(text, isError) {
    const el = document.getElementById("withdraw-status");
    if (!el) return;
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
  async function detail(resp, fallback) {
    try { const body = await resp.json(); return body.detail || fallback; } catch (e) { return fallback; }
  }
  async function withdraw(button) {
    if (!window.confirm(gettext("Withdraw consent for this contribution? Its stored copy and key are destroyed; this cannot be undone."))) return;
    button.disabled = true;
    try {
      const address = await wallet().connect(say);
      if (!address) return;
      const signedIn = button.dataset.address;
      if (address.toLowerCase() !== signedIn.toLowerCase()) {
        say(interpolate(gettext("Your wallet's account is %(wallet)s; you are signed in as %(account)s. Switch accounts in your wallet."), { wallet: address, account: signedIn }, true), true);
        return;
      }
      const offer = await fetch(button.dataset.offerUrl, { credentials: "same-origin" });
      if (!offer.ok) { say(await detail(offer, gettext("Could not prepare the withdrawal.")), true); return; }
      const typedData = (await offer.json()).typedData;
      const chainId = await wallet().chainId();
      if (chainId !== typedData.domain.chainId) {
        say(interpolate(gettext("Your wallet is on chain %(wallet)s; this DAO is on chain %(dao)s. Switch chains and try again."), { wallet: chainId, dao: typedData.domain.chainId }, true), true);
        return;
      }
      const signature = await wallet().sign(say, "eth_signTypedData_v4", [signedIn, JSON.stringify(typedData)]);
      if (!signature) return;
      const resp = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": wallet().csrfToken() },
        body: JSON.stringify({ typedData: typedData, signature: signature }),
      });
      if (resp.status === 201) { window.location.reload(); return; }
      say(await detail(resp, gettext("The withdrawal was refused.")), true);
    } catch (err) {
      say(interpolate(gettext("The withdrawal failed: %(error)s"), { error: err && err.message ? err.message : String(err) }, true), true);
    } finally {
      button.disabled = false;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.consent-withdraw").forEach((b) => b.addEventListener("click", () => withdraw(b)));
  });
})();
