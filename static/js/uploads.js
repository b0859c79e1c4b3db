// Uploads with a progress bar per file, checked in the browser before anything is sent.
//
// Progressive enhancement: without this script the form posts as usual and the server checks
// the same limits. A file input opts in with the attributes the server renders from its settings
// (marketplace/core/widgets.py): data-max-bytes, data-max-files, data-extensions. The form is then
// sent by XMLHttpRequest, whose upload events drive the bars. A failed send (server error,
// dropped connection) leaves the form as it was, typed text and chosen files included, with a
// "Try again" button. The server answers a successful send with {"redirect": url}
// (UploadRedirectMiddleware), where the browser then goes; a form with errors comes back as a page.
(() => {
  const inputs = Array.from(document.querySelectorAll("input[type=file][data-max-bytes]"));
  if (!inputs.length || !window.FormData) return;

  const size = (bytes) => {
    if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} bytes`;
  };
  const extensionOf = (name) => {
    const dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot).toLowerCase() : "";
  };
  const csrfToken = () => {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  };

  const problemsOf = (input) => {
    const maxBytes = Number(input.dataset.maxBytes);
    const maxFiles = Number(input.dataset.maxFiles || 1);
    const extensions = (input.dataset.extensions || "").split(",").filter(Boolean);
    const files = Array.from(input.files);
    const problems = [];
    if (files.length > maxFiles) {
      problems.push(`Choose at most ${maxFiles} files; you chose ${files.length}.`);
    }
    files.forEach((file) => {
      if (extensions.length && !extensions.includes(extensionOf(file.name))) {
        problems.push(`${file.name} is not a type accepted here (${extensions.join(", ")}).`);
      } else if (file.size > maxBytes) {
        problems.push(`${file.name} is ${size(file.size)}; the limit is ${size(maxBytes)} per file.`);
      } else if (file.size === 0) {
        problems.push(`${file.name} is empty.`);
      }
    });
    return problems;
  };

  // Under each input: its problems (announced) and its files, each with a progress bar.
  const panelFor = (input) => {
    if (input.uploadPanel) return input.uploadPanel;
    const panel = document.createElement("div");
    panel.className = "upload-panel";
    const errors = document.createElement("ul");
    errors.className = "errorlist upload-errors";
    errors.id = `${input.id}_upload_errors`;
    errors.setAttribute("role", "alert");
    const list = document.createElement("ul");
    list.className = "upload-files";
    panel.append(errors, list);
    input.after(panel);
    input.uploadPanel = { panel, errors, list, bars: [] };
    return input.uploadPanel;
  };

  const showProblems = (input) => {
    const { errors } = panelFor(input);
    const problems = problemsOf(input);
    errors.replaceChildren(...problems.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== errors.id);
    if (problems.length) {
      input.setAttribute("aria-invalid", "true");
      described.push(errors.id);
    } else {
      input.removeAttribute("aria-invalid");
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    return problems.length === 0;
  };

  const listFiles = (input) => {
    const state = panelFor(input);
    state.bars = Array.from(input.files).map((file) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = `${file.name} (${size(file.size)})`;
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", `Upload of ${file.name}`);
      const percent = document.createElement("span");
      percent.className = "upload-percent";
      percent.textContent = "";
      item.append(name, " ", bar, " ", percent);
      return { file, bar, percent, item };
    });
    state.list.replaceChildren(...state.bars.map((b) => b.item));
  };

  const forms = new Set(inputs.map((input) => input.form).filter(Boolean));
  inputs.forEach((input) => {
    input.addEventListener("change", () => {
      showProblems(input);
      listFiles(input);
    });
  });

  forms.forEach((form) => {
    const fileInputs = inputs.filter((input) => input.form === form);
    const status = document.createElement("p");
    status.className = "upload-status";
    status.setAttribute("role", "status");
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "button-secondary upload-retry";
    retry.textContent = "Try again";
    retry.hidden = true;
    const buttons = () => Array.from(form.querySelectorAll("button[type=submit], input[type=submit], button:not([type])"));
    (buttons().pop() || form.lastElementChild).after(status, retry);
    let submitter = null;

    const bars = () => fileInputs.flatMap((input) => (input.uploadPanel ? input.uploadPanel.bars : []));
    const setProgress = (fraction) => {
      const all = bars();
      const total = all.reduce((sum, b) => sum + b.file.size, 0) || 1;
      let offset = 0;
      all.forEach((b) => {
        const share = Math.max(0, Math.min(1, (fraction * total - offset) / (b.file.size || 1)));
        offset += b.file.size;
        const value = Math.round(share * 100);
        b.bar.value = value;
        b.percent.textContent = `${value} %`;
      });
    };
    const busy = (on) => buttons().forEach((button) => { button.disabled = on; });
    const failed = (message) => {
      busy(false);
      status.textContent = `${message} Your text and files are still here: try again.`;
      retry.hidden = false;
      retry.focus();
    };

    const send = () => {
      retry.hidden = true;
      busy(true);
      setProgress(0);
      status.textContent = "Uploading…";
      form.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((field) => {
        if (!field.value) field.value = csrfToken();
      });
      const data = submitter ? new FormData(form, submitter) : new FormData(form);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Upload-Progress", "1");
      if (csrfToken()) xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) setProgress(event.loaded / event.total);
      });
      xhr.upload.addEventListener("load", () => {
        setProgress(1);
        status.textContent = "Uploaded; saving…";
      });
      xhr.addEventListener("load", () => {
        const type = xhr.getResponseHeader("Content-Type") || "";
        if (xhr.status < 400 && type.startsWith("application/json")) {
          const answer = JSON.parse(xhr.responseText);
          if (answer.redirect) {
            window.location.assign(answer.redirect);
            return;
          }
        }
        if (xhr.status < 500 && type.startsWith("text/html")) {
          // The form again, with the server's errors beside its fields and the typed text kept.
          document.open();
          document.write(xhr.responseText);
          document.close();
          return;
        }
        failed(`The upload failed (the server answered ${xhr.status}).`);
      });
      xhr.addEventListener("error", () => failed("The upload failed: the connection dropped."));
      xhr.addEventListener("timeout", () => failed("The upload took too long."));
      xhr.send(data);
    };

    retry.addEventListener("click", send);
    form.addEventListener("click", (event) => {
      const button = event.target.closest("button, input[type=submit]");
      if (button && button.form === form) submitter = button.name ? button : null;
    });
    form.addEventListener("submit", (event) => {
      const invalid = fileInputs.filter((input) => !showProblems(input));
      if (invalid.length) {
        event.preventDefault();
        status.textContent = "";
        invalid[0].focus();
        return;
      }
      if (!fileInputs.some((input) => input.files.length)) return; // nothing to upload: post as usual
      event.preventDefault();
      send();
    });
  });
})();
