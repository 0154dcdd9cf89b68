// The agent console: sign in, work list, transcript, reply, transfer, close, contact, presence, live
// updates. Shows what the API can do and does nothing it cannot: every action is one API call, and the
// screen is redrawn from what the API answers.

import { api, ApiFailure, session } from "./api.js";
import { Live } from "./live.js";
import { analyze, forcesUcs2, MAX_CHARACTERS } from "./segment.js";
import { alertHidden, askPermission } from "./sound.js";
import { actionFor, allShortcuts, emit, shortcut } from "./hooks.js";
import { OfferBanner } from "./offers.js";
import { focusWrapUp, hideWrapUp, showWrapUp, submitWrapUp } from "./wrapup.js";
import "./quick.js"; // quick replies in the reply box (`/`, `q`)
import { oidcBoot, oidcSignOut } from "./oidc.js";

// A transfer carries a note for whoever takes it (issue 11.5); it is never sent to the customer.
const TRANSFER_NOTE = true;
// The longest private note (the API refuses longer ones, naming `text`).
const MAX_NOTE = 2000;
// Without live updates (the socket unavailable, e.g. in AWS until its WebSocket API is deployed), the work
// list and the open conversation are re-read this often, and the header says so.
const POLL_MS = 10000;
// The page's title, before any unread count.
const TITLE = document.title;
// How often the header's presence is re-read from the API.
const PRESENCE_MS = 60000;
// How often the contact panel's timeline is re-read: the CRM records what happens (assigned, media received,
// a transfer) as it happens, after the panel was drawn, and no conversation change announces it.
const TIMELINE_MS = 10000;

const $ = (id) => document.getElementById(id);
const state = {
  me: null, // GET /v1/me: { role, agent_id, name, queues, presence }
  tab: "mine",
  sort: "waiting",
  items: new Map(), // conversation_id -> work item (mine and waiting)
  closed: new Map(), // closed during this session
  unread: new Map(), // conversation_id -> count of customer texts not yet seen
  current: null, // the open conversation, as the API answered
  live: null,
  liveState: "connecting",
  pollTimer: null,
  messageStatus: new Map(), // message id -> last status seen (to refresh only on change)
  offers: null, // the offer banner
  contactSig: null, // the open conversation's contact, as the contact panel shows it
  timelineOf: null, // the timeline the contact panel shows: { conversation, contact, key }
  sending: false, // a reply or note on its way: Send (and Ctrl+Enter) does nothing until it is answered
  draft: null, // { conversation, text, key }: the Idempotency-Key of the reply as last tried
  transferTargets: null, // the open transfer dialog's GET .../transfer-targets
  names: new Map(), // agent id -> name, from the team listing (a supervisor's, an admin's)
  attachments: [], // the reply's files: { key, name, size, id (once uploaded), error }
};

// ---------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function since(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

// "Mine": the caller's own conversations (an admin, who is no agent: every conversation with an agent),
// except offers (the banner shows them until accepted) and wrap-ups (their own tab). A supervisor hears of
// every conversation of their queues on the socket; those other agents hold are not theirs.
function isMine(item) {
  return (holdsIt(item) && !["closed", "wrap_up"].includes(item.state) && !isOfferedToMe(item)) || isMyPendingTransfer(item);
}

function holdsIt(item) {
  return Boolean(item.agent_id) && (!state.me?.agent_id || item.agent_id === state.me.agent_id);
}

// A transfer this agent started that nobody took yet (waiting in the target queue, or offered to the
// target agent): the agent stays responsible until it lands, answers the customer meanwhile, may cancel it.
function isMyPendingTransfer(item) {
  const me = state.me?.agent_id;
  return Boolean(me) && item.transfer?.from_agent_id === me && item.agent_id !== me && ["open", "offered"].includes(item.state);
}

// What the work list says of an item's state: a pending transfer names where it goes.
function stateLabel(item) {
  if (!item.transfer || !["open", "offered"].includes(item.state)) return item.state;
  const to = item.transfer.to_name ?? item.transfer.to_agent_id ?? item.transfer.to_queue_id;
  return `transfer pending → ${to}`;
}

function isOfferedToMe(item) {
  return item.state === "offered" && Boolean(item.agent_id) && item.agent_id === state.me?.agent_id;
}

function isWrapUp(item) {
  return item.state === "wrap_up" && holdsIt(item);
}

// "Team" (a supervisor's, an admin's): the conversations other agents hold in the queues they supervise.
function isTeam(item) {
  return Boolean(item.agent_id) && item.agent_id !== state.me?.agent_id && item.state !== "closed";
}

function supervises() {
  return state.me?.role === "supervisor" || state.me?.role === "admin";
}

// An action's error (accept, close, end, set aside, resend, presence): under the conversation's header,
// where it is seen whatever the reply box shows.
function actionError(e) {
  showError($("action-error"), e);
  $("action-error").hidden = !e;
}

function showError(node, e) {
  node.textContent = e ? (e instanceof ApiFailure ? `${e.message} (${e.code})` : String(e.message ?? e)) : "";
}

// ---------- sign in

async function signIn(token) {
  session.token = token;
  try {
    state.me = await api("/v1/me");
    return state.me;
  } catch (e) {
    session.token = null;
    throw e;
  }
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("token").focus();
}

async function start() {
  $("signin").hidden = true;
  $("app").hidden = false;
  showMe();
  emit("signed-in", state.me);
  state.offers = new OfferBanner({ answer: answerOffer, expired: () => reloadAll() });
  await reloadAll();
  // Where the live updates are (in AWS, the stack's WebSocket API); /v1/events of this origin otherwise.
  const eventsUrl = (await api("/v1/me").catch(() => null))?.events_url ?? null;
  state.live = new Live({
    token: session.token,
    url: eventsUrl,
    onChange: onChange,
    onReset: () => reloadAll(),
    onState: setLiveState,
    onCaughtUp: () => {},
    onHello: () => {},
  });
  state.live.start();
  window.smsdeskConsole = { live: state.live }; // for the browser tests' "cut the socket"
}

const ROLE_NAMES = { admin: "Admin", supervisor: "Supervisor", agent: "Agent" };

// The signed-in identity, role and presence, as `GET /v1/me` answered.
function showMe() {
  const me = state.me;
  $("who").textContent = `${me.name} · ${ROLE_NAMES[me.role] ?? me.role}`;
  $("tab-team").hidden = !supervises();
  $("queues-button").hidden = !supervises();
  const presence = $("presence");
  presence.closest("label").hidden = !me.agent_id; // the admin is not an agent: no presence
  presence.disabled = !me.agent_id;
  if (me.presence && document.activeElement !== presence) presence.value = me.presence;
  presence.dataset.presence = me.presence ?? "";
}

async function refreshMe() {
  try {
    state.me = await api("/v1/me");
    showMe();
  } catch {
    // The next reload tries again; a refused token shows the sign-in there.
  }
}

function setLiveState(s) {
  state.liveState = s;
  const node = $("live");
  node.dataset.state = s;
  node.textContent = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting… (changes are caught up when back)",
    unavailable: `Live updates unavailable: refreshing every ${POLL_MS / 1000} s`,
    unauthorized: "Signed out: the token was refused",
  }[s] ?? s;
  clearInterval(state.pollTimer);
  if (s === "unavailable") state.pollTimer = setInterval(() => reloadAll(), POLL_MS);
  if (s === "unauthorized") {
    session.token = null;
    showSignIn("The token was refused. Sign in again.");
  }
}

// ---------- work list

