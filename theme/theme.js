// Before the first paint: the reader's saved choice of light or dark, else the system's.
// A file of its own (not inline) so that pages can carry a Content-Security-Policy without
// inline script.
(function () {
  try {
    var saved = localStorage.getItem("opsbook-theme");
    if (saved === "light" || saved === "dark") { document.documentElement.dataset.theme = saved; }
  } catch (e) {}
})();
