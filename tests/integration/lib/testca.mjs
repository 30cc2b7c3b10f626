// A throwaway certificate authority and an https server on 127.0.0.1 for the
// tests that make Bastion fetch client metadata documents (CIMD): Bastion
// trusts the CA through auth.client_metadata_documents.ca_file and reaches
// 127.0.0.1 only because the test allow-lists it (allow_addresses). The
// certificates are made by the openssl CLI, valid for a day.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { tempDir } from './bastion.mjs';

export function makeTestCa() {
  const dir = tempDir('bastion-ca-');
  const f = (n) => path.join(dir, n);
  const ossl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=Bastion test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('leaf.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ossl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('leaf.pem'), '-days', '1', '-extfile', f('leaf.ext'));
  return {
    caFile: f('ca.pem'),
    key: readFileSync(f('leaf.key')),
    cert: readFileSync(f('leaf.pem')),
  };
}

// An https server on 127.0.0.1 (port 0) whose routes are path -> handler(req, res).
// Records every request path in `hits`.
export async function startHttps(ca, routes) {
  const hits = [];
  const server = https.createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    hits.push(req.url);
    const h = routes[new URL(req.url, 'https://x').pathname];
    if (!h) return res.writeHead(404).end();
    h(req, res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${server.address().port}`;
  return {
    origin,
    hits,
    routes,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
