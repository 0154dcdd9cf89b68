// The wrap-up form (issue 11.6, 13.1): after "End", the agent picks a disposition and tags from the
// conversation's queue (`GET /v1/conversations/{id}/wrap-up-options`), adds notes, and finishes
// (`POST /v1/conversations/{id}/wrap-up`), which closes the conversation. The API decides what is required
// and refuses otherwise (400 naming the field); the form marks it and shows the API's reason.

import { api, ApiFailure } from "./api.js";

const $ = (id) => document.getElementById(id);

function option(value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  return o;
}

// The form being drawn (its choices are read from the API first).
let drawing = Promise.resolve();

/** Draws the form for conversation `c` (in `wrap_up`), keeping what the agent already chose for it. */
export function showWrapUp(c) {
  const form = $("wrapup-form");
  form.hidden = false;
  if (form.dataset.conversation === c.id) return drawing;
  form.dataset.conversation = c.id;
  drawing = draw(c);
  return drawing;
}

async function draw(c) {
  $("wrapup-error").textContent = "";
  $("wrapup-notes").value = "";
  let options = { dispositions: [], tags: [], disposition_required: false, wrap_up_limit_secs: null };
  try {
    options = await api(`/v1/conversations/${encodeURIComponent(c.id)}/wrap-up-options`);
  } catch (e) {
    $("wrapup-error").textContent = e instanceof ApiFailure ? `${e.message} (${e.code})` : String(e);
  }
  const select = $("wrapup-disposition");
  select.replaceChildren(
    option("", options.disposition_required ? "Pick one…" : "None"),
    ...options.dispositions.map((d) => option(d, d)),
  );
  select.required = options.disposition_required;
  select.setAttribute("aria-required", String(options.disposition_required));
  $("wrapup-required").hidden = !options.disposition_required;
  $("wrapup-disposition-field").hidden = options.dispositions.length === 0;
  $("wrapup-tags").replaceChildren(
    ...options.tags.map((t) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "tag";
      box.value = t;
      label.append(box, ` ${t}`);
      return label;
    }),
  );
  $("wrapup-tags-field").hidden = options.tags.length === 0;
  $("wrapup-limit").textContent = options.wrap_up_limit_secs
    ? `It closes by itself ${Math.round(options.wrap_up_limit_secs / 60) || 1} min after the end if not finished.`
    : "";
}

export function hideWrapUp() {
  const form = $("wrapup-form");
  form.hidden = true;
  delete form.dataset.conversation;
}

/** The first field of the form, for the keyboard (once the form is drawn). */
export async function focusWrapUp() {
  await drawing;
  const first = [$("wrapup-disposition"), $("wrapup-notes")].find((n) => !n.closest("[hidden]"));
  first?.focus();
}

/** Sends the form; resolves true when the conversation closed. */
export async function submitWrapUp(c) {
  const disposition = $("wrapup-disposition").value || null;
  const tags = [...document.querySelectorAll("#wrapup-tags input:checked")].map((b) => b.value);
  const notes = $("wrapup-notes").value.trim() || null;
  $("wrapup-error").textContent = "";
  try {
    await api(`/v1/conversations/${encodeURIComponent(c.id)}/wrap-up`, {
      method: "POST",
      body: { disposition, tags, notes },
    });
    return true;
  } catch (e) {
    $("wrapup-error").textContent = e instanceof ApiFailure ? `${e.message} (${e.code})` : String(e);
    return false;
  }
}
