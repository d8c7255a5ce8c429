// ocd's page script, loaded by every dashboard page. The pages work without it; with it they
// update themselves: one EventSource on /api/stream, and on each event that concerns the page
// the server re-renders the page's live regions (`?fragment=1`: every `[data-region]` element
// of the page, by id) and they are swapped in. Fragment
// requests are coalesced (at most one every REFRESH_GAP_MS, plus one trailing), so a burst of
// hundreds of events costs a handful of requests. When the stream fails it reconnects with
// backoff and `last_event_id`, and polls the fragment meanwhile.

const REFRESH_GAP_MS = 250;
const POLL_MS = 5000;
const MAX_BACKOFF_MS = 30000;
/// Failed connection attempts before the page also polls.
const POLL_AFTER_FAILURES = 2;

/// The events each kind of live region shows.
const EVENTS = {
  board: ["todo:created", "todo:updated", "todo:deleted", "comment:created", "sprint:created", "sprint:updated", "project:updated"],
  todo: ["todo:created", "todo:updated", "todo:deleted", "comment:created", "sprint:updated"],
  messages: ["message:created", "message:updated"],
  agents: ["agent:status", "agent:usage", "agent:command", "task:created", "task:updated", "task:deleted"],
  agent: ["agent:status", "agent:usage", "agent:command", "task:created", "task:updated", "task:deleted", "approval:requested", "approval:decided", "approval:expired"],
  approvals: ["approval:requested", "approval:decided", "approval:expired"],
  linear: ["todo:updated", "project:updated", "linear:webhook", "linear:sync", "agent:status", "task:updated"],
};

/// The page's kind of live content (`<body data-live>`), if it has any.
const live = document.body.dataset.live ? document.body : null;
const indicator = document.getElementById("live-status");

// ---- toasts -------------------------------------------------------------------------------

export function toast(text, kind = "error") {
  const area = document.getElementById("toasts");
  if (!area) return;
  const note = document.createElement("div");
  note.className = `toast ${kind}`;
  note.setAttribute("role", kind === "error" ? "alert" : "status");
  note.textContent = text;
  area.append(note);
  setTimeout(() => note.remove(), 6000);
}
window.ocdToast = toast;

// ---- the connection indicator ---------------------------------------------------------------

const LABELS = {
  live: ["live", "Live: the page updates as agents report"],
  reconnecting: ["reconnecting", "The live connection dropped; reconnecting"],
  polling: ["polling", "The live connection is unavailable; refreshing every few seconds"],
  offline: ["offline", "This device is offline"],
};

function setState(state) {
  if (!indicator) return;
  const [label, title] = LABELS[state];
  indicator.dataset.state = state;
  indicator.title = title;
  const text = indicator.querySelector(".live-label");
  if (text) text.textContent = label;
}

// ---- fragment refresh ------------------------------------------------------------------------

let inFlight = false;
let again = false;
let lastStart = 0;
let timer = null;
/// Set while something on the page must not be replaced under the person (a drag).
let holds = 0;

export function hold() {
  holds += 1;
}

export function release() {
  holds = Math.max(0, holds - 1);
  if (holds === 0 && again) refresh();
}

/// Re-renders the live region, coalesced.
export function refresh() {
  if (!live) return;
  if (inFlight || holds > 0) {
    again = true;
    return;
  }
  const wait = lastStart + REFRESH_GAP_MS - Date.now();
  if (wait > 0) {
    if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, wait);
    return;
  }
  again = false;
  inFlight = true;
  lastStart = Date.now();
  const url = new URL(location.href);
  url.searchParams.set("fragment", "1");
  fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then(async (response) => {
      if (response.redirected || response.status === 401) {
        location.reload(); // signed out elsewhere: the page shows the sign-in page
        return;
      }
      if (!response.ok) return;
      const html = await response.text();
      if (holds > 0) {
        again = true;
        return;
      }
      swap(html);
    })
    .catch(() => { /* the stream's own error handling reports the connection */ })
    .finally(() => {
      inFlight = false;
      if (again) refresh();
    });
}
window.ocdRefresh = refresh;
window.ocdHold = hold;
window.ocdRelease = release;

