// The live hall of a site and the district wall (templates live.html, wall.html): the server renders the first
// view, then this follows the page's stream of views (server-sent events, stream.js) and shows each as it comes.
// Nothing from the hub is inserted as markup: every value goes in with textContent. The hub sends a site's view
// again at least once a minute while it is followed, so the minutes waited and paused move on by themselves.
import { follow, text } from "./stream.js";

const root = document.querySelector("[data-live-page]");
const words = JSON.parse(document.getElementById("live-words").textContent);
const english = root.dataset.english === "yes";
const stateLine = root.querySelector("[data-live-state]");
const signInAgain = root.querySelector("[data-sign-in]");
const RESUME_MS = 3000;
const WALL_ALERTS = 3; // as many as wall.html shows of each site

const name = (thing) => (english ? thing.name_en : thing.name_zh);
const say = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
const word = (code) => words[code] ?? code;

function minutes(value) {
  return value === null || value === undefined ? "—" : say(words.minutes, { minutes: Math.round(value) });
}

function node(tag, className, ...children) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  for (const child of children) made.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return made;
}

function setState(state) {
  stateLine.dataset.live = state;
  text(stateLine, stateLine.dataset[`${state.replace(/_(\w)/g, (_, c) => c.toUpperCase())}Text`] || state);
  if (signInAgain) signInAgain.hidden = state !== "signed_out"; // a wall screen's page has no sign-in
}

function alertText(alert) {
  const device = alert.device_id;
  switch (alert.kind) {
    case "wait_over_target":
      return say(words.wait_over_target, { matter: name(alert), minutes: Math.round(alert.minutes), target: alert.target });
    case "window_paused":
      return say(words.window_paused, { window: name(alert), minutes: Math.round(alert.minutes) });
    case "printer":
      return say(words.printer, { device, state: word(alert.state) });
    case "device_fault":
      return say(words.device_fault, { device, part: word(alert.part), state: word(alert.state) });
    default:
      return say(words[alert.kind] ?? alert.kind, { device });
  }
}

function alertItems(view, limit) {
  const shownAlerts = limit === undefined ? view.alerts : view.alerts.slice(0, limit);
  const items = shownAlerts.map((alert) => node("li", `alert ${alert.severity}`, alertText(alert)));
  if (!items.length) items.push(node("li", "alert none", words.none));
  if (limit !== undefined && view.alerts.length > limit) {
    items.push(node("li", "alert more", say(words.more, { count: view.alerts.length - limit })));
  }
  return items;
}

function condition(device) {
  const parts = [];
  if (device.printer !== null) parts.push(`${words.printer_part} ${word(device.printer)}`);
  if (device.help_requested) parts.push(word("requested"));
  for (const [part, value] of Object.entries(device.faults)) parts.push(`${word(part)} ${word(value)}`);
  return parts.length ? parts.join(" · ") : "—";
}

function connection(device) {
  return word(device.online ? "connected" : device.online === false ? "disconnected" : "never_seen");
}

function figures(box, view) {
  const values = {
    waiting: view.waiting,
    longest: minutes(view.longest_wait_minutes),
    longest_whole: view.longest_wait_minutes === null ? "—" : Math.round(view.longest_wait_minutes),
    windows: `${view.windows_open} / ${view.windows_total}`,
    issued: view.issued,
    served: view.served,
    issued_served: `${view.issued} / ${view.served}`,
    devices: view.devices.online + view.devices.offline
      ? `${view.devices.online} / ${view.devices.online + view.devices.offline}`
      : "—", // no device registered: not a fault
    day: word(view.open_now ? "open" : "closed"),
  };
  for (const field of box.querySelectorAll("[data-field]")) text(field, values[field.dataset.field]);
  const longest = box.querySelector("[data-over=longest]");
  const over = view.longest_wait_minutes !== null && view.longest_wait_minutes > view.target_wait_minutes;
  if (longest) longest.classList.toggle("over", over);
}

