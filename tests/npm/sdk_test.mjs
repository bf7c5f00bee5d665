// Proves the simulator's signature checks right independently of acmon's own signing code:
// Alibaba Cloud's official SDK clients (pop-core signs V1 / HMAC-SHA1, openapi-client signs
// V3 / ACS3-HMAC-SHA256) must be accepted, and the same clients with a wrong secret refused.
// Its STS too: @alicloud/sts20150401's AssumeRole, and @alicloud/credentials' providers (RAM role
// ARN with its stsEndpoint, OIDC, credentials URI) each obtain credentials that list a member's
// SMC tokens. Those providers speak HTTPS only, so they reach the simulator through a local TLS
// front (a certificate made for the test and trusted by this process alone).
//   node sdk_test.mjs ACMON_SIM_BINARY NODE_MODULES_DIR
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import https from 'node:https';
import http from 'node:http';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [simBinary, modulesDir] = process.argv.slice(2);
if (!simBinary || !modulesDir) {
  console.error('usage: node sdk_test.mjs ACMON_SIM NODE_MODULES_DIR');
  process.exit(1);
}
// Without the SDKs there is nothing to test: CTest reports the test skipped (SKIP_RETURN_CODE 77).
for (const sdk of ['@alicloud/pop-core', '@alicloud/openapi-client', '@alicloud/tea-util', '@alicloud/sts20150401',
  '@alicloud/credentials']) {
  if (!existsSync(path.join(modulesDir, ...sdk.split('/')))) {
    console.log(`SKIP: ${sdk} is not installed in ${modulesDir} (scripts/test installs it from tests/npm/package.json)`);
    process.exit(77);
  }
}
// The providers trust the TLS front's certificate through NODE_EXTRA_CA_CERTS, which Node reads only
// at start-up: the test makes the certificate, then runs itself again with it.
if (!process.env.ACMON_SDK_TLS_DIR) {
  const tlsDir = mkdtempSync(path.join(tmpdir(), 'acmon-sdk-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tlsDir, 'key.pem'),
    '-out', path.join(tlsDir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const child = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, ACMON_SDK_TLS_DIR: tlsDir, NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'cert.pem') },
  });
  rmSync(tlsDir, { recursive: true, force: true });
  process.exit(child.status === null ? 1 : child.status);
}
const require = createRequire(path.resolve(modulesDir, 'resolver.js'));
const RPCClient = require('@alicloud/pop-core').RPCClient;
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');
const Sts = require('@alicloud/sts20150401');
const Credentials = require('@alicloud/credentials');

