// The browser tests' harness: a real `smsdesk dev` (the binary scripts/browser-test.sh built) on a free
// loopback port with its own database, the admin API to set up queues, channels and agents, and Debian's
// Chromium driven by playwright-core with a fresh profile.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(join(process.env.NODE_PATH ?? join(process.cwd(), "node_modules"), "x.js"));
export const { chromium } = require("playwright-core");
export const axePath = require.resolve("axe-core/axe.min.js");

export const ADMIN = "admin-console-tests";

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export async function waitFor(check, what, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** A running `smsdesk dev`; restart() stops it and starts it again on the same port and database. */
export class Dev {
  static async start(args = []) {
    const dev = new Dev();
    dev.args = args;
    dev.dir = mkdtempSync(join(tmpdir(), "smsdesk-console-"));
    dev.port = await freePort();
    dev.base = `http://127.0.0.1:${dev.port}`;
    await dev.spawn();
    return dev;
  }

  async spawn() {
    const bin = process.env.SMSDESK_BIN;
    if (!bin) throw new Error("SMSDESK_BIN is not set (run scripts/browser-test.sh)");
    this.log = "";
    this.child = spawn(
      bin,
      ["dev", "--addr", `127.0.0.1:${this.port}`, "--data", join(this.dir, "smsdesk.db"), "--retry-base-ms", "50", "--sweep-secs", "1", ...(this.args ?? [])],
      { env: { ...process.env, SMSDESK_ADMIN_TOKEN: ADMIN, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child.stdout.on("data", (d) => (this.log += d));
    this.child.stderr.on("data", (d) => (this.log += d));
    this.exited = new Promise((resolve) => this.child.on("exit", resolve));
    await waitFor(async () => (await fetch(`${this.base}/healthz`)).ok, `smsdesk dev on ${this.base}\n${this.log}`);
  }

  async stop() {
    if (!this.child) return;
    this.child.kill("SIGTERM");
    const killed = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(killed);
    this.child = null;
  }

  async restart(whileDown = async () => {}) {
    await this.stop();
    await whileDown();
    await this.spawn();
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async call(path, { method = "GET", body, token = ADMIN } = {}) {
    const response = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error(`${method} ${path}: ${response.status} ${text}`);
      error.status = response.status;
      throw error;
    }
    return json;
  }

  /** Three queues, a sandbox channel with a number for each, and an available agent in each. Support and
   * Billing hand work straight to their agent; Sales offers it first (accept within a minute) and asks for a
   * disposition at wrap-up. */
  async setup() {
    const q1 = await this.call("/v1/queues", { method: "POST", body: { name: "Support", auto_accept: true } });
    const q2 = await this.call("/v1/queues", { method: "POST", body: { name: "Billing", auto_accept: true } });
    const q3 = await this.call("/v1/queues", {
      method: "POST",
      body: {
        name: "Sales", auto_accept: false, refusal_timeout_secs: 60, dispositions: ["Sold", "Not interested"],
        tags: ["upsell", "callback"], disposition_required: true,
      },
    });
    const channel = await this.call("/v1/channels", {
      method: "POST",
      body: {
        name: "Demo",
        provider: "sandbox",
        numbers: [
          { number: "15555550100", type: "geo", description: "Support line", queue: q1.id },
          { number: "15555550200", type: "geo", description: "Billing line", queue: q2.id },
          { number: "15555550300", type: "geo", description: "Sales line", queue: q3.id },
        ],
      },
    });
    const ada = await this.call("/v1/agents", { method: "POST", body: { name: "Ada", queues: [q1.id], capacity: 5 } });
    const bob = await this.call("/v1/agents", { method: "POST", body: { name: "Bob", queues: [q2.id], capacity: 5 } });
    const cleo = await this.call("/v1/agents", { method: "POST", body: { name: "Cleo", queues: [q3.id], capacity: 5 } });
    for (const a of [ada, bob, cleo]) {
      await this.call(`/v1/agents/${a.id}/presence`, { method: "POST", body: { status: "available" }, token: a.token });
    }
    return { q1, q2, q3, channel, ada, bob, cleo, support: "+15555550100", billing: "+15555550200", sales: "+15555550300" };
  }

  /** The sandbox reports on a text it sent (its `provider_message_id`): `delivered`, `undelivered`, ... */
  async receipt(setup, providerMessageId, status) {
    await this.call(`/webhooks/sandbox/${setup.channel.id}`, { method: "POST", body: { receipt: { id: providerMessageId, status } } });
  }

  /** The customer `from` texts `to` (the sandbox plays the provider). */
  async text(setup, from, to, text) {
    await this.call("/v1/sandbox/inbound", { method: "POST", body: { channel_id: setup.channel.id, from, to, text } });
  }
}

/** Chromium with a fresh profile and the flags the test command promises. The page's Content-Security-Policy
 * holds, as in an agent's browser: a picture, a video or a script it would block fails the tests. */
export async function browser(viewport = { width: 1280, height: 720 }) {
  const profile = mkdtempSync(join(tmpdir(), "smsdesk-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.SMSDESK_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function signIn(page, base, token) {
  await page.goto(base + "/");
  await page.getByLabel("Your API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#live[data-state=live]").waitFor();
}

/** axe-core's serious and critical violations on the page as it is. */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol, which the page's policy does not govern (a <script> tag would
  // be refused, as it should be).
  await page.evaluate(readFileSync(axePath, "utf8"));
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
