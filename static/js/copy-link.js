// "Copy link" buttons: <button data-copy="input-id"> copies that input's value. Without
// JavaScript (or clipboard access) the link stays in a read-only field to copy by hand.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
  } catch (error) {
    field.select();
    button.textContent = "Press Ctrl+C to copy";
  }
});
