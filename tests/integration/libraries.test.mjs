// The shared libraries `bastion` loads are the ones docs/operations.md
// ("Libraries") says stay shared, glibc and OpenSSL, and OpenSSL is among
// them: the rest is linked in (BASTION_STATIC_DEPS, the default) so that a
// start does not spend its time in the dynamic loader, and OpenSSL's security
// updates must keep reaching the binary through the system. A library that
// comes back as a shared object (a new dependency, a find_package that found
// the .so), or OpenSSL linked in, fails here. Skips, saying why, for a build
// configured with BASTION_STATIC_DEPS=OFF or with sanitizers (those keep
// libstdc++ and their runtimes shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, SOURCE_DIR } from './lib/bastion.mjs';

// What the documentation's names stand for, as sonames on Debian 12.
const SONAMES = {
  glibc: ['libc.so.6', 'libm.so.6', 'ld-linux-x86-64.so.2'],
  OpenSSL: ['libssl.so.3', 'libcrypto.so.3'],
};

// The CMake cache of the build directory the binary was built in, if any.
function buildCache() {
  for (let d = path.dirname(path.resolve(BIN)); d !== path.dirname(d); d = path.dirname(d)) {
    const f = path.join(d, 'CMakeCache.txt');
    if (existsSync(f)) return readFileSync(f, 'utf8');
  }
  return '';
}

function skipReason() {
  const cache = buildCache();
  if (/^BASTION_STATIC_DEPS:BOOL=(OFF|FALSE|0|NO)$/im.test(cache)) return 'built with BASTION_STATIC_DEPS=OFF';
  if (/^BASTION_SANITIZE:STRING=\S/m.test(cache)) return 'a sanitizer build keeps libstdc++ shared';
  if (/^BASTION_FUZZ:BOOL=ON$/m.test(cache)) return 'a fuzz build keeps libstdc++ shared';
  return false;
}

test('bastion loads only the shared libraries the documentation names: glibc and OpenSSL', { skip: skipReason() }, () => {
  const doc = readFileSync(path.join(SOURCE_DIR, 'docs/operations.md'), 'utf8');
  const row = /^\| Linked in \(a security fix needs a rebuild[^\n]*\n\|[-| ]+\n\|([^|\n]*)\|([^|\n]*)\|$/m.exec(doc);
  assert.ok(row, 'docs/operations.md has no "Libraries" table');
  const shared = row[2];
  for (const name of Object.keys(SONAMES)) assert.match(shared, new RegExp(`\\b${name}\\b`), `the docs' shared column lacks ${name}`);
  const allowed = new Set(Object.values(SONAMES).flat());

  const dynamic = execFileSync('readelf', ['-d', BIN], { encoding: 'utf8' });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const unexpected = needed.filter((n) => !allowed.has(n));
  assert.deepEqual(unexpected, [], 'shared libraries docs/operations.md does not name as shared');
  for (const n of SONAMES.OpenSSL) assert.ok(needed.includes(n), `${n} is not loaded shared: OpenSSL's updates would not reach bastion`);
});
