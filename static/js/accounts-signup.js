// Sign-up: show the organisation name only to employers. Without JavaScript the field stays
// visible and the server ignores it for students.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.getElementById("id_organisation_name");
  const roles = document.querySelectorAll('input[name="role"]');
  if (!field || !roles.length) return;
  const wrapper = field.closest(".field");
  const update = () => {
    const role = document.querySelector('input[name="role"]:checked');
    wrapper.hidden = !role || role.value !== "employer";
  };
  roles.forEach((radio) => radio.addEventListener("change", update));
  update();
});

// Sign-up: the browser's time zone, so that deadlines show in local time from the first page.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector('input[name="time_zone"]');
  if (!field || field.value) return;
  try {
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    field.value = "";
  }
});
