// go.html: the static site's entry point for alerts, as `opsbook serve` answers /go.
// `go.html?alert=NAME&label.namespace=prod` opens the alert's runbook with its labels filling
// the inputs of the same name (alerts.js, written by the build, maps alerts to pages). Works
// from file:// too.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const name = (params.get("alert") || "").trim();
  const alerts = (window.OPSBOOK_ALERTS && window.OPSBOOK_ALERTS.alerts) || {};
  const say = (text) => { document.getElementById("go-message").textContent = text; };
  if (!name) { say("Give the alert: go.html?alert=NAME&label.NAME=VALUE"); return; }
  if (!Object.prototype.hasOwnProperty.call(alerts, name)) {
    const known = Object.keys(alerts);
    say(`No runbook answers alert "${name}".` + (known.length ? ` The book answers: ${known.join(", ")}.` : ""));
    return;
  }
  const link = alerts[name];
  const normal = (s) => s.toLowerCase().replace(/_/g, "-");
  const inputFor = (label) => link.inputs.find((i) => i === label)
    || link.inputs.find((i) => normal(i) === normal(label)) || label;
  const query = [];
  for (const [key, value] of params) {
    if (key.startsWith("label.")) {
      query.push("var." + encodeURIComponent(inputFor(key.slice(6))) + "=" + encodeURIComponent(value));
    }
  }
  let url = link.page + (query.length ? "?" + query.join("&") : "");
  if (link.anchor) url += "#" + encodeURIComponent(link.anchor);
  location.replace(new URL(url, location.href).href);
})();
