// Voting on a proposal: the proposal's JSON (GET /api/proposals/{id}) gives the EIP-712 domain
// and types and the proposal's hash; the wallet signs a Snapshot-style Vote (from, space,
// timestamp, proposal, choice, reason, app, metadata) with eth_signTypedData_v4, and
// POST /api/proposals/{id}/votes records it. Voting again (a later timestamp) changes the vote.
(function () {
  "use strict";
  const wallet = () => window.datadaoWallet;
  function say(text, isError) {
    const el = document.getElementById("vote-status");
    if (!el) return;
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
  async function detail(resp, fallback) {
    try { const body = await resp.json(); return body.detail || fallback; } catch (e) { return fallback; }
  }
  async function vote(button) {
    button.disabled = true;
    try {
      const address = await wallet().connect(say);
      if (!address) return;
      const signedIn = button.dataset.address;
      if (address.toLowerCase() !== signedIn.toLowerCase()) {
        say(interpolate(gettext("Your wallet's account is %(wallet)s; you are signed in as %(account)s. Switch accounts in your wallet."), { wallet: address, account: signedIn }, true), true);
        return;
      }
      const resp = await fetch(button.dataset.proposal, { credentials: "same-origin" });
      if (!resp.ok) { say(await detail(resp, gettext("Could not read the proposal.")), true); return; }
      const proposal = await resp.json();
      const chainId = await wallet().chainId();
      if (chainId !== proposal.eip712.domain.chainId) {
        say(interpolate(gettext("Your wallet is on chain %(wallet)s; this DAO is on chain %(dao)s. Switch chains and try again."), { wallet: chainId, dao: proposal.eip712.domain.chainId }, true), true);
        return;
      }
      const typedData = {
        types: proposal.eip712.types,
        primaryType: proposal.eip712.primaryType,
        domain: proposal.eip712.domain,
        message: {
          from: signedIn,
          space: proposal.document.dao.id,
          timestamp: Math.floor(Date.now() / 1000),
          proposal: proposal.hash,
          choice: Number(button.dataset.choice),
          reason: "",
          app: "datadao",
          metadata: "",
        },
      };
      const signature = await wallet().sign(say, "eth_signTypedData_v4", [signedIn, JSON.stringify(typedData)]);
      if (!signature) return;
      const sent = await fetch(button.dataset.votes, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": wallet().csrfToken() },
        body: JSON.stringify({ typedData: typedData, signature: signature }),
      });
      if (sent.status === 201 || sent.status === 200) { window.location.reload(); return; }
      say(await detail(sent, gettext("The vote was refused.")), true);
    } catch (err) {
      say(interpolate(gettext("The vote failed: %(error)s"), { error: err && err.message ? err.message : String(err) }, true), true);
    } finally {
      button.disabled = false;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.vote").forEach((b) => b.addEventListener("click", () => vote(b)));
  });
})();
