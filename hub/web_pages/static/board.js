// The web board for a hall's smart TV (template board.html): the hub renders the first view, then this follows the
// board's stream (server-sent events, stream.js) and redraws from each view (textContent only, never markup).
// The clock and the newest call's highlight go by the hub's time (each view carries it), not the TV's own clock.
import { follow, text } from "./stream.js";

const HIGHLIGHT_MS = 10000;
const root = document.querySelector("[data-board]");
const words = root.dataset;
const field = (name) => root.querySelector(`[data-field="${name}"]`);
const part = (name) => root.querySelector(`[data-part="${name}"]`);
const dateFormat = new Intl.DateTimeFormat(words.lang, {
  timeZone: words.timezone, year: "numeric", month: "long", day: "numeric", weekday: "long",
});
const clockFormat = new Intl.DateTimeFormat(words.lang, {
  timeZone: words.timezone, hour: "2-digit", minute: "2-digit", hour12: false,
});

let offset = Date.parse(words.now) - Date.now(); // the hub's clock minus the TV's
let shownSeq = words.seq === "" ? null : Number(words.seq);
let dimmer = null;

function tick() {
  const now = new Date(Date.now() + offset);
  text(field("date"), dateFormat.format(now));
  text(field("clock"), clockFormat.format(now));
}

function highlight(latest, first) {
  const card = part("latest");
  const age = Date.now() + offset - Date.parse(latest.at);
  const left = first ? HIGHLIGHT_MS - age : HIGHLIGHT_MS; // a call made before the board opened counts from the hub's time
  clearTimeout(dimmer);
  const lit = left > 0;
  card.classList.toggle("lit", lit);
  text(field("caption"), lit ? words.callingText : words.captionText);
  if (lit) {
    dimmer = setTimeout(() => {
      card.classList.remove("lit");
      text(field("caption"), words.captionText);
    }, left);
  }
}

function cell(first, second, className) {
  const item = document.createElement("li");
  if (className) item.className = className;
  for (const [value, kind] of [first, second]) {
    const span = document.createElement("span");
    span.className = kind;
    text(span, value);
    item.append(span);
  }
  return item;
}

function showLatest(latest, first) {
  const card = part("latest");
  card.classList.toggle("idle", !latest);
  if (!latest) {
    card.classList.remove("lit");
    text(field("caption"), words.idleText);
    for (const name of ["number", "window", "announcement"]) text(field(name), "");
    shownSeq = null;
    return;
  }
  text(field("number"), latest.number);
  text(field("window"), latest.window);
  text(field("announcement"), latest.announcement);
  if (first || latest.seq !== shownSeq) highlight(latest, first);
  shownSeq = latest.seq;
}

// Show only the items that fit their panel whole: a TV never shows half a row of calls or a cut-off matter.
function fit(list) {
  const bottom = list.parentElement.getBoundingClientRect().bottom;
  for (const item of list.children) item.hidden = false;
  for (const item of list.children) item.hidden = item.getBoundingClientRect().bottom > bottom;
}

function fitAll() {
  fit(part("recent"));
  fit(part("waiting"));
}

function render(view) {
  offset = Date.parse(view.now) - Date.now();
  text(field("site"), view.site);
  showLatest(view.latest, false);
  part("recent").replaceChildren(...view.recent.map((call) => cell([call.number, "num"], [call.window, "win"])));
  part("windows").replaceChildren(
    ...view.windows.map((w) => cell([w.window, "win"], [w.current || w.state, "num"], w.open ? "open" : "shut")),
  );
  part("waiting").replaceChildren(...view.waiting.map((line) => cell([line.name, "name"], [line.count, "count"])));
  text(field("waiting_total"), view.waiting_total);
  text(field("notice"), view.notice);
  tick();
  fitAll();
}

const state = root.querySelector("[data-live-state]");
if (shownSeq !== null) {
  highlight({ at: words.at }, true);
}
tick();
fitAll();
window.addEventListener("resize", fitAll);
setInterval(tick, 1000);
follow(root.dataset.stream, render, state);