/// Replaces each live region with its new rendering, keeping open menus and focus.
function swap(html) {
  const regions = [...document.querySelectorAll("[data-region]")];
  const inRegions = (el) => regions.some((r) => r.contains(el));
  const open = [...document.querySelectorAll("details[open]")].filter(inRegions).map(keyOf).filter(Boolean);
  const focused = document.activeElement && inRegions(document.activeElement) ? keyOf(document.activeElement) : null;
  const fresh = document.createElement("template");
  fresh.innerHTML = html;
  for (const region of fresh.content.querySelectorAll("[data-region]")) {
    document.getElementById(region.id)?.replaceWith(region);
  }
  for (const key of open) document.querySelector(key)?.closest("details")?.setAttribute("open", "");
  if (focused) document.querySelector(focused)?.focus();
  document.dispatchEvent(new CustomEvent("ocd:swapped"));
}

/// A selector that finds the same element after a re-render (by the nearest data-id).
function keyOf(el) {
  const owner = el.closest("[data-id]");
  if (!owner) return null;
  const base = `[data-id="${CSS.escape(owner.dataset.id)}"]`;
  if (el === owner) return base;
  const classes = (node) => [...node.classList].map((c) => `.${CSS.escape(c)}`).join("");
  if (el.tagName === "SUMMARY") return `${base} details${classes(el.parentElement)} > summary`;
  const attributes = ["name", "value", "href"]
    .filter((a) => el.getAttribute(a))
    .map((a) => `[${a}="${CSS.escape(el.getAttribute(a))}"]`)
    .join("");
  return `${base} ${el.tagName.toLowerCase()}${classes(el)}${attributes}`;
}

// ---- the stream ---------------------------------------------------------------------------

/// The header's count of requests waiting for a person, kept current on every live page.
const APPROVAL_EVENTS = ["approval:requested", "approval:decided", "approval:expired"];

async function countApprovals() {
  const base = document.documentElement.dataset.base || "";
  const link = document.querySelector(`.nav a[href^="${base}/approvals"]`);
  if (!link) return;
  try {
    const response = await fetch(`${base}/api/approvals?status=pending&limit=500`, { credentials: "same-origin" });
    if (!response.ok) return;
    const count = ((await response.json()).approvals || []).length;
    let badge = document.getElementById("approvals-badge");
    if (count === 0) return badge?.remove();
    if (!badge) {
      badge = document.createElement("span");
      badge.id = "approvals-badge";
      badge.className = "count-badge";
      link.append(" ", badge);
    }
    badge.title = `${count} waiting for a person`;
    badge.innerHTML = "";
    badge.append(String(count));
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " waiting";
    badge.append(hidden);
  } catch {
    // the next event tries again
  }
}

let source = null;
let failures = 0;
let lastEventId = null;
let pollTimer = null;
let retryTimer = null;

function startPolling() {
  if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

function connect() {
  const base = document.body.dataset.stream;
  if (!base || !live) return;
  clearTimeout(retryTimer);
  source?.close(); // never two streams
  const url = new URL(base, location.href);
  if (lastEventId) url.searchParams.set("last_event_id", lastEventId);
  source = new EventSource(url, { withCredentials: true });
  const kinds = EVENTS[live.dataset.live] || [];
  const onEvent = (event) => {
    if (event.lastEventId) lastEventId = event.lastEventId;
    refresh();
  };
  for (const kind of kinds) source.addEventListener(kind, onEvent);
  for (const kind of APPROVAL_EVENTS) source.addEventListener(kind, countApprovals);
  source.addEventListener("reset", onEvent);
  source.addEventListener("connected", () => {
    const recovering = failures > 0;
    failures = 0;
    stopPolling();
    setState("live");
    if (recovering) refresh(); // whatever happened while away
  });
  source.onerror = () => {
    source.close();
    source = null;
    failures += 1;
    if (!navigator.onLine) {
      setState("offline");
      return;
    }
    if (failures >= POLL_AFTER_FAILURES) {
      setState("polling");
      startPolling();
    } else {
      setState("reconnecting");
    }
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
    retryTimer = setTimeout(connect, backoff / 2 + Math.random() * backoff / 2);
  };
}

window.addEventListener("offline", () => {
  setState("offline");
  source?.close();
  source = null;
});
window.addEventListener("online", () => {
  failures = Math.max(failures, 1);
  connect();
});
// Leaving the page closes the stream cleanly (no error state flashes on navigation); coming
// back to it from the browser's history opens it again and catches up.
window.addEventListener("pagehide", () => {
  source?.close();
  source = null;
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) {
    failures = Math.max(failures, 1);
    connect();
  }
});

if (live) {
  setState(navigator.onLine ? "reconnecting" : "offline");
  connect();
} else if (indicator) {
  indicator.hidden = true;
}

