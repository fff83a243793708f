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
    if (!window.confirm("Withdraw consent for this contribution? Its stored copy and key are destroyed; this cannot be undone.")) return;
    button.disabled = true;
    try {
      const address = await wallet().connect(say);
      if (!address) return;
      const signedIn = button.dataset.address;
      if (address.toLowerCase() !== signedIn.toLowerCase()) {
        say("Your wallet's account is " + address + "; you are signed in as " + signedIn + ". Switch accounts in your wallet.", true);
        return;
      }
      const offer = await fetch(button.dataset.offerUrl, { credentials: "same-origin" });
      if (!offer.ok) { say(await detail(offer, "Could not prepare the withdrawal."), true); return; }
      const typedData = (await offer.json()).typedData;
      const chainId = await wallet().chainId();
      if (chainId !== typedData.domain.chainId) {
        say("Your wallet is on chain " + chainId + "; this DAO is on chain " + typedData.domain.chainId + ". Switch chains and try again.", true);
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
      say(await detail(resp, "The withdrawal was refused."), true);
    } catch (err) {
      say("The withdrawal failed: " + (err && err.message ? err.message : String(err)), true);
    } finally {
      button.disabled = false;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.consent-withdraw").forEach((b) => b.addEventListener("click", () => withdraw(b)));
  });
})();
