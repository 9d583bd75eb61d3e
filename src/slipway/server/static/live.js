// Slipway's dashboard: a deployment page follows its events (server-sent, from the store)
// and re-renders its live part from the server; action buttons post with the page's CSRF
// token and the page updates without a reload. No other script, no library, no CDN.
"use strict";

(function () {
  const root = document.getElementById("live");
  if (!root) return;
  const message = document.getElementById("action-message");
  let pending = false;
  let again = false;

  async function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    try {
      const response = await fetch(root.dataset.live, { credentials: "same-origin" });
      if (response.ok) {
        root.innerHTML = await response.text();
        bind();
      }
    } catch (e) {
      // the server is away a moment: the next event or tick tries again
    } finally {
      pending = false;
      if (again) { again = false; refresh(); }
    }
  }

  function bind() {
    root.querySelectorAll("form[data-action]").forEach(function (form) {
      form.addEventListener("submit", async function (event) {
        event.preventDefault();
        const body = new URLSearchParams(new FormData(form));
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        try {
          const response = await fetch(form.action, {
            method: "POST",
            body: body,
            credentials: "same-origin",
            headers: { "Accept": "application/json", "X-CSRF-Token": form.elements.csrf.value },
          });
          const answer = await response.json();
          message.textContent = response.ok
            ? form.dataset.action + ": " + (answer.outcome || "sent, the runner will act on it")
            : (answer.error || "refused");
          message.className = response.ok ? "message ok" : "message error";
        } catch (e) {
          message.textContent = "the server did not answer";
          message.className = "message error";
        }
        refresh();
      });
    });
  }

  bind();
  const events = new EventSource(root.dataset.events);
  events.addEventListener("event", function (e) {
    root.dataset.lastEvent = e.lastEventId;
    refresh();
  });
  // step transitions are rows, not events: look again every two seconds as well
  window.setInterval(refresh, 2000);
})();
