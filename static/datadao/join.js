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
  const wallet = () => window.datadaoWallet;
  async function detail(resp, fallback) {
    try { const body = await resp.json(); return body.detail || fallback; } catch (e) { return fallback; }
  }
  async function join(button) {
    button.disabled = true;
    try {
      const address = await wallet().connect(say);
      if (!address) return;
      const signedIn = button.dataset.address;
      if (address.toLowerCase() !== signedIn.toLowerCase()) {
        say(interpolate(gettext("Your wallet's account is %(wallet)s; you are signed in as %(account)s. Switch accounts in your wallet."), { wallet: address, account: signedIn }, true), true);
        return;
      }
      const url = new URL(button.dataset.termsUrl, window.location.origin);
      url.searchParams.set("address", signedIn);
      const termsResp = await fetch(url, { credentials: "same-origin" });
      if (!termsResp.ok) { say(await detail(termsResp, gettext("Could not load the terms.")), true); return; }
      const terms = await termsResp.json();
      const chainId = await wallet().chainId();
      const wanted = terms.typedData.domain.chainId;
      if (chainId !== wanted) {
        say(interpolate(gettext("Your wallet is on chain %(wallet)s; this DAO is on chain %(dao)s. Switch your wallet to chain %(dao)s and try again."), { wallet: chainId, dao: wanted }, true), true);
        return;
      }
      const signature = await wallet().sign(say, "eth_signTypedData_v4", [signedIn, JSON.stringify(terms.typedData)]);
      if (!signature) return;
      const body = { typedData: terms.typedData, signature: signature };
      if (button.dataset.invite) body.invite = button.dataset.invite;
      const resp = await fetch(button.dataset.joinUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": wallet().csrfToken() },
        body: JSON.stringify(body),
      });
      if (resp.status === 201) {
        say(gettext("You joined."), false);
        // From an invite, on to the DAO's page: reloaded, a single-use link would only say
        // it is spent.
        if (button.dataset.joinedUrl) window.location.assign(button.dataset.joinedUrl);
        else window.location.reload();
        return;
      }
      if (resp.status === 202) { say(gettext("Your request was sent; an admin of the DAO decides."), false); window.location.reload(); return; }
      say(await detail(resp, gettext("Joining was refused.")), true);
    } catch (err) {
      say(interpolate(gettext("Joining failed: %(error)s"), { error: err && err.message ? err.message : String(err) }, true), true);
    } finally {
      button.disabled = false;
    }
  }
  async function leave(button) {
    if (!window.confirm(interpolate(gettext("Leave %(name)s?"), { name: button.dataset.name }, true))) return;
    button.disabled = true;
    try {
      const resp = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": wallet().csrfToken() },
      });
      if (resp.status === 204) { window.location.reload(); return; }
      say(await detail(resp, gettext("Leaving was refused.")), true);
    } finally {
      button.disabled = false;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.dao-join").forEach((b) => b.addEventListener("click", () => join(b)));
    document.querySelectorAll("button.dao-leave").forEach((b) => b.addEventListener("click", () => leave(b)));
  });
})();
