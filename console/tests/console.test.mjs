// The agent console in a real browser against a real `smsdesk dev`: the flows of issue 13 that the API
// supports today. Run by scripts/browser-test.sh (part of scripts/test).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ADMIN, axeViolations, browser, Dev, signIn, waitFor } from "./harness.mjs";

const shots = process.env.SMSDESK_SCREENSHOTS;

describe("agent console", () => {
  let dev, setup;
  before(async () => {
    dev = await Dev.start();
    setup = await dev.setup();
  });
  after(async () => {
    await dev?.close();
  });

  test("an agent sees new work arrive live, replies, sees the status arrive, a failure with its reason, resends, transfers and closes", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.ada.token);
      // The customer is in the CRM already (the quick reply below greets them by name).
      await dev.call("/v1/contacts", { method: "POST", body: { name: "Grace Hopper", phone: "+15555550111" } });
      await dev.text(setup, "+15555550111", setup.support, "Hi, where is my order?");
      const item = page.locator("#items li", { hasText: "+15555550111" });
      await item.waitFor();
      await item.getByRole("button").click();
      await page.locator("#transcript .msg.customer", { hasText: "where is my order" }).waitFor();

      // The reply box counts as the agent types, and marks what forces UCS-2.
      await page.locator("#reply").fill("It’s on its way");
      await page.locator("#reply-meter", { hasText: "UCS-2" }).waitFor();
      assert.equal(await page.locator("#reply-marks mark").first().textContent(), "’");
      // Past 1600 characters the count turns red and Send is off.
      await page.locator("#reply").fill("x".repeat(1601));
      await page.locator("#reply-meter.over", { hasText: "1601 / 1600 characters" }).waitFor();
      assert.ok(await page.locator("#send").isDisabled(), "no Send over 1600 characters");
      // The customer writes meanwhile: the transcript is drawn again, and Send stays off.
      await dev.text(setup, "+15555550111", setup.support, "Any news?");
      await page.locator("#transcript .msg.customer", { hasText: "Any news?" }).waitFor();
      assert.ok(await page.locator("#send").isDisabled(), "no Send over 1600 characters after the transcript is redrawn");
      await page.locator("#reply").fill("It ships today!");
      await page.locator("#reply-meter", { hasText: "15 / 1600 characters · GSM-7 · 1 segment" }).waitFor();
      await page.getByRole("button", { name: "Send" }).click();
      const reply = page.locator("#transcript .msg.agent", { hasText: "It ships today!" });
      await reply.locator("[data-status=sent]").waitFor();
      // The handset confirms it: "delivered" arrives live.
      const conversationId = await item.getAttribute("data-id");
      const shipped = (await dev.call(`/v1/conversations/${conversationId}`)).messages.find((m) => m.text === "It ships today!");
      await dev.receipt(setup, shipped.provider_message_id, "delivered");
      await reply.locator("[data-status=delivered]").waitFor();

      // A quick reply the admin wrote for the queue: `/` in the reply box lists the conversation's quick
      // replies, filtered as Ada types; a click puts its text, placeholders filled in, in the box to edit;
      // nothing is sent until Ada sends, and the provider receives exactly what she sent.
      await dev.call("/v1/quick-replies", {
        method: "POST",
        body: { queue_id: setup.q1.id, shortcut: "eta", title: "Delivery time", text: "Hi {customer_first_name}, {agent_name} here: your order arrives within 3 days." },
      });
      await waitFor(async () => (await dev.call(`/v1/conversations/${conversationId}`)).contact_id, "the CRM contact linked");
      await page.locator("#reply").fill("/deliv");
      const option = page.getByRole("listbox", { name: "Quick replies" }).getByRole("option", { name: /Delivery time/ });
      await option.waitFor();
      assert.equal(await page.locator("#reply").getAttribute("aria-activedescendant"), await option.getAttribute("id"), "the first match is highlighted");
      await page.locator("#reply").press("Backspace"); // "/deli": still filtered, still listed
      await option.click();
      await page.locator("#quick").waitFor({ state: "hidden" });
      const filled = "Hi Grace, Ada here: your order arrives within 3 days.";
      assert.equal(await page.locator("#reply").inputValue(), filled);
      assert.equal(await page.evaluate(() => document.activeElement.id), "reply", "the reply box keeps the focus");
      await page.locator("#reply-meter", { hasText: `${filled.length} / 1600 characters` }).waitFor();
      await page.locator("#reply").press("End");
      await page.keyboard.type(" Anything else?");
      assert.equal((await dev.call("/v1/sandbox/outbox")).items.filter((m) => m.text.includes("3 days")).length, 0, "not sent before Send");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("#transcript .msg.agent", { hasText: "within 3 days" }).locator("[data-status=sent]").waitFor();
      const sent = (await dev.call("/v1/sandbox/outbox")).items.filter((m) => m.text.includes("3 days"));
      assert.deepEqual(sent.map((m) => [m.to, m.text]), [["+15555550111", `${filled} Anything else?`]]);

      // A send the provider refuses: its reason, and a resend that queues the text again.
      await page.locator("#reply").fill("[sandbox:fail] a refused text");
      await page.getByRole("button", { name: "Send" }).click();
      const failed = page.locator("#transcript .msg.agent", { hasText: "a refused text" }).first();
      await failed.locator("[data-status=failed]").waitFor();
      await failed.locator(".reason", { hasText: "rejected by request" }).waitFor();
      await failed.getByRole("button", { name: "Resend" }).click();
      await waitFor(async () => (await page.locator("#transcript .msg.agent", { hasText: "a refused text" }).count()) === 2, "the resent message");

      // Transfer to the billing queue with a note: the conversation leaves Ada's list (it is no longer hers to
      // see) and lands with Bob (Billing auto-accepts), who reads the note in the transcript.
      await page.getByRole("button", { name: "Transfer" }).click();
      // The dialog offers every queue and every other agent by name (an agent may not list them otherwise).
      await waitFor(async () => (await page.locator("#transfer-options option").count()) === 5, "the transfer targets");
      const targets = await page.locator("#transfer-options option").evaluateAll((o) => o.map((x) => [x.value, x.textContent]));
      assert.deepEqual(targets, [
        [setup.q2.id, "queue: Billing"], [setup.q3.id, "queue: Sales"], [setup.q1.id, "queue: Support"],
        [setup.bob.id, "agent: Bob (can take it)"], [setup.cleo.id, "agent: Cleo (can take it)"],
      ]);
      await page.getByLabel("Queue or agent id").fill(setup.q2.id);
      await page.getByLabel("Note for whoever takes it").fill("Wants express shipping");
      await page.locator("#transfer-submit").click();
      await waitFor(async () => (await item.count()) === 0, "the transferred conversation leaving the list");
      const bobs = await browser();
      try {
        await signIn(bobs.page, dev.base, setup.bob.token);
        const taken = bobs.page.locator("#items li", { hasText: "+15555550111" });
        await taken.waitFor();
        await taken.getByRole("button").click();
        await bobs.page.locator("#transcript .msg.internal", { hasText: "Wants express shipping" }).waitFor();
        // The admin, in the same tab, opens it too: warned that another agent holds it.
        await bobs.page.evaluate(() => sessionStorage.clear());
        await signIn(bobs.page, dev.base, ADMIN);
        await bobs.page.locator("#items li", { hasText: "+15555550111" }).getByRole("button").click();
        await bobs.page.locator("#held", { hasText: "Another agent (Bob) holds this conversation" }).waitFor();
      } finally {
        await bobs.close();
      }

      // A second customer; Ada closes it: it moves to the closed tab.
      await dev.text(setup, "+15555550112", setup.support, "Thanks, all good");
      const second = page.locator("#items li", { hasText: "+15555550112" });
      // Its text is unread until Ada opens it: a badge on the item and a count on the tab.
      await second.locator(".badge", { hasText: "1" }).waitFor();
      await page.getByRole("tab", { name: /Mine.*1 new/ }).waitFor();
      await second.getByRole("button").click();
      await page.locator("#conv-title", { hasText: "+15555550112" }).waitFor();
      assert.equal(await second.locator(".badge").count(), 0, "read once opened");
      await page.locator("#close-button").click();
      await page.locator("#conv-state", { hasText: "closed" }).waitFor();
      await page.getByRole("tab", { name: /Closed/ }).click();
      await page.locator("#items li", { hasText: "+15555550112" }).waitFor();
    } finally {
      await b.close();
    }
  });

  test("an agent is offered a conversation with a countdown, accepts it, replies and ends it with a disposition", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.cleo.token);
      // Who the token is, from /v1/me: name, role and presence.
      await page.locator("#who", { hasText: "Cleo · Agent" }).waitFor();
      assert.equal(await page.locator("#presence").inputValue(), "available");

      // Two CRM contacts share the customer's phone (the contact panel asks which, below).
      for (const name of ["Dana Scully", "Dana S. (old)"]) {
        await dev.call("/v1/contacts", { method: "POST", body: { name, phone: "+15555550121" } });
      }
      // The Sales queue offers first: the banner shows the customer, Accept/Decline and the time left.
      await dev.text(setup, "+15555550121", setup.sales, "Do you ship to Canada?");
      const offer = page.locator("#offer-list li", { hasText: "+15555550121" });
      await offer.waitFor();
      const seconds = Number(await offer.locator(".countdown").getAttribute("data-seconds"));
      assert.ok(seconds > 0 && seconds <= 60, `the countdown shows the refusal timeout (${seconds} s)`);
      await waitFor(async () => Number(await offer.locator(".countdown").getAttribute("data-seconds")) < seconds, "the countdown ticking");
      assert.equal(await page.locator("#items li", { hasText: "+15555550121" }).count(), 0, "an offer is not yet in 'mine'");

      // Accept: the offer leaves the banner, the conversation is Cleo's, in "mine", open.
      await offer.getByRole("button", { name: /^Accept/ }).click();
      await page.locator("#offers").waitFor({ state: "hidden" });
      await page.locator("#conv-state", { hasText: "active" }).waitFor();
      const id = await page.locator("#items li", { hasText: "+15555550121" }).getAttribute("data-id");
      assert.equal((await dev.call("/v1/work-items", { token: setup.cleo.token })).items.find((i) => i.customer === "+15555550121").state, "active");

      // The contact panel: two contacts share the phone and neither is right, so Cleo creates one.
      const contactPanel = page.locator("#contact-body");
      await contactPanel.getByText("Several contacts share this phone").waitFor();
      assert.deepEqual((await contactPanel.locator(".picks button").allTextContents()).sort(), ["Dana S. (old)", "Dana Scully"]);
      await page.getByLabel("None of these: a new contact named").fill("Dana Mulder");
      await page.getByRole("button", { name: "Create the contact" }).click();
      await contactPanel.locator("dd", { hasText: "Dana Mulder" }).waitFor();
      await contactPanel.getByText("None: the first one.").waitFor();
      const dana = (await dev.call(`/v1/conversations/${id}`)).contact_id;
      assert.equal((await dev.call(`/v1/contacts/${dana}`)).name, "Dana Mulder");

      // Replies with their statuses: one sent, one refused with the provider's reason.
      await page.locator("#reply").fill("Yes, we do: 3 to 5 days.");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("#transcript .msg.agent", { hasText: "3 to 5 days" }).locator("[data-status=sent]").waitFor();
      await page.locator("#reply").fill("[sandbox:fail] Shipping is free over $50.");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("#transcript .msg.agent", { hasText: "Shipping is free" }).locator("[data-status=failed]").waitFor();

      // A private note: its own mode of the reply box, shown in the transcript as a note, never sent.
      await page.getByRole("checkbox", { name: /Private note/ }).check();
      await page.locator("#reply").fill("Ask about the team plan before quoting");
      await page.getByRole("button", { name: "Add note" }).click();
      await page.locator("#transcript .msg.note", { hasText: "Ask about the team plan" }).waitFor();
      assert.equal(await page.locator("#send").textContent(), "Send", "back to replying after the note");
      const withNote = await dev.call(`/v1/conversations/${id}`);
      assert.deepEqual(withNote.notes.map((n) => [n.author_name, n.text]), [["Cleo", "Ask about the team plan before quoting"]]);
      assert.ok(!withNote.messages.some((m) => m.text.includes("team plan")), "a note is not a message");

      // A second customer is offered while Cleo works: the banner over the transcript (the README's shot).
      await dev.text(setup, "+15555550122", setup.sales, "Hi! Any discount for teams?");
      await page.locator("#offer-list li", { hasText: "+15555550122" }).waitFor();
      if (shots) {
        mkdirSync(shots, { recursive: true });
        await page.screenshot({ path: join(shots, "console-desktop.png") });
      }
      const declined = await page.locator("#offer-list li", { hasText: "+15555550122" }).getAttribute("data-id");
      await page.locator("#offer-list li", { hasText: "+15555550122" }).getByRole("button", { name: /^Decline/ }).click();
      // Cleo is the only Sales agent, yet a decline is not handed straight back to her (only after a pause).
      await page.locator("#offers").waitFor({ state: "hidden" });
      const back = await dev.call(`/v1/conversations/${declined}`);
      assert.deepEqual([back.state, back.agent_id ?? null], ["open", null], "back in line, nobody's");
      // The admin closes it, so that its offer does not come back over the page while the test goes on.
      await dev.call(`/v1/conversations/${declined}/close`, { method: "POST" });

      // End: the wrap-up form lists the queue's dispositions and tags; the disposition is required, and
      // the API's refusal names the field.
      await page.getByRole("button", { name: /^End/ }).click();
      await page.locator("#conv-state", { hasText: "wrap_up" }).waitFor();
      // The form is filled from the queue's settings, read when wrap-up begins.
      await page.locator("#wrapup-disposition option", { hasText: "Not interested" }).waitFor({ state: "attached" });
      await page.locator("#wrapup-tags input[value=callback]").waitFor({ state: "attached" });
      const dispositions = await page.locator("#wrapup-disposition option").allTextContents();
      assert.deepEqual(dispositions.slice(1), ["Sold", "Not interested"]);
      assert.deepEqual(await page.locator("#wrapup-tags input").evaluateAll((n) => n.map((x) => x.value)), ["upsell", "callback"]);
      await page.locator("#wrapup-required").waitFor();
      await page.getByRole("button", { name: /^Finish and close/ }).click();
      await page.locator("#wrapup-error", { hasText: "disposition" }).waitFor();
      await page.getByLabel(/^Disposition/).selectOption("Sold");
      await page.getByLabel("upsell").check();
      await page.getByLabel("Wrap-up notes").fill("Wants a quote for 12 seats");
      await page.getByRole("button", { name: /^Finish and close/ }).click();
      await page.locator("#conv-state", { hasText: "closed" }).waitFor();
      const c = await dev.call(`/v1/conversations/${id}`);
      assert.equal(c.state, "closed");
      assert.equal(c.wrap_up.disposition, "Sold");
      assert.deepEqual(c.wrap_up.tags, ["upsell"]);

      // The customer writes again: a new conversation; among the three contacts Cleo picks hers, and the
      // panel lists the earlier conversation and how it ended.
      await waitFor(async () => {
        const kinds = (await dev.call(`/v1/contacts/${dana}`)).timeline.map((t) => t.kind);
        return kinds.includes("wrap_up") && kinds.includes("transcript");
      }, "the wrap-up and the transcript on the contact's timeline");
      await dev.text(setup, "+15555550121", setup.sales, "Me again: can we add two seats?");
      await page.locator("#offer-list li", { hasText: "+15555550121" }).getByRole("button", { name: /^Accept/ }).click();
      await page.locator("#conv-state", { hasText: "active" }).waitFor();
      await contactPanel.getByRole("button", { name: "Dana Mulder" }).click();
      await contactPanel.locator("dd", { hasText: "Dana Mulder" }).waitFor();
      const earlier = contactPanel.locator(`.earlier li[data-id="${id}"]`, { hasText: "Sold, upsell" });
      await earlier.waitFor();
      // It opens onto what was said in it (the transcript the CRM keeps once it closed), by keyboard too.
      await earlier.locator("summary").focus();
      await page.keyboard.press("Enter");
      await earlier.locator(".past-transcript li.customer", { hasText: "Do you ship to Canada?" }).waitFor();
      await earlier.locator(".past-transcript li.agent", { hasText: "3 to 5 days" }).waitFor();
      // The timeline says what happened in words, and which entries were another conversation's.
      await contactPanel.locator(".timeline li[data-kind=wrap_up]", { hasText: "Wrap-up: Sold, upsell (earlier conversation)" }).waitFor();
      assert.ok(!(await contactPanel.locator(".timeline").textContent()).includes(id), "no raw conversation id");

      // Presence, from the header: Cleo steps away.
      await page.getByLabel("Presence").selectOption("away");
      await waitFor(async () => (await dev.call("/v1/me", { token: setup.cleo.token })).presence === "away", "Cleo away");
    } finally {
      await b.close();
    }
  });

  test("a cut connection shows reconnecting, and the page catches up on what it missed", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.ada.token);
      await dev.restart(async () => {
        await page.locator("#live[data-state=reconnecting]").waitFor();
      });
      // The server is back; whatever happens before the page reconnects is caught up on.
      await dev.text(setup, "+15555550113", setup.support, "Are you there?");
      await page.locator("#items li", { hasText: "+15555550113" }).waitFor({ timeout: 30000 });
      await page.locator("#live[data-state=live]").waitFor({ timeout: 30000 });
      // And a cut of the socket alone (the server stays up).
      await page.evaluate(() => window.smsdeskConsole.live.drop());
      await page.locator("#live[data-state=reconnecting]").waitFor();
      await dev.text(setup, "+15555550114", setup.support, "Hello again");
      await page.locator("#items li", { hasText: "+15555550114" }).waitFor({ timeout: 30000 });
      await page.locator("#live[data-state=live]").waitFor({ timeout: 30000 });
    } finally {
      await b.close();
    }
  });

  test("an agent cannot see another queue's conversation, in the list or on the socket", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await signIn(page, dev.base, setup.bob.token);
      // Bob's socket, opened in his page, records every change it is sent.
      await page.evaluate((token) => {
        window.seen = [];
        const ws = new WebSocket(location.origin.replace("http", "ws") + "/v1/events");
        ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token, since: null }));
        ws.onmessage = (e) => window.seen.push(JSON.parse(e.data));
        window.ready = new Promise((r) => ws.addEventListener("message", r, { once: true }));
      }, setup.bob.token);
      await page.evaluate(() => window.ready);
      // Bob looks at another tab: the page is hidden, so new work beeps and raises a notification.
      await b.context.grantPermissions(["notifications"], { origin: dev.base });
      await page.evaluate(() => {
        window.alerts = [];
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        const Real = window.Notification;
        window.Notification = class extends Real {
          constructor(title, options) {
            super(title, options);
            window.alerts.push(`notification: ${title}`);
          }
        };
        const oscillator = AudioContext.prototype.createOscillator;
        AudioContext.prototype.createOscillator = function () {
          window.alerts.push("beep");
          return oscillator.call(this);
        };
      });
      await dev.text(setup, "+15555550115", setup.support, "Support question (Ada's queue)");
      await dev.text(setup, "+15555550116", setup.billing, "Billing question (Bob's queue)");
      // Bob's own new work arrives; the support conversation filed before it never does.
      await page.locator("#items li", { hasText: "+15555550116" }).waitFor();
      const adas = await waitFor(async () => (await dev.call("/v1/work-items", { token: setup.ada.token })).items.find((i) => i.customer === "+15555550115"), "Ada's conversation");
      const bobs = (await dev.call("/v1/work-items", { token: setup.bob.token })).items.find((i) => i.customer === "+15555550116");
      await waitFor(() => page.evaluate((id) => window.seen.some((m) => m.conversation_id === id), bobs.conversation_id), "Bob's change on his socket");
      const leaked = await page.evaluate((id) => window.seen.filter((m) => m.conversation_id === id).length, adas.conversation_id);
      assert.equal(leaked, 0, "no change of Ada's conversation reaches Bob's socket");
      await waitFor(() => page.evaluate(() => window.alerts.includes("beep") && window.alerts.includes("notification: New conversation")), "a beep and a notification for the new work");
      assert.equal(await page.locator("#items li", { hasText: "+15555550115" }).count(), 0);
      await assert.rejects(dev.call(`/v1/conversations/${adas.conversation_id}`, { token: setup.bob.token }), (e) => e.status === 404);
      // A socket without a valid token gets nothing and is closed with 4401.
      const code = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const ws = new WebSocket(location.origin.replace("http", "ws") + "/v1/events");
            ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: "not-a-token", since: 0 }));
            ws.onclose = (e) => resolve(e.code);
          }),
      );
      assert.equal(code, 4401);
    } finally {
      await b.close();
    }
  });

  test("keyboard only: sign in, open, reply, close, the shortcut list", async () => {
    const b = await browser();
    try {
      const { page } = b;
      await dev.text(setup, "+15555550117", setup.support, "Keyboard customer here");
      await waitFor(async () => (await dev.call("/v1/work-items", { token: setup.ada.token })).items.some((i) => i.customer === "+15555550117"), "the assignment");
      await page.goto(dev.base + "/");
      await page.locator("#token").waitFor();
      await page.keyboard.type(setup.ada.token); // the token field has focus on load
      await page.keyboard.press("Enter");
      await page.locator("#live[data-state=live]").waitFor();
      await page.locator("#items li", { hasText: "+15555550117" }).waitFor();
      await page.keyboard.press("j");
      await page.locator("#conv-title").waitFor();
      // j/k walk the list; walk to the keyboard customer.
      for (let i = 0; i < 10 && !(await page.locator("#conv-title").textContent()).includes("+15555550117"); i++) {
        await page.keyboard.press("j");
        await page.waitForTimeout(100);
      }
      assert.equal(await page.locator("#conv-title").textContent(), "+15555550117");
      await page.keyboard.press("r");
      assert.equal(await page.evaluate(() => document.activeElement.id), "reply");
      await page.keyboard.type("Typed without a mouse");
      await page.keyboard.press("Control+Enter");
      await page.locator("#transcript .msg.agent", { hasText: "Typed without a mouse" }).waitFor();
      await page.keyboard.press("Escape");
      // A quick reply by keyboard alone: `q` opens the list (typing the `/`), the agent narrows it, arrows
      // and Enter insert it, Ctrl+Enter sends it.
      await dev.call("/v1/quick-replies", { method: "POST", body: { shortcut: "thanks", title: "Thanks", text: "Thanks for writing, {agent_name} from {queue_name}." } });
      await dev.call("/v1/quick-replies", { method: "POST", body: { shortcut: "thanks-bye", title: "Goodbye", text: "Thanks, goodbye!" } });
      await page.keyboard.press("q");
      await page.locator("#quick-list").waitFor();
      assert.equal(await page.locator("#reply").inputValue(), "/");
      await page.keyboard.type("thank");
      await waitFor(async () => (await page.locator("#quick-list [role=option]").count()) === 2, "the two matching quick replies");
      await page.keyboard.press("ArrowDown");
      await page.locator("#quick-list [role=option][aria-selected=true]", { hasText: "Goodbye" }).waitFor();
      await page.keyboard.press("ArrowUp");
      await page.locator("#quick-list [role=option][aria-selected=true]", { hasText: "/thanks Thanks" }).waitFor();
      await page.keyboard.press("Enter");
      assert.equal(await page.locator("#reply").inputValue(), "Thanks for writing, Ada from Support.");
      await page.keyboard.press("Control+Enter");
      await page.locator("#transcript .msg.agent", { hasText: "Thanks for writing" }).locator("[data-status=sent]").waitFor();
      assert.deepEqual((await dev.call("/v1/sandbox/outbox")).items.filter((m) => m.text.startsWith("Thanks for writing")).map((m) => m.text), [
        "Thanks for writing, Ada from Support.",
      ]);
      // Escape closes the list without inserting anything, and takes back the `/` that `q` typed.
      await page.keyboard.press("Escape");
      await page.keyboard.press("q");
      await page.locator("#quick-list").waitFor();
      await page.keyboard.press("Escape");
      await page.locator("#quick").waitFor({ state: "hidden" });
      assert.equal(await page.locator("#reply").inputValue(), "");
      assert.equal(await page.evaluate(() => document.activeElement.id), "reply", "Escape closed the list, not the box");
      await page.keyboard.press("Escape");
      // `w` sets it aside until the customer writes; `e` ends it from there.
      await page.keyboard.press("w");
      await page.locator("#conv-state", { hasText: "waiting" }).waitFor();
      await page.keyboard.press("e");
      await page.locator("#conv-state", { hasText: "wrap_up" }).waitFor();
      // The contact's timeline says so without the conversation being opened again (it is re-read while shown).
      await page.locator("#contact-timeline li[data-kind=conversation_ended]").waitFor({ timeout: 20000 });
      // The wrap-up form takes the focus; Ctrl+Enter finishes it.
      await waitFor(async () => (await page.evaluate(() => document.activeElement.id)) === "wrapup-notes", "the focus in the wrap-up form");
      await page.keyboard.type("Answered by keyboard");
      await page.keyboard.press("Control+Enter");
      await page.locator("#conv-state", { hasText: "closed" }).waitFor();
      await page.keyboard.press("?");
      await page.locator("#help[open]").waitFor();
      // The list names every shortcut the page answers to.
      const listed = await page.locator("#keys dt").allTextContents();
      for (const key of ["j", "k", "r", "n", "e", "w", "a", "d", "?", "Ctrl+Enter", "Esc", "q", "/"]) {
        assert.ok(listed.includes(key), `the shortcut list names ${key}: ${listed.join(", ")}`);
      }
      const focusVisible = await page.evaluate(() => getComputedStyle(document.activeElement, ":focus-visible").outlineStyle);
      assert.notEqual(focusVisible, "none", "focus is visible in the dialog");
      await page.keyboard.press("Escape");
      await waitFor(async () => (await page.locator("#help[open]").count()) === 0, "the list closing");
    } finally {
      await b.close();
    }
  });

  for (const [name, viewport] of [["desktop", { width: 1280, height: 720 }], ["phone", { width: 390, height: 844 }]]) {
    test(`axe-core finds no serious or critical violation at ${viewport.width} px`, async () => {
      const b = await browser(viewport);
      try {
        const { page } = b;
        await page.goto(dev.base + "/");
        await page.locator("#token").waitFor();
        assert.deepEqual(await axeViolations(page), [], "sign-in page");
        await dev.text(setup, `+1555555020${viewport.width % 10}`, setup.support, "Hello, is this the right number? ’");
        await signIn(page, dev.base, setup.ada.token);
        const item = page.locator("#items li").first();
        await item.waitFor();
        await item.getByRole("button").click();
        await page.locator("#transcript .msg").first().waitFor();
        // With the quick replies listed (a `/` typed after the text).
        await dev.call("/v1/quick-replies", { method: "POST", body: { shortcut: `right-${viewport.width}`, title: "Right place", text: "Yes, {agent_name} here." } });
        await page.locator("#reply").fill("Yes – you’re in the right place /");
        await page.locator("#quick-list [role=option]").first().waitFor();
        assert.deepEqual(await axeViolations(page), [], "conversation, quick replies listed");
        await page.locator("#reply").press("Escape");
        await page.locator("#quick").waitFor({ state: "hidden" });
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= viewport.width, `no horizontal scroll at ${viewport.width} px (${width})`);
        if (shots && name === "phone") await page.screenshot({ path: join(shots, "console-phone.png") });
        // The contact panel: a column at 1280 px; on the phone, shown over the page by the "Contact" button.
        const contactButton = page.getByRole("button", { name: "Contact", exact: true });
        if (name === "phone") {
          assert.ok(!(await page.locator("#contact-body").isVisible()), "no contact column on a phone");
          await contactButton.click();
          assert.equal(await contactButton.getAttribute("aria-expanded"), "true");
        } else {
          assert.ok(!(await contactButton.isVisible()), "no Contact button beside the column");
        }
        await page.locator("#contact-body dt", { hasText: "Phone" }).waitFor();
        if (name === "phone") {
          const box = await page.locator("#contact-panel").boundingBox();
          assert.ok(box.x >= 0 && box.x + box.width <= viewport.width, `the panel fits the screen (${JSON.stringify(box)})`);
          await page.getByRole("button", { name: "Hide the contact" }).click();
          await page.locator("#contact-body").waitFor({ state: "hidden" });
          assert.equal(await page.evaluate(() => document.activeElement.id), "contact-button");
          // Esc closes it too, back to its button.
          await contactButton.click();
          await page.locator("#contact-body").waitFor();
          await page.keyboard.press("Escape");
          await page.locator("#contact-body").waitFor({ state: "hidden" });
          assert.equal(await page.evaluate(() => document.activeElement.id), "contact-button");
        }
      } finally {
        await b.close();
      }
    });
  }
});
