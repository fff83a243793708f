// "Claim with my wallet": sends the allocation's claim(epoch, amount, proof) through the
// member's wallet (EIP-1193). The calldata is built by the server from the stored proof; the
// wallet shows the transaction and signs it, and the page shows its hash. The chain reader
// marks the row pending, then paid, once the transaction is mined and confirmed.
(function () {
  "use strict";

  function say(button, text) {
    const status = button.parentElement.querySelector(".claim-status");
    if (status) status.textContent = " " + text;
  }

  async function claim(button) {
    const wallet = window.ethereum;
    if (!wallet) {
      say(button, gettext("No wallet found: install one, or copy the claim data below."));
      return;
    }
    button.disabled = true;
    try {
      const [from] = await wallet.request({ method: "eth_requestAccounts" });
      if (!from || from.toLowerCase() !== button.dataset.account.toLowerCase()) {
        say(button, interpolate(gettext("Switch your wallet to %(account)s: only it can claim this."), { account: button.dataset.account }, true));
        return;
      }
      const chain = "0x" + Number(button.dataset.chain).toString(16);
      if ((await wallet.request({ method: "eth_chainId" })) !== chain) {
        await wallet.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chain }] });
      }
      const hash = await wallet.request({
        method: "eth_sendTransaction",
        params: [{ from: from, to: button.dataset.contract, data: button.dataset.call }],
      });
      say(button, interpolate(gettext("Sent: %(hash)s. It shows as pending, then paid, once mined."), { hash: hash }, true));
    } catch (err) {
      say(button, interpolate(gettext("Not sent: %(error)s"), { error: err && err.message ? err.message : String(err) }, true));
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.claim-onchain");
    if (button) claim(button);
  });
})();
