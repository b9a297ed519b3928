// The incident console: added to every page by `opsbook serve` (never to the static site).
// Run buttons on each step and command, input forms, confirmation with the exact commands,
// output streamed over SSE under the step, an incident bar, and live reload.
// Everything shown comes from the server as text: no HTML is built from data.
(function () {
  "use strict";

  const SESSION_KEY = "opsbook.session";
  const state = { info: null, runbook: null, session: null, panels: new Map(), streams: new Map(), terminals: new Map() };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else if (value !== false && value != null) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child == null) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  async function api(path, method, body) {
    const options = { method: method || "GET", credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    return { status: response.status, ok: response.ok, data };
  }

  // The runbook of this page (its steps and inputs), or null on other pages.
  async function currentRunbook() {
    const here = decodeURIComponent(location.pathname).replace(/^\//, "") || "index.html";
    if (!here.endsWith(".html") || here === "index.html" || here === "print.html" || here === "404.html") return null;
    const found = await api("/api/runbooks/" + here.split("/").map(encodeURIComponent).join("/"));
    return found.ok ? found.data : null;
  }

  // ---- ANSI colours: SGR codes become spans with classes; other escapes are dropped.
  const ANSI = /\x1b\[([0-9;]*)m|\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

  function appendAnsi(pre, text, style) {
    let last = 0;
    const flush = (chunk) => {
      if (!chunk) return;
      const classes = [];
      if (style.bold) classes.push("ansi-bold");
      if (style.fg != null) classes.push("ansi-fg-" + style.fg);
      if (style.bg != null) classes.push("ansi-bg-" + style.bg);
      pre.append(classes.length ? el("span", { class: classes.join(" ") }, chunk) : document.createTextNode(chunk));
    };
    text.replace(ANSI, (match, codes, offset) => {
      flush(text.slice(last, offset));
      last = offset + match.length;
      if (codes === undefined) return match;
      const parts = codes === "" ? [0] : codes.split(";").map(Number);
      for (const code of parts) {
        if (code === 0) { style.bold = false; style.fg = null; style.bg = null; }
        else if (code === 1) style.bold = true;
        else if (code === 22) style.bold = false;
        else if (code >= 30 && code <= 37) style.fg = code - 30;
        else if (code >= 90 && code <= 97) style.fg = code - 90 + 8;
        else if (code === 39) style.fg = null;
        else if (code >= 40 && code <= 47) style.bg = code - 40;
        else if (code === 49) style.bg = null;
      }
      return match;
    });
    flush(text.slice(last));
  }

  // ---- The incident bar.
  function buildBar() {
    const bar = el("aside", { id: "opsbook-bar", "aria-label": "Incident" });
    document.body.append(bar);
    document.body.classList.add("opsbook-console");
    return bar;
  }

  // Renders the bar from the server's state. Calls may overlap (a run ends while a note is
  // added): each builds its rows apart and only the latest one is shown.
  async function renderBar() {
    const generation = (state.barGeneration = (state.barGeneration || 0) + 1);
    const sessions = await api("/api/sessions");
    const view = state.session ? await api(`/api/sessions/${encodeURIComponent(state.session)}`) : null;
    if (generation !== state.barGeneration) return null;
    const bar = document.getElementById("opsbook-bar");
    document.body.classList.toggle("has-session", Boolean(view && view.ok));
    const rows = [];
    const select = el("select", { id: "opsbook-session", "aria-label": "Incident session", onchange: (e) => {
      const value = e.target.value;
      if (value === "__new") { showNewSession(); return; }
      setSession(value || null);
    } }, el("option", { value: "" }, "No incident session"));
    for (const session of sessions.ok ? sessions.data : []) {
      const closed = session.ended_at != null ? " (closed)" : "";
      select.append(el("option", { value: session.id, selected: session.id === state.session },
        `${session.title} · ${session.severity}${closed}`));
    }
    select.append(el("option", { value: "__new" }, "New incident…"));
    rows.push(el("div", { class: "bar-row" }, el("strong", {}, "Incident"), select));
    if (!view || !view.ok) {
      bar.replaceChildren(...rows);
      if (view && !view.ok) setSession(null);
      return null;
    }
    const session = view.data.session;
    const severity = el("select", { id: "opsbook-severity", "aria-label": "Severity", onchange: async (e) => {
      await api(`/api/sessions/${state.session}/severity`, "POST", { severity: e.target.value });
      renderBar();
    } });
    for (const level of state.info.severities) severity.append(el("option", { selected: level === session.severity }, level));
    const status = el("select", { id: "opsbook-status", "aria-label": "Status", onchange: async (e) => {
      await api(`/api/sessions/${state.session}/status`, "POST", { status: e.target.value });
      renderBar();
    } });
    for (const name of state.info.statuses) status.append(el("option", { selected: name === session.status }, name));
    const base = `/api/sessions/${encodeURIComponent(state.session)}/export?format=`;
    const exports = el("span", { class: "exports" }, "Export: ",
      el("a", { href: base + "md", download: `postmortem-${session.id}.md` }, "md"), " ",
      el("a", { href: base + "json", download: `postmortem-${session.id}.json` }, "json"), " ",
      el("a", { href: base + "html", target: "_blank" }, "html"));
    const updateText = view.data.status_update;
    const update = el("button", { type: "button", onclick: () => showText("Status update", updateText) }, "Status update");
    // The title (a run may have opened the session under its runbook's name): edited in place.
    const title = el("input", { type: "text", id: "opsbook-title", "aria-label": "Incident title", value: session.title,
      onchange: async (e) => {
        const result = await api(`/api/sessions/${state.session}/title`, "POST", { title: e.target.value });
        if (!result.ok) alertText(result.data.error);
        renderBar();
      } });
    rows.push(el("div", { class: "bar-row" }, title, severity, status, exports, update));

    const noteText = el("input", { type: "text", id: "opsbook-note", placeholder: "Add a note…", "aria-label": "Note" });
    const kind = el("select", { id: "opsbook-note-kind", "aria-label": "Note kind" });
    for (const name of state.info.note_kinds) kind.append(el("option", {}, name));
    const addNote = async (event) => {
      event.preventDefault();
      if (!noteText.value.trim()) return;
      const result = await api(`/api/sessions/${state.session}/notes`, "POST", { text: noteText.value, kind: kind.value });
      if (!result.ok) { alertText(result.data.error); return; }
      noteText.value = "";
      const shown = document.getElementById("opsbook-note");
      if (shown) shown.value = "";
      renderBar();
    };
    rows.push(el("form", { class: "bar-row", onsubmit: addNote }, noteText, kind, el("button", { type: "submit" }, "Add")));

    const store = view.data.store;
    if (store && !store.online) {
      rows.push(el("div", { class: "bar-row offline", id: "opsbook-offline", role: "status" },
        `Offline: the session store cannot be reached. Runs go on here; ${store.queued} write(s) wait on this machine and are sent when it is back.`));
    }
    if (store && store.notifications_failing) {
      rows.push(el("div", { class: "bar-row offline", id: "opsbook-notify-failing", role: "status" },
        `Notifications: ${store.notifications_failing} (${store.notifications_queued || 0} waiting)`));
    }
    const responders = view.data.responders || [];
    if (responders.length) {
      rows.push(el("div", { class: "bar-row", id: "opsbook-responders" }, el("strong", {}, "Responders"),
        responders.map((r) => `${r.user}@${r.host}`).join(", ")));
    }
    const timeline = el("ol", { id: "opsbook-timeline" });
    for (const entry of view.data.timeline) {
      timeline.append(el("li", { "data-type": entry.type }, el("time", { datetime: entry.timestamp }, entry.time), " ",
        entry.description, el("span", { class: "actor" }, ` (${entry.actor}@${entry.host})`)));
    }
    // The chart is parsed as SVG (never as HTML) and only its nodes are taken in.
    const chart = el("div", { class: "timeline-chart-box" });
    if (view.data.chart) {
      const parsed = new DOMParser().parseFromString(view.data.chart, "image/svg+xml").documentElement;
      if (parsed && parsed.nodeName === "svg") chart.append(document.importNode(parsed, true));
    }
    rows.push(el("details", { class: "timeline", open: bar.dataset.timelineOpen === "1", ontoggle: (e) => {
      bar.dataset.timelineOpen = e.target.open ? "1" : "0";
    } }, el("summary", {}, `Timeline (${view.data.timeline.length})`), chart, timeline));
    // Keep what is being typed: others' events re-render the bar at any time.
    const renaming = document.getElementById("opsbook-title");
    if (renaming && document.activeElement === renaming) {
      title.value = renaming.value;
      setTimeout(() => title.focus(), 0);
    }
    const typing = document.getElementById("opsbook-note");
    if (typing) {
      noteText.value = typing.value;
      if (document.activeElement === typing) setTimeout(() => noteText.focus(), 0);
    }
    bar.replaceChildren(...rows);
    state.inputs = view.data.inputs || {};
    state.held = view.data.held || [];
    fillRemembered();
    return view.data;
  }

  function showNewSession() {
    const bar = document.getElementById("opsbook-bar");
    const title = el("input", { type: "text", id: "opsbook-new-title", required: true, "aria-label": "Incident title",
      value: state.runbook ? state.runbook.title : "" });
    const severity = el("select", { id: "opsbook-new-severity", "aria-label": "Severity" });
    for (const level of state.info.severities) severity.append(el("option", {}, level));
    severity.value = state.info.severities[state.info.severities.length - 1];
    const form = el("form", { class: "bar-row new-session", onsubmit: async (event) => {
      event.preventDefault();
      const result = await api("/api/sessions", "POST", { title: title.value, severity: severity.value });
      if (!result.ok) { alertText(result.data.error); return; }
      setSession(result.data.id);
    } }, "New incident: ", title, severity, el("button", { type: "submit", id: "opsbook-new-start" }, "Start"),
    el("button", { type: "button", onclick: () => renderBar() }, "Cancel"));
    bar.append(form);
    title.focus();
  }

  function setSession(id) {
    state.session = id;
    if (id) localStorage.setItem(SESSION_KEY, id); else localStorage.removeItem(SESSION_KEY);
    const url = new URL(location.href);
    if (id) url.searchParams.set("session", id); else url.searchParams.delete("session");
    history.replaceState(null, "", url);
    renderBar().then(attachRecent);
    connectSession();
  }

  // The session's live stream: anyone's event (on any machine sharing the store), someone
  // arriving, or the store going offline re-renders the bar and shows runs started elsewhere.
  function connectSession() {
    if (state.live) state.live.close();
    state.live = null;
    if (!state.session) return;
    const source = new EventSource(`/api/sessions/${encodeURIComponent(state.session)}/live`);
    state.live = source;
    source.addEventListener("change", () => {
      if (state.pendingRender) return;
      state.pendingRender = setTimeout(() => {
        state.pendingRender = null;
        renderBar().then(attachRecent);
      }, 50);
    });
  }

  function showText(title, text) {
    const dialog = el("dialog", { class: "opsbook-dialog" }, el("h3", {}, title), el("pre", {}, text),
      el("form", { method: "dialog" },
        el("button", { type: "button", onclick: () => navigator.clipboard && navigator.clipboard.writeText(text) }, "Copy"),
        el("button", { value: "close" }, "Close")));
    document.body.append(dialog);
    dialog.addEventListener("close", () => dialog.remove());
    dialog.showModal();
  }

  function alertText(message) {
    showText("opsbook", message || "Something went wrong.");
  }

  // ---- Steps.
  function fillRemembered() {
    const params = new URL(location.href).searchParams;
    for (const input of document.querySelectorAll(".run-inputs input[name]")) {
      if (input.value || input.dataset.touched) continue;
      const fromUrl = params.get("var." + input.name);
      if (fromUrl != null) input.value = fromUrl;
      else if (state.inputs && state.inputs[input.name] != null) input.value = state.inputs[input.name];
      // A secret the session holds (given before, or a step's output): set, never shown.
      const held = (state.held || []).includes(input.name);
      input.classList.toggle("held", held && !input.value);
      if (held && !input.value) input.placeholder = "•••••• held for this session";
    }
  }

  function enhance(section, step) {
    const panel = el("div", { class: "run-panel", hidden: true },
      el("div", { class: "run-head" }, el("span", { class: "run-status" }),
        el("button", { type: "button", class: "run-stop", hidden: true }, "Stop")),
      el("pre", { class: "run-output", tabindex: "0" }));
    const header = section.querySelector(".step-header");
    const run = el("button", { type: "button", class: "run", "data-run": "step", onclick: () => runStep(section, step, null) }, "▶ Run");
    const more = el("span", { class: "run-more" },
      el("button", { type: "button", class: "run-continue", title: "Run this step and the ones after it, in order, leaving those done or skipped alone; stops at the first that fails",
        onclick: () => continueFrom(section) }, "Continue from here"),
      el("button", { type: "button", class: "run-skip", title: "Skip this step in the incident, with a reason for the timeline",
        onclick: () => skipStep(section, step) }, "Skip"));
    header.append(run, more);
    if (step.inputs.length) {
      const form = el("form", { class: "run-inputs", onsubmit: (e) => { e.preventDefault(); runStep(section, step, null); } });
      for (const placeholder of step.inputs) {
        const hint = placeholder.set_by ? `set by step ${placeholder.set_by}` : placeholder.default != null ? `default: ${placeholder.default}` : "";
        form.append(el("label", {}, placeholder.name,
          el("input", { type: placeholder.secret ? "password" : "text",
            name: placeholder.name, placeholder: hint, autocomplete: "off",
            // What the engineer typed (or cleared) is never filled in again by a re-render.
            oninput: (e) => { e.target.dataset.touched = "true"; } })));
      }
      form.append(el("button", { type: "submit", hidden: true }, "Run"));
      const list = section.querySelector(".inputs");
      (list || header).after(form);
    }
    section.querySelectorAll("li.command").forEach((item, index) => {
      const head = item.querySelector(".command-head");
      if (head) head.append(el("button", { type: "button", class: "run run-command", "data-run": String(index),
        onclick: () => runStep(section, step, index) }, "▶ Run"));
    });
    section.append(panel);
    state.panels.set(step.id, panel);
  }

  function inputsOf(section) {
    const values = {};
    for (const input of section.querySelectorAll(".run-inputs input[name]")) {
      if (input.value !== "") values[input.name] = input.value;
    }
    return values;
  }

  function confirmRun(step, plan) {
    return new Promise((resolve) => {
      const dialog = el("dialog", { class: "opsbook-dialog confirm-dialog" },
        el("h3", {}, `Run ${step.id}?`),
        el("p", {}, el("span", { class: `badge risk-${plan.risk}` }, plan.risk), " ", plan.reason || ""),
        ...(plan.warnings || []).map((warning) => el("p", { class: "confirm-warning" }, "Warning: " + warning)),
        el("p", {}, "These commands will run, exactly:"),
        el("pre", { class: "confirm-commands" }, plan.commands),
        el("form", { method: "dialog" },
          el("button", { value: "cancel", class: "confirm-cancel" }, "Cancel"),
          el("button", { value: "run", class: "confirm-run" }, `Run ${plan.risk} step`)));
      document.body.append(dialog);
      dialog.addEventListener("close", () => { resolve(dialog.returnValue === "run"); dialog.remove(); });
      dialog.showModal();
    });
  }

  // With no session open, the first Run opens one (titled by the runbook, at its severity;
  // both can be changed in the bar) and runs in it: one click to the first output.
  // Resolves with how the run ended ("ok" or "failed"), or "not-run" when it did not start.
  async function runStep(section, step, command) {
    const body = { runbook: state.runbook.path, step: step.id, inputs: inputsOf(section) };
    if (command != null) body.command = command;
    // An interactive step (psql, kubectl exec -it, a shell) runs in a terminal under its card.
    const interactive = command != null ? (step.commands[command] || {}).interactive : step.interactive;
    const base = state.session ? `/api/sessions/${encodeURIComponent(state.session)}` : "/api";
    const plan = await api(`${base}/plan`, "POST", body);
    if (!plan.ok) { alertText(plan.data.error); return "not-run"; }
    for (const input of section.querySelectorAll(".run-inputs input")) input.classList.remove("missing");
    if (plan.data.missing.length) {
      for (const missing of plan.data.missing) {
        const input = section.querySelector(`.run-inputs input[name="${CSS.escape(missing.name)}"]`);
        if (input) input.classList.add("missing");
      }
      const names = plan.data.missing.map((m) => m.set_by ? `${m.name} (set by step ${m.set_by})` : m.name);
      const panel = state.panels.get(step.id);
      panel.hidden = false;
      panel.querySelector(".run-status").textContent = "Needs: " + names.join(", ");
      return "not-run";
    }
    body.confirm = false;
    if (plan.data.needs_confirmation) {
      if (!(await confirmRun(step, plan.data))) return "not-run";
      body.confirm = true;
      // What was confirmed: the server refuses the run if the step changed since.
      body.plan = plan.data.digest;
    }
    let term = null;
    if (interactive) {
      term = await openTerminal(step.id);
      body.terminal = { cols: term.cols, rows: term.rows };
    }
    const started = await api(`${base}/runs`, "POST", body);
    if (started.status !== 202) { alertText(started.data.error); return "not-run"; }
    const ended = term ? attachTerminal(step.id, started.data.run_id, term) : attach(step.id, started.data.run_id, true);
    if (started.data.session_id) setSession(started.data.session_id);
    else renderBar();
    return ended;
  }

  // "Continue from here": this step and the ones after it, in order, leaving those done or
  // skipped in the session alone (as `opsbook run --resume SESSION --from STEP`); it stops at
  // the first run that fails or does not start (an input missing, a confirmation declined).
  // Tabs are alternatives: of each group it takes one way through (progress::one_per_group):
  // a leaf tab (`K8s › Helm`) with the tabs it stands in; the one clicked in, else the one the
  // session already went down, else the first.
  async function continueFrom(section) {
    const sections = [...document.querySelectorAll("section.step[data-step]")];
    const within = (label, way) => label === way || way.startsWith(label + " › ");
    const ways = new Map();
    for (const s of sections) {
      if (!s.dataset.group) continue;
      const labels = ways.get(s.dataset.group) || [];
      if (!labels.includes(s.dataset.tab)) labels.push(s.dataset.tab);
      ways.set(s.dataset.group, labels);
    }
    const leaves = (group) => (ways.get(group) || []).filter((l, _, all) => !all.some((o) => o !== l && o.startsWith(l + " › ")));
    const wayFor = (s) => leaves(s.dataset.group).find((w) => within(s.dataset.tab, w));
    const taken = new Map();
    if (section.dataset.group) taken.set(section.dataset.group, wayFor(section));
    for (const s of sections) {
      const went = s.dataset.state && s.dataset.state !== "not-run";
      if (s.dataset.group && went && !taken.has(s.dataset.group)) taken.set(s.dataset.group, wayFor(s));
    }
    for (const group of ways.keys()) if (!taken.has(group)) taken.set(group, leaves(group)[0]);
    for (const next of sections.slice(sections.indexOf(section))) {
      if (next.dataset.group && !within(next.dataset.tab, taken.get(next.dataset.group) || "")) continue;
      if (next.dataset.state === "ok" || next.dataset.state === "skipped") continue;
      const step = state.runbook.steps.find((s) => s.id === next.dataset.step);
      if (!step) continue;
      next.scrollIntoView({ block: "start" });
      if ((await runStep(next, step, null)) !== "ok") return;
      await renderBar().then(attachRecent);
    }
  }

  // "Skip": asks why, and records it on the session's timeline.
  function skipStep(section, step) {
    if (!state.session) { alertText("Skipping is recorded in an incident session: run a step or start one in the bar first."); return; }
    const reason = el("input", { type: "text", class: "skip-reason", required: true, "aria-label": "Why skip it?",
      placeholder: "e.g. done by hand, does not apply to this region" });
    const dialog = el("dialog", { class: "opsbook-dialog skip-dialog" },
      el("h3", {}, `Skip ${step.id}?`),
      el("form", { method: "dialog" },
        el("label", {}, "Why (on the timeline): ", reason),
        el("button", { value: "cancel", type: "button", onclick: () => dialog.close("cancel") }, "Cancel"),
        el("button", { value: "skip", class: "skip-confirm" }, "Skip step")));
    document.body.append(dialog);
    dialog.addEventListener("close", async () => {
      dialog.remove();
      if (dialog.returnValue !== "skip") return;
      const result = await api(`/api/sessions/${encodeURIComponent(state.session)}/skips`, "POST",
        { runbook: state.runbook.path, step: step.id, reason: reason.value });
      if (!result.ok) { alertText(result.data.error); return; }
      renderBar().then(attachRecent);
    });
    dialog.showModal();
    reason.focus();
  }

  // The panel of a step, made ready for a run: status, Stop, and the previous stream closed.
  function readyPanel(stepId, runId) {
    const panel = state.panels.get(stepId);
    const old = state.streams.get(stepId);
    if (old) old.close();
    state.streams.delete(stepId);
    const status = panel.querySelector(".run-status");
    const stop = panel.querySelector(".run-stop");
    panel.hidden = false;
    panel.dataset.runId = runId;
    panel.dataset.state = "running";
    stop.hidden = false;
    stop.onclick = async () => {
      stop.disabled = true;
      const result = await api(`/api/runs/${runId}/cancel`, "POST");
      if (!result.ok && result.status !== 409) alertText(result.data.error);
    };
    return { panel, status, stop };
  }

  // How a run ended, under its step; "ok" or "failed".
  function showExit(stepId, { panel, status, stop }, exit) {
    state.streams.delete(stepId);
    stop.hidden = true;
    stop.disabled = false;
    const took = exit.duration_ms != null ? ` in ${(exit.duration_ms / 1000).toFixed(1)} s` : "";
    let text = exit.end;
    if (exit.end === "exited") text = exit.code != null ? `exit ${exit.code}` : `signal ${exit.signal}`;
    panel.dataset.state = exit.end === "exited" && exit.code === 0 ? "ok" : "failed";
    status.textContent = text + took;
    renderBar().then(attachRecent);
    return panel.dataset.state;
  }

  // Shows a run's output under its step (as text, or drawn in a terminal for a run that had
  // one); resolves with "ok" or "failed" when it ends.
  async function attach(stepId, runId, running, terminal) {
    if (!state.panels.get(stepId)) return "not-run";
    const term = terminal ? await openTerminal(stepId) : null;
    const parts = readyPanel(stepId, runId);
    const pre = parts.panel.querySelector(".run-output");
    if (!term) {
      pre.hidden = false;
      pre.replaceChildren();
      closeTerminal(stepId);
    }
    parts.status.textContent = running ? "running…" : "";
    const style = {};
    const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events`);
    state.streams.set(stepId, source);
    source.addEventListener("output", (event) => {
      const chunk = JSON.parse(event.data);
      parts.status.textContent = "running…";
      if (term) { term.write(chunk.text); return; }
      const following = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
      const target = chunk.stream === "stdout" ? pre : el("span", { class: `stream-${chunk.stream}` });
      appendAnsi(target, chunk.text, style);
      if (target !== pre) pre.append(target);
      if (following) pre.scrollTop = pre.scrollHeight;
    });
    return new Promise((resolve) => {
      source.addEventListener("exit", (event) => {
        source.close();
        resolve(showExit(stepId, parts, JSON.parse(event.data)));
      });
    });
  }

  // ---- The browser terminal (xterm.js, loaded on first use).
  let xtermLoading = null;
  function loadXterm() {
    const script = (src) => new Promise((resolve, reject) => {
      document.head.append(el("script", { src, onload: resolve, onerror: reject }));
    });
    if (!xtermLoading) {
      document.head.append(el("link", { rel: "stylesheet", href: "/__opsbook/xterm/xterm.css" }));
      xtermLoading = script("/__opsbook/xterm/xterm.js").then(() => script("/__opsbook/xterm/addon-fit.js"));
    }
    return xtermLoading;
  }

  function closeTerminal(stepId) {
    const term = state.terminals.get(stepId);
    if (term) term.dispose();
    state.terminals.delete(stepId);
    const host = state.panels.get(stepId)?.querySelector(".run-terminal");
    if (host) host.remove();
  }

  // A fresh terminal in the step's panel, sized to it.
  async function openTerminal(stepId) {
    await loadXterm();
    const panel = state.panels.get(stepId);
    closeTerminal(stepId);
    panel.hidden = false;
    panel.querySelector(".run-output").hidden = true;
    const host = el("div", { class: "run-terminal" });
    panel.append(host);
    const term = new window.Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000,
      screenReaderMode: true, fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" });
    const fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(host);
    fit.fit();
    term.fitToPanel = () => fit.fit();
    state.terminals.set(stepId, term);
    return term;
  }

  // The live terminal of a run: keys and resizes go to its pty, its screen comes back.
  // Closing the page ends the run, as Stop does.
  function attachTerminal(stepId, runId, term) {
    const parts = readyPanel(stepId, runId);
    parts.status.textContent = "running in the terminal below…";
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/runs/${encodeURIComponent(runId)}/terminal`);
    socket.binaryType = "arraybuffer";
    state.streams.set(stepId, socket);
    const send = (message) => { if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)); };
    const typed = term.onData((data) => send({ type: "input", data }));
    const resized = term.onResize(({ cols, rows }) => send({ type: "resize", cols, rows }));
    const refit = () => term.fitToPanel();
    window.addEventListener("resize", refit);
    term.focus();
    return new Promise((resolve) => {
      let done = false;
      socket.addEventListener("message", (event) => {
        if (typeof event.data !== "string") { term.write(new Uint8Array(event.data)); return; }
        const message = JSON.parse(event.data);
        if (message.type !== "exit" || done) return;
        done = true;
        typed.dispose();
        resized.dispose();
        window.removeEventListener("resize", refit);
        resolve(showExit(stepId, parts, message));
      });
      socket.addEventListener("close", () => {
        if (done) return;
        done = true;
        parts.status.textContent = "the terminal's connection closed; the run was stopped";
        resolve("failed");
      });
    });
  }

  // After a reload (or on opening a page), show the latest run of each step of this page.
  // ---- Where am I: each step's state in the session, on its card and in "On this page".
  const STATE_TEXT = { "not-run": "not run", running: "running…", ok: "ok", failed: "failed", skipped: "skipped" };

  function showProgress(progress) {
    state.progress = new Map((progress || []).map((p) => [p.step, p]));
    const byHeading = new Map();
    let heading = null;
    for (const node of document.querySelectorAll("main h1[id], main h2[id], main h3[id], main h4[id], section.step[data-step]")) {
      if (node.matches("section.step")) {
        const step = state.progress.get(node.dataset.step) || { state: "not-run" };
        const header = node.querySelector(".step-header");
        let badge = header && header.querySelector(".step-state");
        if (header && !badge) {
          badge = el("span", { class: "step-state" });
          header.append(badge);
        }
        if (badge) {
          badge.className = `step-state state-${step.state}`;
          const detail = step.state === "ok" ? ` ${step.at} · ${step.by}`
            : step.state === "failed" || step.state === "skipped" ? ` (${step.result}, ${step.at} · ${step.by})` : "";
          badge.textContent = STATE_TEXT[step.state] + detail;
        }
        // A finished step runs again with the same values (pre-filled, editable).
        const run = header && header.querySelector("button[data-run='step']");
        if (run) run.textContent = step.state === "ok" || step.state === "failed" ? "↻ Run again" : "▶ Run";
        node.dataset.state = step.state;
        if (heading) (byHeading.get(heading) || byHeading.set(heading, []).get(heading)).push(step.state);
      } else {
        heading = node.id;
      }
    }
    for (const link of document.querySelectorAll("aside.toc a[href^='#']")) {
      const states = byHeading.get(decodeURIComponent(link.getAttribute("href").slice(1)));
      link.classList.remove("toc-ok", "toc-failed", "toc-running", "toc-skipped");
      if (!states) continue;
      if (states.includes("failed")) link.classList.add("toc-failed");
      else if (states.includes("running")) link.classList.add("toc-running");
      else if (states.every((s) => s === "skipped")) link.classList.add("toc-skipped");
      else if (states.every((s) => s === "ok" || s === "skipped")) link.classList.add("toc-ok");
    }
  }

  // Keys: n the next step not done yet, r run the focused step, ? this list.
  const KEYS = "n   go to the next step not done yet\nr   run the focused step\ns   skip the focused step\n" +
    "c   continue from the focused step\n/   search\n?   these keys";

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable)) return;
    if (document.querySelector("dialog[open]")) return;
    const steps = [...document.querySelectorAll("section.step[data-step]")];
    const focused = document.activeElement && document.activeElement.closest("section.step[data-step]");
    if (event.key === "n" && steps.length) {
      const from = focused ? steps.indexOf(focused) + 1 : 0;
      const order = steps.slice(from).concat(steps.slice(0, from));
      const next = order.find((s) => s.dataset.state !== "ok" && s.dataset.state !== "skipped") || null;
      if (!next) return;
      event.preventDefault();
      next.tabIndex = -1;
      next.focus();
      next.scrollIntoView({ block: "start" });
    } else if (event.key === "r" && focused) {
      const run = focused.querySelector("button[data-run='step']");
      if (run) { event.preventDefault(); run.click(); }
    } else if ((event.key === "s" || event.key === "c") && focused) {
      const button = focused.querySelector(event.key === "s" ? ".run-skip" : ".run-continue");
      if (button) { event.preventDefault(); button.click(); }
    } else if (event.key === "?") {
      event.preventDefault();
      showText("Keys", KEYS);
    }
  }

  async function attachRecent() {
    if (!state.session || !state.runbook) return;
    const view = await api(`/api/sessions/${encodeURIComponent(state.session)}`);
    if (!view.ok) return;
    showProgress((view.data.progress || {})[state.runbook.path]);
    const latest = new Map();
    for (const run of view.data.runs) {
      if (run.runbook === state.runbook.path) latest.set(run.step, run);
    }
    for (const [stepId, run] of latest) {
      // "Run again" takes the values the latest run had, unless the engineer changed them.
      const section = document.querySelector(`section.step[data-step="${CSS.escape(stepId)}"]`);
      for (const [name, value] of Object.entries(run.inputs || {})) {
        const input = section && section.querySelector(`.run-inputs input[name="${CSS.escape(name)}"]`);
        if (input && !input.dataset.touched) input.value = value;
      }
      if (state.panels.get(stepId)?.dataset.runId === run.run_id) continue;
      attach(stepId, run.run_id, run.running, run.terminal);
    }
  }

  function connectReload() {
    const source = new EventSource("/api/reload");
    state.reload = source;
    source.addEventListener("reload", (event) => {
      const { path } = JSON.parse(event.data);
      const here = decodeURIComponent(location.pathname).replace(/^\//, "") || "index.html";
      if (path === "*" || path === here || here === "index.html") location.reload();
    });
  }

  async function init() {
    const info = await api("/api/book");
    if (!info.ok) return;
    state.info = info.data;
    state.runbook = await currentRunbook();
    buildBar();
    const params = new URL(location.href).searchParams;
    const wanted = params.get("session");
    if (state.runbook) {
      for (const section of document.querySelectorAll("section.step[data-step]")) {
        const step = state.runbook.steps.find((s) => s.id === section.dataset.step);
        if (step) enhance(section, step);
        // When it last ran in an incident (any session of the store).
        const last = (state.runbook.last_runs || {})[section.dataset.step];
        if (last) {
          const when = new Date(last.at).toISOString().replace("T", " ").slice(0, 16) + " UTC";
          section.querySelector(".risk-reason").after(el("p", { class: "last-run" },
            `last run in an incident: ${when} by ${last.by}, ${last.result} (${last.session_id})`));
        }
      }
    }
    connectReload();
    document.addEventListener("keydown", onKey);
    if (wanted === "new") {
      state.session = null;
      await renderBar();
      showNewSession();
      return;
    }
    state.session = wanted || localStorage.getItem(SESSION_KEY);
    await renderBar();
    fillRemembered();
    attachRecent();
    connectSession();
  }

  // Leaving the page closes its streams: browsers allow six connections to one server, and a
  // page kept for the back button would otherwise hold its streams open.
  window.addEventListener("pagehide", () => {
    for (const source of state.streams.values()) source.close();
    state.streams.clear();
    if (state.live) state.live.close();
    if (state.reload) state.reload.close();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
