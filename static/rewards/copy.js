// Copy buttons: copy the claim JSON of the row, say so (text, not colour).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button.copy").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.target).value;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch (e) {
        document.getElementById(button.dataset.target).select();
        button.textContent = "Press Ctrl+C";
      }
    });
  });
});
