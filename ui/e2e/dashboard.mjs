// Browser test of the dashboard against a running NineRouter (started by tests/it/dashboard.rs
// with fake upstreams): keys are created and revoked, requests sent through the router appear
// live in the inspector, filters, pages and the detail drawer work. Screenshots of each page
// go to the directory given as the second argument.
//
// usage: node e2e/dashboard.mjs BASE_URL SCREENSHOT_DIR FAKE_OPENAI_BASE_URL
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots, fakeOpenai] = process.argv.slice(2);
if (!base || !shots || !fakeOpenai) throw new Error("usage: dashboard.mjs BASE_URL SCREENSHOT_DIR FAKE_OPENAI_BASE_URL");
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.NINEROUTER_BROWSER ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const fail = (message) => {
  throw new Error(message);
};
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 700 } });
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  // Endpoint: base URL, status, keys.
  await page.goto(`${base}/dashboard/`);
  await page.getByTestId("base-url").filter({ hasText: base }).waitFor();
  await page.getByTestId("server-status").waitFor();
  await page.getByText("No proxy keys yet").waitFor();
  await page.getByLabel("Name").fill("laptop");
  await page.getByRole("button", { name: "Create key" }).click();
  const shown = await page.getByTestId("new-key").locator("code").textContent();
  if (!shown?.startsWith("sk-nr-")) fail(`the new key is not shown once: ${shown}`);
  await page.getByTestId("key-laptop").waitFor();
  const models = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${shown}` } });
  if (!models.ok) fail(`the created key does not work: ${models.status}`);
  await page.screenshot({ path: join(shots, "endpoint.png"), fullPage: true });
  await page.getByRole("button", { name: "Pause routing" }).click();
  await page.getByTestId("server-status").filter({ hasText: "Paused" }).waitFor();
  const paused = await fetch(`${base}/v1/models`);
  const refused = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fchat/gpt-4o", messages: [{ role: "user", content: "hi" }] }),
  });
  if (!paused.ok || refused.status !== 503) fail(`pause: models ${paused.status}, chat ${refused.status}`);
  await page.getByRole("button", { name: "Resume routing" }).click();
  await page.getByTestId("server-status").filter({ hasText: "Running" }).waitFor();
  page.once("dialog", (d) => void d.accept());
  await page.getByTestId("key-laptop").getByRole("button", { name: "Revoke" }).click();
  await page.getByTestId("key-laptop").waitFor({ state: "detached" });

  // Inspector: empty, then requests appear live (no reload).
  await page.getByRole("link", { name: "Requests" }).click();
  await page.getByText("No requests yet").waitFor();
  const ask = (content, stream = false) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fchat/gpt-4o", stream, messages: [{ role: "user", content }] }),
    }).then((r) => r.text());
  for (let i = 0; i < 11; i++) await ask(`needle-${i}`, i % 2 === 1);
  await page.getByTestId("page-info").filter({ hasText: "11 requests" }).waitFor();
  const rows = page.getByTestId("request-row");
  if ((await rows.count()) !== 11) fail(`expected 11 rows, saw ${await rows.count()}`);
  await page.screenshot({ path: join(shots, "requests.png"), fullPage: true });

  // Pages of 10.
  await page.getByRole("combobox").last().selectOption("10");
  await page.getByTestId("page-info").filter({ hasText: "Page 1 of 2" }).waitFor();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByTestId("page-info").filter({ hasText: "Page 2 of 2" }).waitFor();
  if ((await rows.count()) !== 1) fail(`page 2 should hold one row, saw ${await rows.count()}`);

  // Filter by text, open the drawer, close it with Escape.
  await page.getByLabel("Search").fill("needle-3");
  await page.getByTestId("page-info").filter({ hasText: "1 requests" }).waitFor();
  await rows.first().click();
  await page.getByRole("dialog").waitFor();
  await page.getByTestId("answer").filter({ hasText: "Hello from the fake." }).waitFor();
  await page.getByText("Thinking", { exact: true }).click();
  await page.getByTestId("thinking").filter({ hasText: "Let me think." }).waitFor();
  await page.getByText("2 · Provider request").click();
  await page.screenshot({ path: join(shots, "request-drawer.png"), fullPage: true });
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });

  // Usage: totals and charts of the requests just sent.
  await page.getByRole("link", { name: "Usage" }).click();
  await page.getByTestId("usage-totals").filter({ hasText: "11" }).waitFor();
  await page.locator(".recharts-bar-rectangle").first().waitFor();
  // Groups show the names people gave them (the node's prefix), not internal ids.
  await page.getByTestId("usage-groups").filter({ hasText: "fchat" }).waitFor();
  if ((await page.getByTestId("usage-groups").textContent())?.includes("file-node-")) fail("usage shows an internal id");
  await page.getByLabel("Group by").selectOption("model");
  await page.getByTestId("usage-groups").filter({ hasText: "gpt-4o" }).waitFor();
  await page.screenshot({ path: join(shots, "usage.png"), fullPage: true });

  // A key with limits: one request a minute, one provider's models; then lifted.
  await page.getByRole("link", { name: "Endpoint" }).click();
  await page.getByText("Limits (optional)").click();
  await page.getByLabel("Name").fill("ci");
  await page.getByLabel("Requests per minute").fill("1");
  await page.getByLabel("Models (glob patterns").fill("fchat/*");
  await page.getByRole("button", { name: "Create key" }).click();
  const ciKey = await page.getByTestId("new-key").filter({ hasText: "ci" }).locator("code").textContent();
  await page.getByTestId("key-ci").getByTestId("key-limits").filter({ hasText: "1 req/min · fchat/*" }).waitFor();
  const askAs = (model) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ciKey}` },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
  const limited = [(await askAs("fanth/claude-x")).status, (await askAs("fchat/gpt-4o")).status, (await askAs("fchat/gpt-4o")).status];
  if (limited.join() !== "403,200,429") fail(`the key's limits do not hold: ${limited}`);
  await page.getByTestId("key-ci").getByRole("button", { name: "Edit" }).click();
  await page.getByTestId("key-ci").getByLabel("Requests per minute").fill("");
  await page.getByTestId("key-ci").getByRole("button", { name: "Save" }).click();
  await page.getByTestId("key-ci").getByTestId("key-limits").filter({ hasText: /^fchat\/\*$/ }).waitFor();
  if ((await askAs("fchat/gpt-4o")).status !== 200) fail("a lifted limit still refuses");

  // Models: every routable model with its window and price; a batch test of a selection.
  await page.getByRole("link", { name: "Models" }).click();
  const pro = page.getByTestId("model-gemini/gemini-2.5-pro");
  await pro.getByText("1.05M").waitFor();
  await pro.getByTestId("health").filter({ hasText: "not tested" }).waitFor();
  await page.getByLabel("Filter models").fill("gemini-2.5");
  await page.getByRole("button", { name: "Select all shown" }).click();
  await page.getByRole("button", { name: /Test selected \(2\)/ }).click();
  await pro.getByTestId("health").filter({ hasText: /^ok · \d+ ms/ }).waitFor();
  await page.getByTestId("model-gemini/gemini-2.5-flash").getByTestId("health").filter({ hasText: /^ok/ }).waitFor();
  await page.screenshot({ path: join(shots, "models.png"), fullPage: true });

  // Quota: every account, with a refresh that explains itself for header-only providers.
  await page.getByRole("link", { name: "Quota" }).click();
  const chat = page.getByTestId("quota-file-chat");
  await chat.getByRole("meter", { name: "per minute requests" }).waitFor();
  await chat.getByText(/80 of 500 requests · resets in \d+ s/).waitFor();
  if ((await chat.textContent())?.includes("file-node-")) fail("quota shows an internal id");
  await chat.getByRole("button", { name: "Refresh now" }).click();
  await chat.getByRole("status").filter({ hasText: "rate-limit headers" }).waitFor();
  await page.screenshot({ path: join(shots, "quota.png"), fullPage: true });

  // Settings: a change is saved through the API; the theme applies at once.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByTestId("data-dir").waitFor();
  const limit = page.getByLabel("Requests the inspector keeps");
  await limit.fill("0");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("a whole number, 1 or more").waitFor();
  await limit.fill("500");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  const saved = await (await fetch(`${base}/api/settings`)).json();
  if (saved.observability.inspectorMaxRequests !== 500) fail(`settings not saved: ${JSON.stringify(saved)}`);
  await page.getByLabel("Theme").selectOption("dark");
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== "dark") fail("the theme did not apply");
  // The change just saved is in the audit log, made by the local dashboard.
  await page.reload();
  await page.getByTestId("audit-row").filter({ hasText: "PATCH /api/settings" }).first().waitFor();
  await page.getByTestId("access-state").filter({ hasText: "No dashboard password is set." }).waitFor();
  await page.screenshot({ path: join(shots, "settings.png"), fullPage: true });

  // Combos: create, add from the picker, reorder by keyboard-reachable buttons, strategy,
  // what served it, delete.
  await page.getByRole("link", { name: "Combos" }).click();
  await page.getByText("No combos yet").waitFor();
  await page.getByLabel("New combo").fill("work");
  await page.getByLabel("First model").fill("fchat/gpt-4o");
  await page.getByRole("button", { name: "Create" }).click();
  const combo = page.getByTestId("combo-work");
  await combo.waitFor();
  await combo.getByLabel("Add a model to work").fill("gemini/gemini-2.5-flash");
  await combo.getByRole("button", { name: "Add" }).click();
  const up = combo.getByRole("button", { name: "Move gemini/gemini-2.5-flash up" });
  await up.waitFor();
  await up.focus();
  await page.keyboard.press("Enter");
  await combo.getByRole("button", { name: "Move gemini/gemini-2.5-flash up" }).and(page.locator(":disabled")).waitFor();
  const stored = await (await fetch(`${base}/api/combos/work`)).json();
  if (stored.models.join(",") !== "gemini/gemini-2.5-flash,fchat/gpt-4o") fail(`combo order not saved: ${JSON.stringify(stored)}`);
  await combo.getByLabel("Strategy of work").selectOption("round-robin");
  await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "work", messages: [{ role: "user", content: "hi" }] }),
  }).then((r) => r.text());
  await page.getByTestId("served-work").filter({ hasText: /gemini|fchat/ }).waitFor();
  await combo.getByRole("button", { name: "Make active" }).click();
  await combo.getByText("active · model “default”").waitFor();
  const viaDefault = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "default", messages: [{ role: "user", content: "hi" }] }),
  });
  if (!viaDefault.ok) fail(`the active combo does not serve "default": ${viaDefault.status}`);
  await page.screenshot({ path: join(shots, "combos.png"), fullPage: true });
  page.once("dialog", (d) => void d.accept());
  await combo.getByRole("button", { name: "Delete" }).click();
  await page.getByText("No combos yet").waitFor();

  // Providers: add an API-key account, test it, disable, delete; add a custom node and an
  // account on it; every subscription offers its login (Copilot's is run against the fake GitHub).
  await page.getByRole("link", { name: "Providers" }).click();
  await page.getByTestId("provider-kiro").getByRole("button", { name: "Log in to Kiro (AWS) with Google" }).waitFor();
  await page.getByTestId("provider-codex").getByRole("button", { name: "Import from Codex CLI" }).waitFor();
  await page.getByTestId("provider-codex").getByRole("button", { name: "Log in to OpenAI Codex (Plus/Pro)" }).waitFor();
  await page.getByTestId("provider-qwen").getByText("free offer ended 2026-04-15").waitFor();
  await page.getByTestId("provider-qwen").getByRole("button", { name: "Log in to Qwen" }).waitFor();
  await page.getByTestId("provider-claude").getByRole("button", { name: "Log in to Claude (Pro/Max)" }).waitFor();
  const copilot = page.getByTestId("provider-github");
  await copilot.getByRole("button", { name: "Log in to GitHub Copilot" }).click();
  await copilot.getByText("WDJB-MJHT").waitFor();
  await copilot.getByText("Waiting for you to approve").waitFor();
  await page.screenshot({ path: join(shots, "copilot-login.png"), fullPage: true });
  await copilot.getByText("Logged in as octocat.").waitFor({ timeout: 15000 });
  await copilot.getByTestId("account-octocat").waitFor();
  const openai = page.getByTestId("provider-openai");
  await openai.getByRole("button", { name: "Add account to OpenAI" }).click();
  await openai.getByLabel("Account name").fill("work-key");
  await openai.getByLabel("API key").fill("sk-test-12345678");
  await openai.getByLabel("Base URL (optional)").fill(fakeOpenai);
  await openai.getByRole("button", { name: "Add", exact: true }).click();
  const account = page.getByTestId("account-work-key");
  await account.getByText("active").waitFor();
  await account.getByRole("button", { name: "Test" }).click();
  await account.getByRole("status").filter({ hasText: "connected; 2 models listed" }).waitFor();
  await account.getByText("Models").click();
  await account.getByText("gpt-5").waitFor();
  // A proxy for the account: shown with its password masked, then cleared.
  await account.getByRole("button", { name: "Use a proxy" }).click();
  await account.getByLabel("Proxy for work-key").fill("http://me:pw-123456@127.0.0.1:3128");
  await account.getByRole("button", { name: "Save proxy" }).click();
  await account.getByText("http://me:***@127.0.0.1:3128/").waitFor();
  if ((await account.textContent())?.includes("pw-123456")) fail("the proxy password is shown");
  await account.getByRole("button", { name: "Change proxy" }).click();
  await account.getByRole("button", { name: "Save proxy" }).click();
  await account.getByText("direct (or the system proxy)").waitFor();
  await account.getByRole("button", { name: "Disable" }).click();
  await account.getByText("disabled").waitFor();
  await account.getByRole("button", { name: "Enable" }).waitFor();
  await page.getByTestId("node-fchat").getByText("chat").first().waitFor();
  await page.getByLabel("Node name").fill("Local");
  await page.getByLabel("Prefix").fill("loc");
  await page.getByLabel("Node base URL").fill(fakeOpenai);
  await page.getByRole("button", { name: "Add node" }).click();
  const node = page.getByTestId("node-loc");
  await node.getByRole("button", { name: "Add account to Local" }).click();
  await node.getByLabel("Account name").fill("loc-key");
  await node.getByLabel("API key").fill("sk-local-12345678");
  await node.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByTestId("account-loc-key").getByText("active").waitFor();
  const viaNode = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "loc/gpt-4o", messages: [{ role: "user", content: "hi" }] }),
  });
  if (!viaNode.ok) fail(`the new node does not route: ${viaNode.status}`);
  await page.screenshot({ path: join(shots, "providers.png"), fullPage: true });
  page.once("dialog", (d) => void d.accept());
  await account.getByRole("button", { name: "Delete" }).click();
  await account.waitFor({ state: "detached" });

  // A node whose endpoint is down: after a few failures in a row its circuit opens, and
  // the page says so without a reload.
  await page.getByLabel("Node name").fill("Dead");
  await page.getByLabel("Prefix").fill("dead");
  await page.getByLabel("Node base URL").fill("http://127.0.0.1:9/v1");
  await page.getByRole("button", { name: "Add node" }).click();
  const dead = page.getByTestId("node-dead");
  await dead.getByRole("button", { name: "Add account to Dead" }).click();
  await dead.getByLabel("Account name").fill("dead-key");
  await dead.getByLabel("API key").fill("sk-dead-12345678");
  await dead.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByTestId("account-dead-key").waitFor();
  const health = dead.locator('[data-testid^="health-"]');
  for (let i = 0; i < 40 && !(await health.isVisible()); i++) {
    await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "dead/m", messages: [{ role: "user", content: "hi" }] }),
    });
    await new Promise((r) => setTimeout(r, 100));
  }
  await health.filter({ hasText: "failures in a row" }).waitFor();

  // Tools: a diff first, then the tool's own file is written, then put back.
  await page.getByRole("link", { name: "Tools" }).click();
  const claude = page.getByTestId("tool-claude-code");
  await claude.getByTestId("tool-state").filter({ hasText: "Not installed" }).waitFor();
  await claude.getByLabel("Model").fill("fchat/gpt-4o");
  await claude.getByRole("button", { name: "Preview" }).click();
  await claude.getByTestId("tool-preview").locator("pre.diff").filter({ hasText: "ANTHROPIC_BASE_URL" }).waitFor();
  await page.screenshot({ path: join(shots, "tools.png"), fullPage: true });
  await claude.getByRole("button", { name: "Apply" }).click();
  await claude.getByRole("status").filter({ hasText: "Claude Code now uses NineRouter" }).waitFor();
  await claude.getByTestId("tool-state").filter({ hasText: "Uses NineRouter" }).waitFor();
  await claude.getByRole("button", { name: "Restore" }).click();
  await claude.getByRole("status").filter({ hasText: "Restored" }).waitFor();

  // Moving a setup: a clear error for a router that is not there; an encrypted export.
  await page.getByRole("link", { name: "Settings" }).click();
  const peer = page.getByTestId("import-peer");
  await peer.getByLabel("Where").fill("/nonexistent/9router");
  await peer.getByRole("button", { name: "Preview" }).click();
  await peer.getByRole("alert").filter({ hasText: "nothing at /nonexistent/9router" }).waitFor();
  const exporting = page.getByTestId("export-setup");
  await exporting.getByLabel("Passphrase", { exact: true }).fill("correct horse battery");
  await exporting.getByLabel("Passphrase again").fill("correct horse battery");
  const download = page.waitForEvent("download");
  await exporting.getByRole("button", { name: "Export" }).click();
  const file = await download;
  if (!file.suggestedFilename().endsWith(".age")) fail(`the export is named ${file.suggestedFilename()}`);
  await exporting.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  const sync = page.getByTestId("sync-folder");
  const syncDir = join(shots, `sync-${Date.now()}`);
  mkdirSync(syncDir);
  await sync.getByLabel("Sync folder").fill(syncDir);
  await sync.getByLabel("Sync passphrase").fill("correct horse battery");
  await sync.getByLabel("This machine's name").fill("e2e");
  await sync.getByRole("button", { name: "Start syncing" }).click();
  await sync.getByText("This machine (e2e) keeps its setup in").waitFor();
  await sync.getByText("No other machine has a copy there yet.").waitFor();
  await page.screenshot({ path: join(shots, "settings-move-in.png"), fullPage: true });
  await sync.getByRole("button", { name: "Stop syncing" }).click();
  await sync.getByLabel("Sync folder").waitFor();

  // A thousand requests on one page: only the rows in view are in the page, and it scrolls
  // to the end.
  for (let sent = 0; sent < 1000; sent += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => ask(`bulk-${sent + i}`)));
  }
  await page.getByRole("link", { name: "Requests" }).click();
  await page.getByTestId("page-info").waitFor();
  await page.getByLabel("per page").selectOption("1000");
  const scroller = page.getByTestId("request-scroller");
  await scroller.waitFor();
  const inView = page.getByTestId("request-row");
  const count = await inView.count();
  if (count < 10 || count > 120) fail(`a page of 1000 puts ${count} rows in the page`);
  await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="request-scroller"]');
    return el !== null && el.scrollTop > 0;
  });
  await inView.last().waitFor();
  if ((await inView.count()) > 120) fail("scrolling put every row in the page");
  await page.screenshot({ path: join(shots, "requests-1000.png") });

  if (errors.length > 0) fail(`the page threw: ${errors.join("; ")}`);
  console.log("dashboard e2e: ok");
} finally {
  await browser.close();
}
