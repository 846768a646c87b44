// The web app: registers the service worker (/sw.js), and on a person's own page offers to
// turn on notifications in this browser (Web Push). Every page works without it.
"use strict";

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {});
}

// The server's key, base64url, as the bytes pushManager.subscribe wants.
function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

const form = document.getElementById("web-push");
if (form && "serviceWorker" in navigator && "PushManager" in window && window.Notification) {
  form.hidden = false;
  const problem = form.querySelector("[role=alert]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        throw new Error("notifications are blocked for this site in the browser's settings");
      }
      const registration = await navigator.serviceWorker.register("/sw.js");
      await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(form.dataset.vapidKey),
      });
      const json = subscription.toJSON();
      form.elements.address.value = json.endpoint;
      form.elements.p256dh.value = json.keys.p256dh;
      form.elements.auth.value = json.keys.auth;
      form.submit();
    } catch (error) {
      problem.textContent = "Notifications could not be turned on: " + error.message;
      problem.hidden = false;
    }
  });
}
