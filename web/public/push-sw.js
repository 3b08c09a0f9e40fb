/*
 * Butler's push messages, in the service worker that Workbox generates (vite.config.ts
 * imports this file into it). The server sends JSON: {title, body, tag, kind, url}.
 * Plain script, not bundled: the service worker runs it as it is.
 */

const ICON = "/icons/icon-192.png";
const HOME = "/";

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    // Not JSON: still show something, since a push the person cannot see is held
    // against the site (userVisibleOnly).
    message = { body: event.data ? event.data.text() : "" };
  }
  const title = message.title || "Butler";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: message.body || "",
      // One tag per firing: the same reminder sent twice shows once.
      tag: message.tag || undefined,
      icon: ICON,
      badge: ICON,
      data: { url: message.url || HOME },
      renotify: false,
    }),
  );
});

/** `url` when it is on this app's own origin; the app's start otherwise. */
function ownUrl(url) {
  try {
    const target = new URL(url, self.location.origin);
    return target.origin === self.location.origin ? target.href : HOME;
  } catch {
    return HOME;
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = ownUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        // A window of the app is open: bring it forward, on the page the message is
        // about. Focus first, while the click still allows it; navigate even if the
        // browser refused the focus.
        const focused = await open.focus().catch(() => open);
        await focused.navigate(url).catch(() => undefined);
        return;
      }
      await self.clients.openWindow(url);
    })(),
  );
});
