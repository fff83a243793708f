// Data rights in the browser: a consumer asks for paid access (/me/access); a DAO admin sets
// prices, confirms payments, revokes grants and signs new ones in the console. A grant is
// signed in the admin's wallet: the server drafts the exact EIP-712 AccessGrant (GET …/grants/
// draft), the wallet signs it with eth_signTypedData_v4, and POST …/grants records it after
// recovering the signer. Every write is JSON with the CSRF token.
(function () {
  "use strict";
  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { /* an HTML refusal (CSRF) */ }
    return { ok: resp.ok, status: resp.status, data: data };
  }
  function say(el, text, isError) {
    if (!el) return;
    el.textContent = text;
    el.className = "result" + (isError ? " error" : "");
  }
  function bind(selector, body, done) {
    document.querySelectorAll(selector).forEach(function (form) {
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        const out = form.querySelector(".result");
        const r = await post(form.dataset.url, body(form));
        if (r.ok) { say(out, done, false); window.setTimeout(function () { window.location.reload(); }, 600); }
        else say(out, r.data.detail || interpolate(gettext("Refused (%(status)s)."), { status: r.status }, true), true);
      });
    });
  }
  bind("form.buy", function (f) { return { tx_hash: f.elements.tx_hash.value.trim() }; }, gettext("Sent: an admin of the DAO confirms your payment."));
  bind("form.offer", function (f) { return { price: f.elements.price.value.trim(), payment_address: f.elements.payment_address.value.trim() }; }, gettext("Saved."));
  bind("form.confirm", function (f) { return { tx_hash: f.elements.tx_hash.value.trim() }; }, gettext("Confirmed: now sign the grant."));
  bind("form.revoke", function () { return {}; }, gettext("Revoked."));

  const root = document.querySelector(".dd-rights");
  const form = document.getElementById("grant-form");
  if (!root || !form) return;
  document.querySelectorAll("button.prefill").forEach(function (b) {
    b.addEventListener("click", function () {
      form.elements.grantee.value = b.dataset.grantee;
      form.elements.dataset.value = b.dataset.dataset;
      form.elements.purchase.value = b.dataset.purchase;
      form.elements.grantee.focus();
    });
  });
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const out = document.getElementById("grant-status");
    const w = window.datadaoWallet;
    const sayOut = function (text, isError) { say(out, text, isError); };
    const address = await w.connect(sayOut);
    if (!address) return;
    if (address.toLowerCase() !== root.dataset.address.toLowerCase()) {
      sayOut(interpolate(gettext("Your wallet's account is %(wallet)s; you are signed in as %(account)s."), { wallet: address, account: root.dataset.address }, true), true);
      return;
    }
    const url = new URL(root.dataset.draftUrl, window.location.origin);
    ["grantee", "dataset", "release", "scope", "days"].forEach(function (name) {
      if (form.elements[name].value) url.searchParams.set(name, form.elements[name].value.trim());
    });
    const draft = await fetch(url, { credentials: "same-origin" });
    const drafted = await draft.json();
    if (!draft.ok) { sayOut(drafted.detail || gettext("Could not draft the grant."), true); return; }
    const wanted = drafted.typedData.domain.chainId;
    if ((await w.chainId()) !== wanted) { sayOut(interpolate(gettext("Switch your wallet to chain %(chain)s and try again."), { chain: wanted }, true), true); return; }
    const signature = await w.sign(sayOut, "eth_signTypedData_v4", [address, JSON.stringify(drafted.typedData)]);
    if (!signature) return;
    const body = { typedData: drafted.typedData, signature: signature };
    if (form.elements.purchase.value) body.purchase = parseInt(form.elements.purchase.value, 10);
    const r = await post(root.dataset.grantsUrl, body);
    if (r.ok) { sayOut(interpolate(gettext("Grant #%(id)s recorded."), { id: r.data.id }, true), false); window.setTimeout(function () { window.location.reload(); }, 600); }
    else sayOut(r.data.detail || interpolate(gettext("Refused (%(status)s)."), { status: r.status }, true), true);
  });
})();
