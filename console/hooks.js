// Where the console's parts meet: the keyboard shortcuts (one registry, from which the `?` list is drawn, so
// the list always names every shortcut) and a few events other modules (quick replies, transfers) listen to.
// A module adds itself with one `import "./its-module.js"` line in app.js, registers its shortcuts with
// `shortcut(...)` and listens with `on(...)`; app.js knows nothing else about it.

const shortcuts = [];
const listeners = new Map();

/**
 * A keyboard shortcut. `key` is what `KeyboardEvent.key` says (`j`, `?`); `label` is how the list shows it
 * (default: the key); `where` is `page` (outside text fields; the default) or `text` (documented only: the
 * module handles it in its own field, e.g. Ctrl+Enter in the reply box).
 */
export function shortcut({ key, label = key, description, action, where = "page" }) {
  shortcuts.push({ key, label, description, action, where });
}

/** Every shortcut, in the order they were registered. */
export function allShortcuts() {
  return [...shortcuts];
}

/** The page-wide action of `key`, if one is registered. */
export function actionFor(key) {
  return shortcuts.find((s) => s.where === "page" && s.key === key)?.action ?? null;
}

/**
 * Listens to a console event:
 * - `conversation` (conversation view, { switched }): a conversation was drawn (opened or refreshed);
 * - `closed-view` (): no conversation is open any more;
 * - `signed-in` (me): the caller, as `GET /v1/me` answered.
 */
export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, []);
  listeners.get(event).push(fn);
}

export function emit(event, ...args) {
  for (const fn of listeners.get(event) ?? []) {
    try {
      fn(...args);
    } catch (e) {
      console.error(`console hook ${event}:`, e);
    }
  }
}