// ---- forms that stay on the page ------------------------------------------------------------

/// The message of one of ocd's error pages (its first paragraph), or the status line.
function errorText(html, response) {
  const page = new DOMParser().parseFromString(html, "text/html");
  return page.querySelector(".plain-card h1 ~ p")?.textContent?.trim() || `${response.status} ${response.statusText}`;
}

/// Posts `form` (and the button that submitted it) without leaving the page. The form routes
/// answer 303 on success; with `redirect: "manual"` that arrives as an opaque redirect.
export async function submitInPlace(form, submitter) {
  const body = new URLSearchParams(new FormData(form));
  if (submitter?.name) body.set(submitter.name, submitter.value);
  if (submitter) submitter.disabled = true;
  try {
    // Not `form.action`: a field named "action" (the agent page has one) shadows it.
    const target = new URL(form.getAttribute("action") || location.href, location.href);
    const response = await fetch(target, { method: "POST", body, credentials: "same-origin", redirect: "manual" });
    if (response.type !== "opaqueredirect" && !response.ok) {
      toast(errorText(await response.text(), response));
      return false;
    }
    if (form.dataset.stay === "reset") form.reset();
    if (form.dataset.done) toast(form.dataset.done, "ok");
    refresh();
    document.dispatchEvent(new CustomEvent("ocd:submitted", { detail: form }));
    return true;
  } catch {
    toast("Could not reach ocd; nothing was changed.");
    return false;
  } finally {
    if (submitter) submitter.disabled = false;
  }
}
window.ocdSubmit = submitInPlace;

// Forms marked `data-stay` post in place; without JavaScript they post and come back.
document.addEventListener("submit", (event) => {
  const form = event.target.closest?.("form[data-stay]");
  if (!form || event.defaultPrevented) return;
  event.preventDefault();
  submitInPlace(form, event.submitter);
});

// ---- small conveniences ---------------------------------------------------------------------

// The service worker (served as /sw.js) caches the app's shell and shows push notifications.
if ("serviceWorker" in navigator) {
  const base = document.documentElement.dataset.base || "";
  navigator.serviceWorker.register(`${base}/sw.js`, { scope: `${base}/` }).catch(() => {});
}

// Filters and pickers apply as soon as they change.
document.addEventListener("change", (event) => {
  const field = event.target.closest?.("[data-autosubmit]");
  if (field?.form) field.form.requestSubmit();
});

// A click outside an open menu closes it.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.account[open], details.card-menu[open], details.new-ticket[open]")) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  }
});

// ---- keyboard shortcuts --------------------------------------------------------------------

const overlay = document.getElementById("shortcuts");
let pendingG = 0;

function typing(target) {
  return target.closest?.("input, textarea, select, [contenteditable]");
}

function go(path) {
  const base = document.documentElement.dataset.base || "";
  const project = new URL(location.href).searchParams.get("project");
  location.href = base + path + (project ? `?project=${encodeURIComponent(project)}` : "");
}

function showShortcuts(show) {
  if (!overlay) return;
  overlay.hidden = !show;
  if (show) overlay.querySelector("[data-close]")?.focus();
}

overlay?.addEventListener("click", (event) => {
  if (event.target === overlay || event.target.closest("[data-close]")) showShortcuts(false);
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    showShortcuts(false);
    for (const open of document.querySelectorAll("details[open]")) {
      if (!open.classList.contains("subtasks") && !open.classList.contains("panel")) open.removeAttribute("open");
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const now = Date.now();
  if (pendingG && now - pendingG < 1200) {
    pendingG = 0;
    const target = { b: "/", m: "/messages", a: "/agents", p: "/approvals", n: "/analytics", s: "/settings" }[event.key];
    if (target) {
      event.preventDefault();
      go(target);
    }
    return;
  }
  switch (event.key) {
    case "g":
      pendingG = now;
      break;
    case "?":
      event.preventDefault();
      showShortcuts(overlay?.hidden ?? false);
      break;
    case "/": {
      const search = document.getElementById("search");
      if (search) {
        event.preventDefault();
        search.focus();
      }
      break;
    }
    case "n": {
      const dialog = document.getElementById("new-ticket");
      if (dialog) {
        event.preventDefault();
        dialog.setAttribute("open", "");
        dialog.querySelector("input:not([type=hidden]), textarea")?.focus();
      }
      break;
    }
    default:
  }
});
