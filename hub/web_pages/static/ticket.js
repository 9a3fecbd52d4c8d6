// The citizen's ticket page (template ticket.html): the hub renders the first view, then this follows the ticket's
// stream (server-sent events, stream.js) and puts each view's texts in place (textContent only, never markup).
// Reminders: the button asks the browser's permission; the page then shows a notification (and vibrates where it
// can) when the ticket is third in line and each time it is called. sessionStorage remembers which were shown, so
// a reconnect or a reload of the page does not show them again. On phones a notification needs a service worker
// (ticket.worker.js, served under /t/); both need a secure page (HTTPS, or localhost).
import { follow, text } from "./stream.js";

const root = document.querySelector("[data-ticket]");
const reminders = root.querySelector("[data-reminders]");
const button = reminders.querySelector("[data-remind]");
const note = reminders.querySelector("[data-remind-state]");
const field = (name) => root.querySelector(`[data-field="${name}"]`);
const NEAR = 2;
const canNotify = "Notification" in window && window.isSecureContext;

function remembered(kind) {
  try {
    return sessionStorage.getItem(`hall-reminded:${location.pathname}:${kind}`) !== null;
  } catch {
    return false; // storage refused (private mode): a reminder may then come twice
  }
}

function remember(kind) {
  try {
    sessionStorage.setItem(`hall-reminded:${location.pathname}:${kind}`, "1");
  } catch {
    // nothing to keep it in
  }
}

async function notify(kind, message) {
  if (remembered(kind) || !canNotify || Notification.permission !== "granted") return;
  remember(kind);
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
  const options = { body: document.title, tag: kind, lang: document.documentElement.lang };
  const worker = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration("/t/") : undefined;
  if (worker) {
    await worker.showNotification(message, options);
  } else {
    new Notification(message, options); // a phone's browser throws here without the worker: nothing else to do
  }
}

function remind(view) {
  if (view.state === "waiting" && view.people_ahead !== null && view.people_ahead <= NEAR) {
    notify("near", view.notify.near).catch(() => {});
  }
  if (view.state === "called") notify(`called-${view.calls}`, view.notify.called).catch(() => {});
}

function showMatters(matters) {
  const list = root.querySelector('[data-part="matters"]');
  list.classList.toggle("single", matters.length === 1); // one matter: no "1." before it
  list.replaceChildren(
    ...matters.map((matter) => {
      const item = document.createElement("li");
      item.classList.toggle("current", matter.current);
      item.classList.toggle("done", matter.done);
      text(item, matter.name);
      return item;
    }),
  );
}

let source = null;

function render(view) {
  if (!view) {
    source?.close(); // the hub no longer knows the ticket
    return;
  }
  if (view.rating.state === "open" && root.dataset.rating !== "open") {
    location.reload(); // a service just finished: the page comes back with its rating form (a plain form)
    return;
  }
  root.className = `ticket state-${view.state}`;
  text(field("status"), view.status);
  text(field("people"), view.people);
  text(field("wait"), view.wait);
  root.querySelector('[data-part="waiting"]').hidden = view.state !== "waiting";
  showMatters(view.matters);
  remind(view);
  reminders.hidden = view.state !== "waiting"; // once called, the reminder has done its work
  if (view.final) {
    source?.close(); // done, cancelled, expired: nothing more will change
    root.querySelector("[data-live-state]").hidden = true;
    reminders.hidden = true;
  }
}

function showPermission() {
  if (!canNotify) {
    text(note, reminders.dataset.unsupportedText);
    return;
  }
  button.hidden = Notification.permission !== "default";
  if (Notification.permission === "granted") text(note, reminders.dataset.onText);
  if (Notification.permission === "denied") text(note, reminders.dataset.deniedText);
}

async function registerWorker() {
  if ("serviceWorker" in navigator) {
    await navigator.serviceWorker.register("/t/ticket.worker.js", { scope: "/t/" }).catch(() => {});
  }
}

button.addEventListener("click", async () => {
  await registerWorker();
  await Notification.requestPermission();
  showPermission();
});

showPermission();
if (canNotify && Notification.permission === "granted") registerWorker(); // allowed on an earlier visit
if (root.dataset.final !== "yes") {
  source = follow(root.dataset.stream, render, root.querySelector("[data-live-state]"));
}
