// The posting editor: show only the compensation fields that apply, name the pay floor's currency,
// and show what the employer pays per student with the platform fee. Without JavaScript every
// field stays visible and the preview and the posting page show the same figures.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-compensation]");
  if (!box) return;
  const form = box.closest("form");
  const radios = box.querySelectorAll('input[name="compensation"]');
  const amount = form.querySelector('input[name="amount"]');
  const currency = form.querySelector('select[name="currency"]');
  const floor = document.querySelector("[data-pay-floor]");
  const totalLine = box.querySelector("[data-fee-percent]");
  const pay = box.querySelector("[data-pay-total]");
  const withFee = box.querySelector("[data-pay-total-with-fee]");

  // Decimals per currency (0 for JPY or KRW, 3 for KWD), as the server counts them.
  const digitsScript = document.getElementById("currency-digits");
  const digitsOf = digitsScript ? JSON.parse(digitsScript.textContent) : {};
  const digits = () => (currency && currency.value in digitsOf ? digitsOf[currency.value] : 2);
  const money = (minor) => {
    const places = digits();
    const major = (minor / 10 ** places).toLocaleString("en-US", {
      minimumFractionDigits: places,
      maximumFractionDigits: places,
    });
    return `${major} ${currency.value}`;
  };
  const showFor = () => {
    const chosen = box.querySelector('input[name="compensation"]:checked');
    box.querySelectorAll("[data-show-for]").forEach((el) => {
      el.hidden = chosen !== null && el.dataset.showFor !== chosen.value;
    });
  };
  const totals = () => {
    if (floor) floor.textContent = money(parseInt(floor.dataset.payFloor, 10));
    if (!totalLine || !amount) return;
    const value = parseFloat((amount.value || "").replace(",", "."));
    if (!(value > 0)) {
      pay.textContent = "the pay";
      withFee.textContent = "shown with the amount";
      return;
    }
    const minor = Math.round(value * 10 ** digits());
    const fee = Math.round((minor * parseInt(totalLine.dataset.feePercent, 10)) / 100);
    pay.textContent = money(minor);
    withFee.textContent = money(minor + fee);
  };
  radios.forEach((radio) => radio.addEventListener("change", showFor));
  if (amount) amount.addEventListener("input", totals);
  if (currency) currency.addEventListener("change", totals);
  showFor();
  totals();
});
