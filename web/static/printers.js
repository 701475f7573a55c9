// Keep the printers table current over one server-sent events connection.
"use strict";

(function () {
  const live = window.PrintfleetLive;
  let receivedAt = Date.now();

  function rowFor(deviceId, tbody) {
    for (const row of tbody.rows) {
      if (row.dataset.deviceId === deviceId) return row;
    }
    const template = document.getElementById("printer-row-template");
    const row = template.content.firstElementChild.cloneNode(true);
    row.dataset.deviceId = deviceId;
    tbody.appendChild(row);
    return row;
  }

  function updateRow(row, p) {
    const link = live.field(row, "name");
    link.textContent = p.name;
    link.href = "/printers/" + encodeURIComponent(p.device_id);
    live.renderPrinter([row], p);
  }

  function render(printers) {
    const table = document.getElementById("printers");
    const tbody = table.tBodies[0];
    const seen = new Set();
    receivedAt = Date.now();
    for (const p of printers) {
      seen.add(p.device_id);
      updateRow(rowFor(p.device_id, tbody), p);
    }
    for (const row of Array.from(tbody.rows)) {
      if (!seen.has(row.dataset.deviceId)) row.remove();
    }
    table.hidden = printers.length === 0;
    document.getElementById("empty-state").hidden = printers.length !== 0;
    live.tickAges(receivedAt);
  }

  document.addEventListener("DOMContentLoaded", function () {
    receivedAt = Date.now();
    window.setInterval(function () { live.tickAges(receivedAt); }, 1000);
    live.stream("/printers/live", "/api/v1/printers", render, null);
  });
})();
