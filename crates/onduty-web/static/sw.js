// onduty's service worker: keeps the app shell (styles, scripts, icon) for when the
// network is gone, and shows Web Push notifications. A page's notification has
// Acknowledge and Resolve actions: each POSTs to its signed one-click link, so it acts
// without opening a page (and a Runbook action, where the browser shows three, opens it); a "settled" push replaces them, quietly, with a note that they
// need nobody now.
"use strict";

const SHELL = "onduty-shell-v1";
const SHELL_FILES = ["/static/onduty.css", "/static/live.js", "/static/push.js", "/static/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== SHELL).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The shell from the network first (so it is never stale), from the cache when offline;
// pages always from the network, with a short note when it is gone.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  if (SHELL_FILES.includes(new URL(request.url).pathname)) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          const copy = response.clone();
          caches.open(SHELL).then((cache) => cache.put(request, copy));
          return response;
        })
        .catch(() => caches.match(request)),
    );
  } else if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => new Response(
        "<!DOCTYPE html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
          "<link rel=stylesheet href=/static/onduty.css><main><h1>Offline</h1>" +
          "<p>onduty cannot be reached from here just now. Pages still reach you by your " +
          "other contact methods.</p></main>",
        { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
      )),
    );
  }
});

// Every push shows a notification (browsers require it of subscriptions made with
// userVisibleOnly, and may end those that push silently).
self.addEventListener("push", (event) => {
  let message;
  try {
    message = event.data.json();
  } catch (_) {
    message = { type: "notice", notifications: [{ title: "onduty", body: "Open onduty to see what changed." }] };
  }
  if (message.type === "settled") {
    // The page's notification is replaced, quietly, by one saying it needs nobody now.
    event.waitUntil(Promise.all((message.tags || []).map((tag) =>
      self.registration.showNotification("#" + tag.replace(/^onduty-incident-/, "") + " needs nobody now", {
        body: "It was acknowledged or resolved.",
        tag,
        silent: true,
        icon: "/static/icon.svg",
      }))));
    return;
  }
  event.waitUntil(Promise.all((message.notifications || []).map((n) =>
    self.registration.showNotification(n.title, {
      body: n.body,
      tag: n.tag,
      renotify: Boolean(n.tag),
      requireInteraction: Boolean(n.urgent),
      icon: "/static/icon.svg",
      data: { url: n.url, actions: n.actions || [] },
      actions: (n.actions || []).map((a) => ({ action: a.action, title: a.title })),
    }))));
});

self.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = notification.data || {};
  notification.close();
  const chosen = (data.actions || []).find((a) => a.action === event.action);
  if (chosen && chosen.open) {
    // The runbook: a page to read, not an action to take.
    event.waitUntil(self.clients.openWindow(chosen.url));
  } else if (chosen) {
    // The signed link acts as the person it was sent to; its answer says what happened.
    event.waitUntil(
      fetch(chosen.url, { method: "POST", credentials: "omit" })
        .then((response) => response.text().then((html) => {
          const said = (html.match(/<h1>([^<]*)<\/h1>/) || [])[1] || "Done";
          return self.registration.showNotification(said, { tag: notification.tag, icon: "/static/icon.svg" });
        }))
        .catch(() => self.registration.showNotification(
          "onduty could not be reached: open it to act", { tag: notification.tag, data })),
    );
  } else if (data.url) {
    event.waitUntil(self.clients.openWindow(data.url));
  }
});
