// The agent console in a real browser: what an agent or supervisor runs into over a working day, beyond the
// main flows of console.test.mjs: a nervous double Ctrl+Enter, two transfers in a row, an action refused
// while the reply box is hidden, a supervisor's own work list (and the waiting work they give or move), and a
// page whose socket never connects.
// Run by scripts/browser-test.sh (part of scripts/test).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { browser, Dev, signIn, waitFor } from "./harness.mjs";

describe("agent console, a working day", () => {
  let dev, setup;
  before(async () => {
    dev = await Dev.start();
    setup = await dev.setup();
  });
  after(async () => {
    await dev?.close();
  });

  /** `customer`'s conversation, once it is in `token`'s work items. */
  async function conversationOf(token, customer) {
    return waitFor(async () => (await dev.call("/v1/work-items", { token })).items.find((i) => i.customer === customer), `${customer}'s conversation`);
  }

  test("Ctrl+Enter pressed twice sends the reply once, without the line breaks it ends with", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.ada.token);
      await dev.text(setup, "+15555550131", setup.support, "Is anyone there?");
      const item = page.locator("#items li", { hasText: "+15555550131" });
      await item.getByRole("button").click();
      await page.locator("#transcript .msg.customer", { hasText: "Is anyone there?" }).waitFor();
      await page.locator("#reply").fill("Yes, I am here.\n\n");
      await page.locator("#reply").press("Control+Enter");
      await page.locator("#reply").press("Control+Enter");
      await page.locator("#transcript .msg.agent", { hasText: "Yes, I am here." }).locator("[data-status=sent]").waitFor();
      const id = await item.getAttribute("data-id");
      // Both presses have been answered once the box is empty and Send is usable again.
      await waitFor(async () => (await page.locator("#reply").inputValue()) === "", "the reply box emptied");
      await page.locator("#reply").fill("And a second, different reply");
      await page.locator("#send:not([disabled])").waitFor();
      const outbound = (await dev.call(`/v1/conversations/${id}`)).messages.filter((m) => m.direction === "outbound" && m.author === "agent");
      assert.deepEqual(outbound.map((m) => m.text), ["Yes, I am here."], "one reply, as typed without its trailing line breaks");
      const outbox = await dev.call("/v1/sandbox/outbox");
      const sent = outbox.items.filter((m) => m.to === "+15555550131" && m.text.startsWith("Yes, I am here."));
      assert.deepEqual(sent.map((m) => m.text), ["Yes, I am here."], "the sandbox provider got it once, trimmed");
    } finally {
      await b.close();
    }
  });

  test("each transfer starts with an empty note; picking an agent sends it as an agent", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.ada.token);
      await dev.text(setup, "+15555550132", setup.support, "First customer");
      await dev.text(setup, "+15555550133", setup.support, "Second customer");
      const first = page.locator("#items li", { hasText: "+15555550132" });
      const second = page.locator("#items li", { hasText: "+15555550133" });
      await first.getByRole("button").click();
      await page.locator("#conv-title", { hasText: "+15555550132" }).waitFor();
      // The second customer's text is still unread: the page's title says so, for an agent in another tab.
      await waitFor(async () => (await page.title()) === "(1) smsdesk console", "the unread count in the title");
      await page.locator("#transfer-button").click();
      await page.getByLabel("Note for whoever takes it").fill("Refund for order 1234");
      await page.locator("#transfer-cancel").click();
      await second.getByRole("button").click();
      await page.locator("#conv-title", { hasText: "+15555550133" }).waitFor();
      await page.locator("#transfer-button").click();
      assert.equal(await page.getByLabel("Note for whoever takes it").inputValue(), "", "no note carried over from another customer");
      // Bob, picked from the list while "A queue" is still chosen: it goes to Bob, as an agent.
      assert.ok(await page.getByLabel("A queue").isChecked());
      await page.getByLabel("Queue or agent id").fill(setup.bob.id);
      assert.ok(await page.getByLabel("An agent").isChecked(), "the kind follows the target picked");
      await page.getByLabel("Note for whoever takes it").fill("Asked for Bob");
      await page.locator("#transfer-submit").click();
      await waitFor(async () => (await second.count()) === 0, "the transferred conversation leaving Ada's list");
      await conversationOf(setup.bob.token, "+15555550133");
      // Gone from Ada's sight, it is not listed as closed either.
      await page.getByRole("tab", { name: /Closed/ }).click();
      await page.waitForTimeout(500);
      assert.equal(await page.locator("#items li", { hasText: "+15555550133" }).count(), 0, "a transferred conversation is not 'closed'");
    } finally {
      await b.close();
    }
  });

  test("an offer that is a transfer says so, with the colleague's note, before it is accepted", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.ada.token);
      // Cleo takes a Sales conversation (Sales offers first) and hands it to Ada with a note.
      await dev.text(setup, "+15555550138", setup.sales, "Can I get a quote?");
      const offered = await conversationOf(setup.cleo.token, "+15555550138");
      await dev.call(`/v1/conversations/${offered.conversation_id}/accept`, { method: "POST", token: setup.cleo.token });
      await dev.call(`/v1/conversations/${offered.conversation_id}/transfer`, {
        method: "POST",
        token: setup.cleo.token,
        body: { agent_id: setup.ada.id, note: "Wants a quote for 40 seats" },
      });
      const banner = page.locator("#offer-list li", { hasText: "+15555550138" });
      await banner.locator(".offer-text", { hasText: "Transferred to you" }).waitFor();
      await banner.locator(".offer-text", { hasText: "Wants a quote for 40 seats" }).waitFor();
    } finally {
      await b.close();
    }
  });

  test("an action refused while the reply box is hidden says why where the agent looks", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.cleo.token);
      await dev.text(setup, "+15555550134", setup.sales, "I want to buy");
      await page.locator("#offer-list .accept").first().click();
      await page.locator("#conv-state", { hasText: "active" }).waitFor();
      await page.locator("#end-button").click();
      await page.locator("#conv-state", { hasText: "wrap_up" }).waitFor();
      assert.ok(await page.locator("#reply-form").isHidden());
      // Sales asks for a disposition: closing without the wrap-up is refused, visibly.
      await page.locator("#close-button").click();
      const error = page.locator("#action-error");
      await error.waitFor();
      assert.match(await error.textContent(), /disposition/);
    } finally {
      await b.close();
    }
  });

  test("a supervisor's Mine lists their own conversations; Team lists those their agents hold, by name", async () => {
    const sue = await dev.call("/v1/agents", { method: "POST", body: { name: "Sue", queues: [setup.q1.id], capacity: 5, role: "supervisor" } });
    // Sue never makes herself available: Ada takes the Support work.
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, sue.token);
      await dev.text(setup, "+15555550135", setup.support, "For Ada");
      const adas = await conversationOf(setup.ada.token, "+15555550135");
      await dev.text(setup, "+15555550135", setup.support, "Still for Ada");
      await waitFor(async () => (await dev.call(`/v1/conversations/${adas.conversation_id}`)).messages.length >= 2, "the second text filed");
      // The changes reach Sue's socket (she may see every Support conversation); give them time to be drawn.
      await page.waitForTimeout(1500);
      assert.equal(await page.locator("#items li", { hasText: "+15555550135" }).count(), 0, "Ada's conversation is not in Sue's Mine");
      assert.equal(await page.locator("#count-mine").textContent(), "");
      // Team lists it with who holds it, live and after a reload.
      await page.getByRole("tab", { name: /Team/ }).click();
      await page.locator("#items li", { hasText: "+15555550135" }).locator(".item-state", { hasText: "Ada" }).waitFor();
      await page.reload();
      await page.locator("#live[data-state=live]").waitFor();
      await page.getByRole("tab", { name: /Team/ }).click();
      await page.locator("#items li", { hasText: "+15555550135" }).locator(".item-state", { hasText: "Ada" }).waitFor();
      // An agent has no Team tab, and the route refuses them.
      await assert.rejects(dev.call("/v1/work-items/team", { token: setup.ada.token }), (e) => e.status === 403);
      // Her queues (U): Support, with who serves it and their load; the figures re-read while it is open.
      await page.keyboard.press("u");
      const dialog = page.getByRole("dialog", { name: "Your queues" });
      const support = dialog.locator(`#queues-body tr[data-queue="${setup.q1.id}"]`);
      await support.getByRole("rowheader", { name: "Support" }).waitFor();
      await support.locator("li", { hasText: /^Ada: \w+, [1-5] of 5$/ }).waitFor();
      assert.equal(await dialog.locator("#queues-body tr").count(), 1, "only the queue she supervises");
      const presence = (status) => dev.call(`/v1/agents/${setup.ada.id}/presence`, { method: "POST", body: { status } });
      await presence("busy");
      await support.locator("li", { hasText: /^Ada: busy, / }).waitFor({ timeout: 15000 });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });

      // With Ada busy a text waits in Support; Sue gives it to Bob of Billing by hand.
      await dev.call(`/v1/agents/${setup.bob.id}/presence`, { method: "POST", body: { status: "available" } });
      await dev.text(setup, "+15555550139", setup.support, "Is anyone there?");
      await page.getByRole("tab", { name: /Waiting/ }).click();
      const waiting = page.locator("#items li", { hasText: "+15555550139" });
      await waiting.waitFor({ timeout: 15000 });
      await waiting.getByRole("button").click();
      await page.getByRole("button", { name: "Give to…" }).click();
      const give = page.getByRole("dialog", { name: "Give the conversation to" });
      await give.getByLabel("Agent").selectOption(setup.bob.id);
      await give.getByRole("button", { name: "Give" }).click();
      await give.waitFor({ state: "hidden" });
      await page.locator("#transcript .msg", { hasText: "Sue gave the conversation to Bob." }).waitFor();
      await page.locator("#held", { hasText: "Another agent" }).waitFor();
      assert.ok(await page.getByRole("button", { name: "Give to…" }).isHidden(), "held now: nothing to give");
      await conversationOf(setup.bob.token, "+15555550139");

      // Another waits in Support; Sue moves it to Billing, where Bob gets it, and it leaves her screen.
      await dev.text(setup, "+15555550140", setup.support, "A billing question, really");
      await page.getByRole("tab", { name: /Waiting/ }).click();
      const misrouted = page.locator("#items li", { hasText: "+15555550140" });
      await misrouted.waitFor({ timeout: 15000 });
      await misrouted.getByRole("button").click();
      await page.locator("#transcript .msg.customer", { hasText: "A billing question, really" }).waitFor();
      await page.getByRole("button", { name: "Move to queue…" }).click();
      const move = page.getByRole("dialog", { name: "Move the conversation to" });
      const offered = await move.getByLabel("Queue").locator("option").allTextContents();
      assert.ok(offered.includes("Billing") && !offered.includes("Support"), `every queue but its own: ${offered}`);
      await move.getByLabel("Queue").selectOption(setup.q2.id);
      await move.getByRole("button", { name: "Move" }).click();
      await move.waitFor({ state: "hidden" });
      await misrouted.waitFor({ state: "detached", timeout: 15000 });
      const bobs = await conversationOf(setup.bob.token, "+15555550140");
      const moved = await dev.call(`/v1/conversations/${bobs.conversation_id}`);
      assert.equal(moved.queue_id, setup.q2.id);
      assert.ok(moved.messages.some((m) => m.text === "Sue moved the conversation from queue Support to queue Billing."), "the transcript says so");
      await presence("available");
      await assert.rejects(dev.call(`/v1/queues/${setup.q1.id}/stats`, { token: setup.ada.token }), (e) => e.status === 403);
    } finally {
      await b.close();
    }
  });

  test("without a socket the page says so and re-reads the work list every 10 s", async () => {
    const b = await browser();
    try {
      const { page } = b;
      // Every socket the page makes goes to a closed port, as when the WebSocket API is not deployed.
      await page.addInitScript(() => {
        const Real = window.WebSocket;
        window.WebSocket = class extends Real {
          constructor(_url, protocols) {
            super("ws://127.0.0.1:9/", protocols);
          }
        };
      });
      await page.goto(dev.base + "/");
      await page.getByLabel("Your API token").fill(setup.ada.token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#live[data-state=unavailable]").waitFor({ timeout: 45000 });
      await dev.text(setup, "+15555550136", setup.support, "Anyone?");
      await page.locator("#items li", { hasText: "+15555550136" }).waitFor({ timeout: 25000 });
      // The retries go on behind it, and do not take the polling away.
      await page.waitForTimeout(12000);
      assert.equal(await page.locator("#live").getAttribute("data-state"), "unavailable");
      await dev.text(setup, "+15555550137", setup.support, "Hello?");
      await page.locator("#items li", { hasText: "+15555550137" }).waitFor({ timeout: 25000 });
    } finally {
      await b.close();
    }
  });
});
