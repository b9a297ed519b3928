// opsbook's default page script. Everything here is an enhancement: the pages read the same
// without JavaScript (the Copy buttons and the theme toggle stay hidden then).
(function () {
  "use strict";
  // When CI last verified a step (`[opsbook] freshness`): the date the build wrote, said as how
  // long ago when the page is read.
  document.querySelectorAll(".freshness time[datetime]").forEach(function (time) {
    var ms = Date.now() - Date.parse(time.getAttribute("datetime"));
    if (!(ms >= 0)) { return; }
    var minutes = Math.floor(ms / 60000), hours = Math.floor(minutes / 60), days = Math.floor(hours / 24);
    var ago = days > 0 ? days + (days === 1 ? " day" : " days") : hours > 0 ? hours + (hours === 1 ? " hour" : " hours")
      : minutes > 0 ? minutes + (minutes === 1 ? " minute" : " minutes") : "";
    time.title = time.textContent;
    time.textContent = ago ? ago + " ago" : "just now";
  });
  var root = document.documentElement;

  // Light and dark: the toggle overrides the system preference, and is remembered.
  function applyTheme(theme) {
    root.dataset.theme = theme;
    var light = document.getElementById("hl-light"), dark = document.getElementById("hl-dark");
    if (light && dark) {
      light.media = theme === "dark" ? "not all" : theme === "light" ? "all" : "(prefers-color-scheme: light)";
      dark.media = theme === "dark" ? "all" : theme === "light" ? "not all" : "(prefers-color-scheme: dark)";
    }
  }
  function currentTheme() {
    if (root.dataset.theme === "light" || root.dataset.theme === "dark") { return root.dataset.theme; }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  applyTheme(root.dataset.theme || "auto");
  var toggle = document.getElementById("theme-toggle");
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      applyTheme(next);
      try { localStorage.setItem("opsbook-theme", next); } catch (e) {}
    });
  }

  // A large book's sidebar comes from assets/nav.js, shared by every page.
  var navList = document.getElementById("nav-list");
  if (navList && window.opsbookNav) {
    var active = navList.dataset.active;
    var base = document.body.dataset.root || "";
    var fragment = document.createDocumentFragment();
    window.opsbookNav.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "nav-depth-" + item.depth + (item.href === active ? " active" : "");
      if (item.href) {
        var a = document.createElement("a");
        a.href = base + item.href;
        a.textContent = item.title;
        if (item.href === active) { a.setAttribute("aria-current", "page"); }
        li.appendChild(a);
      } else {
        var span = document.createElement("span");
        span.className = "nav-folder";
        span.textContent = item.title;
        li.appendChild(span);
      }
      fragment.appendChild(li);
    });
    navList.textContent = "";
    navList.appendChild(fragment);
    var current = navList.querySelector(".active");
    if (current && current.scrollIntoView) { current.scrollIntoView({ block: "nearest" }); }
  }

  // Copy buttons: a step's whole script, or one command, exactly as written.
  function copyText(text, button) {
    function done() {
      button.classList.add("copied");
      button.textContent = "Copied";
      setTimeout(function () { button.classList.remove("copied"); button.textContent = "Copy"; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) {}
    document.body.removeChild(area);
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var scope = button.closest(button.dataset.copy === "step" ? ".step" : ".command");
      var codes = scope ? scope.querySelectorAll(button.dataset.copy === "step" ? ".command code" : "code") : [];
      var text = Array.prototype.map.call(codes, function (code) { return code.textContent; }).join("\n");
      button.dataset.copied = text;
      copyText(text, button);
    });
  });

  // Search: pagefind's index, loaded on first use. From file:// it cannot load; say so.
  var input = document.getElementById("search-input");
  var results = document.getElementById("search-results");
  var offline = document.getElementById("search-offline");
  if (!input) { return; }
  if (input.form) { input.form.addEventListener("submit", function (event) { event.preventDefault(); }); }
  var base = document.body.dataset.root || "";
  var pagefind = null;
  function loadPagefind() {
    if (pagefind) { return pagefind; }
    if (location.protocol === "file:") { return Promise.reject(new Error("file")); }
    var rootUrl = new URL(base || "./", location.href);
    pagefind = import(new URL("pagefind/pagefind.js", rootUrl).href).then(function (module) {
      // Result URLs are relative to the site's root, wherever it is served from.
      var ready = module.options ? module.options({ baseUrl: rootUrl.pathname }) : null;
      return Promise.resolve(ready).then(function () { return module.init ? module.init() : null; }).then(function () { return module; });
    });
    return pagefind;
  }
  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }
  var pending = 0;
  input.addEventListener("input", function () {
    var query = input.value.trim();
    var ticket = ++pending;
    if (!query) { results.hidden = true; results.innerHTML = ""; return; }
    // `severity:SEV1`, `service:api`, `tag:db` narrow the search to runbooks with that front matter.
    var filters = {};
    var words = query.split(/\s+/).filter(function (word) {
      var match = /^(severity|service|tag):(.+)$/i.exec(word);
      if (match) { filters[match[1].toLowerCase()] = match[2]; }
      return !match;
    });
    var terms = words.join(" ") || null;
    loadPagefind().then(function (pf) {
      var options = { filters: filters };
      return pf.debouncedSearch ? pf.debouncedSearch(terms, options) : pf.search(terms, options);
    }).then(function (search) {
      if (!search || ticket !== pending) { return; }
      return Promise.all(search.results.slice(0, 8).map(function (r) { return r.data(); })).then(function (pages) {
        if (ticket !== pending) { return; }
        var html = "";
        var phrase = (terms || "").toLowerCase();
        // Within a page, the sections and steps that hold the whole query come first.
        function score(sub) {
          var excerpt = sub.excerpt || "";
          var plain = excerpt.replace(/<[^>]*>/g, "").toLowerCase();
          return (plain.indexOf(phrase) >= 0 ? 100 : 0) + (excerpt.match(/<mark>/g) || []).length;
        }
        pages.forEach(function (page) {
          var subs = (page.sub_results && page.sub_results.length ? page.sub_results.slice() : [page]);
          subs = subs.map(function (sub, i) { return { sub: sub, i: i, s: score(sub) }; })
            .sort(function (a, b) { return b.s - a.s || a.i - b.i; })
            .map(function (x) { return x.sub; })
            .slice(0, 3);
          subs.forEach(function (sub) {
            html += '<a class="result" href="' + escapeText(sub.url || page.url) + '"><span class="result-title">' +
              escapeText(sub.title || page.meta.title || page.url) + '</span><br><span class="result-excerpt">' +
              (sub.excerpt || page.excerpt || "") + "</span></a>";
          });
        });
        results.innerHTML = html || '<p class="result-excerpt no-match">No match.</p>';
        results.hidden = false;
      });
    }).catch(function () {
      if (offline) { offline.hidden = false; }
    });
  });
  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test((event.target && event.target.tagName) || "");
    if (event.key === "/" && !typing) { event.preventDefault(); input.focus(); }
    if (event.key === "Escape" && document.activeElement === input) { results.hidden = true; input.blur(); }
  });
})();
