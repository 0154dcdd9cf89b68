// Quick replies (issues 10.6, 13.1): in the reply box, `/` at the start or after a space opens a list of the
// conversation's quick replies (`GET /v1/quick-replies?conversation_id=`: its queue's and the
// organization-wide ones, in the customer's language, placeholders filled in by the API), filtered by what
// the agent types after the `/` (shortcut, title or text). Arrow keys and Enter (or Tab, or a click) put the
// text in the reply box in place of the `/...`, for the agent to edit and send as any reply; Escape closes
// the list. The `q` shortcut and the "Quick replies" button type the `/` for the agent.
// Accessible as an autocomplete text box: the reply box keeps the focus and points at the highlighted option
// (aria-activedescendant) of the listbox it controls; a status line says how many match.

import { api } from "./api.js";
import { on, shortcut } from "./hooks.js";

const $ = (id) => document.getElementById(id);
// The most the list shows (typing narrows it): it never scrolls, so it needs no focus of its own.
const MAX_SHOWN = 6;

const picker = {
  conversationId: null,
  replies: [], // the open conversation's quick replies, as the API answered
  loaded: false, // whether `replies` were read for `conversationId`
  open: false,
  trigger: null, // { start, end, query }: the `/query` being typed, as offsets in the reply box
  all: [], // every quick reply matching what is typed
  matches: [], // those listed (the first MAX_SHOWN)
  active: 0,
  typedSlash: null, // the offset of a `/` the shortcut or button typed (Escape takes it back)
  said: "",
};

/** The quick replies matching `query`: shortcut prefix first, then shortcut, title, text containing it. */
export function matching(replies, query) {
  const q = query.toLowerCase();
  const rank = (r) => {
    if (r.shortcut.startsWith(q)) return 0;
    if (r.shortcut.includes(q)) return 1;
    if (r.title.toLowerCase().includes(q)) return 2;
    if (r.text.toLowerCase().includes(q)) return 3;
    return -1;
  };
  return replies
    .map((r) => [rank(r), r])
    .filter(([k]) => k >= 0)
    .sort((a, b) => a[0] - b[0] || a[1].shortcut.localeCompare(b[1].shortcut))
    .map(([, r]) => r);
}

/** The `/query` ending at the caret, when the `/` starts the text or follows a space; else null. */
export function triggerIn(value, caret) {
  const m = /(^|\s)\/([^\s/]*)$/.exec(value.slice(0, caret));
  return m ? { start: caret - m[2].length - 1, end: caret, query: m[2] } : null;
}

async function load() {
  const id = picker.conversationId;
  if (!id) return;
  try {
    const answer = await api(`/v1/quick-replies?conversation_id=${encodeURIComponent(id)}`);
    if (picker.conversationId !== id) return;
    picker.replies = answer.items ?? [];
    picker.loaded = true;
  } catch {
    // Not visible any more, or the server is away: the list says there is nothing; the next open re-reads.
    if (picker.conversationId === id) picker.loaded = true;
  }
  if (picker.open) update();
}

/** Opens, refreshes or closes the list after the reply box changed or its caret moved. */
function update() {
  const box = $("reply");
  const trigger = box.disabled || box.selectionStart !== box.selectionEnd ? null : triggerIn(box.value, box.selectionStart);
  if (!trigger) return close();
  const opening = !picker.open;
  const query = picker.trigger?.query;
  picker.trigger = trigger;
  picker.open = true;
  if (opening) load(); // re-read on each opening: an admin may have changed them meanwhile
  const before = picker.matches.map((r) => r.id).join();
  picker.all = matching(picker.replies, trigger.query);
  picker.matches = picker.all.slice(0, MAX_SHOWN);
  if (opening || query !== trigger.query || before !== picker.matches.map((r) => r.id).join()) picker.active = 0;
  render();
}

