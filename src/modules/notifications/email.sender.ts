import nodemailer from 'nodemailer';
import type { AlarmView } from '../alarms/alarms.schemas.ts';
import { DeliveryError, describeAlarm, type ChannelSender, type NearbyReading, type Notification } from './notification.types.ts';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SUBJECTS: Record<Notification['event'], string> = {
  alarm_opened: 'Alarm',
  alarm_renotify: 'Still unacknowledged',
  alarm_resolved: 'Resolved',
  alarm_digest: 'Digest',
  test: 'Test',
};

/** The plain-text and HTML bodies: the alarm, and the values around it. */
export function renderEmail(n: Notification, readings: NearbyReading[]): { subject: string; text: string; html: string } {
  const alarms: AlarmView[] = n.alarms ?? (n.alarm ? [n.alarm] : []);
  const head = n.event === 'test' ? 'This is a test message from Vigil: this channel works.' : n.event === 'alarm_digest' ? `${alarms.length} alarms opened at once:` : describeAlarm(alarms[0]!);
  const subject = `[Vigil] ${SUBJECTS[n.event]}${n.alarm ? `: ${n.alarm.severity} ${n.alarm.signal} on device ${n.alarm.device_id}` : n.event === 'alarm_digest' ? ` of ${alarms.length} alarms` : ''}`;
  const lines = [head, ''];
  if (n.event === 'alarm_digest') for (const a of alarms) lines.push(`- #${a.id} ${describeAlarm(a)}`);
  if (n.alarm) {
    const a = n.alarm;
    lines.push(`Alarm #${a.id}: ${a.state}, opened ${a.opened_at}, last seen ${a.last_seen_at}${a.resolved_at ? `, resolved ${a.resolved_at}` : ''}.`);
  }
  if (readings.length > 0) {
    lines.push('', 'Readings around the peak (time, value, score, anomalous):');
    for (const r of readings) lines.push(`${r.timestamp}  ${r.value}  ${r.anomaly_score.toFixed(3)}${r.is_anomaly ? '  *' : ''}`);
  }
  const rows = readings
    .map((r) => `<tr${r.is_anomaly ? ' style="background:#fdd"' : ''}><td>${escape(r.timestamp)}</td><td>${r.value}</td><td>${r.anomaly_score.toFixed(3)}</td><td>${r.is_anomaly ? 'yes' : ''}</td></tr>`)
    .join('');
  const list = n.event === 'alarm_digest' ? `<ul>${alarms.map((a) => `<li>#${a.id} ${escape(describeAlarm(a))}</li>`).join('')}</ul>` : '';
  const html = `<p>${escape(head)}</p>${list}${
    rows ? `<table border="1" cellpadding="3" cellspacing="0"><thead><tr><th>time</th><th>value</th><th>score</th><th>anomalous</th></tr></thead><tbody>${rows}</tbody></table>` : ''
  }`;
  return { subject, text: lines.join('\n'), html };
}

/** Sends alarm e-mails over SMTP (`SMTP_URL`, nodemailer). */
export function createEmailSender(deps: { smtpUrl: string; from: string; readings(alarm: AlarmView): Promise<NearbyReading[]> }) {
  const transport = nodemailer.createTransport(deps.smtpUrl);
  const sender: ChannelSender & { close(): void } = {
    async send(channel, n) {
      const readings = n.alarm ? await deps.readings(n.alarm) : [];
      const { subject, text, html } = renderEmail(n, readings);
      try {
        await transport.sendMail({ from: deps.from, to: String(channel.config.to), subject, text, html });
        return { status: null };
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        throw new DeliveryError(err instanceof Error ? err.message : String(err), code !== undefined && code >= 500 && code < 600, code ?? null);
      }
    },
    close: () => transport.close(),
  };
  return sender;
}