const dir = mkdtempSync(path.join(tmpdir(), 'acmon-sdk-'));
const MGMT = '1000000000000001';
const MEMBER = '2000000000000002';
const OIDC_PROVIDER = `acs:ram::${MGMT}:oidc-provider/ack`;
const MEMBER_ROLE = `acs:ram::${MEMBER}:role/ResourceDirectoryAccountAccessRole`;
const smcToken = (account, id) => ({
  _account: account, AccessTokenId: id, Count: '10', RegisteredCount: '1',
  TimeToLiveInDays: '30', CreationTime: '2026-01-01T00:00:00Z', Status: 'activated', Name: 'sdk',
});
const data = {
  accounts: [
    { access_key_id: 'LTAIsdk', access_key_secret: 'sdk-secret' },
    { account_id: MGMT, access_key_id: 'LTAImgmt', access_key_secret: 'mgmt-secret' },
    {
      account_id: MEMBER,
      roles: [
        { name: 'ResourceDirectoryAccountAccessRole', trust: [MGMT] },
        { name: 'acmon-pod', trust: [OIDC_PROVIDER] },
      ],
    },
  ],
  oidc_providers: [{ arn: OIDC_PROVIDER, issuer: 'https://oidc.example', audiences: ['sts.aliyuncs.com'] }],
  credentials_uri: { role: MEMBER_ROLE },
  resource_directory: {
    id: 'rd-sdk',
    management: MGMT,
    members: [
      { account_id: MGMT, display_name: 'Management', status: 'CreateSuccess', folder_id: 'fd-root' },
      { account_id: MEMBER, display_name: 'Member', status: 'InviteSuccess', folder_id: 'fd-prod' },
      { account_id: '3000000000000003', display_name: 'Pending', status: 'CreateVerifying' },
    ],
  },
  smc: [
    ...[1, 2, 3].map((i) => smcToken('LTAIsdk', `at-sdk-${i}`)),
    smcToken(MEMBER, 'at-member-1'), smcToken(MEMBER, 'at-member-2'),
  ],
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
  const v3as = (id, secret) => new OpenApi.default(new OpenApi.Config({
    accessKeyId: id, accessKeySecret: secret, endpoint: `127.0.0.1:${port}`, protocol: 'http',
  }));
  await check('V3 (openapi-client) ListAccounts (ResourceManager 2020-03-31) pages by PageNumber', async () => {
    const page = async (n) => (await v3call(v3as('LTAImgmt', 'mgmt-secret'), 'ListAccounts', '2020-03-31',
      { PageNumber: String(n), PageSize: '2' })).body;
    const [first, second] = [await page(1), await page(2)];
    assert(first.TotalCount === 3 && second.TotalCount === 3, `TotalCount 3, got ${JSON.stringify(first)}`);
    const ids = [...first.Accounts.Account, ...second.Accounts.Account].map((a) => `${a.AccountId}:${a.Status}`);
    assert(ids.join(',') === `${MGMT}:CreateSuccess,${MEMBER}:InviteSuccess,3000000000000003:CreateVerifying`,
      `the three accounts in order, got ${ids}`);
    assert(first.Accounts.Account[1].DisplayName === 'Member' && first.Accounts.Account[1].FolderId === 'fd-prod',
      'display name and folder');
  });
  await check('V3 (openapi-client) ListAccounts by another account than the management one is refused', async () => {
    await expectCode(v3call(v3('sdk-secret'), 'ListAccounts', '2020-03-31', {}), 'EntityNotExists.ResourceDirectory');
  });
  await check('V3 (openapi-client) ListAccounts with a wrong secret is refused', async () => {
    await expectCode(v3call(v3as('LTAImgmt', 'wrong'), 'ListAccounts', '2020-03-31', {}), 'SignatureDoesNotMatch');
  });
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
  // ---- STS and the credential providers ------------------------------------------------------
  const sts = (secret) => new Sts.default(new OpenApi.Config({
    accessKeyId: 'LTAImgmt', accessKeySecret: secret, endpoint: `127.0.0.1:${port}`, protocol: 'http',
  }));
  const listWith = (credential) => v3call(new OpenApi.default(new OpenApi.Config({
    credential, endpoint: `127.0.0.1:${port}`, protocol: 'http',
  })), 'ListAccessTokens', '2019-06-01', {});
  const memberTokens = (r) => r.body.AccessTokens.map((t) => t.AccessTokenId).sort().join(',');

  await check('STS (sts20150401) AssumeRole is accepted and its credentials act as the member', async () => {
    const r = await sts('mgmt-secret').assumeRole(new Sts.AssumeRoleRequest({
      roleArn: MEMBER_ROLE, roleSessionName: 'sdk-test', durationSeconds: 3600,
    }));
    const c = r.body.credentials;
    assert(c.accessKeyId.startsWith('STS.') && c.securityToken && c.expiration, JSON.stringify(r.body));
    const cred = new Credentials.default(new Credentials.Config({
      type: 'sts', accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken,
    }));
    const list = await listWith(cred);
    assert(memberTokens(list) === 'at-member-1,at-member-2', JSON.stringify(list.body));
  });
  await check('STS (sts20150401) AssumeRole with a wrong secret is refused', async () => {
    await expectCode(sts('wrong-secret').assumeRole(new Sts.AssumeRoleRequest({
      roleArn: MEMBER_ROLE, roleSessionName: 'sdk-test',
    })), 'SignatureDoesNotMatch');
  });
  await check('STS (sts20150401) AssumeRole of a role that does not exist is EntityNotExist.Role', async () => {
    await expectCode(sts('mgmt-secret').assumeRole(new Sts.AssumeRoleRequest({
      roleArn: `acs:ram::${MEMBER}:role/nobody`, roleSessionName: 'sdk-test',
    })), 'EntityNotExist.Role');
  });

  // The providers of @alicloud/credentials speak HTTPS to STS: a TLS front for the simulator.
  const cert = path.join(process.env.ACMON_SDK_TLS_DIR, 'cert.pem');
  const key = path.join(process.env.ACMON_SDK_TLS_DIR, 'key.pem');
  const front = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const upstream = http.request({
      host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers,
    }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  const stsEndpoint = `127.0.0.1:${front.address().port}`;
  try {
    await check('credentials: RAM role ARN with its stsEndpoint lists the member\'s tokens', async () => {
      const cred = new Credentials.default(new Credentials.Config({
        type: 'ram_role_arn', accessKeyId: 'LTAImgmt', accessKeySecret: 'mgmt-secret', roleArn: MEMBER_ROLE,
        roleSessionName: 'sdk-test', stsEndpoint,
      }));
      const c = await cred.getCredential();
      assert(c.accessKeyId.startsWith('STS.'), JSON.stringify(c));
      assert(memberTokens(await listWith(cred)) === 'at-member-1,at-member-2', 'member tokens');
    });
    await check('credentials: RAM role ARN with a wrong secret is refused', async () => {
      const cred = new Credentials.default(new Credentials.Config({
        type: 'ram_role_arn', accessKeyId: 'LTAImgmt', accessKeySecret: 'wrong', roleArn: MEMBER_ROLE,
        roleSessionName: 'sdk-test', stsEndpoint,
      }));
      await expectCode(cred.getCredential(), 'SignatureDoesNotMatch');
    });
    await check('credentials: OIDC (AssumeRoleWithOIDC) lists the member\'s tokens', async () => {
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const jwt = `${b64({ alg: 'RS256' })}.${b64({
        iss: 'https://oidc.example', aud: 'sts.aliyuncs.com', exp: Math.floor(Date.now() / 1000) + 600,
        sub: 'system:serviceaccount:acmon:acmon', jti: 'sdk',
      })}.c2ln`;
      const tokenFile = path.join(dir, 'oidc-token');
      writeFileSync(tokenFile, jwt);
      const cred = new Credentials.default(new Credentials.Config({
        type: 'oidc_role_arn', roleArn: `acs:ram::${MEMBER}:role/acmon-pod`, oidcProviderArn: OIDC_PROVIDER,
        oidcTokenFilePath: tokenFile, roleSessionName: 'sdk-test', stsEndpoint,
      }));
      assert(memberTokens(await listWith(cred)) === 'at-member-1,at-member-2', 'member tokens');
    });
    await check('credentials: a credentials URI lists the member\'s tokens', async () => {
      const cred = new Credentials.default(new Credentials.Config({
        type: 'credentials_uri', credentialsURI: `http://127.0.0.1:${port}/_sim/credentials-uri`,
      }));
      assert(memberTokens(await listWith(cred)) === 'at-member-1,at-member-2', 'member tokens');
    });
  } finally {
    front.close();
  }
} finally {
  sim.kill('SIGTERM');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
