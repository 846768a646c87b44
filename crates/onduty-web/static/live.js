// onduty's only script: live updates and confirmations. Every page works without it.
"use strict";

// Forms (or their buttons) marked data-confirm ask first.
document.addEventListener("submit", (event) => {
  const marked = [event.submitter, event.target].find((e) => e && e.dataset && e.dataset.confirm);
  const question = marked && marked.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Whatever is marked data-copy gets a Copy button (the text stays selectable without it).
const addCopyButtons = (root) => {
  if (!navigator.clipboard) return;
  for (const marked of root.querySelectorAll("[data-copy]")) {
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "secondary copy";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", "Copy " + marked.dataset.copy);
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(marked.dataset.copy);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Select it to copy";
      }
    });
    marked.after(copy);
  }
};
addCopyButtons(document);

// The home page can tell of a new high-urgency incident for you with a browser
// notification, once asked to (kept in this browser).
const NOTIFY_KEY = "onduty-notify";
const notifyButton = document.getElementById("notify");
if (notifyButton && window.Notification) {
  const wanted = () => localStorage.getItem(NOTIFY_KEY) === "1" && Notification.permission === "granted";
  const label = () => {
    notifyButton.textContent = wanted()
      ? "Stop telling me here of high-urgency incidents"
      : "Tell me here when a high-urgency incident comes for me";
  };
  notifyButton.hidden = false;
  label();
  notifyButton.addEventListener("click", async () => {
    // Live changes are held while a control has focus: this one need not keep it.
    notifyButton.blur();
    if (wanted()) {
      localStorage.removeItem(NOTIFY_KEY);
    } else if ((await Notification.requestPermission()) === "granted") {
      localStorage.setItem(NOTIFY_KEY, "1");
    }
    label();
  });
}

// A high-urgency incident new on the page (numbers `before` did not have), while
// notifications are wanted: say so, through the service worker where there is one
// (Android's Chrome allows no other way).
const announce = (before, fresh) => {
  if (localStorage.getItem(NOTIFY_KEY) !== "1" || !window.Notification || Notification.permission !== "granted") {
    return;
  }
  for (const item of fresh.querySelectorAll('[data-urgency="high"][data-status="triggered"]')) {
    if (before.has(item.dataset.number)) continue;
    const link = item.querySelector("a");
    const text = "onduty: " + (link ? link.textContent : "#" + item.dataset.number);
    const shown = navigator.serviceWorker
      ? navigator.serviceWorker.ready.then((worker) => worker.showNotification(text))
      : Promise.resolve().then(() => new Notification(text));
    shown.catch(() => {});
  }
};

// Pages marked data-live="incidents" bring their <main> up to date when an incident
// changes. While someone is typing or a control has focus, the change is held and a
// button says how many are waiting ("3 new changes — show"); nothing is dropped.
const live = document.body.dataset.live;
if (live && window.EventSource) {
  let waiting = 0;
  // The region that announces held changes to screen readers, above <main>.
  const notice = document.createElement("p");
  notice.id = "held";
  notice.setAttribute("aria-live", "polite");
  document.querySelector("main").before(notice);

  const rowNumbers = (root) =>
    new Set([...root.querySelectorAll("[data-number]")].map((row) => row.dataset.number));

  // `asked`: the reader pressed "show"; otherwise someone who started typing while the
  // page was being fetched is not interrupted either.
  const refresh = async (asked) => {
    const response = await fetch(window.location.href, { headers: { "Accept": "text/html" } });
    // A redirect means the session ended: leave the page as it is rather than swap in
    // the log-in form.
    if (!response.ok || response.redirected) return;
    if (asked !== true && busy()) {
      hold();
      return;
    }
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = fresh.querySelector("main");
    if (!main) return;
    const old = document.querySelector("main");
    // New rows are marked; the page stays where the reader had it.
    const before = rowNumbers(old);
    for (const row of main.querySelectorAll("[data-number]")) {
      if (before.size && !before.has(row.dataset.number)) row.classList.add("fresh");
    }
    const scrolled = window.scrollY;
    addCopyButtons(main);
    old.replaceWith(main);
    window.scrollTo(0, scrolled);
    document.title = fresh.title;
    // The icon says whether something is waiting for you (the home page's badge).
    const icon = document.querySelector("link[rel=icon]");
    const freshIcon = fresh.querySelector("link[rel=icon]");
    if (icon && freshIcon) icon.href = freshIcon.getAttribute("href");
    announce(before, main);
    waiting = 0;
    notice.replaceChildren();
  };

  const busy = () => Boolean(document.querySelector("main :focus"));

  const hold = () => {
    waiting += 1;
    const show = document.createElement("button");
    show.type = "button";
    show.className = "secondary";
    show.textContent = `${waiting} new ${waiting === 1 ? "change" : "changes"} — show`;
    show.addEventListener("click", () => refresh(true));
    notice.replaceChildren(show);
  };

  // data-since says where things stood when the page was drawn: a change made before the
  // stream starts is announced too.
  const since = document.body.dataset.since || "";
  const source = new EventSource("/live/" + live + "?since=" + encodeURIComponent(since));
  source.addEventListener("changed", () => (busy() ? hold() : refresh()));
}
