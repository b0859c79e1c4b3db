// Small progressive enhancements; the site works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".nav-toggle");
  const links = document.getElementById("nav-links");
  if (toggle && links) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      links.classList.toggle("open", !open);
    });
  }
  // Buttons that ask before a destructive action: <button data-confirm="Really?">
  document.addEventListener("click", (event) => {
    const el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) event.preventDefault();
  });
  // On a phone the filters of the postings list fold away, so that the results come first.
  const fold = document.querySelector(".filters-fold");
  if (fold && window.matchMedia("(max-width: 700px)").matches) {
    fold.removeAttribute("open");
  }
});