async function reloadAll() {
  try {
    const [mine, waiting, team] = await Promise.all([
      api("/v1/work-items"),
      api("/v1/work-items/waiting"),
      supervises() ? api("/v1/work-items/team") : { items: [] },
    ]);
    const fresh = new Map();
    for (const item of team.items) if (item.agent_name) state.names.set(item.agent_id, item.agent_name);
    for (const item of [...team.items, ...mine.items, ...waiting.items]) fresh.set(item.conversation_id, item);
    const left = [...state.items].filter(([id]) => !fresh.has(id));
    state.items = fresh;
    for (const [id, old] of left) settleLeft(id, old);
    renderList();
    refreshMe(); // presence may change on its own (set away after missed offers)
    if (state.current) await openConversation(state.current.id, { keepFocus: true });
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) return showSignIn("The token was refused. Sign in again.");
  }
}

// A conversation that left the work list: closed, then the closed tab lists it; or out of the caller's
// sight (transferred away, taken by a colleague): then it is simply gone, never listed as closed.
async function settleLeft(id, old) {
  try {
    const c = await api(`/v1/conversations/${encodeURIComponent(id)}`);
    if (c.state !== "closed" || state.items.has(id)) return;
    state.closed.set(id, { ...old, state: "closed", last_message_at: c.last_message_at });
    renderList();
  } catch {
    // Not visible any more (404), or not readable now: nothing to list.
  }
}

function visibleItems() {
  let items;
  if (state.tab === "closed") items = [...state.closed.values()];
  else if (state.tab === "wrap_up") items = [...state.items.values()].filter(isWrapUp);
  else if (state.tab === "waiting") items = [...state.items.values()].filter((i) => i.state === "open" && !i.agent_id && !isMyPendingTransfer(i));
  else if (state.tab === "team") items = [...state.items.values()].filter(isTeam);
  else items = [...state.items.values()].filter(isMine);
  const key = {
    // Longest waiting first: by when each joined its queue's line, as the API lists them (a text from
    // the customer does not send them to the back).
    waiting: (a, b) => Date.parse(a.queued_at ?? a.created_at ?? 0) - Date.parse(b.queued_at ?? b.created_at ?? 0),
    activity: (a, b) => Date.parse(b.last_message_at) - Date.parse(a.last_message_at),
    created: (a, b) => Date.parse(b.created_at ?? 0) - Date.parse(a.created_at ?? 0),
  }[state.sort];
  return items.sort((a, b) => key(a, b) || a.conversation_id.localeCompare(b.conversation_id));
}

function renderList() {
  const list = $("items");
  const items = visibleItems();
  const mine = [...state.items.values()].filter(isMine);
  const waiting = [...state.items.values()].filter((i) => i.state === "open" && !i.agent_id && !isMyPendingTransfer(i));
  const unreadMine = mine.reduce((n, i) => n + (state.unread.get(i.conversation_id) ?? 0), 0);
  $("count-mine").textContent = mine.length ? `${mine.length}${unreadMine ? ` · ${unreadMine} new` : ""}` : "";
  // The tab's title counts unread texts, for an agent working in another tab or window.
  document.title = unreadMine ? `(${unreadMine}) ${TITLE}` : TITLE;
  $("count-waiting").textContent = waiting.length ? String(waiting.length) : "";
  const wrapUps = [...state.items.values()].filter(isWrapUp);
  $("count-wrap_up").textContent = wrapUps.length ? String(wrapUps.length) : "";
  const team = supervises() ? [...state.items.values()].filter(isTeam) : [];
  $("count-team").textContent = team.length ? String(team.length) : "";
  renderOffers();
  const focused = document.activeElement?.closest?.("#items li")?.dataset.id;
  // Each conversation keeps its entry and button from one drawing to the next (only what they say is
  // updated): the list is drawn on every live change, and a button replaced between the press and the
  // release under the agent's pointer would lose the click.
  const existing = new Map([...list.children].map((li) => [li.dataset.id, li]));
  const nodes = items.map((item) => {
    const id = item.conversation_id;
    const unread = state.unread.get(id) ?? 0;
    const selected = state.current?.id === id;
    const held = state.tab === "team" ? `, held by ${holderName(item)}` : "";
    const label = `${item.customer}, ${stateLabel(item)}${held}, last message ${since(item.last_message_at)} ago${unread ? `, ${unread} unread` : ""}`;
    const li = existing.get(id) ?? el("li", { "data-id": id }, el("button", { type: "button", onclick: () => openConversation(id) }));
    li.className = selected ? "selected" : "";
    const button = li.firstElementChild;
    button.setAttribute("aria-label", label);
    if (selected) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    button.replaceChildren(
      ...[
        el("span", { class: "customer", text: item.customer }),
        el("span", { class: "age", text: since(item.last_message_at) }),
        unread ? el("span", { class: "badge", text: String(unread), "aria-hidden": "true" }) : null,
        el("span", { class: "item-state", text: state.tab === "team" ? `${stateLabel(item)} · ${holderName(item)}` : stateLabel(item) }),
      ].filter(Boolean),
    );
    return li;
  });
  const unchanged = nodes.length === list.children.length && nodes.every((node, i) => list.children[i] === node);
  if (!unchanged) list.replaceChildren(...nodes);
  $("items-empty").hidden = items.length > 0;
  if (focused) list.querySelector(`li[data-id="${CSS.escape(focused)}"] button`)?.focus();
}

function holderName(item) {
  return item.agent_name ?? state.names.get(item.agent_id) ?? item.agent_id;
}

function renderOffers() {
  if (!state.offers || !state.me) return;
  state.offers.show(myOffers());
}

// The offers to this agent, soonest to expire first.
function myOffers() {
  const offers = [...state.items.values()].filter(isOfferedToMe);
  return offers.sort((a, b) => Date.parse(a.offer_expires_at ?? 0) - Date.parse(b.offer_expires_at ?? 0));
}

function selectTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("[role=tab]")) {
    const on = b.dataset.tab === tab;
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
  }
  $("items-panel").setAttribute("aria-labelledby", `tab-${tab}`);
  renderList();
}

// ---------- conversation

// Each read of a conversation for the view is numbered, and answers can come back out of order (a slow
// request, a live refresh beside a click). An answer is dropped when a later read of the same conversation
// is on its way (an older state must not overwrite a newer one), or when the agent has since switched to
// another conversation (a refresh must not pull the view back). A caller whose answer was dropped for a
// later read of the same conversation waits for that read instead, so that what it does next (focus the
// wrap-up form, ...) finds the view drawn.
let openCount = 0;
const latestRead = new Map(); // conversation id -> { seq, done }
let lastSwitch = { id: null, seq: 0 };

function openConversation(id, { keepFocus = false } = {}) {
  const seq = ++openCount;
  if (!keepFocus) lastSwitch = { id, seq };
  const done = readAndShow(id, seq, keepFocus);
  latestRead.set(id, { seq, done });
  return done;
}

