// The ticket page's service worker (served as /t/ticket.worker.js, scope /t/): phones' browsers show a page's
// notifications only through one. It caches nothing and sees no request: a tap on a reminder brings the page back.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((pages) => (pages.length ? pages[0].focus() : undefined)),
  );
});
