// The agent console with pictures (issue 14), in a real browser: a customer's MMS shown in the transcript
// through its short-lived link, an agent attaching a picture to a reply that reaches the provider as media,
// a refused file named with the limit it broke, and no attach button where the channel lets agents send
// none. The provider is a fake Twilio on loopback (a real HTTP server): it serves the customer's picture,
// takes the Messages API's sends, and fetches each MediaUrl as Twilio does.
// Run by scripts/browser-test.sh (part of scripts/test).

import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { deflateSync } from "node:zlib";
import { axeViolations, browser, Dev, signIn, waitFor } from "./harness.mjs";

const OUR_NUMBER = "15555550177";

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A real PNG, `width` x `height`, of one colour. */
function png(width, height, [r, g, b]) {
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "ascii");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A real WAV recording: `seconds` of 8 kHz 16-bit mono silence. */
function wav(seconds) {
  const data = Buffer.alloc(Math.round(8000 * seconds) * 2);
  const head = Buffer.alloc(44);
  head.write("RIFF", 0, "ascii");
  head.writeUInt32LE(36 + data.length, 4);
  head.write("WAVEfmt ", 8, "ascii");
  head.writeUInt32LE(16, 16); // the fmt chunk's size
  head.writeUInt16LE(1, 20); // PCM
  head.writeUInt16LE(1, 22); // mono
  head.writeUInt32LE(8000, 24);
  head.writeUInt32LE(16000, 28); // bytes a second
  head.writeUInt16LE(2, 32); // block align
  head.writeUInt16LE(16, 34); // bits a sample
  head.write("data", 36, "ascii");
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

/** A fake Twilio: its Messages API (Basic auth checked, each MediaUrl fetched) and its media host. */
async function fakeTwilio() {
  const account = `AC${randomUUID().replaceAll("-", "")}`;
  const token = randomUUID().replaceAll("-", "");
  const media = new Map(); // path -> { type, body }
  const sends = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString();
    const url = new URL(req.url, "http://x");
    if (req.method === "POST" && url.pathname === `/2010-04-01/Accounts/${account}/Messages.json`) {
      const form = new URLSearchParams(body);
      const fetched = [];
      for (const m of form.getAll("MediaUrl")) {
        const r = await fetch(m);
        fetched.push({ status: r.status, type: r.headers.get("content-type"), size: (await r.arrayBuffer()).byteLength });
      }
      const authOk = req.headers.authorization === `Basic ${Buffer.from(`${account}:${token}`).toString("base64")}`;
      sends.push({ form, fetched, authOk });
      res.writeHead(authOk ? 201 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(authOk ? { sid: `MM${randomUUID().replaceAll("-", "")}`, status: "queued" } : { code: 20003, message: "Authenticate", status: 401 }));
      return;
    }
    const item = media.get(url.pathname);
    if (req.method === "GET" && item) {
      if (item.delayMs) await new Promise((resolve) => setTimeout(resolve, item.delayMs));
      res.writeHead(200, { "content-type": item.type });
      res.end(item.body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    account,
    token,
    base,
    sends,
    /** Serves `body` at `path`, after `delayMs` (a slow carrier's media host). */
    serve(path, type, body, delayMs = 0) {
      media.set(path, { type, body, delayMs });
      return base + path;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("agent console, pictures", () => {
  let dev, twilio, channel, agent;
  before(async () => {
    dev = await Dev.start();
    twilio = await fakeTwilio();
    const queue = await dev.call("/v1/queues", { method: "POST", body: { name: "Pictures", auto_accept: true } });
    channel = await dev.call("/v1/channels", {
      method: "POST",
      body: {
        name: "Twilio MMS",
        provider: "twilio",
        base_url: twilio.base,
        credentials: { account_sid: twilio.account, auth_token: twilio.token },
        numbers: [{ number: OUR_NUMBER, type: "geo", description: "MMS line", queue: queue.id }],
        attachments: { customer: true, agent: true },
        automated_messages_enabled: false,
      },
    });
    agent = await dev.call("/v1/agents", { method: "POST", body: { name: "Mia", queues: [queue.id], capacity: 5 } });
    await dev.call(`/v1/agents/${agent.id}/presence`, { method: "POST", body: { status: "available" }, token: agent.token });
  });
  after(async () => {
    await dev?.close();
    await twilio?.close();
  });

  /** The customer's MMS as Twilio posts it, signed with the account's token over the callback URL. */
  async function mms(from, text, mediaUrls, types = mediaUrls.map(() => "image/png")) {
    const params = [
      ["MessageSid", `MM${randomUUID().replaceAll("-", "")}`],
      ["AccountSid", twilio.account],
      ["From", from],
      ["To", `+${OUR_NUMBER}`],
      ["Body", text],
      ["NumMedia", String(mediaUrls.length)],
      ["SmsStatus", "received"],
      ...mediaUrls.flatMap((u, n) => [[`MediaUrl${n}`, u], [`MediaContentType${n}`, types[n]]]),
    ];
    const signed = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => k + v).join("");
    const signature = createHmac("sha1", twilio.token).update(channel.callback_url + signed).digest("base64");
    const answer = await fetch(`${dev.base}/webhooks/twilio/${channel.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature },
      body: new URLSearchParams(params).toString(),
    });
    assert.equal(answer.status, 200, await answer.text());
  }

  test("a customer's picture shows in the transcript, and an agent's picture goes to the provider as media", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, agent.token);
      const broken = twilio.serve("/media/broken-part.png", "image/png", png(40, 30, [200, 30, 30]));
      await mms("+15555550178", "Here is the broken part", [broken]);
      await page.locator("#items li", { hasText: "+15555550178" }).getByRole("button").click();

      // The customer's picture, loaded through its signed link, its size reserved before it loads.
      const picture = page.locator("#transcript .msg.customer", { hasText: "Here is the broken part" }).locator(".media img");
      await picture.waitFor();
      await waitFor(async () => (await picture.evaluate((img) => img.complete && img.naturalWidth)) === 40, "the picture loaded");
      assert.deepEqual([await picture.getAttribute("width"), await picture.getAttribute("height")], ["40", "30"]);
      assert.match(await picture.getAttribute("alt"), /^Picture from the customer/);
      // The contact's timeline says so, in words.
      await page.locator("#contact-body .timeline li[data-kind=media_received]", { hasText: "Media received" }).waitFor();
      await page.locator("#contact-body .timeline li[data-kind=assigned]", { hasText: "Assigned to you" }).waitFor();

      // A file the channel does not take: refused with the API's reason, nothing sent, removable.
      await page.locator("#attach-button").waitFor();
      await page.locator("#attach-input").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("just text") });
      const refused = page.locator("#attachments li[data-state=refused]", { hasText: "notes.txt" });
      await refused.waitFor();
      assert.match(await refused.textContent(), /refused: .*accepted/, "the API's reason, naming what the channel takes");
      await page.locator("#reply").fill("Thanks, here is the replacement part");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("#reply-error", { hasText: "Remove the refused attachment first" }).waitFor();
      assert.equal(twilio.sends.length, 0, "nothing sent while a refused file is attached");
      await refused.getByRole("button", { name: "Remove notes.txt" }).click();

      // A picture, attached from the keyboard's reach (the Attach button opens the file picker).
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.locator("#attach-button").click()]);
      await chooser.setFiles({ name: "replacement.png", mimeType: "image/png", buffer: png(20, 20, [30, 160, 60]) });
      await page.locator("#attachments li[data-state=ready]", { hasText: "replacement.png" }).waitFor();
      await page.getByRole("button", { name: "Send" }).click();
      const sent = page.locator("#transcript .msg.agent", { hasText: "replacement part" });
      await sent.locator("[data-status=sent]").waitFor();
      await sent.locator(".media img").waitFor();
      assert.equal(await page.locator("#attachments li").count(), 0, "the box is emptied with the reply");
      assert.deepEqual(await axeViolations(page), [], "no serious or critical accessibility violation with pictures shown");
      if (process.env.SMSDESK_SCREENSHOTS) await page.screenshot({ path: `${process.env.SMSDESK_SCREENSHOTS}/console-media.png` });

      const send = await waitFor(() => twilio.sends.find((s) => s.form.get("Body") === "Thanks, here is the replacement part"), "the send at the provider");
      assert.ok(send.authOk, "the account's credentials");
      assert.equal(send.form.getAll("MediaUrl").length, 1, "one MediaUrl");
      assert.deepEqual(send.fetched, [{ status: 200, type: "image/png", size: png(20, 20, [30, 160, 60]).length }], "Twilio could fetch the picture");
    } finally {
      await b.close();
    }
  });

  test("a customer's voice recording plays in the transcript, its link allowed by the page's policy", async () => {
    const b = await browser();
    try {
      const { page } = b;
      const refused = [];
      page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) refused.push(m.text()); });
      await signIn(page, dev.base, agent.token);
      await mms("+15555550179", "I'll send you a voice note", []);
      await page.locator("#items li", { hasText: "+15555550179" }).getByRole("button").click();
      await page.locator("#transcript .msg.customer", { hasText: "voice note" }).waitFor();
      // It comes in while the conversation is open, from a slow media host: the text shows first, the
      // recording as soon as it is kept (a change of the message, heard live; no reload).
      const voice = twilio.serve("/media/voice-note.wav", "audio/x-wav", wav(1.5), 1500);
      await mms("+15555550179", "", [voice], ["audio/x-wav"]);
      const recording = page.locator("#transcript .msg.customer audio.media-item");
      await recording.waitFor();
      assert.match(await recording.getAttribute("aria-label"), /^Recording from the customer/);
      await waitFor(async () => (await recording.evaluate((a) => a.readyState >= 1 && a.duration)) > 1, "the recording's length known (its link loaded)");
      assert.deepEqual(refused, [], "nothing the console shows is refused by its policy");
    } finally {
      await b.close();
    }
  });

  test("where the channel lets agents send no attachment, the reply box offers none", async () => {
    await dev.call(`/v1/channels/${channel.id}`, { method: "PATCH", body: { attachments: { customer: true, agent: false } } });
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, agent.token);
      await mms("+15555550179", "Can you see this?", [twilio.serve("/media/second.png", "image/png", png(10, 10, [0, 0, 200]))]);
      await page.locator("#items li", { hasText: "+15555550179" }).getByRole("button").click();
      await page.locator("#transcript .msg.customer .media img").waitFor();
      const c = await dev.call(`/v1/conversations/${await page.locator("#items li", { hasText: "+15555550179" }).getAttribute("data-id")}`, { token: agent.token });
      assert.equal(c.attachments.allowed, false);
      assert.match(c.attachments.reason, /does not allow agents to send attachments/);
      assert.ok(await page.locator("#attach-button").isHidden(), "no Attach button");
    } finally {
      await b.close();
      await dev.call(`/v1/channels/${channel.id}`, { method: "PATCH", body: { attachments: { customer: true, agent: true } } });
    }
  });
});
