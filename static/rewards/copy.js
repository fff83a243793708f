// Copy buttons: copy the claim JSON of the row and say so in text (announced to screen
// readers through the page's status region), then restore the button's name.
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("siwe-status");
  const say = (message) => { if (status) status.textContent = message; };
  document.querySelectorAll("button.copy").forEach((button) => {
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.target);
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = gettext("Copied");
        say(gettext("Claim copied to the clipboard."));
      } catch (e) {
        field.select();
        button.textContent = gettext("Press Ctrl+C");
        say(gettext("Copying was blocked; the claim is selected: press Ctrl+C."));
      }
      setTimeout(() => { button.textContent = label; }, 3000);
    });
  });
});
