// Browser test of the dashboard of a router bound beyond loopback: it asks for a proxy key,
// refuses a wrong one, and with the right one works, live events included.
//
// usage: node e2e/remote.mjs BASE_URL PROXY_KEY
import { chromium } from "playwright-core";

const [base, key] = process.argv.slice(2);
if (!base || !key) throw new Error("usage: remote.mjs BASE_URL PROXY_KEY");
const browser = await chromium.launch({
  executablePath: process.env.NINEROUTER_BROWSER ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 700 } });
  page.setDefaultTimeout(10_000);
  await page.goto(`${base}/dashboard/`);
  await page.getByText("A proxy key is needed").waitFor();
  await page.getByLabel("Proxy key").fill("sk-wrong");
  await page.getByRole("button", { name: "Use key" }).click();
  await page.getByText("A proxy key is needed").waitFor();
  await page.getByLabel("Proxy key").fill(key);
  await page.getByRole("button", { name: "Use key" }).click();
  await page.getByTestId("server-status").filter({ hasText: "reachable from the network" }).waitFor();
  await page.getByRole("link", { name: "Requests" }).click();
  await page.getByText("No requests yet").waitFor();
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "fchat/gpt-4o", messages: [{ role: "user", content: "from afar" }] }),
  });
  if (!r.ok) throw new Error(`the request failed: ${r.status}`);
  // The row arrives through the event stream, which reconnects with the key (and then
  // refreshes what it may have missed).
  await page.getByTestId("request-row").first().waitFor();
  console.log("remote dashboard e2e: ok");
} finally {
  await browser.close();
}
