// Upload with a progress bar: the same form posts without script, this adds
// XMLHttpRequest's upload progress and a size check before sending.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const maxBytes = Number(form.dataset.maxBytes);

  form.addEventListener("submit", (event) => {
    const file = form.elements.file.files[0];
    if (!file) return;
    event.preventDefault();
    if (maxBytes && file.size > maxBytes) {
      status.textContent = `${file.name} is larger than the ${(maxBytes / 1048576).toFixed(0)} MiB upload limit.`;
      return;
    }
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) {
        bar.value = (100 * progress.loaded) / progress.total;
        status.textContent = `${Math.floor(bar.value)} %`;
      }
    });
    request.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (error) { body = {}; }
      if (request.status === 201 && body.url) {
        window.location.assign(body.url);
      } else {
        bar.hidden = true;
        status.textContent = body.error || `Upload failed (HTTP ${request.status}).`;
      }
    });
    request.addEventListener("error", () => {
      bar.hidden = true;
      status.textContent = "Upload failed: the connection was lost.";
    });
    bar.value = 0;
    bar.hidden = false;
    status.textContent = "0 %";
    request.send(new FormData(form));
  });
});
