// Claim a printer by the code its agent shows; list printers waiting on this network.
(function () {
  "use strict";
  const section = document.querySelector(".pairing");
  if (!section) return;
  const form = document.getElementById("claim-form");
  const result = document.getElementById("claim-result");
  const waiting = document.getElementById("waiting");
  const list = document.getElementById("waiting-list");

  function say(text, ok) {
    result.textContent = text;
    result.dataset.ok = ok ? "true" : "false";
  }

  async function refreshWaiting() {
    const reply = await fetch("/api/v1/pairing/waiting", { credentials: "same-origin" });
    if (!reply.ok) return;
    const devices = await reply.json();
    list.replaceChildren(...devices.map((d) => {
      const item = document.createElement("li");
      item.textContent = d.hostname + " (waiting " + Math.round(d.waiting_s / 60) + " min)";
      return item;
    }));
    waiting.hidden = devices.length === 0;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { code: form.code.value, name: form.name.value };
    const reply = await fetch("/api/v1/pairing/claim", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": section.dataset.csrf },
      body: JSON.stringify(body),
    });
    const answer = await reply.json().catch(() => ({}));
    if (reply.ok) {
      say("Added " + answer.name + ". It appears in the list as soon as it connects.", true);
      form.reset();
      refreshWaiting();
    } else {
      say(answer.error || "Could not add the printer (" + reply.status + ").", false);
    }
  });

  refreshWaiting();
  setInterval(refreshWaiting, 15000);
})();
