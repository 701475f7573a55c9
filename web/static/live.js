// What the printers page and a printer's page share: formatting a printer's
// live values and keeping one server-sent events stream open.
"use strict";

window.PrintfleetLive = (function () {
  const DASH = "\u2014";
  const RECONNECT_MS = 5000;

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

  function field(root, name) {
    return root.querySelector('[data-field="' + name + '"]');
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

  // Fill the fields a printers-table row and a printer's Now card both have;
  // each is looked for in `roots` (elements), the first that holds it wins.
  function renderPrinter(roots, p) {
    function find(name) {
      for (const root of roots) {
        const found = field(root, name);
        if (found) return found;
      }
      throw new Error("no field " + name + " to show the printer in");
    }
    const presence = find("presence");
    presence.textContent = p.presence;
    presence.className = "badge " + (p.online ? "online" : "offline");
    find("state").textContent = p.printer_state || DASH;
    renderHeaters(find("heaters"), p.heaters || {});
    find("job_file_name").textContent = p.job_file_name || DASH;
    find("job_status").textContent = p.job_status || "";
    find("progress").querySelector("progress").value = p.progress_pct || 0;
    find("progress_pct").textContent = formatPercent(p.progress_pct);
    find("time_left").textContent = formatTimeLeft(p.time_left_s);
    find("last_seen").dataset.ageS = p.last_seen_age_s == null ? "" : String(p.last_seen_age_s);
  }

  function setStatus(state, text) {
    const indicator = document.getElementById("live-status");
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = text;
  }

  // Keep one EventSource on `streamUrl` and hand each printers event to
  // onPrinters. A closed stream may mean the session ended or the thing is
  // gone: `checkUrl` tells (401: sign in again; 404: onGone; else reconnect).
  function stream(streamUrl, checkUrl, onPrinters, onGone) {
    function recover() {
      setStatus("reconnecting", "reconnecting\u2026");
      fetch(checkUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 401) {
            window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
          } else if (response.status === 404 && onGone) {
            onGone();
          } else {
            window.setTimeout(connect, RECONNECT_MS);
          }
        })
        .catch(function () { window.setTimeout(connect, RECONNECT_MS); });
    }

    function connect() {
      const source = new EventSource(streamUrl);
      source.addEventListener("printers", function (event) {
        onPrinters(JSON.parse(event.data));
        setStatus("live", "live");
      });
      source.onopen = function () { setStatus("live", "live"); };
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) {
          recover();
        } else {
          setStatus("reconnecting", "reconnecting\u2026");
        }
      };
    }

    if (window.EventSource) connect();
    else setStatus("reconnecting", "live updates unavailable");
  }

  // Ages move on between events without asking the server again.
  function tickAges(receivedAt) {
    const elapsed = (Date.now() - receivedAt) / 1000;
    for (const cell of document.querySelectorAll('[data-field="last_seen"]')) {
      const base = cell.dataset.ageS;
      cell.textContent = formatAge(base === "" || base === undefined ? null : Number(base) + elapsed);
    }
  }

  return { DASH, field, renderPrinter, setStatus, stream, tickAges };
})();
