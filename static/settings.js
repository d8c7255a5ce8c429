// The settings pages: their forms call the JSON API (`data-api` path, `data-method`), show
// the API's message next to the form when it refuses, and reload the page when it accepts —
// unless the answer must be shown once (a new key, an invite link). Also: copy buttons, the
// channel form's fields per type, and this browser's push subscription.

const base = document.documentElement.dataset.base || "";
const toast = (text, kind) => window.ocdToast?.(text, kind);
const FLASH = "ocd-flash";

// A message kept across the reload that shows a change.
const flash = sessionStorage.getItem(FLASH);
if (flash) {
  sessionStorage.removeItem(FLASH);
  toast(flash, "ok");
}

/// Puts `value` at `path` (["config", "url"]) in `target`.
function place(target, path, value) {
  const last = path.pop();
  for (const key of path) target = target[key] ??= {};
  target[last] = value;
}

/// A `key = value` per line as an object (blank lines skipped; an empty text is an empty map).
function mapOf(text) {
  const map = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (line.trim() === "") continue;
    if (at < 0) map[line.trim()] = "";
    else map[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return map;
}

/// The form's fields as the JSON the API takes: checkboxes as booleans (or 0/1 with
/// `data-type="int"`), numbers as numbers (times `data-scale`), dotted names as nested
/// objects; empty fields and fields of hidden parts are left out. Text goes as typed: the
/// server trims it and names what it refuses.
function bodyOf(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.closest("[hidden]")) continue;
    let value;
    if (el.type === "checkbox") value = el.dataset.type === "int" ? (el.checked ? 1 : 0) : el.checked;
    else if (el.dataset.type === "map") value = mapOf(el.value);
    else if (el.value === "") continue;
    else if (el.type === "number") value = Math.round(Number(el.value) * Number(el.dataset.scale || 1));
    else if (el.dataset.type === "bool") value = el.value === "true";
    else value = el.value;
    place(body, el.name.split("."), value);
  }
  return body;
}

/// Calls the API; answers `{ok, json}` (json is `{}` when the answer has none).
async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(base + path, init);
  const json = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, json };
}

/// The API's refusal in words: each field's message, or the error.
function refusal(json, status) {
  const details = Array.isArray(json.details) ? json.details.map((d) => d.message).filter(Boolean) : [];
  return details.length ? details.join("; ") : json.error || `The server answered ${status}.`;
}

function showError(form, text, json) {
  const box = form.querySelector(".form-error") || form.parentElement.querySelector(".form-error");
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
  const fields = (json?.details || []).map((d) => form.elements.namedItem((d.path || []).join("."))).filter((f) => f?.setAttribute);
  for (const field of fields) field.setAttribute("aria-invalid", "true");
  fields[0]?.focus();
  if (box) {
    box.textContent = text;
    box.hidden = false;
  } else {
    toast(text);
  }
}

/// What to do with an accepted answer, by the form's `data-then`.
const THEN = {
  key(form, json) {
    reveal(form.parentElement.querySelector("[data-key-result]"), json.token);
    form.reset();
  },
  invite(form, json) {
    reveal(form.parentElement.querySelector("[data-invite-result]"), new URL(base + json.invite.url, location.href).href);
  },
  "integration-key"(form, json) {
    for (const snippet of document.querySelectorAll("[data-snippet]")) {
      snippet.textContent = snippet.textContent.replaceAll("YOUR_OCD_KEY", json.token);
    }
    form.hidden = true;
    document.querySelector("[data-key-filled]").hidden = false;
  },
  test(_form, json) {
    const d = json.delivery || {};
    const text = json.ok ? "Test sent." : `Test not delivered: ${d.error || (d.http_status ? `HTTP ${d.http_status}` : d.status)}`;
    sessionStorage.setItem(FLASH, text);
    location.reload();
  },
};

function reveal(box, text) {
  box.querySelector("[data-copy-source]").textContent = text;
  box.hidden = false;
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest?.("form[data-api]");
  if (!form) return;
  event.preventDefault();
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    const method = form.dataset.method || "POST";
    const { ok, status, json } = await call(method, form.dataset.api, method === "DELETE" ? undefined : bodyOf(form));
    if (!ok) return showError(form, refusal(json, status), json);
    const then = THEN[form.dataset.then];
    if (then) then(form, json);
    else {
      sessionStorage.setItem(FLASH, "Saved.");
      location.reload();
    }
  } catch {
    showError(form, "Could not reach ocd: the change may not have been saved. Reload to see.");
  } finally {
    if (button) button.disabled = false;
  }
});

