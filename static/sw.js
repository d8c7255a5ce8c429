// ocd's service worker. The server puts BASE (the base path) and SHELL (this build's
// hashed CSS, scripts and icons) above this text, so a new build is a new worker.
// - The shell files are cached at install and served from the cache: pages load fast, and
//   the files of an older build are dropped when a new worker takes over.
// - Pages and the API always go to the network (they show live data); a page asked for while
//   offline gets a short "you are offline" page.
// - Push messages ({title, body, url, tag}) become notifications; a click opens the url
//   (or brings its tab forward when it is open).

const CACHE = `ocd-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("ocd-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

const OFFLINE = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Offline · ocd</title><body style="font-family:system-ui;background:#0f1115;color:#e6e8ee;padding:2rem">
<h1>You are offline</h1><p>ocd shows live data, so it needs the server. This page tries again when you reload it.</p>`;

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith(`${BASE}/static/`)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => new Response(OFFLINE, { headers: { "Content-Type": "text/html; charset=utf-8" } })));
  }
});

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    message = { body: event.data ? event.data.text() : "" };
  }
  const options = {
    body: message.body || "",
    tag: message.tag || undefined,
    data: { url: message.url || `${BASE}/`, approvalId: message.approvalId, decideUrl: message.decideUrl },
    icon: SHELL.find((f) => f.includes("icon-192")),
  };
  // An approval's Approve / Reject buttons (only for people who may decide).
  if (message.approvalId && Array.isArray(message.actions)) {
    options.actions = message.actions;
    options.requireInteraction = true;
  }
  event.waitUntil(self.registration.showNotification(message.title || "ocd", options));
});

/// An approval answered from the notification: its decision link decides (once); a refusal
/// (answered elsewhere first, expired) opens the approvals page instead.
async function decide(data, decision) {
  try {
    const response = await fetch(data.decideUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ decision, approval_id: data.approvalId }),
      credentials: "same-origin",
    });
    if (response.ok) return;
  } catch {
    // offline: the page tells the rest
  }
  await self.clients.openWindow(`${BASE}/approvals`);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  if (event.action && data.decideUrl) {
    event.waitUntil(decide(data, event.action));
    return;
  }
  const target = new URL(event.notification.data?.url || `${BASE}/`, location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((tabs) => {
      const open = tabs.find((t) => t.url === target);
      return open ? open.focus() : self.clients.openWindow(target);
    }),
  );
});
