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
  event.waitUntil(openAlarm(event.notification.data));
});

/** Focuses an open dashboard tab and takes it to the alarm's page, or opens one there. */
async function openAlarm(data) {
  const url = new URL((data && data.url) || '/app/live', self.location.origin).href;
  const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const same = open.find((c) => new URL(c.url).origin === self.location.origin);
  if (same) {
    // Focusing can be refused (no user activation); the tab is still taken to the alarm.
    await same.focus().catch(() => undefined);
    if ('navigate' in same) return same.navigate(url);
    return undefined;
  }
  return self.clients.openWindow(url);
}
