// Sign-In with Ethereum through any EIP-1193 wallet (wallet.js). No library needed: the server
// builds the exact EIP-4361 message; the wallet signs it with personal_sign.
(function () {
  "use strict";
  const status = () => document.getElementById("siwe-status");
  function say(text, isError) {
    const el = status();
    if (!el) return;
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
  function oneOf(items) {  // [1, 2, 3] -> "1, 2 or 3"
    return items.length > 1
      ? interpolate(gettext("%(some)s or %(last)s"), { some: items.slice(0, -1).join(", "), last: items[items.length - 1] }, true)
      : items.join("");
  }
  const wallet = () => window.datadaoWallet;
  async function signIn(button) {
    button.disabled = true;
    try {
      const address = await wallet().connect(say);
      if (!address) return;
      const chainId = await wallet().chainId();
      const url = new URL(button.dataset.nonceUrl, window.location.origin);
      url.searchParams.set("address", address);
      url.searchParams.set("chain_id", String(chainId));
      const nonceResp = await fetch(url, { credentials: "same-origin" });
      const nonceBody = await nonceResp.json();
      if (!nonceResp.ok) {
        say(nonceBody.error === "wrong_chain"
          ? interpolate(gettext("Your wallet is on chain %(wallet)s, which this site does not accept. Switch your wallet to chain %(chains)s and sign in again."), { wallet: chainId, chains: oneOf(nonceBody.chain_ids || []) }, true)
          : nonceBody.detail || gettext("Could not start sign-in."), true);
        return;
      }
      const signature = await wallet().sign(say, "personal_sign", [nonceBody.message, address]);
      if (!signature) return;
      const verifyResp = await fetch(button.dataset.verifyUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": wallet().csrfToken() },
        body: JSON.stringify({ message: nonceBody.message, signature: signature }),
      });
      const verifyBody = await verifyResp.json();
      if (!verifyResp.ok) { say(verifyBody.detail || gettext("Sign-in was refused."), true); return; }
      say(interpolate(gettext("Signed in as %(address)s."), { address: verifyBody.address }, true), false);
      window.location.reload();
    } catch (err) {
      say(interpolate(gettext("Sign-in failed: %(error)s"), { error: err && err.message ? err.message : String(err) }, true), true);
    } finally {
      button.disabled = false;
    }
  }
  async function signOut(button) {
    await fetch(button.dataset.url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": wallet().csrfToken() } });
    window.location.reload();
  }
  document.addEventListener("DOMContentLoaded", function () {
    const login = document.getElementById("siwe-login");
    if (login) login.addEventListener("click", () => signIn(login));
    const logout = document.getElementById("siwe-logout");
    if (logout) logout.addEventListener("click", () => signOut(logout));
  });
})();