async function readAndShow(id, seq, keepFocus) {
  let c;
  try {
    c = await api(`/v1/conversations/${encodeURIComponent(id)}`);
    const latest = latestRead.get(id);
    if (latest && latest.seq !== seq) return latest.done;
    if (lastSwitch.id !== null && lastSwitch.id !== id && (keepFocus || lastSwitch.seq > seq)) return;
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 404) {
      // Not (or no longer) visible to this caller: it leaves the screen.
      state.items.delete(id);
      state.closed.delete(id);
      if (state.current?.id === id) closeView();
      renderList();
      return;
    }
    throw e;
  }
  const switched = state.current?.id !== c.id;
  state.current = c;
  state.unread.delete(c.id);
  if (c.state === "closed") {
    const item = state.items.get(c.id);
    state.items.delete(c.id);
    state.closed.set(c.id, { ...(item ?? { conversation_id: c.id, customer: c.customer, created_at: c.created_at }), state: "closed", last_message_at: c.last_message_at });
  } else if (state.items.has(c.id)) {
    state.items.set(c.id, { ...state.items.get(c.id), state: c.state, agent_id: c.agent_id, last_message_at: c.last_message_at, queued_at: c.queued_at, offer_expires_at: c.offer_expires_at, transfer: c.transfer });
  }
  renderConversation(c, switched);
  renderList();
  emit("conversation", c, { switched });
  document.body.classList.add("viewing");
  if (switched) {
    actionError(null);
    showError($("reply-error"), null);
    state.draft = null;
    $("reply").value = "";
    setNoteMode(false);
    clearAttachments();
    updateMeter();
    renderContact(c);
    if (!keepFocus) $("transcript").focus();
  } else if (contactSig(c) !== state.contactSig) {
    renderContact(c); // the CRM found (or the agent picked) the contact meanwhile
  }
}

function contactSig(c) {
  return `${c.id}|${c.contact_state}|${c.contact_id ?? ""}`;
}

function showContactPanel(on) {
  document.body.classList.toggle("show-contact", on);
  $("contact-button").setAttribute("aria-expanded", String(on));
  if (on) $("contact-panel").focus();
}

function closeView() {
  state.current = null;
  showContactPanel(false);
  $("conversation-body").hidden = true;
  $("no-conversation").hidden = false;
  document.body.classList.remove("viewing");
  $("contact-body").replaceChildren(el("p", { class: "empty", text: "No conversation open." }));
  hideWrapUp();
  emit("closed-view");
}

function renderConversation(c, switched) {
  $("no-conversation").hidden = true;
  $("conversation-body").hidden = false;
  $("conv-title").textContent = c.customer;
  $("conv-state").textContent = stateLabel(c);
  const mineToAct = state.me.role !== "agent" || c.agent_id === state.me.agent_id;
  const open = c.state !== "closed";
  // An offer (issue 11.4): the agent it is offered to accepts or declines it before answering.
  const offeredToMe = c.state === "offered" && c.agent_id === state.me.agent_id;
  $("accept-button").hidden = !offeredToMe;
  $("decline-button").hidden = !offeredToMe;
  const talking = open && c.state !== "wrap_up";
  // The sender of a pending transfer answers the customer meanwhile and may cancel it; nothing else.
  const sending = isMyPendingTransfer(c);
  // Offered and not accepted yet: the API refuses a reply, a transfer or a close until the agent accepts.
  const acts = mineToAct && !offeredToMe;
  const writes = (acts || sending) && talking;
  $("cancel-transfer-button").hidden = !(c.transfer && ["open", "offered"].includes(c.state) && (sending || state.me.role !== "agent"));
  // A supervisor (or the admin) gives what waits in the queue to the agent they pick, or moves it to another queue.
  const waits = supervises() && c.state === "open" && !c.agent_id && !c.transfer;
  $("assign-button").hidden = !waits;
  $("move-button").hidden = !waits;
  $("close-button").disabled = !(acts && open);
  $("transfer-button").disabled = !(acts && talking);
  $("end-button").disabled = !(mineToAct && (c.state === "active" || c.state === "waiting"));
  $("wait-button").disabled = !(mineToAct && c.state === "active");
  $("reply").disabled = !writes;
  $("note-mode").disabled = !writes;
  updateMeter(); // Send: off when the box is, and for a draft over the limit (a re-render must not turn it on)
  // Attachments (issue 14.3): only where the channel lets agents send media (the API says so, and why not).
  const attach = c.attachments ?? { allowed: false };
  $("attach-button").hidden = !(attach.allowed && writes) || noteMode();
  $("attach-input").accept = (attach.types ?? []).join(",");
  $("reply-form").hidden = c.state === "wrap_up";
  if (c.state === "wrap_up" && mineToAct) showWrapUp(c);
  else hideWrapUp();
  const held = $("held");
  if (sending) {
    held.hidden = false;
    held.textContent = `${stateLabel(c)}: you still answer the customer until it is taken (or cancel the transfer).`;
  } else if (c.agent_id && c.agent_id !== state.me.agent_id && open) {
    held.hidden = false;
    held.textContent = `Another agent (${holderName(state.items.get(c.id) ?? c)}) holds this conversation: ${state.me.role !== "agent" ? "anything you send goes out beside theirs." : "you can read it, not answer it."}`;
  } else if (!c.agent_id && open) {
    held.hidden = false;
    held.textContent = "Waiting in its queue: it becomes yours through assignment.";
  } else {
    held.hidden = true;
  }

  const list = $("transcript");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const existing = new Map([...list.children].map((li) => [li.dataset.id, li]));
  const keep = new Set();
  const entries = [...c.messages.map((m) => ({ m, note: false })), ...(c.notes ?? []).map((m) => ({ m, note: true }))];
  entries.sort((a, b) => Date.parse(a.m.created_at) - Date.parse(b.m.created_at));
  for (const { m, note } of entries) {
    keep.add(m.id);
    const fresh = note ? renderNote(m) : renderMessage(m);
    const old = existing.get(m.id);
    if (old) {
      if (old.dataset.sig !== fresh.dataset.sig || (stale(old) && old.dataset.expires !== fresh.dataset.expires)) old.replaceWith(fresh);
    } else {
      list.append(fresh);
    }
  }
  for (const [id, li] of existing) if (!keep.has(id)) li.remove();
  if (switched || atBottom) list.scrollTop = list.scrollHeight;
  refreshLinksBeforeTheyExpire(c);
}

// Media links last minutes (the API signs them short-lived): the open conversation is read again a little
// before the first of them expires, and a message whose links are about to expire is drawn with the fresh
// ones (pictures, videos and downloads keep working however long the conversation stays open).
const LINK_MARGIN_MS = 30000;
let linkTimer = null;

function linksExpire(m) {
  const times = (m.media ?? []).map((x) => Date.parse(x.url_expires_at ?? "")).filter((t) => !Number.isNaN(t));
  return times.length ? Math.min(...times) : null;
}

function stale(li) {
  const expires = Number(li.dataset.expires ?? "");
  return expires > 0 && expires - LINK_MARGIN_MS <= Date.now();
}

function refreshLinksBeforeTheyExpire(c) {
  clearTimeout(linkTimer);
  const times = c.messages.map(linksExpire).filter((t) => t !== null);
  if (!times.length) return;
  const wait = Math.max(1000, Math.min(...times) - LINK_MARGIN_MS - Date.now());
  linkTimer = setTimeout(() => {
    if (state.current?.id === c.id) openConversation(c.id, { keepFocus: true }).catch(() => {});
  }, wait);
}