function render() {
  const box = $("reply");
  const list = $("quick-list");
  list.replaceChildren(
    ...picker.matches.map((r, i) => {
      const li = document.createElement("li");
      li.id = `quick-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === picker.active));
      li.className = i === picker.active ? "active" : "";
      li.dataset.shortcut = r.shortcut;
      const head = document.createElement("span");
      head.className = "quick-head";
      const key = document.createElement("span");
      key.className = "quick-shortcut";
      key.textContent = `/${r.shortcut}`;
      const title = document.createElement("span");
      title.className = "quick-title";
      title.textContent = r.title;
      head.append(key, " ", title);
      const text = document.createElement("span");
      text.className = "quick-text";
      text.textContent = r.text;
      li.append(head, " ", text);
      // The reply box keeps the focus (a press on the list does not take it); a click inserts.
      li.addEventListener("mousedown", (event) => event.preventDefault());
      li.addEventListener("click", () => insert(r));
      return li;
    }),
  );
  list.hidden = picker.matches.length === 0;
  const empty = $("quick-empty");
  const more = picker.all.length - picker.matches.length;
  empty.hidden = picker.matches.length > 0 && more === 0;
  empty.textContent = more > 0
    ? `${more} more: type to narrow the list.`
    : !picker.loaded
      ? "Loading the quick replies…"
      : picker.replies.length
        ? `No quick reply matches “${picker.trigger.query}”.`
        : "No quick replies for this conversation's queue and language.";
  $("quick").hidden = false;
  $("quick-button").setAttribute("aria-expanded", "true");
  if (picker.matches.length) {
    box.setAttribute("aria-activedescendant", `quick-option-${picker.active}`);
  } else {
    box.removeAttribute("aria-activedescendant");
  }
  say(
    picker.matches.length
      ? `${picker.all.length} quick ${picker.all.length === 1 ? "reply" : "replies"}: arrows to choose, Enter to insert, Escape to close`
      : empty.textContent,
  );
}

function say(text) {
  if (picker.said === text) return;
  picker.said = text;
  $("quick-status").textContent = text;
}

function close() {
  if (!picker.open) return;
  picker.open = false;
  picker.trigger = null;
  picker.matches = [];
  picker.all = [];
  picker.typedSlash = null;
  $("quick").hidden = true;
  $("quick-list").replaceChildren();
  $("quick-button").setAttribute("aria-expanded", "false");
  $("reply").removeAttribute("aria-activedescendant");
  say("");
}

/** Puts `reply`'s text in place of the `/query`; the agent edits it and sends it as any reply. */
function insert(reply) {
  const box = $("reply");
  const { start, end } = picker.trigger;
  close();
  box.setRangeText(reply.text, start, end, "end");
  box.focus();
  box.dispatchEvent(new Event("input", { bubbles: true })); // the count and the encoding preview follow
  say(`Inserted “${reply.title}”: edit it if needed, then send`);
}

/** Types a `/` at the caret of the reply box (after a space when needed), which opens the list. */
function openPicker() {
  const box = $("reply");
  if (box.disabled) return;
  box.focus();
  const at = box.selectionStart;
  const space = at > 0 && !/\s/.test(box.value[at - 1]) ? " " : "";
  box.setRangeText(`${space}/`, at, box.selectionEnd, "end");
  box.dispatchEvent(new Event("input", { bubbles: true })); // opens the list; the count follows
  picker.typedSlash = picker.open ? { start: at, end: box.selectionStart } : null;
}

function onKeyDown(event) {
  if (!picker.open || event.altKey) return;
  const count = picker.matches.length;
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && count) {
    event.preventDefault();
    picker.active = (picker.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
    render();
  } else if ((event.key === "Enter" || event.key === "Tab") && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
    if (!count) return close();
    event.preventDefault();
    insert(picker.matches[picker.active]);
  } else if (event.key === "Escape") {
    // Closes the list only (the page's Escape would leave the reply box); a `/` typed for the agent goes.
    event.preventDefault();
    const typed = picker.typedSlash;
    const box = $("reply");
    const untouched = typed && picker.trigger.query === "" && picker.trigger.end === typed.end;
    close();
    if (untouched) box.setRangeText("", typed.start, typed.end, "end");
  } else if (event.key === "Enter") {
    close(); // Ctrl+Enter sends what is written
  }
}

const box = $("reply");
box.addEventListener("input", update);
box.addEventListener("keydown", onKeyDown);
box.addEventListener("keyup", (event) => {
  if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].includes(event.key)) update();
});
box.addEventListener("click", update);
box.addEventListener("blur", close);
$("quick-button").addEventListener("mousedown", (event) => event.preventDefault());
$("quick-button").addEventListener("click", () => (picker.open ? close() : openPicker()));

on("conversation", (c, { switched }) => {
  $("quick-button").disabled = $("reply").disabled;
  if ($("reply").disabled) close();
  if (!switched) return;
  close();
  picker.conversationId = c.id;
  picker.replies = [];
  picker.loaded = false;
  if (!$("reply").disabled) load();
});
on("closed-view", () => {
  close();
  picker.conversationId = null;
  picker.replies = [];
  picker.loaded = false;
});

let registered = false;
on("signed-in", () => {
  // Registered after the page's own shortcuts, so the `?` list shows them after r and n.
  if (registered) return;
  registered = true;
  shortcut({ key: "q", description: "Insert a quick reply (the list of the conversation's quick replies)", action: openPicker });
  shortcut({ key: "/", description: "In the reply box: quick replies (↑ ↓ to choose, Enter to insert, Esc to close)", where: "text" });
});
