import { z } from 'zod';
import {
  chunkProcessingEvent,
  deliveryEvent,
  errorEvent,
  jobCancelledEvent,
  jobCompletedEvent,
  jobFailedEvent,
  jobPausedEvent,
  jobResumedEvent,
  jobStartedEvent,
  pingMessage,
  pongEvent,
  progressEvent,
  subscribedEvent,
} from './job-socket.contract.ts';

/** One event of a socket: its name on the wire, what it means, and its payload (none when null). */
export interface SocketEventSpec {
  payload: z.ZodType | null;
  summary: string;
}

/**
 * A socket endpoint as its contract describes it. `send` are the events Puente sends, `receive`
 * those it reads. Every payload schema must carry a `.meta({ id })`: that id names it in the document.
 */
export interface SocketChannelSpec {
  /** Key in the document, e.g. `sync`. */
  id: string;
  /** Path, e.g. `/sync` or `/ws/job/{jobId}`. */
  address: string;
  title: string;
  description: string;
  parameters?: Record<string, { description: string }>;
  /** Security scheme names (see SECURITY_SCHEMES) a client may use; alternatives. */
  security?: string[];
  send: Record<string, SocketEventSpec>;
  receive: Record<string, SocketEventSpec>;
  /** Socket.IO: the handshake's `auth` object and what `connect_error` carries when it is refused (`x-handshake`). */
  handshake?: { auth: z.ZodType; connectError: z.ZodType };
  /** Extra fields for the channel (e.g. the `ws` binding's query). */
  extra?: Record<string, unknown>;
}

const SECURITY_SCHEMES: Record<string, Record<string, unknown>> = {
  jobToken: {
    type: 'httpApiKey',
    in: 'query',
    name: 'token',
    description:
      "A staff access token (`POST /auth/login`) as `?token=`. Optional: without it, or with a customer's or an access-code session's, phone numbers are masked; an invalid one is refused with 401.",
  },
  jobBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The same access token as an `Authorization: Bearer` header.' },
};

/** `/ws/job/{jobId}`: a plain WebSocket carrying JSON text frames, one event per frame. */
export const jobSocketChannel: SocketChannelSpec = {
  id: 'jobSocket',
  address: '/ws/job/{jobId}',
  title: 'Job progress socket',
  description: [
    'A plain WebSocket (`ws://host/ws/job/{jobId}`); every frame is one JSON object whose `type` names the event.',
    'The first is `subscribed`; a late subscriber then gets where the job stands (the current `progress`, or the final event).',
    '`progress` is coalesced (the latest wins, at most every 250 ms per socket); `error` is capped at 20 a second per socket.',
    'An unknown job gets `job_failed` with `error: "not_found"` and the socket closes with 4404.',
    'A socket without a valid staff token follows the job with phone numbers masked, and is closed (1000) after the terminal event.',
    'Over the per-socket message budget pings go unanswered; a flood closes the socket (1008).',
  ].join(' '),
  parameters: { jobId: { description: "The job's id (as returned by the route that started it)." } },
  security: ['jobToken', 'jobBearer'],
  extra: {
    bindings: {
      ws: {
        method: 'GET',
        query: { type: 'object', properties: { token: { type: 'string', description: 'A staff access token (optional)' } } },
        bindingVersion: '0.1.0',
      },
    },
  },
  send: {
    subscribed: { payload: subscribedEvent, summary: 'First message on every socket' },
    job_started: { payload: jobStartedEvent, summary: 'A worker started the job' },
    chunk_processing: { payload: chunkProcessingEvent, summary: 'A bulk send starts a chunk of recipients' },
    progress: { payload: progressEvent, summary: 'The latest counters' },
    error: { payload: errorEvent, summary: 'A record ended failed or uncertain, or a device was paused' },
    delivery: { payload: deliveryEvent, summary: "Receipts moved a bulk send's delivered/read counters" },
    job_completed: { payload: jobCompletedEvent, summary: 'The job finished; its final counters' },
    job_failed: { payload: jobFailedEvent, summary: 'The job failed (or does not exist)' },
    job_cancelled: { payload: jobCancelledEvent, summary: 'The job was cancelled' },
    job_paused: { payload: jobPausedEvent, summary: 'The job was paused' },
    job_resumed: { payload: jobResumedEvent, summary: 'The job was resumed' },
    pong: { payload: pongEvent, summary: 'Answer to a ping' },
  },
  receive: {
    ping: { payload: pingMessage, summary: 'Keep-alive; answered with `pong` (a bare `ping` text frame works too)' },
  },
};

type Json = Record<string, unknown>;