function renderMessage(m) {
  const sig = `${m.status}|${m.error ?? ""}`;
  const who = { customer: "Customer", agent: "Agent", system: "System" }[m.author] ?? m.author;
  // Internal entries (a transfer and its note) are for agents only: marked, and never shown a send status.
  if (m.internal) {
    return el(
      "li",
      { class: "msg system internal", "data-id": m.id, "data-sig": sig },
      el("div", { class: "meta" }, el("span", { class: "author", text: "Internal note" }), el("time", { datetime: m.created_at, text: clock(m.created_at) })),
      el("p", { class: "text", text: m.text }),
    );
  }
  const status =
    m.direction === "outbound"
      ? el("span", { class: `status status-${m.status}`, "data-status": m.status, text: m.status })
      : null;
  let failure = null;
  if (m.direction === "outbound" && (m.status === "failed" || m.status === "unknown" || m.status === "undelivered")) {
    failure = el(
      "div",
      { class: "failure" },
      el("p", { class: "reason", text: m.error ?? "The provider gave no reason." }),
      m.status !== "undelivered" && !optedOut(m) && state.current && !["closed", "wrap_up"].includes(state.current.state) && (state.me.role !== "agent" || state.current.agent_id === state.me.agent_id)
        ? el("button", { type: "button", class: "resend", onclick: () => resend(m.id), text: "Resend" })
        : null,
    );
  }
  const media = m.media ?? [];
  const li = el(
    "li",
    { class: `msg ${m.author} ${m.direction}`, "data-id": m.id, "data-sig": `${sig}|${media.map((x) => `${x.id}:${x.status}`).join(",")}`, "data-expires": linksExpire(m) ?? undefined },
    el("div", { class: "meta" }, el("span", { class: "author", text: who }), el("time", { datetime: m.created_at, text: clock(m.created_at) }), status),
    m.text || !media.length ? el("p", { class: "text", text: m.text }) : null,
    media.length ? el("div", { class: "media" }, ...media.map((x) => renderMedia(x, m.direction))) : null,
    failure,
  );
  return li;
}

// One media item of a message: a picture shown (its size reserved, so nothing jumps when it loads), a
// video or a recording playable, anything else a download; one that could not be kept says why.
function renderMedia(x, direction) {
  const from = direction === "inbound" ? "from the customer" : "sent";
  if (x.status !== "stored" || !x.url) {
    const what = direction === "inbound" ? "An attachment from the customer was not received" : "An attachment was not sent";
    return el("p", { class: "media-failed", "data-media": x.id, text: `${what}: ${x.error ?? "no reason given"}` });
  }
  const size = x.size ? ` (${Math.max(1, Math.round(x.size / 1024))} KB)` : "";
  if (x.kind === "image") {
    const img = el("img", { src: x.url, alt: `Picture ${from}${size}`, loading: "lazy", width: x.width ?? undefined, height: x.height ?? undefined });
    return el("a", { class: "media-item", href: x.url, target: "_blank", rel: "noopener", "data-media": x.id, title: "Open the picture" }, img);
  }
  if (x.kind === "video") return el("video", { class: "media-item", src: x.url, controls: true, preload: "metadata", "aria-label": `Video ${from}${size}`, "data-media": x.id });
  if (x.kind === "audio") return el("audio", { class: "media-item", src: x.url, controls: true, preload: "metadata", "aria-label": `Recording ${from}${size}`, "data-media": x.id });
  return el("a", { class: "media-item file", href: x.url, download: "", "data-media": x.id, text: `Download the file ${from} (${x.content_type ?? "file"}${size ? `,${size.slice(1, -1)}` : ""})` });
}

// A reply refused because the customer opted out (the reason the API files with it).
function optedOut(m) {
  return (m.error ?? "").startsWith("not sent: the customer opted out");
}

function renderNote(n) {
  return el(
    "li",
    { class: "msg note", "data-id": n.id, "data-sig": "note" },
    el("div", { class: "meta" }, el("span", { class: "author", text: `Private note · ${n.author_name}` }), el("time", { datetime: n.created_at, text: clock(n.created_at) })),
    el("p", { class: "text", text: n.text }),
  );
}

