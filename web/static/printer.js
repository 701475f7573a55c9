// A printer's page: send commands without leaving it and follow each one's acknowledgement.
"use strict";

(function () {
  const POLL_MS = 1000;
  const STATUS_TEXT = {
    pending: "sent, waiting for the printer", accepted: "accepted, running", finished: "done",
    failed: "failed", rejected: "refused by the printer", expired: "no answer",
  };

  function page() { return document.getElementById("printer"); }

  function statusUrl(transaction) {
    return "/api/v1/printers/" + encodeURIComponent(page().dataset.deviceId) +
      "/commands/" + encodeURIComponent(transaction);
  }

  function showNotice(text, isError) {
    let notice = document.getElementById("command-notice");
    if (!notice) {
      notice = document.createElement("p");
      notice.id = "command-notice";
      notice.setAttribute("role", "status");
      document.getElementById("controls").prepend(notice);
    }
    notice.className = isError ? "error" : "notice";
    notice.textContent = text;
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function rowFor(transaction, label) {
    const tbody = document.querySelector("#commands tbody");
    const empty = tbody.querySelector(".empty-row");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.transaction = transaction;
    row.dataset.final = "false";
    const status = document.createElement("span");
    status.className = "ack";
    status.dataset.field = "status";
    const statusCell = document.createElement("td");
    statusCell.appendChild(status);
    const message = cell("");
    message.dataset.field = "message";
    row.append(cell(new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC"),
      cell(label), statusCell, message);
    tbody.prepend(row);
    return row;
  }

  function render(row, command) {
    const status = row.querySelector('[data-field="status"]');
    status.dataset.status = command.status;
    status.textContent = STATUS_TEXT[command.status] || command.status;
    let text = command.message || "";
    if (command.data && command.data.replies && command.data.replies.length) {
      text += (text ? " " : "") + command.data.replies.join(" ");
    }
    row.querySelector('[data-field="message"]').textContent = text;
    row.dataset.final = command.final ? "true" : "false";
  }

  function follow(row) {
    fetch(statusUrl(row.dataset.transaction), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    }).then(function (command) {
      render(row, command);
      if (!command.final) window.setTimeout(function () { follow(row); }, POLL_MS);
    }).catch(function () {
      window.setTimeout(function () { follow(row); }, POLL_MS * 5);
    });
  }

  function label(form) {
    const data = new FormData(form);
    const kind = data.get("kind");
    if (kind === "send_gcode") return "send_gcode " + String(data.get("gcode")).trim();
    if (kind === "start_print") {
      const select = form.querySelector("select");
      return "start_print " + (select ? select.options[select.selectedIndex].text : "");
    }
    return kind;
  }

  function submit(event) {
    const form = event.target;
    event.preventDefault();
    const button = form.querySelector("button");
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": page().dataset.csrf },
    }).then(function (response) {
      return response.json().then(function (body) { return [response, body]; });
    }).then(function ([response, body]) {
      if (!response.ok) {
        showNotice(body.message || "The command was not sent.", true);
        return;
      }
      showNotice(body.message, false);
      follow(rowFor(body.transaction_id, label(form)));
    }).catch(function () { showNotice("The server could not be reached.", true); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    for (const form of document.querySelectorAll("form[data-command-form]")) {
      form.addEventListener("submit", submit);
    }
    for (const row of document.querySelectorAll('#commands tr[data-final="false"]')) {
      follow(row);
    }
  });
})();
