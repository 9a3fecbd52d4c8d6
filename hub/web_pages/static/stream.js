// Follow a page's live view over server-sent events (hub/hall_feed.py): `render(view)` gets each view as it comes.
// The browser's EventSource reconnects by itself after a lost connection and the hub then sends the whole view
// again, so the page resumes without a reload. `element` (optional) shows the connection's state: its
// `data-live` attribute is "live", "lost" or "connecting", and its text the matching words from its data-*-text.
export function follow(url, render, element) {
  const show = (state) => {
    if (!element) return;
    element.dataset.live = state;
    element.textContent = element.dataset[`${state}Text`] || state;
  };
  show("connecting");
  const source = new EventSource(url);
  source.addEventListener("view", (message) => {
    show("live");
    render(JSON.parse(message.data));
  });
  source.addEventListener("error", () => show(source.readyState === EventSource.CLOSED ? "lost" : "connecting"));
  return source;
}

// Text of a number or name for the page (never HTML: nothing from the hub is inserted as markup).
export function text(node, value) {
  node.textContent = value === null || value === undefined ? "" : String(value);
}
