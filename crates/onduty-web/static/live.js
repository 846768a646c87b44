// onduty's only script: live updates and confirmations. Every page works without it.
"use strict";

// Forms marked data-confirm ask first.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Pages marked data-live="incidents" replace their <main> when an incident changes.
const live = document.body.dataset.live;
if (live && window.EventSource) {
  // data-since says where things stood when the page was drawn: a change made before the
  // stream starts is announced too.
  const since = document.body.dataset.since || "";
  const source = new EventSource("/live/" + live + "?since=" + encodeURIComponent(since));
  source.addEventListener("changed", async () => {
    const response = await fetch(window.location.href, { headers: { "Accept": "text/html" } });
    // A redirect means the session ended: leave the page as it is rather than swap in
    // the log-in form.
    if (!response.ok || response.redirected) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = fresh.querySelector("main");
    // Someone typing in a form (a note, say) is not interrupted.
    if (main && !document.querySelector("main :focus")) {
      document.querySelector("main").replaceWith(main);
    }
  });
}
