// Keep a printer page's Now card and presence current over its one server-sent events stream.
"use strict";

(function () {
  const live = window.PrintfleetLive;
  let receivedAt = Date.now();

  function render(title, card, printers) {
    const p = printers.find(function (one) { return one.device_id === title.dataset.deviceId; });
    if (!p) {
      gone(card);
      return;
    }
    receivedAt = Date.now();
    live.field(title, "name").textContent = p.name;
    // The presence badge and the last-seen age sit in the title row, the rest in the card.
    live.renderPrinter([title, card], p);
    live.tickAges(receivedAt);
  }

  // The stream is empty, or the printer's JSON answers 404: it was removed or moved away.
  function gone(card) {
    live.field(card, "gone").hidden = false;
    live.setStatus("reconnecting", "not available");
  }

  document.addEventListener("DOMContentLoaded", function () {
    const title = document.getElementById("printer");
    const card = document.getElementById("state");
    if (!title || !card) return;
    const id = encodeURIComponent(title.dataset.deviceId);
    window.setInterval(function () { live.tickAges(receivedAt); }, 1000);
    live.stream("/printers/" + id + "/live", "/api/v1/printers/" + id,
      function (printers) { render(title, card, printers); },
      function () { gone(card); });
  });
})();