async function resend(messageId) {
  const c = state.current;
  actionError(null);
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/messages/${encodeURIComponent(messageId)}/resend`, { method: "POST" });
    await openConversation(c.id, { keepFocus: true });
  } catch (e) {
    actionError(e);
  }
}

// ---------- reply

function noteMode() {
  return $("note-mode").checked;
}

function setNoteMode(on) {
  $("note-mode").checked = on;
  $("reply-form").dataset.mode = on ? "note" : "reply";
  $("reply-label").replaceChildren(...(on ? ["Private note (never sent to the customer) ", el("kbd", { text: "n" })] : ["Reply ", el("kbd", { text: "r" })]));
  $("send").textContent = on ? "Add note" : "Send";
  // A note is never sent: it takes no attachment.
  if (on) clearAttachments();
  $("attach-button").hidden = on || !(state.current?.attachments?.allowed && !$("reply").disabled);
  updateMeter();
}

function updateMeter() {
  const text = $("reply").value;
  if (noteMode()) {
    const meter = $("reply-meter");
    meter.textContent = `${[...text.trim()].length} / ${MAX_NOTE} characters · private: only colleagues see it`;
    meter.classList.toggle("over", [...text.trim()].length > MAX_NOTE);
    $("reply-marks").replaceChildren();
    $("reply-marks").hidden = true;
    $("send").disabled = state.sending || $("reply").disabled || !text.trim() || [...text.trim()].length > MAX_NOTE;
    return;
  }
  const info = analyze(text);
  const meter = $("reply-meter");
  meter.textContent = meterText(info.characters, info.encoding, info.segments, info.ucs2_characters);
  meter.classList.toggle("over", info.over_limit);
  // A channel with smart encoding sends look-alikes (’ “ — …) as their GSM-7 twins: the server's preview
  // says what the send will do, once the agent pauses.
  clearTimeout(previewTimer);
  if (info.ucs2_characters.length && !info.over_limit && state.current) {
    const channel = state.current.channel_id;
    previewTimer = setTimeout(() => smartPreview(text, channel), 300);
  }
  const marks = $("reply-marks");
  if (info.ucs2_characters.length) {
    marks.replaceChildren(...[...text].map((c) => (forcesUcs2(c) ? el("mark", { text: c }) : document.createTextNode(c))));
    marks.hidden = false;
  } else {
    marks.replaceChildren();
    marks.hidden = true;
  }
  $("send").disabled = state.sending || $("reply").disabled || info.over_limit || !text.trim();
}

let previewTimer = null;

// What the meter under the reply box says: length, encoding and segments, and why it is UCS-2.
function meterText(characters, encoding, segments, ucs2, note = null) {
  return `${characters} / ${MAX_CHARACTERS} characters · ${encoding} · ${segments} segment${segments === 1 ? "" : "s"}` +
    (note ? ` · ${note}` : "") + (ucs2.length ? ` · UCS-2 because of: ${ucs2.join(" ")}` : "");
}

async function smartPreview(text, channel) {
  let p;
  try {
    p = await api("/v1/messages/preview", { method: "POST", body: { text, channel_id: channel } });
  } catch {
    return; // the local count stands
  }
  if ($("reply").value !== text || noteMode() || state.current?.channel_id !== channel || !p.smart_encoding?.applied) return;
  const left = p.ucs2_characters ?? [];
  $("reply-meter").textContent = meterText([...text].length, p.encoding, p.segments, left, "smart encoding replaces the look-alikes");
  const marks = $("reply-marks");
  if (left.length) marks.replaceChildren(...[...text].map((c) => (left.includes(c) ? el("mark", { text: c }) : document.createTextNode(c))));
  else marks.replaceChildren();
  marks.hidden = !left.length;
}

// What the customer gets: the agent's text without the blank lines or spaces it ends with (Enter adds a
// line; only Ctrl+Enter sends).
function replyText() {
  return $("reply").value.trimEnd();
}

// The key of a reply: the same conversation and text tried again (after an error or a lost answer) keeps
// it, so the API sends it at most once; another text gets a new one.
function idempotencyKey(conversation, text) {
  const d = state.draft;
  if (!d || d.conversation !== conversation || d.text !== text) {
    state.draft = { conversation, text, key: `console-${crypto.randomUUID()}` };
  }
  return state.draft.key;
}

async function sendReply(event) {
  event?.preventDefault();
  const c = state.current;
  const text = replyText();
  if (!c || state.sending) return;
  const media = noteMode() ? [] : state.attachments.filter((a) => a.id).map((a) => a.id);
  if (!text.trim()) {
    // Providers send a picture with its text: an attachment alone is not a reply.
    if (media.length) showError($("reply-error"), new Error("Write a text to go with the attachment."));
    return;
  }
  if (!noteMode() && state.attachments.some((a) => !a.id)) {
    const refused = state.attachments.some((a) => a.error);
    showError($("reply-error"), new Error(refused ? "Remove the refused attachment first." : "An attachment is still uploading."));
    return;
  }
  showError($("reply-error"), null);
  state.sending = true;
  $("send").disabled = true;
  try {
    if (noteMode()) {
      await api(`/v1/conversations/${encodeURIComponent(c.id)}/notes`, { method: "POST", body: { text } });
      $("reply").value = "";
      setNoteMode(false);
    } else {
      try {
        await api(`/v1/conversations/${encodeURIComponent(c.id)}/messages`, {
          method: "POST",
          body: media.length ? { text, media } : { text },
          headers: { "Idempotency-Key": idempotencyKey(c.id, [text, ...media].join("\u0000")) },
        });
      } catch (e) {
        // Refused for an opt-out, it is in the transcript already (failed, with the reason): the box is
        // emptied as for a sent one, and the conversation says why nothing goes out.
        if (!(e instanceof ApiFailure && e.code === "opted_out")) throw e;
        showError($("reply-error"), e);
      }
      state.draft = null;
      $("reply").value = "";
      clearAttachments();
    }
    await openConversation(c.id, { keepFocus: true });
  } catch (e) {
    showError($("reply-error"), e);
  } finally {
    state.sending = false;
    updateMeter();
    if (!$("reply").disabled) $("reply").focus();
  }
}

// ---------- attachments (issue 14.3)

// Each picked file is uploaded at once (the API checks its type by its bytes and its size against the
// channel's limits, and says which limit a refused one broke); the reply names the uploaded ones.
async function attachFiles(files) {
  const c = state.current;
  if (!c) return;
  const max = c.attachments?.max_items ?? 0;
  for (const file of files) {
    if (state.attachments.length >= max) {
      showError($("reply-error"), new Error(`At most ${max} attachment${max === 1 ? "" : "s"} per reply on this channel.`));
      break;
    }
    const a = { key: crypto.randomUUID(), name: file.name, size: file.size, id: null, error: null };
    state.attachments.push(a);
    renderAttachments();
    try {
      const uploaded = await api(`/v1/conversations/${encodeURIComponent(c.id)}/media`, { method: "POST", body: file });
      if (state.current?.id !== c.id || !state.attachments.includes(a)) continue;
      a.id = uploaded.id;
    } catch (e) {
      a.error = e.message;
    }
    renderAttachments();
  }
}

function renderAttachments() {
  const list = $("attachments");
  list.hidden = state.attachments.length === 0;
  list.replaceChildren(
    ...state.attachments.map((a) =>
      el(
        "li",
        { class: a.error ? "attachment refused" : "attachment", "data-state": a.error ? "refused" : a.id ? "ready" : "uploading" },
        el("span", { text: `${a.name} · ${Math.max(1, Math.round(a.size / 1024))} KB${a.error ? ` · refused: ${a.error}` : a.id ? "" : " · uploading…"}` }),
        el("button", { type: "button", class: "remove", "aria-label": `Remove ${a.name}`, onclick: () => removeAttachment(a.key), text: "Remove" }),
      ),
    ),
  );
}

function removeAttachment(key) {
  state.attachments = state.attachments.filter((a) => a.key !== key);
  renderAttachments();
  $("reply").focus();
}

function clearAttachments() {
  state.attachments = [];
  renderAttachments();
}

// ---------- offers, close, transfer

// Accept (the conversation moves to "mine" and opens) or decline (it goes to another agent).
async function answerOffer(id, action) {
  actionError(null);
  try {
    await api(`/v1/conversations/${encodeURIComponent(id)}/${action}`, { method: "POST" });
    if (action === "accept") {
      if (state.tab !== "mine") selectTab("mine");
      await openConversation(id);
    } else {
      state.items.delete(id);
      if (state.current?.id === id) closeView();
      renderList();
    }
  } catch (e) {
    if (e instanceof ApiFailure && (e.status === 404 || e.status === 409)) {
      // The offer went elsewhere meanwhile (timed out, or taken back): re-read.
      await reloadAll();
    }
    actionError(e);
  }
}

async function endConversation() {
  const c = state.current;
  if (!c) return;
  if (c.state === "wrap_up") return focusWrapUp();
  if ($("end-button").disabled) return;
  actionError(null);
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/end`, { method: "POST" });
    await openConversation(c.id, { keepFocus: true });
    focusWrapUp();
  } catch (e) {
    actionError(e);
  }
}

async function finishWrapUp(event) {
  event?.preventDefault();
  const c = state.current;
  if (!c || c.state !== "wrap_up") return;
  if (await submitWrapUp(c)) {
    hideWrapUp();
    await openConversation(c.id, { keepFocus: true });
    $("transcript").focus();
  } else {
    focusWrapUp();
  }
}

async function setAside() {
  const c = state.current;
  if (!c || $("wait-button").disabled) return;
  actionError(null);
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/wait`, { method: "POST" });
    await openConversation(c.id, { keepFocus: true });
  } catch (e) {
    actionError(e);
  }
}

async function closeConversation() {
  const c = state.current;
  if (!c || $("close-button").disabled) return;
  actionError(null);
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/close`, { method: "POST" });
    await openConversation(c.id, { keepFocus: true });
    $("transcript").focus();
  } catch (e) {
    actionError(e);
  }
}

async function cancelTransfer() {
  const c = state.current;
  if (!c || $("cancel-transfer-button").hidden) return;
  actionError(null);
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/transfer/cancel`, { method: "POST" });
    await openConversation(c.id, { keepFocus: true });
    $("transcript").focus();
  } catch (e) {
    actionError(e);
  }
}

async function openTransfer() {
  if (!state.current || $("transfer-button").disabled) return;
  $("transfer-error").textContent = "";
  $("transfer-target").value = "";
  // Another conversation's note must never carry over to this one.
  $("transfer-note").value = "";
  $("transfer-note-field").hidden = !TRANSFER_NOTE;
  state.transferTargets = { queues: [], agents: [] };
  // Every queue and every other agent, by name (the field takes the id; the list offers them).
  try {
    state.transferTargets = await api(`/v1/conversations/${encodeURIComponent(state.current.id)}/transfer-targets`);
  } catch (e) {
    showError($("transfer-error"), e);
  }
  showTransferTargets();
  $("transfer-dialog").showModal();
  $("transfer-target").focus();
}

// Every queue, then every other agent; picking one sets the kind (queue or agent) it is, so a pick is never
// sent as the wrong kind.
function showTransferTargets() {
  const t = state.transferTargets ?? { queues: [], agents: [] };
  const queues = t.queues.map((q) => el("option", { value: q.id, text: `queue: ${q.name}` }));
  const agents = t.agents.map((a) => el("option", { value: a.id, text: `agent: ${a.name} (${a.can_take ? "can take it" : a.presence})` }));
  $("transfer-options").replaceChildren(...queues, ...agents);
}

function transferKindOf(id) {
  const t = state.transferTargets ?? { queues: [], agents: [] };
  if (t.agents.some((a) => a.id === id)) return "agent";
  if (t.queues.some((q) => q.id === id)) return "queue";
  return null;
}

async function submitTransfer(event) {
  event.preventDefault();
  const c = state.current;
  const target = $("transfer-target").value.trim();
  // A listed target says its own kind; an id typed by hand goes as the radio buttons say.
  const kind = transferKindOf(target) ?? new FormData($("transfer-form")).get("kind");
  if (!target) return;
  const body = kind === "agent" ? { agent_id: target } : { queue_id: target };
  const note = $("transfer-note").value.trim();
  if (TRANSFER_NOTE && note) body.note = note;
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/transfer`, { method: "POST", body });
    $("transfer-dialog").close();
    await reloadAll();
    $("transcript").focus();
  } catch (e) {
    showError($("transfer-error"), e);
  }
}

