// The offer banner (issue 11.4, 13.1): every conversation offered to the signed-in agent, with Accept and
// Decline and the time left before the offer goes to another agent (the queue's refusal timeout, as the
// API's `offer_expires_at` says). The banner floats over the page, so its coming and going moves nothing.

const $ = (id) => document.getElementById(id);

/** Seconds left until `iso` (never below 0). */
export function secondsLeft(iso, now = Date.now()) {
  return Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
}

export class OfferBanner {
  /** `answer(id, "accept" | "decline")` does the call; `expired()` re-reads the work list. */
  constructor({ answer, expired }) {
    this.answer = answer;
    this.expired = expired;
    this.offers = [];
    this.timer = null;
    this.expiredOnce = new Set();
  }

  /** Shows `offers` (work items offered to me); an empty list hides the banner. */
  show(offers) {
    const before = new Set(this.offers.map((o) => o.conversation_id));
    this.offers = offers;
    const list = $("offer-list");
    const focused = document.activeElement?.closest?.("#offer-list li")?.dataset.id;
    // The list is redrawn only when what it shows changed: a live update of anything else (a note, a status)
    // must not replace the buttons under the agent's pointer, which would lose a click on Accept or Decline.
    const sig = (o) =>
      [o.conversation_id, o.offer_expires_at ?? "", o.customer, o.transfer ? `t:${o.transfer.note ?? ""}` : ""].join("|");
    const shown = [...list.children].map((li) => li.dataset.sig);
    const same = shown.length === offers.length && offers.every((o, i) => shown[i] === sig(o));
    if (!same) list.replaceChildren(...offers.map((o) => this.item(o, sig(o))));
    $("offers").hidden = offers.length === 0;
    if (focused && !same) list.querySelector(`li[data-id="${CSS.escape(focused)}"] button`)?.focus();
    this.tick();
    clearInterval(this.timer);
    if (offers.length) this.timer = setInterval(() => this.tick(), 1000);
    return offers.some((o) => !before.has(o.conversation_id));
  }

  /** One offer's entry: who, the time left, Accept and Decline. */
  item(o, sig) {
    const li = document.createElement("li");
    li.dataset.id = o.conversation_id;
    li.dataset.sig = sig;
    li.className = "offer";
    const text = document.createElement("p");
    text.className = "offer-text";
    const strong = document.createElement("strong");
    // A transfer says so, with the colleague's note: what the agent needs before accepting.
    strong.textContent = o.transfer ? "Transferred to you: " : "New conversation offered: ";
    text.append(strong, o.customer);
    if (o.transfer?.note) {
      const note = document.createElement("span");
      note.className = "offer-note";
      note.textContent = ` · Note: ${o.transfer.note}`;
      text.append(note);
    }
    const left = document.createElement("p");
    left.className = "countdown";
    left.dataset.expires = o.offer_expires_at ?? "";
    const buttons = document.createElement("div");
    buttons.className = "offer-buttons";
    for (const [action, label] of [["accept", "Accept"], ["decline", "Decline"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = action;
      b.textContent = label;
      b.setAttribute("aria-label", `${label} the conversation with ${o.customer}`);
      b.addEventListener("click", () => this.answer(o.conversation_id, action));
      buttons.append(b);
    }
    li.append(text, left, buttons);
    return li;
  }

  tick() {
    for (const node of document.querySelectorAll("#offer-list .countdown")) {
      const iso = node.dataset.expires;
      if (!iso) {
        node.textContent = "";
        continue;
      }
      const s = secondsLeft(iso);
      node.dataset.seconds = String(s);
      node.textContent = s > 0 ? `${s} s left to accept` : "Time is up: it goes to another agent";
      const id = node.closest("li").dataset.id;
      if (s === 0 && !this.expiredOnce.has(id)) {
        this.expiredOnce.add(id);
        // The timer moves it on within a few seconds; re-read then.
        setTimeout(() => this.expired(), 3000);
      }
    }
  }
}