function windowState(window) {
  const state = word(window.state);
  return window.paused_minutes === null ? state : `${state} · ${minutes(window.paused_minutes)}`;
}

// The site's overdue follow-ups: only an admin page's stream carries them (never a wall screen's); the words are a
// JSON string in the element's data-template.
function followUps(view) {
  const box = root.querySelector("[data-part=follow-ups]");
  if (!box || view.overdue_follow_ups === undefined) return;
  box.hidden = !view.overdue_follow_ups;
  text(box.querySelector("a"), view.overdue_follow_ups ? say(JSON.parse(box.dataset.template), { count: view.overdue_follow_ups }) : "");
}

function renderSite(view) {
  figures(root, view);
  followUps(view);
  root.querySelector("[data-part=alerts]").replaceChildren(...alertItems(view));
  root.querySelector("[data-part=windows]").replaceChildren(
    ...view.windows.map((window) => {
      const row = node("tr", `state-${window.state}`);
      row.append(node("td", "", name(window)), node("td", "", windowState(window)),
        node("td", "", window.clerk ?? "—"), node("td", "ticket", window.current ?? "—"));
      return row;
    }),
  );
  root.querySelector("[data-part=matters]").replaceChildren(
    ...view.matters.map((matter) => {
      const row = node("tr", matter.over_target ? "over" : "");
      row.append(
        node("td", "", node("span", "code", matter.code), ` ${name(matter)}`),
        node("td", "num", matter.waiting),
        node("td", "num", minutes(matter.longest_wait_minutes)),
        node("td", "num wide", minutes(matter.estimated_wait_minutes)),
        node("td", "num wide", matter.issued),
        node("td", "num wide", matter.served),
      );
      return row;
    }),
  );
  const devices = view.devices.items.map((device) => {
    const row = node("tr", device.online === true ? "" : "gone");
    row.append(node("td", "", device.device_id), node("td", "wide", word(device.kind)),
      node("td", "wide", device.window_id ?? "—"),
      node("td", "", connection(device)), node("td", "", condition(device)));
    return row;
  });
  root.querySelector("[data-part=devices]").replaceChildren(...devices);
}

function renderWall(view) {
  for (const site of view.sites) {
    const tile = root.querySelector(`[data-site="${CSS.escape(site.site_id)}"]`);
    if (!tile) continue;
    figures(tile, site);
    tile.querySelector("[data-part=chips]").replaceChildren(
      ...site.windows.map((window) => node("li", `chip state-${window.state}`, node("b", "", window.number),
        ` ${window.current ?? word(window.state)}`)),
    );
    tile.querySelector("[data-part=alerts]").replaceChildren(...alertItems(site, WALL_ALERTS));
  }
}

function show(view) {
  (root.dataset.livePage === "wall" ? renderWall : renderSite)(view);
}

function start() {
  let wasLive = false;
  const source = follow(root.dataset.stream, (view) => { wasLive = true; show(view); }, stateLine);
  source.addEventListener("error", () => {
    if (wasLive) setState("lost"); // the browser reconnects by itself; the hub then sends the whole view again
    if (source.readyState === EventSource.CLOSED) setTimeout(resume, RESUME_MS);
  });
}

// The browser gave up on the stream (the hub answered it with something else: a restart, a proxy's error page, the
// sign-in after the session ended). Ask for the page's JSON: signed out says so; a wall screen's link that is no
// longer valid (404) says so and stops asking; a view shows and the stream starts again; anything else tries
// again shortly.
async function resume() {
  let response;
  try {
    response = await fetch(root.dataset.json, { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch {
    setTimeout(resume, RESUME_MS);
    return;
  }
  if (response.status === 401) {
    setState("signed_out");
  } else if (response.status === 404 && stateLine.dataset.goneText) {
    setState("gone");
  } else if (response.ok) {
    show((await response.json()).view);
    start();
  } else {
    setTimeout(resume, RESUME_MS);
  }
}

start();