// Giving a waiting conversation by hand (supervisors, the admin): the agents who can take it now first.
async function openAssign() {
  const c = state.current;
  if (!c || $("assign-button").hidden) return;
  $("assign-error").textContent = "";
  const select = $("assign-agent");
  select.replaceChildren();
  try {
    const { agents } = await api(`/v1/conversations/${encodeURIComponent(c.id)}/transfer-targets`);
    const ordered = [...agents.filter((a) => a.can_take), ...agents.filter((a) => !a.can_take)];
    select.replaceChildren(...ordered.map((a) => el("option", { value: a.id, text: `${a.name} (${a.can_take ? "can take it" : a.presence})` })));
  } catch (e) {
    showError($("assign-error"), e);
  }
  $("assign-dialog").showModal();
  select.focus();
}

async function submitAssign(event) {
  event.preventDefault();
  const c = state.current;
  const agent = $("assign-agent").value;
  if (!c || !agent) return;
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/assign`, { method: "POST", body: { agent_id: agent } });
    $("assign-dialog").close();
    await reloadAll();
    $("transcript").focus();
  } catch (e) {
    showError($("assign-error"), e);
  }
}

// Moving a waiting conversation to another queue (supervisors, the admin): every queue but its own.
async function openMove() {
  const c = state.current;
  if (!c || $("move-button").hidden) return;
  $("move-error").textContent = "";
  const select = $("move-queue");
  select.replaceChildren();
  try {
    const { queues } = await api(`/v1/conversations/${encodeURIComponent(c.id)}/transfer-targets`);
    select.replaceChildren(...queues.filter((q) => q.id !== c.queue_id).map((q) => el("option", { value: q.id, text: q.name })));
  } catch (e) {
    showError($("move-error"), e);
  }
  $("move-dialog").showModal();
  select.focus();
}

async function submitMove(event) {
  event.preventDefault();
  const c = state.current;
  const queue = $("move-queue").value;
  if (!c || !queue) return;
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/queue`, { method: "POST", body: { queue_id: queue } });
    $("move-dialog").close();
    await reloadAll();
    $("transcript").focus();
  } catch (e) {
    showError($("move-error"), e);
  }
}

// ---------- contact

// As for the conversation: only the latest drawing of the panel writes it (its reads may come back late).
let contactSeq = 0;

async function renderContact(c) {
  const seq = ++contactSeq;
  const current = () => seq === contactSeq;
  state.contactSig = contactSig(c);
  state.timelineOf = null;
  const body = $("contact-body");
  body.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
  try {
    if (c.contact_state === "needs_pick") {
      const answer = await api(`/v1/contacts?phone=${encodeURIComponent(c.customer)}`);
      if (!current()) return;
      body.replaceChildren(
        el("p", { text: "Several contacts share this phone. Which one is it?" }),
        el(
          "ul",
          { class: "picks" },
          ...answer.items
            .filter((x) => c.contact_candidates.includes(x.id))
            .map((x) => el("li", {}, el("button", { type: "button", onclick: () => pickContact(c, x.id), text: `${x.name ?? x.id}` }))),
        ),
        // None of them is right: a new contact with this phone (issue 10.7).
        el(
          "form",
          { class: "new-contact", onsubmit: (event) => (event.preventDefault(), newContact(c, $("new-contact-name").value)) },
          el("label", { for: "new-contact-name", text: "None of these: a new contact named" }),
          el("input", { id: "new-contact-name", required: true, autocomplete: "off" }),
          el("button", { type: "submit", text: "Create the contact" }),
        ),
      );
      return;
    }
    if (!c.contact_id) {
      body.replaceChildren(el("p", { class: "empty", text: "The CRM contact is being found or created." }));
      return;
    }
    const contact = await api(`/v1/contacts/${encodeURIComponent(c.contact_id)}`);
    if (!current()) return;
    const earlier = earlierConversations(contact.timeline ?? [], c.id);
    body.replaceChildren(
      el("dl", {}, el("dt", { text: "Name" }), el("dd", { text: contact.name ?? "—" }), el("dt", { text: "Phone" }), el("dd", { text: contact.phone })),
      el("h3", { text: "Earlier conversations" }),
      earlier.length
        ? el("ol", { class: "earlier" }, ...earlier.map(earlierItem))
        : el("p", { class: "empty", text: "None: the first one." }),
      timelineSection(contact, c),
    );
    state.timelineOf = { conversation: c.id, contact: c.contact_id, key: JSON.stringify(contact.timeline ?? []) };
  } catch (e) {
    if (current()) body.replaceChildren(el("p", { class: "error", text: e.message }));
  }
}

// The contact's last ten timeline entries, newest first, in words.
function timelineSection(contact, c) {
  const timeline = (contact.timeline ?? []).slice(-10).reverse();
  return el(
    "section",
    { id: "contact-timeline", "aria-labelledby": "contact-timeline-title" },
    el("h3", { id: "contact-timeline-title", text: "Timeline" }),
    timeline.length
      ? el("ol", { class: "timeline" }, ...timeline.map((t) => el("li", { "data-kind": t.kind ?? "", text: `${clock(t.at)} ${timelineLabel(t, c.id)}` })))
      : el("p", { class: "empty", text: "Nothing yet." }),
  );
}

// Re-reads the shown contact and redraws its timeline alone when it grew, so that nothing else in the panel
// (an earlier conversation the agent opened) moves under them.
async function refreshTimeline() {
  const shown = state.timelineOf;
  const c = state.current;
  if (!shown || !c || c.id !== shown.conversation || document.hidden) return;
  try {
    const contact = await api(`/v1/contacts/${encodeURIComponent(shown.contact)}`);
    // Redrawn, or another conversation opened, meanwhile (renderContact replaces `timelineOf` as it starts):
    // that drawing is the newer one.
    if (state.timelineOf !== shown) return;
    const key = JSON.stringify(contact.timeline ?? []);
    if (key === shown.key) return;
    shown.key = key;
    $("contact-timeline")?.replaceWith(timelineSection(contact, state.current));
  } catch {
    // Not readable now: the next tick tries again.
  }
}

// The customer's other conversations, newest first, from the contact's timeline: when, how it ended, and
// what was said (the transcript the CRM keeps once a conversation closes, in its parts).
function earlierConversations(timeline, currentId) {
  const byConversation = new Map();
  for (const t of timeline) {
    if (!t.conversation_id || t.conversation_id === currentId) continue;
    const e = byConversation.get(t.conversation_id) ?? { id: t.conversation_id, at: t.at, ended: null, wrapUp: null, parts: [] };
    if (Date.parse(t.at) < Date.parse(e.at)) e.at = t.at;
    if (t.kind === "conversation_closed" || t.kind === "conversation_ended") e.ended = e.ended ?? "ended";
    if (t.kind === "wrap_up") e.wrapUp = [t.detail?.disposition, ...(t.detail?.tags ?? [])].filter(Boolean).join(", ");
    if (t.kind === "transcript" && Array.isArray(t.detail?.messages)) e.parts.push(t.detail);
    byConversation.set(t.conversation_id, e);
  }
  return [...byConversation.values()]
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .map((e) => ({
      id: e.id,
      summary: [new Date(e.at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }), e.wrapUp || e.ended || "open"].join(" · "),
      messages: e.parts.sort((a, b) => (a.part ?? 0) - (b.part ?? 0)).flatMap((p) => p.messages),
    }));
}

