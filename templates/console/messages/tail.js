// Live tail in the browser: one websocket, rows rendered by the server, newest on top.
// Keeps at most MAX_ROWS rows in the page so a long session never bloats the tab.
(function () {
  "use strict";
  const MAX_ROWS = 1000;
  const RATE_WINDOW_MS = 5000;
  const root = document.getElementById("tail");
  const form = document.getElementById("tail-form");
  const body = document.getElementById("tail-rows");
  const el = (id) => document.getElementById(id);
  const reasons = { 4401: "you are not logged in", 4404: "there is no such cluster", 4400: "a filter is not valid" };
  let ws = null;
  let paused = false;
  let counts = { shown: 0, skipped: 0, filtered: 0 };
  let recent = [];

  function setState(text) { el("tail-state").textContent = text; }
  function records(n) { return n.toLocaleString() + (n === 1 ? " record" : " records"); }
  function showCounts() {
    el("tail-shown").textContent = counts.shown.toLocaleString();
    el("tail-skipped").textContent = counts.skipped.toLocaleString();
    el("tail-filtered").textContent = counts.filtered.toLocaleString();
  }
  function showRate() {
    const now = Date.now();
    recent = recent.filter((r) => now - r[0] < RATE_WINDOW_MS);
    const rows = recent.reduce((sum, r) => sum + r[1], 0);
    el("tail-rate").textContent = Math.round(rows / (RATE_WINDOW_MS / 1000)).toLocaleString();
  }

  function addRows(html, rows) {
    if (!rows) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    // Frames list rows oldest first; the page shows newest first.
    const fresh = Array.from(tpl.content.children).reverse();
    body.prepend(...fresh);
    while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
  }

  function onMessage(event) {
    const msg = JSON.parse(event.data);
    if (msg.type === "status") {
      setState(msg.state === "live" ? "live" : "error: " + msg.error);
    } else if (msg.type === "rows") {
      addRows(msg.html, msg.rows);
      counts.shown += msg.rows;
      counts.skipped += msg.skipped;
      counts.filtered += msg.filtered_out;
      recent.push([Date.now(), msg.rows]);
      showCounts();
    } else if (msg.type === "paused") {
      if (paused) setState("paused (" + records(msg.missed) + " passed)");
    } else if (msg.type === "resumed") {
      counts.skipped += msg.missed;
      setState("live (" + records(msg.missed) + " passed while paused)");
      showCounts();
    }
  }

  function connect() {
    if (ws) { ws.onclose = null; ws.close(); }
    const params = new URLSearchParams(new FormData(form));
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(scheme + "://" + location.host + root.dataset.wsPath + "?" + params);
    setState("connecting…");
    paused = false;
    el("tail-pause").textContent = "Pause";
    ws.onmessage = onMessage;
    ws.onclose = (event) => setState("disconnected" + (reasons[event.code] ? ": " + reasons[event.code] : ""));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", "?" + new URLSearchParams(new FormData(form)));
    connect();
  });
  el("tail-pause").addEventListener("click", () => {
    paused = !paused;
    ws.send(JSON.stringify({ action: paused ? "pause" : "resume" }));
    el("tail-pause").textContent = paused ? "Resume" : "Pause";
    if (paused) setState("paused");
  });
  el("tail-clear").addEventListener("click", () => {
    body.replaceChildren();
    counts = { shown: 0, skipped: 0, filtered: 0 };
    recent = [];
    showCounts();
    showRate();
  });
  setInterval(showRate, 500);
  connect();
})();
