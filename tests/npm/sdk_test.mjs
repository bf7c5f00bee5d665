// Proves the simulator's signature checks right independently of acmon's own signing code:
// Alibaba Cloud's official SDK clients (pop-core signs V1 / HMAC-SHA1, openapi-client signs
// V3 / ACS3-HMAC-SHA256) must be accepted, and the same clients with a wrong secret refused.
//   node sdk_test.mjs ACMON_SIM_BINARY NODE_MODULES_DIR
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [simBinary, modulesDir] = process.argv.slice(2);
if (!simBinary || !modulesDir) {
  console.error('usage: node sdk_test.mjs ACMON_SIM NODE_MODULES_DIR');
  process.exit(1);
}
// Without the SDKs there is nothing to test: CTest reports the test skipped (SKIP_RETURN_CODE 77).
for (const sdk of ['@alicloud/pop-core', '@alicloud/openapi-client', '@alicloud/tea-util']) {
  if (!existsSync(path.join(modulesDir, ...sdk.split('/')))) {
    console.log(`SKIP: ${sdk} is not installed in ${modulesDir} (scripts/test installs it from tests/npm/package.json)`);
    process.exit(77);
  }
}
const require = createRequire(path.resolve(modulesDir, 'resolver.js'));
const RPCClient = require('@alicloud/pop-core').RPCClient;
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');

const dir = mkdtempSync(path.join(tmpdir(), 'acmon-sdk-'));
const data = {
  accounts: [{ access_key_id: 'LTAIsdk', access_key_secret: 'sdk-secret' }],
  smc: [1, 2, 3].map((i) => ({
    _account: 'LTAIsdk', AccessTokenId: `at-sdk-${i}`, Count: '10', RegisteredCount: '1',
    TimeToLiveInDays: '30', CreationTime: '2026-01-01T00:00:00Z', Status: 'activated', Name: 'sdk',
  })),
  ecs: [{ _account: 'LTAIsdk', _region: 'cn-hangzhou', ActivationId: 'act-sdk', InstanceCount: '5' }],
};
writeFileSync(path.join(dir, 'data.json'), JSON.stringify(data));
const portFile = path.join(dir, 'port');
const sim = spawn(simBinary, ['--data', path.join(dir, 'data.json'), '--port-file', portFile], { stdio: 'ignore' });

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
function assert(cond, what) {
  if (!cond) throw new Error(what);
}
async function expectCode(promise, code) {
  try {
    await promise;
  } catch (e) {
    const got = e.code || (e.data && e.data.Code) || e.message;
    assert(String(got).includes(code), `expected ${code}, got ${got}`);
    return;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

try {
  for (let i = 0; i < 100 && !existsSync(portFile); i += 1) await new Promise((r) => setTimeout(r, 50));
  const port = readFileSync(portFile, 'utf8').trim();
  const endpoint = `http://127.0.0.1:${port}`;

  const pop = (secret, apiVersion) => new RPCClient({
    accessKeyId: 'LTAIsdk', accessKeySecret: secret, endpoint, apiVersion,
  });
  await check('V1 (pop-core) ListAccessTokens is accepted', async () => {
    const r = await pop('sdk-secret', '2019-06-01').request('ListAccessTokens', { PageSize: 10, PageNumber: 1 },
      { method: 'POST' });
    assert(r.AccessTokens.length === 3, `3 tokens, got ${JSON.stringify(r)}`);
    assert(r.TotalCount === 3, 'TotalCount 3');
  });
  await check('V1 (pop-core) GET with a space and a star in a value is accepted', async () => {
    const r = await pop('sdk-secret', '2019-06-01').request('ListAccessTokens', { Name: 'a b*c' }, { method: 'GET' });
    assert(r.AccessTokens.length === 0, 'no token has that name');
  });
  await check('V1 (pop-core) DescribeActivations is accepted', async () => {
    const r = await pop('sdk-secret', '2014-05-26').request('DescribeActivations', { RegionId: 'cn-hangzhou' },
      { method: 'POST' });
    assert(r.ActivationList.length === 1 && r.ActivationList[0].ActivationId === 'act-sdk', JSON.stringify(r));
  });
  await check('V1 (pop-core) with a wrong secret is refused', async () => {
    await expectCode(pop('wrong-secret', '2019-06-01').request('ListAccessTokens', {}, { method: 'POST' }),
      'SignatureDoesNotMatch');
  });

  const v3 = (secret) => new OpenApi.default(new OpenApi.Config({
    accessKeyId: 'LTAIsdk', accessKeySecret: secret, endpoint: `127.0.0.1:${port}`, protocol: 'http',
  }));
  const v3call = (client, action, version, query) => client.callApi(
    new OpenApi.Params({
      action, version, protocol: 'HTTP', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC',
      reqBodyType: 'formData', bodyType: 'json',
    }),
    new OpenApi.OpenApiRequest({ query }),
    new Util.RuntimeOptions({}),
  );
  await check('V3 (openapi-client) ListAccessTokens is accepted', async () => {
    const r = await v3call(v3('sdk-secret'), 'ListAccessTokens', '2019-06-01', { PageSize: '10', Name: 'sdk' });
    assert(r.body.AccessTokens.length === 3, JSON.stringify(r.body));
  });
  await check('V3 (openapi-client) with UTF-8 and reserved characters is accepted', async () => {
    const r = await v3call(v3('sdk-secret'), 'ListAccessTokens', '2019-06-01', { Name: '测试 a*b~c/d' });
    assert(r.body.AccessTokens.length === 0, JSON.stringify(r.body));
  });
  await check('V3 (openapi-client) with a wrong secret is refused', async () => {
    await expectCode(v3call(v3('wrong-secret'), 'ListAccessTokens', '2019-06-01', {}), 'SignatureDoesNotMatch');
  });
  await check('V3 (openapi-client) with an unknown key is refused', async () => {
    const c = new OpenApi.default(new OpenApi.Config({
      accessKeyId: 'LTAInobody', accessKeySecret: 'x', endpoint: `127.0.0.1:${port}`, protocol: 'http',
    }));
    await expectCode(v3call(c, 'ListAccessTokens', '2019-06-01', {}), 'InvalidAccessKeyId.NotFound');
  });
} finally {
  sim.kill('SIGTERM');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