// A CRM timeline entry in words: what happened, and whether it was in another conversation than this one.
function timelineLabel(t, currentId) {
  const d = t.detail ?? {};
  const said = {
    conversation_started: "Conversation started",
    assigned: `Assigned to ${d.agent_id && d.agent_id === state.me?.agent_id ? "you" : (state.names.get(d.agent_id) ?? "an agent")}`,
    requeued: "Back in the queue",
    conversation_ended: "The customer conversation ended",
    conversation_closed: "Conversation closed",
    wrap_up: `Wrap-up: ${[d.disposition, ...(d.tags ?? [])].filter(Boolean).join(", ") || "no disposition"}`,
    transfer_started: "Transfer started",
    transfer_ended: "Transfer landed",
    transfer_failed: "Transfer failed",
    queue_changed: "Moved to another queue",
    media_received: "Media received",
    transcript: d.parts > 1 ? `Transcript saved (part ${d.part} of ${d.parts})` : "Transcript saved",
  }[t.kind] ?? String(t.kind ?? "event").replaceAll("_", " ");
  return t.conversation_id && t.conversation_id !== currentId ? `${said} (earlier conversation)` : said;
}

// One earlier conversation: its summary, opening onto its transcript when the CRM has it.
function earlierItem(e) {
  if (!e.messages.length) return el("li", { "data-id": e.id, text: e.summary });
  const who = { customer: "Customer", agent: "Agent", system: "System" };
  const lines = e.messages.map((m) =>
    el(
      "li",
      { class: `past ${m.author ?? ""}` },
      el("span", { class: "author", text: `${who[m.author] ?? m.author ?? ""} ${m.at ? clock(m.at) : ""}`.trim() }),
      el("span", { text: ` ${m.text ?? ""}` }),
    ),
  );
  return el(
    "li",
    { "data-id": e.id },
    el("details", {}, el("summary", { text: e.summary }), el("ol", { class: "past-transcript", "aria-label": `Transcript of ${e.summary}` }, ...lines)),
  );
}

async function newContact(c, name) {
  if (!name.trim()) return;
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/contact`, { method: "POST", body: { new_contact: { name: name.trim() } } });
    renderContact(await api(`/v1/conversations/${encodeURIComponent(c.id)}`));
  } catch (e) {
    showError($("contact-body"), e);
  }
}

async function pickContact(c, contactId) {
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/contact`, { method: "POST", body: { contact_id: contactId } });
    const fresh = await api(`/v1/conversations/${encodeURIComponent(c.id)}`);
    renderContact(fresh);
  } catch (e) {
    showError($("contact-body"), e);
  }
}

// ---------- live changes

let pending = new Set();
const seenTexts = new Set();
let flushTimer = null;

function onChange(change) {
  const id = change.conversation_id;
  const known = state.items.has(id);
  if (change.entity === "conversation") {
    const d = change.data;
    const mineNow = holdsIt(d);
    const wasOffered = state.items.get(id)?.state === "offered";
    if (d.state === "offered" && d.agent_id === state.me.agent_id && !(known && wasOffered)) {
      alertHidden("New offer", "A conversation is offered to you: accept it before the time runs out");
    } else if (!known && d.state !== "closed" && (mineNow || d.state === "open")) {
      alertHidden("New conversation", d.state === "open" ? "Waiting in your queue" : "Assigned to you");
    }
  } else if (change.data.direction === "inbound" && change.data.author === "customer" && !seenTexts.has(change.id)) {
    seenTexts.add(change.id);
    if (state.current?.id !== id || document.visibilityState === "hidden") {
      if (state.current?.id !== id) state.unread.set(id, (state.unread.get(id) ?? 0) + 1);
      const customer = state.items.get(id)?.customer;
      alertHidden("New text", customer ? `${customer} wrote` : "A customer wrote", `smsdesk-${id}`);
    }
  }
  pending.add(id);
  clearTimeout(flushTimer);
  // One flush at a time, in order: two running at once could apply their reads out of order.
  flushTimer = setTimeout(() => (flushing = flushing.then(flush, flush)), 50);
}

let flushing = Promise.resolve();

async function flush() {
  const ids = [...pending];
  pending = new Set();
  let listChanged = false;
  const failed = [];
  for (const id of ids) {
    try {
      if (state.current?.id === id) {
        await openConversation(id, { keepFocus: true });
        continue;
      }
      const c = await api(`/v1/conversations/${encodeURIComponent(id)}`);
      const item = {
        conversation_id: c.id, state: c.state, channel_id: c.channel_id, queue_id: c.queue_id, agent_id: c.agent_id,
        customer: c.customer, last_message_at: c.last_message_at, created_at: c.created_at, queued_at: c.queued_at,
        offer_expires_at: c.offer_expires_at, transfer: c.transfer,
      };
      if (c.state === "closed") {
        if (state.items.delete(id)) state.closed.set(id, item);
      } else {
        state.items.set(id, item);
      }
      listChanged = true;
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 401) {
        // The token expired while the socket stayed signed in: sign in again, never a list that stopped.
        session.token = null;
        showSignIn("Your session ended. Sign in again.");
        return;
      }
      if (e instanceof ApiFailure && e.status === 404) {
        state.items.delete(id);
        listChanged = true;
      } else {
        failed.push(id); // a 5xx, a 429, the network: read again shortly, never dropped
      }
    }
  }
  if (listChanged) renderList();
  if (failed.length) {
    for (const id of failed) pending.add(id);
    clearTimeout(flushTimer);
    flushTimer = setTimeout(() => (flushing = flushing.then(flush, flush)), FLUSH_RETRY_MS);
  }
}

// How soon a live change whose read failed is read again.
const FLUSH_RETRY_MS = 2000;

// ---------- keyboard

function move(step) {
  const items = visibleItems();
  if (!items.length) return;
  const at = items.findIndex((i) => i.conversation_id === state.current?.id);
  const next = items[Math.min(items.length - 1, Math.max(0, at === -1 ? 0 : at + step))];
  openConversation(next.conversation_id).then(() => {
    $("items").querySelector(`li[data-id="${CSS.escape(next.conversation_id)}"] button`)?.focus();
  });
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.closest?.("input, textarea, select, dialog");
  if (typing) {
    if (event.key === "Escape" && event.target.id === "reply") event.target.blur();
    return;
  }
  if ($("app").hidden) return;
  if (event.key === "Escape" && document.body.classList.contains("show-contact")) {
    // The contact panel over the page (narrow screens): Esc closes it, back to its button.
    event.preventDefault();
    showContactPanel(false);
    $("contact-button").focus();
    return;
  }
  const act = actionFor(event.key);
  if (act) {
    event.preventDefault();
    act();
  }
}

// ---------- wiring

// The offer the banner shows first (the one that expires soonest), which `a` and `d` act on.
function firstOffer() {
  return myOffers()[0];
}