// Copy buttons copy the text of the `data-copy-source` next to them.
document.addEventListener("click", async (event) => {
  const button = event.target.closest?.("[data-copy]");
  if (!button) return;
  const source = button.closest(".copy-row, .snippet")?.querySelector("[data-copy-source]");
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent);
    toast("Copied.", "ok");
  } catch {
    // No clipboard (an insecure origin): select the text for a manual copy.
    getSelection().selectAllChildren(source);
    toast("Select and copy the text by hand.", "ok");
  }
});

// The channel form shows the fields of the chosen type only.
for (const select of document.querySelectorAll("[data-channel-type]")) {
  const show = () => {
    // Fields of other types are hidden and disabled: not sent, not checked by the browser.
    for (const label of select.form.querySelectorAll("[data-for-type]")) {
      label.hidden = !label.dataset.forType.split(" ").includes(select.value);
      for (const input of label.querySelectorAll("input")) input.disabled = label.hidden;
    }
    const url = select.form.elements.namedItem("config.url");
    if (url) url.placeholder = { slack: "https://hooks.slack.com/services/…", discord: "https://discord.com/api/webhooks/…" }[select.value] || "https://";
  };
  select.addEventListener("change", show);
  show();
}

// ---- this browser's push subscription --------------------------------------------------------

/// The VAPID key (base64url) as the bytes `subscribe` takes.
function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function setUpPush(panel) {
  const state = panel.querySelector("[data-push-state]");
  const button = panel.querySelector("[data-push-toggle]");
  const error = panel.parentElement.querySelector(".form-error");
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    state.textContent = "This browser cannot receive push notifications (they need HTTPS, or localhost).";
    return;
  }
  let registration;
  try {
    // app.js registers the worker on every page; this waits until it is running.
    registration = await navigator.serviceWorker.ready;
  } catch (e) {
    state.textContent = `The app's service worker did not start, so notifications cannot be turned on: ${e.message || e}`;
    return;
  }
  const show = (subscription) => {
    const denied = Notification.permission === "denied";
    state.textContent = subscription
      ? "On: this browser shows ocd's notifications."
      : denied
        ? "Blocked: notifications are turned off for this site in the browser's settings."
        : "Off: this browser gets no notifications.";
    button.textContent = subscription ? "Turn off" : "Turn on";
    button.hidden = denied && !subscription;
    panel.dataset.subscribed = subscription ? "yes" : "no";
  };
  // The server is told about an existing subscription again: it may have been removed there,
  // or another person may have signed in on this browser (the subscription moves to them).
  const existing = await registration.pushManager.getSubscription();
  const synced = existing ? await call("POST", "/api/push/subscriptions", existing.toJSON()).catch(() => ({ ok: false })) : null;
  show(synced?.ok ? existing : null);
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      let subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        // Saving it again answers with its channel, whose id removes it.
        const saved = await call("POST", "/api/push/subscriptions", subscription.toJSON());
        if (!saved.ok) throw new Error(refusal(saved.json, saved.status));
        const removed = await call("DELETE", `/api/push/subscriptions/${encodeURIComponent(saved.json.subscription.id)}`);
        if (!removed.ok) throw new Error(refusal(removed.json, removed.status));
        await subscription.unsubscribe();
        show(null);
        return;
      }
      const vapid = await call("GET", "/api/push/vapid-public-key");
      if (!vapid.ok) throw new Error(refusal(vapid.json, vapid.status));
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(vapid.json.publicKey) });
      const saved = await call("POST", "/api/push/subscriptions", subscription.toJSON());
      if (!saved.ok) {
        await subscription.unsubscribe();
        throw new Error(refusal(saved.json, saved.status));
      }
      show(subscription);
    } catch (e) {
      error.textContent = `Could not change notifications: ${e.message || e}`;
      error.hidden = false;
      show(await registration.pushManager.getSubscription());
    } finally {
      button.disabled = false;
    }
  });
}

const pushPanel = document.querySelector("[data-push]");
if (pushPanel) setUpPush(pushPanel);
