// The wallet steps that signing in (siwe.js) and joining a DAO (join.js) share, through any
// EIP-1193 wallet (window.ethereum): connect, read the chain, ask for a signature, and the
// CSRF token of the POST that follows. Each step that fails tells the person why, through the
// caller's say(text, isError), and returns null.
(function () {
  "use strict";
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function connect(say) {
    const eth = window.ethereum;
    if (!eth) {
      say(gettext("No Ethereum wallet found in this browser. Install one (e.g. a browser extension) and reload."), true);
      return null;
    }
    let accounts;
    try {
      accounts = await eth.request({ method: "eth_requestAccounts" });
    } catch (err) {
      say(err && err.code === 4001 ? gettext("You declined to connect your wallet.") : gettext("The wallet did not connect."), true);
      return null;
    }
    const address = accounts && accounts[0];
    if (!address) {
      say(gettext("The wallet returned no account."), true);
      return null;
    }
    return address;
  }
  async function chainId() {
    return parseInt(await window.ethereum.request({ method: "eth_chainId" }), 16);
  }
  async function sign(say, method, params) {
    try {
      return await window.ethereum.request({ method: method, params: params });
    } catch (err) {
      say(err && err.code === 4001 ? gettext("You rejected the signature request.") : gettext("The wallet could not sign."), true);
      return null;
    }
  }
  window.datadaoWallet = { csrfToken: csrfToken, connect: connect, chainId: chainId, sign: sign };
})();
