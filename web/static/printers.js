// Keep the printers table current over one server-sent events connection.
"use strict";

(function () {
  const DASH = "\u2014";
  const STREAM_URL = "/printers/live";
  const RECONNECT_MS = 5000;
  let receivedAt = Date.now();

  function formatHeater(heater) {
    const actual = heater.actual == null ? DASH : heater.actual.toFixed(1);
    const target = heater.target == null ? DASH : heater.target.toFixed(0);
    return actual + " / " + target + " \u00b0C";
  }

  function formatPercent(value) {
    return value == null ? DASH : value.toFixed(0) + "%";
  }

  function formatTimeLeft(seconds) {
    if (seconds == null) return DASH;
    if (seconds < 60) return Math.floor(seconds) + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function formatAge(seconds) {
    if (seconds == null) return "never";
    const units = [["d", 86400], ["h", 3600], ["min", 60]];
    for (const [unit, size] of units) {
      if (seconds >= size) return Math.floor(seconds / size) + " " + unit + " ago";
    }
    return Math.floor(seconds) + " s ago";
  }

  function field(row, name) {
    return row.querySelector('[data-field="' + name + '"]');
  }

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

  function renderHeaters(cell, heaters) {
    const names = Object.keys(heaters).sort();
    cell.replaceChildren();
    if (names.length === 0) {
      cell.textContent = DASH;
      return;
    }
    for (const name of names) {
      const line = document.createElement("div");
      line.dataset.heater = name;
      const label = document.createElement("span");
      label.className = "heater-name";
      label.textContent = name;
      const value = document.createElement("span");
      value.dataset.field = "heater-value";
      value.textContent = formatHeater(heaters[name]);
      line.append(label, " ", value);
      cell.appendChild(line);
    }
  }

  function updateRow(row, p) {
    const link = field(row, "name");
    link.textContent = p.name;
    link.href = "/printers/" + encodeURIComponent(p.device_id);
    const presence = field(row, "presence");
    presence.textContent = p.presence;
    presence.className = "badge " + (p.online ? "online" : "offline");
    field(row, "state").textContent = p.printer_state || DASH;
    renderHeaters(field(row, "heaters"), p.heaters || {});
    field(row, "job_file_name").textContent = p.job_file_name || DASH;
    field(row, "job_status").textContent = p.job_status || "";
    row.querySelector("progress").value = p.progress_pct || 0;
    field(row, "progress_pct").textContent = formatPercent(p.progress_pct);
    field(row, "time_left").textContent = formatTimeLeft(p.time_left_s);
    const lastSeen = field(row, "last_seen");
    lastSeen.dataset.ageS = p.last_seen_age_s == null ? "" : String(p.last_seen_age_s);
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
    tickAges();
  }

  // Ages move on between events without asking the server again.
  function tickAges() {
    const elapsed = (Date.now() - receivedAt) / 1000;
    for (const cell of document.querySelectorAll('[data-field="last_seen"]')) {
      const base = cell.dataset.ageS;
      cell.textContent = formatAge(base === "" || base === undefined ? null : Number(base) + elapsed);
    }
  }

  function setStatus(state, text) {
    const indicator = document.getElementById("live-status");
    indicator.dataset.state = state;
    indicator.textContent = text;
  }

  // A closed stream may mean the session ended: go to sign-in if so.
  function recover() {
    setStatus("reconnecting", "reconnecting…");
    fetch("/api/v1/printers", { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/login?next=/printers");
        } else {
          window.setTimeout(connect, RECONNECT_MS);
        }
      })
      .catch(function () { window.setTimeout(connect, RECONNECT_MS); });
  }

  function connect() {
    const source = new EventSource(STREAM_URL);
    source.addEventListener("printers", function (event) {
      render(JSON.parse(event.data));
      setStatus("live", "live");
    });
    source.onopen = function () { setStatus("live", "live"); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        recover();
      } else {
        setStatus("reconnecting", "reconnecting…");
      }
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    receivedAt = Date.now();
    window.setInterval(tickAges, 1000);
    if (window.EventSource) connect();
    else setStatus("reconnecting", "live updates unavailable");
  });
})();
