// A Node.js caller with no OAuth code: it calls the orders service through
// the auth sidecar's loopback listener (UPSTREAM), which adds the token. The
// test drives it over HTTP:
//
//   GET /call?path=/orders    through the sidecar, as the application would
//   GET /direct?path=/orders  straight to the service's sidecar, with no token
//   GET /token?path=/orders   with a token from the sidecar's token endpoint
//                             (TOKEN), set by hand as a gRPC client would
//
// Each answers {"status", "wwwAuthenticate", "body"}. Node's standard library only.
import http from 'node:http';

const { UPSTREAM, SERVICE, TOKEN } = process.env;

async function call(url, headers = {}) {
  const r = await fetch(url, { headers, redirect: 'manual' });
  return { status: r.status, wwwAuthenticate: r.headers.get('www-authenticate'), body: await r.text() };
}

const routes = {
  '/call': (path) => call(UPSTREAM + path),
  '/direct': (path) => call(SERVICE + path),
  '/token': async (path) => {
    const t = await fetch(TOKEN + '/token', { headers: { 'X-M2M-Token-Request': 'true' } });
    if (t.status !== 200) {
      return { status: 599, wwwAuthenticate: null, body: 'token endpoint answered ' + t.status };
    }
    const { access_token: token, token_type: type } = await t.json();
    return call(SERVICE + path, { Authorization: `${type} ${token}` });
  },
};

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://localhost');
  const route = routes[u.pathname];
  if (!route) {
    res.statusCode = 404;
    res.end();
    return;
  }
  let out;
  try {
    out = await route(u.searchParams.get('path'));
  } catch (e) {
    out = { status: 598, wwwAuthenticate: null, body: String(e) };
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(out));
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
