import { Encoder, PacketType, type Packet } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { plainJson, PlainJsonEncoder } from './plain-json-encoder.ts';

const payload = () => ({
  voltage: 3.31,
  timestamp: 1764547200.1,
  prediction: { anomaly_score: 0.12, is_anomaly: false, confidence: 0.9, method: 'auto', signal: 'none', expected: 3.3, lower: 3.1, upper: 3.5, text: 'quote " and \\ and ü' },
  ml_status: { status: 'ready', method: 'auto' },
  guest_mode: false,
  session_id: 7,
  device_id: 3,
});

describe('PlainJsonEncoder', () => {
  const stock = new Encoder();
  const mine = new PlainJsonEncoder();

  it('encodes a marked event exactly as the stock encoder does, in any namespace and with an ack id', () => {
    const packets: Packet[] = [
      { type: PacketType.EVENT, nsp: '/', data: ['arduino_data', plainJson(payload())] },
      { type: PacketType.EVENT, nsp: '/admin', data: ['arduino_data', plainJson(payload())] },
      { type: PacketType.EVENT, nsp: '/', id: 12, data: ['arduino_data', plainJson(payload())] },
    ];
    for (const p of packets) {
      const out = mine.encode(p);
      expect(out).toEqual(stock.encode(p));
      expect(out).toHaveLength(1);
    }
  });

  it('leaves unmarked packets to the stock encoder, so binary still goes as attachments', () => {
    const binary: Packet = { type: PacketType.EVENT, nsp: '/', data: ['file', { bytes: Buffer.from([1, 2, 3]) }] };
    const out = mine.encode(binary);
    expect(out).toHaveLength(2);
    expect(String(out[0])).toMatch(/^51-\["file",\{"bytes":\{"_placeholder":true,"num":0\}\}\]$/);
    const other: Packet = { type: PacketType.EVENT, nsp: '/', data: ['arduino_data', payload()] };
    expect(mine.encode(other)).toEqual(stock.encode(other));
    const connect: Packet = { type: PacketType.CONNECT, nsp: '/', data: { sid: 'x' } };
    expect(mine.encode(connect)).toEqual(stock.encode(connect));
  });
});
