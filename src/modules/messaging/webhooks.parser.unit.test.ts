import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCloud, parseEvolution, parseSimulator, parseWaha } from './webhooks.parser.ts';

test("Cloud API: this number's statuses and messages are read, another number's change and junk are ignored", () => {
  const change = (phoneNumberId: string, value: Record<string, unknown>) => ({
    field: 'messages',
    value: { metadata: { phone_number_id: phoneNumberId }, ...value },
  });
  const body = {
    object: 'whatsapp_business_account',
    entry: [
      {
        changes: [
          change('111', {
            statuses: [
              { id: 'wamid.A', status: 'delivered' },
              { id: 'wamid.B', status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable', error_data: { details: 'not on WhatsApp' } }] },
              { id: 'wamid.C', status: 'deleted' },
              'junk',
            ],
            messages: [
              { from: '51987650001', id: 'wamid.in', text: { body: 'BA\0JA' } },
              { from: '51987650002', button: { text: 'Sí' } },
            ],
          }),
          change('222', { statuses: [{ id: 'wamid.other', status: 'read' }] }),
        ],
      },
      null,
    ],
  };
  assert.deepEqual(parseCloud(body, '111'), {
    receipts: [
      { id: 'wamid.A', rank: 2, error: null },
      { id: 'wamid.B', rank: -1, error: '131026 Message undeliverable (not on WhatsApp)' },
    ],
    inbound: [
      { from: '51987650001', text: 'BAJA', id: 'wamid.in' },
      { from: '51987650002', text: 'Sí', id: '' },
    ],
  });
  assert.deepEqual(parseCloud({ object: 'page', entry: body.entry }, '111'), { receipts: [], inbound: [] });
  assert.deepEqual(parseCloud('not json', '111'), { receipts: [], inbound: [] });
});

test('Evolution: acks of messages Puente sent, and texts people wrote (by their phone-number JID)', () => {
  assert.deepEqual(
    parseEvolution({
      event: 'MESSAGES_UPDATE',
      data: [
        { keyId: 'E1', status: 'READ' },
        { key: { id: 'E2' }, status: 'ERROR' },
        { keyId: 'E3', status: 'READ', fromMe: false },
      ],
    }),
    {
      receipts: [
        { id: 'E1', rank: 3, error: null },
        { id: 'E2', rank: -1, error: 'ERROR: el proveedor no pudo entregar / not delivered' },
      ],
      inbound: [],
    },
  );
  assert.deepEqual(
    parseEvolution({
      event: 'messages.upsert',
      data: {
        key: { id: 'M1', fromMe: false, remoteJid: '123@lid', remoteJidAlt: '51987650003@s.whatsapp.net' },
        message: { extendedTextMessage: { text: 'baja' } },
      },
    }),
    { receipts: [], inbound: [{ from: '51987650003', text: 'baja', id: 'M1' }] },
  );
  assert.deepEqual(
    parseEvolution({ event: 'messages.upsert', data: { key: { fromMe: true, remoteJid: '51987650003@s.whatsapp.net' }, message: { conversation: 'x' } } }),
    {
      receipts: [],
      inbound: [],
    },
  );
});

test('WAHA: message.ack ranks and inbound messages; a body without payload says nothing', () => {
  assert.deepEqual(parseWaha({ event: 'message.ack', payload: { id: 'W1', ack: 2 } }), { receipts: [{ id: 'W1', rank: 2, error: null }], inbound: [] });
  assert.deepEqual(parseWaha({ event: 'message.ack', payload: { id: 'W2', ack: -1, ackName: 'ERROR' } }), {
    receipts: [{ id: 'W2', rank: -1, error: 'ack ERROR: ERROR' }],
    inbound: [],
  });
  assert.deepEqual(parseWaha({ event: 'message.ack', payload: { id: 'W3', ack: 0 } }), { receipts: [], inbound: [] });
  assert.deepEqual(parseWaha({ event: 'message', payload: { id: 'W4', from: '51987650004@c.us', fromMe: false, body: 'hola' } }), {
    receipts: [],
    inbound: [{ from: '51987650004', text: 'hola', id: 'W4' }],
  });
  assert.deepEqual(parseWaha({ event: 'message' }), { receipts: [], inbound: [] });
});

test("Puente's simulator: status and message events", () => {
  assert.deepEqual(
    parseSimulator({
      events: [{ type: 'status', id: 'S1', status: 'failed', error: 'gone' }, { type: 'message', from: '51987650005', text: 'hi', id: 'S2' }, { type: 'x' }],
    }),
    { receipts: [{ id: 'S1', rank: -1, error: 'gone' }], inbound: [{ from: '51987650005', text: 'hi', id: 'S2' }] },
  );
});
