// Joining and leaving a DAO. Joining signs the DAO's terms with the wallet: the server builds
// the exact EIP-712 typed data (GET /api/daos/{slug}/terms), the wallet signs it with
// eth_signTypedData_v4, and POST /api/daos/{slug}/join keeps the signature as the acceptance.
(function () {
  "use strict";
  function say(text, isError) {
    const el = document.getElementById("join-status");
    if (!el) return;
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function detail(resp, fallback) {
    try { const body = await resp.json(); return body.detail || fallback; } catch (e) { return fallback; }
  }
  async function join(button) {
    const eth = window.ethereum;
    if (!eth) {
      say("No Ethereum wallet found in this browser. Install one (e.g. a browser extension) and reload.", true);
      return;
    }
    button.disabled = true;
    try {
      let accounts;
      try {
        accounts = await eth.request({ method: "eth_requestAccounts" });
      } catch (err) {
        say(err && err.code === 4001 ? "You declined to connect your wallet." : "The wallet did not connect.", true);
        return;
      }
      const address = accounts && accounts[0];
      const signedIn = button.dataset.address;
      if (!address || address.toLowerCase() !== signedIn.toLowerCase()) {
        say("Your wallet's account is " + (address || "none") + "; you are signed in as " + signedIn + ". Switch accounts in your wallet.", true);
        return;
      }
      const url = new URL(button.dataset.termsUrl, window.location.origin);
      url.searchParams.set("address", signedIn);
      const termsResp = await fetch(url, { credentials: "same-origin" });
      if (!termsResp.ok) { say(await detail(termsResp, "Could not load the terms."), true); return; }
      const terms = await termsResp.json();
      const chainId = parseInt(await eth.request({ method: "eth_chainId" }), 16);
      const wanted = terms.typedData.domain.chainId;
      if (chainId !== wanted) {
        say("Your wallet is on chain " + chainId + "; this DAO is on chain " + wanted + ". Switch your wallet to chain " + wanted + " and try again.", true);
        return;
      }
      let signature;
      try {
        signature = await eth.request({
          method: "eth_signTypedData_v4",
          params: [signedIn, JSON.stringify(terms.typedData)],
        });
      } catch (err) {
        say(err && err.code === 4001 ? "You rejected the signature request." : "The wallet could not sign.", true);
        return;
      }
      const body = { typedData: terms.typedData, signature: signature };
      if (button.dataset.invite) body.invite = button.dataset.invite;
      const resp = await fetch(button.dataset.joinUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      if (resp.status === 201) {
        say("You joined.", false);
        // From an invite, on to the DAO's page: reloaded, a single-use link would only say
        // it is spent.
        if (button.dataset.joinedUrl) window.location.assign(button.dataset.joinedUrl);
        else window.location.reload();
        return;
      }
      if (resp.status === 202) { say("Your request was sent; an admin of the DAO decides.", false); window.location.reload(); return; }
      say(await detail(resp, "Joining was refused."), true);
    } catch (err) {
      say("Joining failed: " + (err && err.message ? err.message : String(err)), true);
    } finally {
      button.disabled = false;
    }
  }
  async function leave(button) {
    if (!window.confirm("Leave " + button.dataset.name + "?")) return;
    button.disabled = true;
    try {
      const resp = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
      });
      if (resp.status === 204) { window.location.reload(); return; }
      say(await detail(resp, "Leaving was refused."), true);
    } finally {
      button.disabled = false;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.dao-join").forEach((b) => b.addEventListener("click", () => join(b)));
    document.querySelectorAll("button.dao-leave").forEach((b) => b.addEventListener("click", () => leave(b)));
  });
})();
