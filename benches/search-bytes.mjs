// Bytes a browser fetches to answer one search query: opsbook's pagefind index against mdBook's
// searchindex. Usage: node benches/search-bytes.mjs OPSBOOK_SITE MDBOOK_SITE "query"
// Serves both folders on 127.0.0.1, drives Debian's chromium with playwright-core, types the
// query into each site's search box, and sums the sizes of the search resources it loaded
// (uncompressed: the server sends files as they are).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
// playwright-core from the folder benches/site.sh installed it into (ESM ignores NODE_PATH).
const { chromium } = await import(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [opsbookDir, mdbookDir, query] = process.argv.slice(2);
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm" };

function serve(root) {
  const server = http.createServer((req, res) => {
    let rel = decodeURIComponent(new URL(req.url, "http://x").pathname).replace(/^\/+/, "") || "index.html";
    if (rel.endsWith("/")) rel += "index.html";
    const file = path.join(root, rel);
    if (!file.startsWith(path.resolve(root)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end(); return;
    }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function bytesFor(browser, url, search, match) {
  const page = await browser.newPage();
  const sizes = new Map();
  page.on("response", async (response) => {
    if (!match.test(response.url())) return;
    try { sizes.set(response.url(), (await response.body()).length); } catch { /* aborted */ }
  });
  await page.goto(url);
  await search(page);
  await page.waitForTimeout(1500);
  await page.close();
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  return { total, files: sizes.size };
}

const ops = await serve(path.resolve(opsbookDir));
const md = await serve(path.resolve(mdbookDir));
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const opsbook = await bytesFor(browser, `http://127.0.0.1:${ops.address().port}/index.html`, async (page) => {
  await page.fill("#search-input", query);
  await page.waitForSelector("#search-results a.result", { timeout: 30000 });
}, /\/pagefind\//);
const mdbook = await bytesFor(browser, `http://127.0.0.1:${md.address().port}/index.html`, async (page) => {
  // mdBook 0.5 prefixes its ids with `mdbook-`; 0.4 does not.
  await page.keyboard.press("s");
  await page.fill("#mdbook-searchbar, #searchbar", query);
  await page.waitForSelector("#mdbook-searchresults li, #searchresults li", { timeout: 60000 });
}, /searchindex|elasticlunr|searcher|mark\.min/);
await browser.close();
ops.close(); md.close();
console.log(`search bytes for "${query}": opsbook ${opsbook.total} B in ${opsbook.files} files, mdbook ${mdbook.total} B in ${mdbook.files} files, ratio ${(opsbook.total / mdbook.total).toFixed(4)}`);
