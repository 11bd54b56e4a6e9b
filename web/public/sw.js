/* Vigil's service worker: shows alarm pushes while the dashboard is closed, opens the alarm on click.
   Served at /sw.js (scope /) with Cache-Control: no-cache, so a new version is picked up at the next visit. */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let p = {};
  try {
    p = event.data ? event.data.json() : {};
  } catch {
    p = { body: event.data ? event.data.text() : '' };
  }
  const title = p.title || 'Vigil';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: p.body || '',
      tag: p.tag || undefined,
      renotify: Boolean(p.tag),
      requireInteraction: p.event === 'alarm_opened' || p.event === 'alarm_renotify',
      data: { url: p.url || '/app/live', alarm: p.alarm || null },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || '/app/live', self.location.origin).href;
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const same = open.find((c) => new URL(c.url).origin === self.location.origin);
      if (same) {
        await same.focus();
        if ('navigate' in same) return same.navigate(url);
        return undefined;
      }
      return self.clients.openWindow(url);
    })(),
  );
});
