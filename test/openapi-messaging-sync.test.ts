import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshStorage, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';

/** The OpenAPI document as it describes bulk messaging and the orders change feed. */
describe('OpenAPI: messaging and the change feed', () => {
  let storage: Storage;
  let p: TestPuente;
  let doc: any;
  before(async () => {
    storage = await freshStorage('embedded');
    p = await startPuente(testEnv(storage.env), { work: false });
    doc = await (await fetch(`${p.url}/docs/json`)).json();
  });
  after(async () => {
    await p?.close();
    await storage?.dispose();
  });

  const op = (method: string, path: string) => {
    const o = doc.paths[path]?.[method];
    assert.ok(o, `${method.toUpperCase()} ${path} is in the document`);
    return o;
  };
  const ops = [
    ['post', '/devices', 'createDevice', 201],
    ['get', '/devices', 'listDevices', 200],
    ['get', '/devices/{id}', 'getDevice', 200],
    ['patch', '/devices/{id}', 'updateDevice', 200],
    ['delete', '/devices/{id}', 'deleteDevice', 200],
    ['post', '/devices/{id}/check', 'checkDevice', 200],
    ['post', '/messages/send-bulk-file', 'sendBulkFile', 200],
    ['post', '/messages/preview', 'previewBulkFile', 200],
    ['get', '/jobs/{job_id}/results.csv', 'downloadJobResults', 200],
    ['get', '/suppressions', 'listSuppressions', 200],
    ['post', '/suppressions', 'addSuppression', 201],
    ['delete', '/suppressions/{phone}', 'removeSuppression', 200],
    ['post', '/suppressions/import', 'importSuppressions', 200],
    ['get', '/webhooks/{provider}/{device_id}', 'verifyCloudWebhook', 200],
    ['post', '/webhooks/{provider}/{device_id}', 'receiveWebhook', 200],
    ['post', '/orders', 'createOrder', 201],
    ['get', '/orders', 'listOrders', 200],
    ['patch', '/orders/{id}', 'updateOrder', 200],
    ['post', '/orders/{id}/cancel', 'cancelOrder', 200],
    ['get', '/sync/pull-changes', 'pullChanges', 200],
    ['post', '/sync/confirm', 'confirmChanges', 200],
    ['get', '/api/sync-clients', 'listSyncClients', 200],
    ['post', '/api/sync-clients', 'createSyncClient', 201],
    ['delete', '/api/sync-clients/{id}', 'revokeSyncClient', 200],
  ] as const;

  test('every route has its operationId, tags, a described success body and its error statuses', () => {
    for (const [method, path, id, ok] of ops) {
      const o = op(method, path);
      assert.equal(o.operationId, id, path);
      assert.ok(o.tags?.length, `${id} has tags`);
      const success = o.responses[String(ok)];
      assert.ok(success?.content, `${id} describes its ${ok} body`);
      const schema = Object.values(success.content as Record<string, { schema: unknown }>)[0]!.schema;
      assert.ok(schema && JSON.stringify(schema) !== '{}', `${id}'s ${ok} body has a schema`);
      assert.ok(o.responses['500'], `${id} declares 500`);
      if (!path.startsWith('/webhooks')) assert.ok(o.responses['401'], `${id} declares 401`);
    }
    const errorSchema = (o: any, status: string) => JSON.stringify(o.responses[status].content['application/json'].schema);
    assert.match(errorSchema(op('post', '/messages/send-bulk-file'), '409'), /#\/components\/schemas\/StatusErrorReply"/, "seed 004's error shape");
    assert.match(errorSchema(op('get', '/orders'), '401'), /#\/components\/schemas\/ErrorReply"/);
  });

  test('security as it really is: staff bearer token, the sync API key for /sync/*, either for /orders, none for webhooks', () => {
    assert.deepEqual(op('get', '/sync/pull-changes').security, [{ syncApiKey: [] }]);
    assert.deepEqual(op('post', '/sync/confirm').security, [{ syncApiKey: [] }]);
    assert.deepEqual(op('post', '/orders').security, [{ bearer: [] }, { syncApiKey: [] }]);
    assert.deepEqual(op('get', '/devices').security, [{ bearer: [] }]);
    assert.deepEqual(op('get', '/api/sync-clients').security, [{ bearer: [] }]);
    assert.deepEqual(op('post', '/webhooks/{provider}/{device_id}').security, []);
    assert.equal(doc.components.securitySchemes.syncApiKey.scheme, 'bearer');
  });

  test('the multipart uploads describe their form; the webhook body is described by provider', () => {
    const form = (path: string) => {
      const body = op('post', path).requestBody;
      assert.ok(body.content['multipart/form-data'], `${path} takes multipart/form-data`);
      const schema = body.content['multipart/form-data'].schema;
      const ref = schema.$ref ?? schema.allOf?.[0]?.$ref;
      return doc.components.schemas[ref.split('/').at(-1)];
    };
    const bulk = form('/messages/send-bulk-file');
    assert.deepEqual(bulk.required.sort(), ['file', 'message']);
    assert.equal(bulk.properties.file.format, 'binary');
    assert.ok(bulk.properties.devices_limit && bulk.properties.confirm_duplicate && bulk.properties.template);
    assert.equal(form('/messages/preview').properties.file.format, 'binary');
    assert.equal(form('/suppressions/import').properties.file.format, 'binary');
    const hook = op('post', '/webhooks/{provider}/{device_id}');
    const delivery = doc.components.schemas[hook.requestBody.content['application/json'].schema.$ref.split('/').at(-1)];
    assert.deepEqual(
      delivery.oneOf.map((o: { title: string }) => o.title),
      ['cloud', 'evolution', 'waha', 'simulator'],
    );
    assert.deepEqual(hook.parameters.find((x: { name: string }) => x.name === 'provider').schema.enum, ['cloud', 'evolution', 'waha', 'simulator']);
    assert.ok(op('get', '/jobs/{job_id}/results.csv').responses['200'].content['text/csv']);
  });
});
