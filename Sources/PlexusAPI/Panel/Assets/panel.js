// Plexus web panel: live updates. Every page works without this script; it adds new
// entries as they arrive (one event stream, no polling) and follows a running task.
"use strict";
(function () {
  const MAX_LIVE_ROWS = 200;

  function shortID(id) { return id.length > 14 ? id.slice(0, 12) + "…" : id; }
  function time(ms) { return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"); }
  function preview(entry) {
    const content = entry.content;
    let text = "";
    if (content && typeof content === "object" && !Array.isArray(content)) {
      for (const key of ["text", "title", "summary", "message"]) {
        if (typeof content[key] === "string") { text = content[key]; break; }
      }
      if (!text) text = JSON.stringify(content);
    } else if (typeof content === "string") {
      text = content;
    } else if (content !== undefined && content !== null) {
      text = JSON.stringify(content);
    } else if (entry.content_base64) {
      text = "(binary content)";
    }
    text = text.replace(/\n/g, " ");
    return text.length > 160 ? text.slice(0, 160) + "…" : text;
  }
  function link(href, text, title) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (title) a.title = title;
    return a;
  }
  // A table row built with text nodes only: entry content never becomes markup.
  function entryRow(entry, me) {
    const row = document.createElement("tr");
    row.dataset.cursor = String(entry.cursor);
    row.className = "fresh";
    const cells = [];
    for (let i = 0; i < 5; i++) cells.push(row.insertCell());
    const when = document.createElement("time");
    when.textContent = time(entry.time_ms);
    cells[0].append(when);
    cells[1].append(link("/ui/feed?author=" + encodeURIComponent(entry.author), shortID(entry.author), entry.author));
    if (entry.author === me) {
      const small = document.createElement("small");
      small.textContent = " (this node)";
      cells[1].append(small);
    }
    cells[2].append(link("/ui/feed?topic=" + encodeURIComponent(entry.topic), entry.topic));
    cells[3].textContent = entry.type;
    cells[4].className = "preview";
    cells[4].append(link("/ui/entries/" + encodeURIComponent(entry.id), preview(entry) || "(no text)"));
    return row;
  }

  function bumpSpark(label) {
    const svg = document.querySelector('svg[data-spark="' + label + '"]');
    if (!svg) return;
    const counts = svg.dataset.counts.split(",").map(Number);
    counts[counts.length - 1] += 1;
    svg.dataset.counts = counts.join(",");
    const top = Math.max(1, ...counts);
    const height = Number(svg.getAttribute("height"));
    svg.querySelectorAll("rect").forEach(function (rect, index) {
      const h = counts[index] === 0 ? 0 : Math.max(2, Math.floor(counts[index] * height / top));
      rect.setAttribute("y", String(height - h));
      rect.setAttribute("height", String(h));
    });
    const total = svg.parentElement.querySelector("[data-spark-total]");
    if (total) total.textContent = String(counts.reduce(function (a, b) { return a + b; }, 0));
  }

  function follow(rows, stream, me) {
    const source = new EventSource(stream);
    source.addEventListener("entry", function (event) {
      let entry;
      try { entry = JSON.parse(event.data); } catch (e) { return; }
      if (rows) {
        rows.prepend(entryRow(entry, me));
        while (rows.rows.length > MAX_LIVE_ROWS) rows.deleteRow(rows.rows.length - 1);
      }
      const count = document.querySelector('[data-count="entries"]');
      if (count) count.textContent = String(Number(count.textContent) + 1);
      bumpSpark(entry.author === me ? "entries out" : "entries in");
    });
  }

  // A running task's page waits for changes (the node answers when the task changes or
  // after a long wait) and reloads once the task has ended, to show its result.
  function watchTask(container) {
    const id = container.dataset.task;
    let failures = 0;
    // A form sent from this page (cancel) navigates away: no reload then.
    let leaving = false;
    document.addEventListener("submit", function () { leaving = true; });
    function step() {
      fetch("/ui/tasks/" + encodeURIComponent(id) + "/watch", { credentials: "same-origin" })
        .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
        .then(function (task) {
          failures = 0;
          if (leaving) return;
          if (task.terminal) { window.location.reload(); return; }
          const state = container.querySelector('[data-field="state"]');
          if (state) { state.textContent = task.state; state.className = "state " + task.state; }
          const message = container.querySelector('[data-field="message"]');
          if (message) message.textContent = task.message || "–";
          const took = container.querySelector('[data-field="took"]');
          if (took) took.textContent = task.took;
          step();
        })
        .catch(function () { if (!leaving && ++failures < 3) setTimeout(step, 2000); });
    }
    step();
  }

  const overview = document.querySelector("[data-overview]");
  const rows = document.querySelector("tbody[data-live-rows]");
  const task = document.querySelector("[data-task]");
  const me = overview ? overview.dataset.agent : rows && rows.dataset.agent;
  if (overview) follow(rows, overview.dataset.stream, me);
  else if (rows && rows.dataset.stream) follow(rows, rows.dataset.stream, me);
  if (task && task.dataset.terminal !== "true") watchTask(task);
})();
