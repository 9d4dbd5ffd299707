// A Node.js service with no OAuth code: it listens on loopback behind the
// auth sidecar, which verifies callers, and reads the caller's identity from
// the headers the sidecar sets. Node's standard library only.
import http from 'node:http';

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok\n');
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({
    path: req.url,
    clientId: req.headers['x-auth-request-client-id'] ?? null,
    scopes: req.headers['x-auth-request-scopes'] ?? null,
    // The sidecar removes the token: the service never holds it.
    authorization: req.headers['authorization'] ?? null,
  }));
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