/** A zod schema as AsyncAPI Schema (a JSON Schema draft-07 superset); its named parts go to `components.schemas`. */
function toSchema(schema: z.ZodType, schemas: Json): Json {
  const out = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Json;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' ? x.replace('#/definitions/', '#/components/schemas/') : rewrite(x)]),
      );
    }
    return v;
  };
  const { $schema: _, definitions, ...root } = rewrite(out) as Json & { definitions?: Json };
  for (const [name, def] of Object.entries(definitions ?? {})) schemas[name] = def;
  return root;
}

const messageKey = (event: string) => event.replace(/[^A-Za-z0-9_.-]+/g, '_');
const operationId = (verb: string, channel: string) => `${verb}${channel[0]!.toUpperCase()}${channel.slice(1)}`;

/** The AsyncAPI 3 document of Puente's sockets, built from their contract schemas. */
export function asyncApiDocument(channels: SocketChannelSpec[], opts: { version: string; host?: string } = { version: '0.1.0' }): Json & { asyncapi: '3.1.0' } {
  const schemas: Json = {};
  const messages: Json = {};
  const docChannels: Json = {};
  const operations: Json = {};
  const used = new Set<string>();
  for (const c of channels) {
    const channelMessages: Json = {};
    const refs: Record<'send' | 'receive', Json[]> = { send: [], receive: [] };
    for (const direction of ['send', 'receive'] as const) {
      for (const [event, spec] of Object.entries(c[direction])) {
        const key = messageKey(event);
        const componentKey = `${c.id}.${key}`;
        messages[componentKey] = {
          name: event,
          title: event,
          summary: spec.summary,
          ...(spec.payload ? { payload: toSchema(spec.payload, schemas) } : {}),
        };
        channelMessages[key] = { $ref: `#/components/messages/${componentKey}` };
        refs[direction].push({ $ref: `#/channels/${c.id}/messages/${key}` });
      }
    }
    docChannels[c.id] = {
      address: c.address,
      title: c.title,
      description: c.description,
      messages: channelMessages,
      ...(c.parameters ? { parameters: c.parameters } : {}),
      ...(c.handshake ? { 'x-handshake': { auth: toSchema(c.handshake.auth, schemas), connect_error: toSchema(c.handshake.connectError, schemas) } } : {}),
      ...c.extra,
    };
    const security = c.security?.map((s) => {
      used.add(s);
      return { $ref: `#/components/securitySchemes/${s}` };
    });
    for (const direction of ['send', 'receive'] as const) {
      if (!refs[direction].length) continue;
      operations[operationId(direction, c.id)] = {
        action: direction,
        channel: { $ref: `#/channels/${c.id}` },
        summary: direction === 'send' ? `Events Puente sends on ${c.address}` : `Events Puente reads on ${c.address}`,
        messages: refs[direction],
        ...(security ? { security } : {}),
      };
    }
  }
  const securitySchemes = Object.fromEntries([...used].map((s) => [s, SECURITY_SCHEMES[s]]));
  return {
    asyncapi: '3.1.0' as const,
    info: {
      title: 'Puente sockets',
      version: opts.version,
      description:
        "The events of Puente's sockets, generated from their zod schemas (`*.contract.ts`). The HTTP API is described by the OpenAPI document at `/docs/json`.",
    },
    servers: {
      puente: {
        host: opts.host ?? 'localhost:5000',
        protocol: 'ws',
        description: "Puente's own HTTP port (`wss` behind TLS). Socket.IO namespaces also fall back to HTTP long-polling.",
      },
    },
    defaultContentType: 'application/json',
    channels: docChannels,
    operations,
    components: { schemas, messages, ...(Object.keys(securitySchemes).length ? { securitySchemes } : {}) },
  };
}

/** A JSON Schema as a few words: `string`, `integer | null`, `"progress"`, `Order[]`… */
function typeWords(s: Json | undefined, schemas: Json): string {
  if (!s) return 'any';
  if (typeof s.$ref === 'string') return s.$ref.split('/').at(-1)!;
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (Array.isArray(s.allOf) && s.allOf.length === 1) return typeWords(s.allOf[0] as Json, schemas);
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).map((x) => typeWords(x, schemas)).join(' \\| ');
  if (Array.isArray(s.type)) return (s.type as string[]).join(' \\| ');
  if (s.type === 'array') return `${typeWords(s.items as Json, schemas)}[]`;
  if (s.type === 'object' && !s.properties) return 'object';
  return typeof s.type === 'string' ? s.type : 'any';
}

