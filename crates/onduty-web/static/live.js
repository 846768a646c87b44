// onduty's page script: live updates, confirmations, forms that keep what was typed, and
// keyboard shortcuts. Every page works without it.
"use strict";

// Forms (or their buttons) marked data-confirm ask first.
document.addEventListener("submit", (event) => {
  const marked = [event.submitter, event.target].find((e) => e && e.dataset && e.dataset.confirm);
  const question = marked && marked.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A form whose answer is an error keeps what was typed: what a form posts (passwords and
// hidden fields aside) is kept in this tab until the next page, which puts it back in the
// same form if that page says something went wrong.
const TYPED = "onduty-typed";
const kept = (field) =>
  field.name && !field.disabled && !["hidden", "password", "file", "submit", "button"].includes(field.type);
const sameAction = (form) =>
  [...document.forms].filter((f) => f.getAttribute("action") === form.getAttribute("action"));
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || form.method !== "post") return;
  const fields = [...form.elements].filter(kept).map((f) =>
    f.type === "checkbox" || f.type === "radio" ? [f.name, f.checked] : [f.name, f.value],
  );
  const action = form.getAttribute("action");
  sessionStorage.setItem(TYPED, JSON.stringify({ action, index: sameAction(form).indexOf(form), fields }));
});
const typed = JSON.parse(sessionStorage.getItem(TYPED) || "null");
sessionStorage.removeItem(TYPED);
if (typed && document.querySelector('body > p.error[role="alert"]')) {
  const form = [...document.forms].filter((f) => f.getAttribute("action") === typed.action)[typed.index];
  const fields = form ? [...form.elements].filter(kept) : [];
  // Field by field while the form is the one that was sent.
  for (const [i, [name, value]] of typed.fields.entries()) {
    const field = fields[i];
    if (!field || field.name !== name) break;
    if (typeof value === "boolean") field.checked = value;
    else field.value = value;
  }
  // The page opens at its top, where the error is said; the form is brought into sight.
  if (form) form.scrollIntoView({ block: "nearest" });
}

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

// Single-key shortcuts, listed at the foot of every signed-in page, where they can be
// turned off (kept in this browser): j and k move between incidents, a acknowledges the
// incident in focus or shown, r resolves the one shown (asking first), / goes to the
// search, ? opens the list. Keys typed into a field are left alone.
const KEYS_OFF = "onduty-keys-off";
const keys = document.getElementById("keys");
if (keys) {
  keys.hidden = false;
  const use = document.getElementById("keys-on");
  use.checked = localStorage.getItem(KEYS_OFF) !== "1";
  use.addEventListener("change", () => {
    if (use.checked) localStorage.removeItem(KEYS_OFF);
    else localStorage.setItem(KEYS_OFF, "1");
  });

  const typing = (element) =>
    element && (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));
  const rowOf = (element) => element && element.closest && element.closest("main [data-number]");

  // j, k: the next or previous incident of a list, starting from the newest.
  const move = (row, step) => {
    const rows = [...document.querySelectorAll("main [data-number]")];
    if (!rows.length) return false;
    const at = rows.indexOf(row);
    const next = at < 0 ? 0 : Math.min(Math.max(at + step, 0), rows.length - 1);
    rows[next].querySelector("a").focus();
    return true;
  };

  // a on a row of the list: that incident alone, through the list's own form.
  const acknowledgeRow = (row) => {
    const bulk = document.getElementById("bulk");
    const pick = row.querySelector('input[name="n"]');
    if (!bulk || !pick) return false;
    for (const box of document.querySelectorAll('#bulk input[type="checkbox"], input[form="bulk"]')) {
      box.checked = false;
    }
    pick.checked = true;
    bulk.requestSubmit(bulk.querySelector('button[value="acknowledge"]'));
    return true;
  };

  const press = (selector) => {
    const button = document.querySelector(selector);
    if (button) button.click();
    return Boolean(button);
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typing(event.target) || localStorage.getItem(KEYS_OFF) === "1") return;
    const row = rowOf(document.activeElement);
    const search = document.querySelector('main input[type="search"]');
    const handled = {
      j: () => move(row, 1),
      k: () => move(row, -1),
      a: () => (row ? acknowledgeRow(row) : press("main button.acknowledge")),
      r: () => !row && press("main button.resolve"),
      "/": () => Boolean(search && (search.focus(), true)),
      "?": () => {
        const list = keys.querySelector("details");
        list.open = true;
        list.querySelector("summary").focus();
        return true;
      },
    }[event.key];
    if (handled && handled()) event.preventDefault();
  });
}
