// How long the dashboard's first page takes to become interactive, for `make bench`: from the
// start of navigation to the moment the Endpoint page shows the router's status and its key
// form takes input, each round in a fresh browser context (nothing cached). The moment is
// taken in the page itself (a mutation observer installed before any script runs), so the
// driver's polling adds nothing. Prints {"samples": [ms, …]} on stdout.
//
// usage: node e2e/first_page.mjs BASE_URL [ROUNDS]
import { chromium } from "playwright-core";

const [base, roundsArg] = process.argv.slice(2);
if (!base) throw new Error("usage: first_page.mjs BASE_URL [ROUNDS]");
const rounds = Number(roundsArg ?? 10);

// Runs in the page before its own scripts: notes when both the status and an enabled key-name
// input are in the document.
function watchForInteractive() {
  const ready = () => {
    const status = document.querySelector("[data-testid=server-status]");
    const input = document.getElementById("key-name");
    return status !== null && input instanceof HTMLInputElement && !input.disabled;
  };
  const observer = new MutationObserver(() => {
    if (ready()) {
      window.__interactiveAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true });
}

const browser = await chromium.launch({
  executablePath: process.env.NINEROUTER_BROWSER ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const samples = [];
try {
  // One round more than asked: the first pays for the browser's own start.
  for (let round = 0; round <= rounds; round++) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    await context.addInitScript(watchForInteractive);
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/`);
    await page.waitForFunction(() => typeof window.__interactiveAt === "number", null, {
      timeout: 10_000,
    });
    const at = await page.evaluate(() => window.__interactiveAt);
    if (round > 0) samples.push(at);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ samples }));
