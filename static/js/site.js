// Small progressive enhancements; the site works without JavaScript.

// CSRF: pages may come from a cache shared by every visitor, so they carry no token. Each
// visitor's own token is read from their CSRF cookie (asked for at /csrf/ once if they have none)
// and sent with htmx requests, and put into post forms whose token field was left empty.
const csrfToken = () => {
  const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
};
const needsCsrf = "[hx-post], [hx-put], [hx-patch], [hx-delete], form[method=post]";

// A form that came back with errors: its summary takes the focus (read out, and the keyboard
// starts there); a link in it focuses its field, not only scrolls to it.
const focusErrorSummary = (root) => {
  const summary = root.querySelector("[data-error-summary]");
  if (summary) summary.focus();
};
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-error-summary] a[href^='#']");
  const field = link && document.getElementById(link.getAttribute("href").slice(1));
  if (field) {
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus();
  }
});
document.addEventListener("htmx:afterSwap", (event) => focusErrorSummary(event.detail.target));

document.addEventListener("DOMContentLoaded", () => {
  focusErrorSummary(document);
  if (!csrfToken() && document.querySelector(needsCsrf)) {
    fetch("/csrf/", { credentials: "same-origin" });
  }
  document.body.addEventListener("htmx:configRequest", (event) => {
    const token = csrfToken();
    if (token) event.detail.headers["X-CSRFToken"] = token;
  });
  document.addEventListener("submit", (event) => {
    if (event.target.method !== "post") return;
    event.target.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((input) => {
      if (!input.value) input.value = csrfToken();
    });
  });
  // Buttons that ask before a destructive action: <button data-confirm="Really?">
  document.addEventListener("click", (event) => {
    const el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) event.preventDefault();
  });
  // Formsets: <button data-add-row="<prefix>"> copies the last row of its fieldset as an empty
  // row numbered after it, and counts it in the formset's TOTAL_FORMS (up to MAX_NUM_FORMS).
  document.querySelectorAll("[data-add-row]").forEach((button) => {
    const prefix = button.dataset.addRow;
    const total = document.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
    const max = document.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`);
    const fieldset = button.closest("fieldset");
    const limit = () => (max ? parseInt(max.value, 10) : 1000);
    const refresh = () => { button.hidden = parseInt(total.value, 10) >= limit(); };
    refresh();
    button.addEventListener("click", () => {
      const rows = fieldset.querySelectorAll(".formset-row");
      const last = rows[rows.length - 1];
      const index = parseInt(total.value, 10);
      if (!last || index >= limit()) return;
      const row = last.cloneNode(true);
      const from = new RegExp(`${prefix}-\\d+-`);
      const to = `${prefix}-${index}-`;
      row.querySelectorAll(".errorlist").forEach((el) => el.remove());
      row.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
      row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach((el) => {
        ["name", "id", "for", "aria-describedby"].forEach((attr) => {
          const value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(from, to));
        });
        el.removeAttribute("aria-invalid");
        if (el.type === "checkbox") el.checked = el.defaultChecked;
        else if (el.tagName === "SELECT") el.selectedIndex = 0;
        else if ("value" in el && el.tagName !== "BUTTON") el.value = "";
      });
      row.querySelectorAll("label, legend").forEach((el) => {
        el.childNodes.forEach((node) => {
          if (node.nodeType === Node.TEXT_NODE) {
            node.textContent = node.textContent.replace(/\b\d+\b/, String(index + 1));
          }
        });
      });
      last.after(row);
      total.value = String(index + 1);
      refresh();
      const first = row.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });
});