function registerShortcuts() {
  shortcut({ key: "j", description: "Next conversation", action: () => move(1) });
  shortcut({ key: "k", description: "Previous conversation", action: () => move(-1) });
  shortcut({ key: "r", description: "Reply to the customer", action: () => {
    if ($("reply").disabled) return;
    if (noteMode()) setNoteMode(false);
    $("reply").focus();
  } });
  shortcut({ key: "n", description: "Write a private note (never sent to the customer)", action: () => {
    if ($("reply").disabled) return;
    setNoteMode(true);
    $("reply").focus();
  } });
  shortcut({ key: "e", description: "End the conversation (then the wrap-up form)", action: () => endConversation() });
  shortcut({ key: "w", description: "Set the conversation aside until the customer writes", action: () => setAside() });
  shortcut({ key: "a", description: "Accept the first offer", action: () => firstOffer() && answerOffer(firstOffer().conversation_id, "accept") });
  shortcut({ key: "d", description: "Decline the first offer", action: () => firstOffer() && answerOffer(firstOffer().conversation_id, "decline") });
  shortcut({ key: "Ctrl+Enter", label: "Ctrl+Enter", description: "Send the reply; finish the wrap-up", where: "text" });
  shortcut({ key: "Escape", label: "Esc", description: "Leave the reply box, close a dialog or the contact panel", where: "text" });
  shortcut({ key: "u", description: "Your queues: what waits, the service level, who serves them (supervisors)", action: () => showQueues() });
  shortcut({ key: "?", description: "This list", action: () => showHelp() });
}

// ---------- a supervisor's queues: what waits, the service level today, who serves each and their load

const QUEUES_MS = 5000; // how often the open dialog re-reads the figures

function waited(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function queueRow(queue, stats) {
  const level = stats.service_level === null
    ? "no conversation answered yet"
    : `${Math.round(stats.service_level * 100)}% within ${waited(stats.service_level_seconds)} (${stats.answered_within_target} of ${stats.answered})`;
  const agents = queue.agents.length
    ? el("ul", {}, ...queue.agents.map((a) => el("li", { text: `${a.name}: ${a.presence}, ${a.active} of ${a.capacity}` })))
    : "nobody";
  return el("tr", { "data-queue": queue.id },
    el("th", { scope: "row", text: queue.name }),
    el("td", { class: "waiting", text: String(stats.waiting) }),
    el("td", { text: waited(stats.oldest_waiting_seconds) }),
    el("td", { text: level }),
    el("td", {}, agents));
}

async function loadQueues() {
  try {
    const list = await api("/v1/queues");
    const rows = await Promise.all(list.items.map(async (q) => queueRow(q, await api(`/v1/queues/${encodeURIComponent(q.id)}/stats`))));
    $("queues-body").replaceChildren(...rows);
    $("queues-status").textContent = rows.length ? `As of ${new Date().toLocaleTimeString()}.` : "You supervise no queue.";
  } catch (e) {
    showError($("queues-status"), e);
  }
}

async function showQueues() {
  if (!supervises() || $("queues-dialog").open) return;
  // Stopped when the dialog closes, even before the first read is back.
  const timer = setInterval(loadQueues, QUEUES_MS);
  $("queues-dialog").addEventListener("close", () => clearInterval(timer), { once: true });
  $("queues-dialog").showModal();
  await loadQueues();
}

function showHelp() {
  const keys = $("keys");
  keys.replaceChildren(
    ...allShortcuts().flatMap((s) => [
      el("dt", {}, ...s.label.split("+").flatMap((k, i) => (i ? ["+", el("kbd", { text: k })] : [el("kbd", { text: k })]))),
      el("dd", { text: s.description }),
    ]),
  );
  $("help").showModal();
}

function wire() {
  registerShortcuts();
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    askPermission();
    try {
      await signIn($("token").value.trim());
      $("token").value = "";
      await start();
    } catch (e) {
      showSignIn(e instanceof ApiFailure && e.status === 401 ? "That token was refused." : `Could not sign in: ${e.message}`);
    }
  });
  $("signout").addEventListener("click", async () => {
    state.live?.stop();
    session.token = null;
    if (await oidcSignOut(session)) return;
    location.reload();
  });
  for (const b of document.querySelectorAll("[role=tab]")) b.addEventListener("click", () => selectTab(b.dataset.tab));
  $("items").closest(".worklist").querySelector(".tabs").addEventListener("keydown", (event) => {
    const tabs = [...document.querySelectorAll("[role=tab]:not([hidden])")];
    const at = tabs.indexOf(document.activeElement);
    if (at === -1 || !["ArrowLeft", "ArrowRight"].includes(event.key)) return;
    const next = tabs[(at + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    selectTab(next.dataset.tab);
  });
  $("sort").addEventListener("change", () => {
    state.sort = $("sort").value;
    renderList();
  });
  $("presence").addEventListener("change", async () => {
    try {
      await api(`/v1/agents/${encodeURIComponent(state.me.agent_id)}/presence`, { method: "POST", body: { status: $("presence").value } });
    } catch (e) {
      actionError(e);
    }
  });
  $("reply").addEventListener("input", updateMeter);
  $("note-mode").addEventListener("change", () => setNoteMode($("note-mode").checked));
  $("reply").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) sendReply(event);
  });
  $("reply-form").addEventListener("submit", sendReply);
  $("attach-button").addEventListener("click", () => $("attach-input").click());
  $("attach-input").addEventListener("change", (event) => {
    const files = [...event.target.files];
    event.target.value = "";
    attachFiles(files);
  });
  $("close-button").addEventListener("click", closeConversation);
  $("accept-button").addEventListener("click", () => state.current && answerOffer(state.current.id, "accept"));
  $("decline-button").addEventListener("click", () => state.current && answerOffer(state.current.id, "decline"));
  $("end-button").addEventListener("click", endConversation);
  $("wait-button").addEventListener("click", setAside);
  $("wrapup-form").addEventListener("submit", finishWrapUp);
  $("wrapup-form").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) finishWrapUp(event);
  });
  $("transfer-button").addEventListener("click", openTransfer);
  $("cancel-transfer-button").addEventListener("click", cancelTransfer);
  $("transfer-form").addEventListener("submit", submitTransfer);
  // Picking a listed target sets the kind it is.
  $("transfer-target").addEventListener("input", () => {
    const kind = transferKindOf($("transfer-target").value.trim());
    const radio = kind && $("transfer-form").querySelector(`input[name=kind][value=${kind}]`);
    if (radio) radio.checked = true;
  });
  $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
  $("assign-button").addEventListener("click", openAssign);
  $("assign-form").addEventListener("submit", submitAssign);
  $("assign-cancel").addEventListener("click", () => $("assign-dialog").close());
  $("move-button").addEventListener("click", openMove);
  $("move-form").addEventListener("submit", submitMove);
  $("move-cancel").addEventListener("click", () => $("move-dialog").close());
  $("help-button").addEventListener("click", showHelp);
  $("queues-button").addEventListener("click", showQueues);
  // Below 1000 px the contact panel is not a column: this button shows it over the page, and hides it.
  $("contact-button").addEventListener("click", () => showContactPanel(!document.body.classList.contains("show-contact")));
  $("contact-hide").addEventListener("click", () => {
    showContactPanel(false);
    $("contact-button").focus();
  });
  $("back").addEventListener("click", () => {
    closeView();
    renderList();
    $("items").querySelector("button")?.focus();
  });
  document.addEventListener("keydown", onKey);
  setInterval(() => renderListAges(), 15000);
  // Presence changes without a conversation changing (another tab, the away-after-missed-offers rule):
  // re-read when the tab comes back into view, and once a minute.
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && state.me && refreshMe());
  setInterval(() => state.me && !$("app").hidden && refreshMe(), PRESENCE_MS);
  setInterval(refreshTimeline, TIMELINE_MS);
}

function renderListAges() {
  if (!$("app").hidden && !document.activeElement?.closest?.("#items")) renderList();
}

async function boot() {
  wire();
  updateMeter();
  try {
    await oidcBoot(session);
  } catch (e) {
    return showSignIn(`Could not sign in: ${e.message}`);
  }
  if (!session.token) return showSignIn();
  try {
    await signIn(session.token);
    await start();
  } catch {
    showSignIn("Your session ended. Sign in again.");
  }
}

boot();