function fieldsTable(schema: Json, schemas: Json): string[] {
  const s = typeof schema.$ref === 'string' ? (schemas[schema.$ref.split('/').at(-1)!] as Json) : schema;
  const props = (s?.properties ?? {}) as Record<string, Json>;
  if (!Object.keys(props).length) return [];
  const required = new Set((s.required as string[] | undefined) ?? []);
  const rows = Object.entries(props).map(
    ([name, p]) =>
      `| \`${name}\` | ${typeWords(p, schemas)} | ${required.has(name) ? 'yes' : ''} | ${String(p.description ?? '')
        .replaceAll('|', '\\|')
        .replaceAll('\n', ' ')} |`,
  );
  const more = s.additionalProperties && s.additionalProperties !== false ? ['', 'Other fields may be present.'] : [];
  return ['| field | type | required | |', '|---|---|---|---|', ...rows, ...more];
}

/** docs/realtime.md: the AsyncAPI document as a page to read (`npm run docs:sockets` writes it). */
export function asyncApiMarkdown(doc: Json): string {
  const components = doc.components as { schemas: Json; messages: Record<string, Json>; securitySchemes?: Record<string, Json> };
  const schemas = components.schemas;
  const messageOf = (ref: string) => components.messages[ref.split('/').at(-1)!]!;
  const out: string[] = [
    '# Sockets',
    '',
    '<!-- Generated from the socket contracts (src/platform/realtime/job-socket.contract.ts,',
    '     src/modules/sync-feed/sync-feed.contract.ts) by `npm run docs:sockets`; do not edit by hand. -->',
    '',
    `Puente's sockets as its AsyncAPI ${String(doc.asyncapi)} document describes them; the document itself is served at`,
    '`GET /docs/asyncapi.json` (the HTTP API is at `/docs`, OpenAPI). Every event below is a zod schema that',
    'the server code emits and reads with; the test suite checks every event it receives against it.',
    '',
  ];
  const operations = Object.values(doc.operations as Record<string, Json>);
  for (const [id, channel] of Object.entries(doc.channels as Record<string, Json>)) {
    out.push(`## \`${String(channel.address)}\`: ${String(channel.title)}`, '', String(channel.description), '');
    const params = channel.parameters as Record<string, Json> | undefined;
    for (const [name, p] of Object.entries(params ?? {})) out.push(`- \`{${name}}\`: ${String(p.description)}`);
    if (params) out.push('');
    const handshake = channel['x-handshake'] as { auth: Json; connect_error: Json } | undefined;
    if (handshake) {
      out.push(
        'Handshake `auth`:',
        '',
        ...fieldsTable(handshake.auth, schemas),
        '',
        'A refused handshake gets `connect_error` with:',
        '',
        ...fieldsTable(handshake.connect_error, schemas),
        '',
      );
    }
    const ops = operations.filter((o) => (o.channel as Json).$ref === `#/channels/${id}`);
    const security = (ops[0]?.security as Json[] | undefined)?.map((r) => components.securitySchemes?.[String(r.$ref).split('/').at(-1)!]);
    if (security?.length) out.push('Credentials (either):', '', ...security.map((s) => `- ${String(s?.description)}`), '');
    for (const op of ops) {
      out.push(`### ${op.action === 'send' ? 'Puente sends' : 'Puente reads'}`, '');
      for (const ref of op.messages as Json[]) {
        const channelMessage = (channel.messages as Record<string, Json>)[String(ref.$ref).split('/').at(-1)!]!;
        const m = messageOf(String(channelMessage.$ref));
        const payload = m.payload as Json | undefined;
        const named = typeof payload?.$ref === 'string' ? (schemas[payload.$ref.split('/').at(-1)!] as Json) : payload;
        out.push(`#### \`${String(m.name)}\``, '', named?.description ? String(named.description) : `${String(m.summary)}.`, '');
        if (!payload) out.push('No payload.', '');
        else {
          const table = fieldsTable(payload, schemas);
          out.push(...(table.length ? table : [`Payload: ${typeWords(payload, schemas)}`]), '');
        }
      }
    }
  }
  const shown = new Set<string>();
  for (const m of Object.values(components.messages)) shown.add(String((m.payload as Json | undefined)?.$ref));
  for (const c of Object.values(doc.channels as Record<string, Json>)) {
    const h = c['x-handshake'] as { auth: Json; connect_error: Json } | undefined;
    if (h) shown.add(String(h.auth.$ref)).add(String(h.connect_error.$ref));
  }
  const shared = Object.entries(schemas).filter(([name]) => !shown.has(`#/components/schemas/${name}`));
  if (shared.length) {
    out.push('## Shared shapes', '');
    for (const [name, s] of shared) {
      out.push(`### ${name}`, '');
      if ((s as Json).description) out.push(String((s as Json).description), '');
      out.push(...fieldsTable(s as Json, schemas), '');
    }
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
