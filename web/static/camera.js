// The live camera on a printer's page: while the page is open and visible,
// renew the printer's camera watch and show its newest picture every couple
// of seconds; stop both as soon as the page is hidden. The printer stops
// taking pictures by itself once the watch runs out.
(function () {
  "use strict";
  const figures = document.querySelectorAll("[data-camera]");
  if (figures.length === 0) return;

  function start(figure) {
    const image = figure.querySelector("img");
    const status = figure.querySelector("[data-camera-status]");
    let watchTimer = null;
    let imageTimer = null;
    let renewS = Number(figure.dataset.renewS) || 5;
    let refreshS = Number(figure.dataset.refreshS) || 2;

    function say(text) {
      if (status) status.textContent = text;
    }

    async function renew() {
      let reply;
      try {
        reply = await fetch(figure.dataset.watchUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": figure.dataset.csrf },
        });
      } catch (error) {
        say("Cannot reach the server; retrying.");
        return;
      }
      const answer = await reply.json().catch(() => ({}));
      if (!reply.ok) {
        say(answer.error || "The camera cannot be watched right now (" + reply.status + ").");
        return;
      }
      renewS = answer.renew_after_s || renewS;
      refreshS = answer.refresh_s || refreshS;
    }

    function refresh() {
      // A new URL each time: the picture is never cached (no-store).
      image.src = figure.dataset.imageUrl + "?t=" + Date.now();
    }

    image.addEventListener("load", () => {
      image.hidden = false;
      say("Live");
    });
    image.addEventListener("error", () => {
      image.hidden = true;
      say("No live picture yet. Pictures appear while this page is open.");
    });

    async function run() {
      stop();
      await renew(); // the answer says how often to renew and refresh
      if (document.visibilityState !== "visible") return;
      refresh();
      watchTimer = setInterval(renew, renewS * 1000);
      imageTimer = setInterval(refresh, refreshS * 1000);
    }

    function stop() {
      clearInterval(watchTimer);
      clearInterval(imageTimer);
      watchTimer = imageTimer = null;
    }

    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") run(); else stop();
    });
    window.addEventListener("pagehide", stop);
    if (document.visibilityState === "visible") run();
  }

  figures.forEach(start);
})();
