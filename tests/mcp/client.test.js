// The MCP demo as the official MCP TypeScript SDK sees it (run by run.sh, which starts the
// demo and passes MCP_URL, TOKEN with scopes mcp/read and mcp/admin, READ_TOKEN with mcp/read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    UnauthorizedError,
    auth,
    discoverOAuthProtectedResourceMetadata,
    extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';

const url = new URL(process.env.MCP_URL);
const { TOKEN, READ_TOKEN } = process.env;
const metadataUrl = `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;

const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '0' } },
};

async function connect(token) {
    const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'cognito-rs-ci', version: '1.0.0' });
    await client.connect(transport);
    return client;
}

test('without a token: 401 whose challenge points to the metadata, which the SDK reads', async () => {
    const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(initialize),
    });
    assert.equal(res.status, 401);
    const params = extractWWWAuthenticateParams(res);
    assert.equal(String(params.resourceMetadataUrl), metadataUrl);
    assert.deepEqual(await res.json(), { error: 'missing_token', message: 'The request carries no bearer token.' });

    for (const opts of [{ resourceMetadataUrl: params.resourceMetadataUrl }, {}]) {
        const metadata = await discoverOAuthProtectedResourceMetadata(url, opts);
        assert.equal(metadata.resource, url.href);
        assert.deepEqual(metadata.bearer_methods_supported, ['header']);
        assert.deepEqual(metadata.scopes_supported, ['mcp/read', 'mcp/admin']);
        assert.equal(metadata.authorization_servers.length, 1);
    }
});

test("the SDK's OAuth flow, from the 401 alone, sends the user to the pool with this resource and its scopes", async () => {
    let authorizationUrl;
    const provider = {
        get redirectUrl() { return 'http://127.0.0.1:1/callback'; },
        get clientMetadata() { return { redirect_uris: ['http://127.0.0.1:1/callback'], client_name: 'ci' }; },
        clientInformation: () => ({ client_id: 'dev-client' }),
        saveClientInformation: () => {},
        tokens: () => undefined,
        saveTokens: () => {},
        redirectToAuthorization: (u) => { authorizationUrl = u; },
        saveCodeVerifier: () => {},
        codeVerifier: () => 'v',
    };
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'cognito-rs-ci', version: '1.0.0' });
    await assert.rejects(client.connect(transport), UnauthorizedError);
    assert.ok(authorizationUrl, 'the SDK started an authorization');
    const metadata = await (await fetch(metadataUrl)).json();
    assert.equal(authorizationUrl.href.startsWith(`${metadata.authorization_servers[0]}/oauth2/authorize?`), true, authorizationUrl.href);
    assert.equal(authorizationUrl.searchParams.get('resource'), url.href);
    assert.equal(authorizationUrl.searchParams.get('scope'), 'mcp/read mcp/admin');
    assert.equal(authorizationUrl.searchParams.get('client_id'), 'dev-client');
    // The same, through the SDK's auth() entry point with the challenge's URL.
    authorizationUrl = undefined;
    assert.equal(await auth(provider, { serverUrl: url, resourceMetadataUrl: new URL(metadataUrl) }), 'REDIRECT');
    assert.equal(authorizationUrl.searchParams.get('resource'), url.href);
});

test('with a token: initialize, tools/list, whoami and admin_echo', async () => {
    const client = await connect(TOKEN);
    try {
        assert.equal(client.getServerVersion().name, 'cognito-mcp-demo');
        const { tools } = await client.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), ['admin_echo', 'whoami']);
        const echo = tools.find((t) => t.name === 'admin_echo');
        assert.equal(echo.inputSchema.properties.text.type, 'string');

        const who = await client.callTool({ name: 'whoami', arguments: {} });
        assert.notEqual(who.isError, true);
        const body = JSON.parse(who.content[0].text);
        assert.deepEqual(Object.keys(body).sort(), ['client_id', 'scopes', 'sub', 'username']);
        assert.equal(body.username, 'alice');
        assert.equal(body.client_id, 'dev-client');
        assert.deepEqual(body.scopes, ['mcp/read', 'mcp/admin']);
        assert.ok(body.sub);

        const echoed = await client.callTool({ name: 'admin_echo', arguments: { text: 'hello, admin' } });
        assert.notEqual(echoed.isError, true);
        assert.equal(echoed.content[0].text, 'hello, admin');
    } finally {
        await client.close();
    }
});

test('without the scope mcp/admin: admin_echo is a JSON-RPC error starting forbidden_scope:, whoami works', async () => {
    const client = await connect(READ_TOKEN);
    try {
        const who = JSON.parse((await client.callTool({ name: 'whoami', arguments: {} })).content[0].text);
        assert.deepEqual(who.scopes, ['mcp/read']);
        await assert.rejects(client.callTool({ name: 'admin_echo', arguments: { text: 'x' } }), (err) => {
            // McpError: the message is "MCP error <code>: <the JSON-RPC error message>".
            assert.equal(err.name, 'McpError');
            const message = err.message.replace(/^MCP error -?\d+: /, '');
            assert.ok(message.startsWith('forbidden_scope:'), message);
            assert.equal(err.data.error, 'forbidden_scope');
            assert.equal(err.data.scope, 'mcp/admin');
            return true;
        });
    } finally {
        await client.close();
    }
});

test('a malformed token is refused before MCP sees it, and its challenge names the metadata', async () => {
    const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: 'Bearer x.y.z' },
        body: JSON.stringify(initialize),
    });
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate');
    assert.ok(challenge.startsWith('Bearer error="invalid_token"'), challenge);
    assert.ok(challenge.endsWith(`resource_metadata="${metadataUrl}"`), challenge);
});
