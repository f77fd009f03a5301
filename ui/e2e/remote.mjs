// Browser test of the dashboard of a router bound beyond loopback: it asks for the dashboard
// password, takes neither a proxy key nor a wrong password, and with the right one works, live
// events included; the session cookie is HttpOnly.
//
// usage: node e2e/remote.mjs BASE_URL PROXY_KEY PASSWORD
import { chromium } from "playwright-core";

const [base, key, password] = process.argv.slice(2);
if (!base || !key || !password) throw new Error("usage: remote.mjs BASE_URL PROXY_KEY PASSWORD");
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
  await page.getByText("Log in to manage NineRouter").waitFor();
  await page.getByRole("button", { name: "Use an admin token" }).click();
  await page.getByLabel("Admin token").fill(key);
  await page.getByRole("button", { name: "Log in" }).click();
  // A proxy key is refused like any wrong token: the form comes back, asking for the password.
  await page.getByLabel("Dashboard password").waitFor();
  await page.getByLabel("Dashboard password").fill("not-the-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("wrong password").waitFor();
  await page.getByLabel("Dashboard password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByTestId("server-status").filter({ hasText: "reachable from the network" }).waitFor();
  const cookies = await page.evaluate(() => document.cookie);
  if (cookies.includes("nr_session")) throw new Error("the session cookie is readable by the page");
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
