// bench/soak.mjs: soak and fault injection for the gateway (issue 15).
// N concurrent MCP sessions call tools through Bastion for D seconds while a
// chaos loop kills upstreams (kill -9), hangs them (SIGSTOP ... SIGCONT) and
// makes one flood the gateway with log notifications; midway the audit
// disk (a tmpfs, as root) fills up and is freed again; at the end Bastion
// itself is killed with kill -9 under load. Then it checks what the issue
// promises: no error outside the documented ones, RSS flat, no leaked
// process, descriptor or cgroup, `audit verify` passes, and no acknowledged
// call lost its audit record. Prints a Markdown report on stdout.
//   node bench/soak.mjs --bin BASTION --duration 600 --sessions 1000 [--rss-every 10]
//                       [--rounds 1] [--trim]
// With --rounds R the run (clients, faults, calm) is repeated R times against
// the same Bastion process; between rounds every client DELETEs its session,
// and RSS, descriptors and Bastion's own counts (sessions, backlog) are taken
// with no session open, so allocator high water (a plateau across rounds)
// can be told from a leak (growth every round). With --trim, after each round
// gdb makes Bastion call glibc's malloc_trim(0) and RSS is taken again: what
// trim gives back was free memory the allocator kept, not live objects.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fillFilesystem } from '../tests/integration/lib/disk.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const BIN = path.resolve(arg('bin', 'build-bench/src/cli/bastion'));
const DURATION = Number(arg('duration', 600));
const SESSIONS = Number(arg('sessions', 1000));
const RSS_EVERY = Number(arg('rss-every', 10)); // seconds between RSS samples
const ROUNDS = Number(arg('rounds', 1));
const TRIM = process.argv.includes('--trim');
const HERE = path.dirname(new URL(import.meta.url).pathname);
const root = process.getuid() === 0;

const work = mkdtempSync(path.join(os.tmpdir(), 'bastion-soak-'));
const dataDir = path.join(work, 'data');
const auditDir = path.join(work, 'audit');
mkdirSync(auditDir, { recursive: true, mode: 0o700 });
let tmpfs = false;
if (root) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m,mode=0700', 'tmpfs', auditDir]);
    tmpfs = true;
  } catch { /* no tmpfs: the disk-full phase is skipped */ }
}
const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const url = `http://127.0.0.1:${port}/mcp`;
writeFileSync(path.join(work, 'bastion.yaml'), `listen: 127.0.0.1:${port}
log: {level: warn}
mcp: {max_sessions: ${SESSIONS * 4}, session_idle_timeout: 2m}
audit:
  dir: ${auditDir}
  max_file_size: 8MiB
  max_total_size: 96MiB
servers:
  kit:
    command: ${BIN}
    args: [stdio, --testkit, --log-level, "off", --data-dir, /tmp/bastion-data]
    timeouts: {call: 10s, ping: 5s}
  flaky:
    command: ${process.execPath}
    args: [${path.join(HERE, 'soak_upstream.mjs')}]
    timeouts: {call: 5s, ping: 5s}
`);

function startBastion() {
  const child = spawn(BIN, ['serve', '--config', path.join(work, 'bastion.yaml'), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  pids.push(child.pid);
  child.stderrText = '';
  child.stderr.on('data', (d) => { if (child.stderrText.length < 1 << 20) child.stderrText += d; });
  return child;
}
async function up() {
  for (let i = 0; i < 400; i++) {
    try { await fetch(url.replace('/mcp', '/healthz')); return; } catch { await sleep(50); }
  }
  throw new Error('bastion did not come up');
}

const descendants = (pid) => {
  const out = [];
  const walk = (p) => {
    // Every thread's children: Bastion spawns upstreams from its I/O threads.
    let kids = [];
    try {
      for (const t of readdirSync(`/proc/${p}/task`))
        kids.push(...readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch { /* gone */ }
    for (const k of kids) { out.push(k); walk(k); }
  };
  walk(pid);
  return out;
};
const cmdline = (pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; } };
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;
// This run's cgroups: leaves named bastion-<pid>-<server>-<n> for the
// Bastion pids of this run (other Bastions on the machine have their own).
const pids = [];
function cgroups() {
  const found = [];
  const walk = (dir, depth) => {
    if (depth > 4) return;
    let ents = [];
    try { ents = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) if (e.isDirectory()) {
      const p = path.join(dir, e.name);
      if (pids.some((pid) => e.name.startsWith(`bastion-${pid}-`))) found.push(p); else walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

// ---- the clients -------------------------------------------------------
const H = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const stats = { calls: 0, ok: 0, errors: new Map(), acked: [] };
const count = (kind) => stats.errors.set(kind, (stats.errors.get(kind) ?? 0) + 1);
// Errors the documentation names for these faults (docs/operations.md):
const DOCUMENTED = new Map([
  [-32010, 'upstream unavailable (restarting)'], [-31001, 'request timeout (hung upstream)'], [-32001, 'request timeout (before the error codes were split)'],
  [-32013, 'audit log unavailable (disk full)'], [-32603, 'internal error'],
]);
let running = true;
let recordAcks = true;

async function rpc(sid, body) {
  const r = await fetch(url, { method: 'POST', headers: { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.headers.get('content-type')?.includes('text/event-stream')) {
    const lines = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
    return { status: r.status, msg: lines.find((m) => m.id === body.id) };
  }
  return { status: r.status, msg: text ? JSON.parse(text) : undefined };
}

async function session(n) {
  let sid;
  let id = 0;
  while (running && roundRunning) {
    try {
      if (!sid) {
        const r = await fetch(url, { method: 'POST', headers: H, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `soak-${n}`, version: '1' } } }) });
        await r.text();
        sid = r.headers.get('mcp-session-id');
        if (!sid) { count(`initialize HTTP ${r.status}`); await sleep(200); continue; }
        await fetch(url, { method: 'POST', headers: { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
          body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.text());
      }
      const which = Math.random();
      const name = which < 0.45 ? 'kit__echo' : which < 0.9 ? 'flaky__echo' : 'kit__test_simple_text';
      const body = { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: { text: `s${n}-${id}` } } };
      stats.calls++;
      const sentAt = Date.now();
      const { status, msg } = await rpc(sid, body);
      if (status === 404) { sid = undefined; count('session expired (404, re-initialized)'); continue; }
      if (msg?.result && !msg.result.isError) {
        stats.ok++;
        if (recordAcks) stats.acked.push([sid, id, sentAt]);
      } else if (msg?.error) {
        count(DOCUMENTED.has(msg.error.code) ? `${msg.error.code} ${DOCUMENTED.get(msg.error.code)}` : `UNDOCUMENTED ${msg.error.code} ${msg.error.message}`);
      } else if (msg?.result?.isError) {
        count('tool error result');
      } else {
        count(`UNEXPECTED HTTP ${status}`);
      }
    } catch (e) {
      // After Bastion's kill -9 (recordAcks is cleared with it) a refused
      // connection is the point of the test, not an error.
      if (!running || !recordAcks) return;
      count(`UNEXPECTED transport ${e.cause?.code ?? e.message}`);
      sid = undefined;
      await sleep(100);
    }
  }
  // End of a round (not of the run, where Bastion is killed under load).
  if (running && sid)
    await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } })
      .then((r) => r.text(), () => {});
}
let roundRunning = true;

// ---- the run -------------------------------------------------------------
const report = [];
const log = (s) => { report.push(s); process.stderr.write(`soak: ${s}\n`); };
let bastion = startBastion();
await up();
log(`Bastion pid ${bastion.pid} on ${url}; ${SESSIONS} sessions for ${DURATION} s; audit on ${tmpfs ? 'a 160 MiB tmpfs' : 'the disk (no tmpfs: not root)'}`);
// RSS over the whole run, so growth can be told from a plateau.
const rssSeries = [];
const t0 = Date.now();
const sampler = setInterval(() => {
  try { rssSeries.push([Math.round((Date.now() - t0) / 1000), rssKiB(bastion.pid)]); } catch { /* gone */ }
}, RSS_EVERY * 1000);
const faults = { kill: 0, hang: 0, flood: 0, diskFull: 0 };
const upstreams = () => descendants(bastion.pid).filter((p) => /soak_upstream|--testkit/.test(cmdline(p)) && !/bwrap/.test(cmdline(p).split(' ')[0]));
let diskDone = !tmpfs;
let warm, calm, clients, firstWarm;
const idle = []; // per round, with no session open: [round, rss, fds, sessions, backlog, rss after trim]
const metric = async (name) => {
  try {
    const m = await (await fetch(url.replace('/mcp', '/metrics'))).text();
    const line = m.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  } catch { return NaN; }
};
// glibc's malloc_trim(0) inside Bastion, by gdb (attach, call, detach).
const trim = () => {
  try {
    execFileSync('gdb', ['-p', String(bastion.pid), '-batch', '-nx', '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore', timeout: 60000 });
    return rssKiB(bastion.pid);
  } catch { return NaN; }
};
if (ROUNDS > 1) {
  // The same figures before any load, for scale.
  const row = [0, rssKiB(bastion.pid), fdCount(bastion.pid), await metric('bastion_sessions'), await metric('bastion_session_backlog_bytes')];
  row.push(TRIM ? trim() : NaN);
  idle.push(row);
  log(`started, no session yet: RSS ${row[1]} KiB${TRIM ? `; after malloc_trim(0): RSS ${row[5]} KiB` : ''}`);
}
for (let round = 1; round <= ROUNDS; round++) {
  roundRunning = true;
  clients = Array.from({ length: SESSIONS }, (_, i) => session(i));
  await sleep(Math.min(60, DURATION / 5) * 1000);
  warm = { rss: rssKiB(bastion.pid), fds: fdCount(bastion.pid), t: Date.now() };
  firstWarm ??= warm;
  log(`${ROUNDS > 1 ? `round ${round}: ` : ''}warm: RSS ${warm.rss} KiB, ${warm.fds} descriptors, ${stats.ok} calls answered`);

  const end = warm.t + (DURATION - Math.min(60, DURATION / 5)) * 1000;
  while (Date.now() < end) {
    const ups = upstreams();
    const victim = ups[Math.floor(Math.random() * ups.length)];
    const r = Math.random();
    if (victim && r < 0.4) {
      try { process.kill(victim, 'SIGKILL'); faults.kill++; } catch { /* raced */ }
    } else if (victim && r < 0.7) {
      try {
        process.kill(victim, 'SIGSTOP'); faults.hang++;
        await sleep(1000 + Math.random() * 4000);
        process.kill(victim, 'SIGCONT');
      } catch { /* raced */ }
    } else {
      // A flood: 20,000 log lines written at once by the upstream.
      faults.flood++;
      fetch(url, { method: 'POST', headers: H, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'flooder', version: '1' } } }) })
        .then(async (r) => {
          await r.text();
          const sid = r.headers.get('mcp-session-id');
          await rpc(sid, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'flaky__flood', arguments: { n: 20000 } } });
          await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } }).then((x) => x.text());
        }).catch(() => {});
    }
    if (!diskDone && Date.now() > warm.t + (end - warm.t) / 2) {
      // Fill the audit tmpfs, keep it full for 5 s, free it.
      diskDone = true;
      faults.diskFull++;
      const filler = path.join(auditDir, 'filler');
      const before = { ...Object.fromEntries(stats.errors) };
      fillFilesystem(filler);
      await sleep(5000);
      rmSync(filler);
      const refused = (stats.errors.get('-32013 audit log unavailable (disk full)') ?? 0) - (before['-32013 audit log unavailable (disk full)'] ?? 0);
      log(`audit disk full for 5 s: ${refused} calls refused with -32013, then freed`);
    }
    await sleep(1000 + Math.random() * 2000);
  }

  // Calm: no faults for 15 s, then the leak checks.
  await sleep(15000);
  calm = { rss: rssKiB(bastion.pid), fds: fdCount(bastion.pid) };
  const okBefore = stats.ok;
  await sleep(5000);
  log(`faults${ROUNDS > 1 ? ' so far' : ''}: ${faults.kill} upstream kill -9, ${faults.hang} hangs (SIGSTOP 1-5 s), ${faults.flood} floods of 20,000 log lines, ${faults.diskFull} audit disk full`);
  log(`after the faults: RSS ${calm.rss} KiB (warm ${warm.rss}), ${calm.fds} descriptors (warm ${warm.fds}); ${stats.ok - okBefore} calls answered in the last 5 s`);
  if (round === ROUNDS) break;
  // Every client closes its session; then Bastion holds no session.
  roundRunning = false;
  await Promise.allSettled(clients);
  // 15 s: Bastion gives free heap pages back once it has been quiet for one
  // of its 10-second looks (docs/operations.md, "Memory").
  await sleep(15000);
  const row = [round, rssKiB(bastion.pid), fdCount(bastion.pid), await metric('bastion_sessions'), await metric('bastion_session_backlog_bytes')];
  row.push(TRIM ? trim() : NaN);
  idle.push(row);
  log(`round ${round} over, every session closed: RSS ${row[1]} KiB, ${row[2]} descriptors, ${row[3]} sessions, backlog ${row[4]} bytes${TRIM ? `; after malloc_trim(0): RSS ${row[5]} KiB` : ''}`);
}
const ups = upstreams();
log(`upstream processes now: ${ups.length} (${ups.map((p) => cmdline(p).split(' ').slice(0, 2).join(' ')).join('; ')})`);

clearInterval(sampler);
try {
  const m = await (await fetch(url.replace('/mcp', '/metrics'))).text();
  const pick = (re) => m.split('\n').filter((l) => re.test(l)).join('; ') || 'not exported';
  log(`metrics: ${pick(/^bastion_(session_backlog_bytes|notifications_dropped_total|sessions) /)} ${pick(/^bastion_notifications_dropped_total\{/)}`);
} catch { /* no metrics */ }
log(`RSS over time (s: MiB): ${rssSeries.map(([t, k]) => `${t}: ${(k / 1024).toFixed(0)}`).join(', ')}`);
log(`MALLOC_ARENA_MAX: ${process.env.MALLOC_ARENA_MAX ?? 'unset (glibc default: 8 per core)'}`);

// kill -9 of Bastion under load; every acknowledged call must have its record.
const killAt = Date.now();
const bastionLog = bastion.stderrText;
process.kill(bastion.pid, 'SIGKILL');
recordAcks = false;
await new Promise((r) => bastion.once('exit', r));
running = false;
await Promise.allSettled(clients);
await sleep(1000);
const orphans = descendants(1).filter((p) => /soak_upstream|bastion-data/.test(cmdline(p)));
log(`Bastion killed with kill -9 under load; upstream processes left behind: ${orphans.length}`);

const verify = spawn(BIN, ['audit', 'verify', auditDir], { stdio: ['ignore', 'pipe', 'pipe'] });
let vout = '';
verify.stdout.on('data', (d) => { vout += d; });
verify.stderr.on('data', (d) => { vout += d; });
const vcode = await new Promise((r) => verify.on('exit', r));
log(`audit verify after kill -9: exit ${vcode}: ${vout.trim().split('\n').filter((l) => /^(ok|end|TAMPERED|error)/.test(l)).join(' / ')}`);

const seen = new Set();
let oldest = Infinity;
for (const f of readdirSync(auditDir).filter((f) => /^audit(-\d+)?\.log$/.test(f))) {
  for (const line of readFileSync(path.join(auditDir, f), 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line);
      if (r.ts) oldest = Math.min(oldest, Date.parse(r.ts));
      if (r.session_id && r.request_id !== undefined) seen.add(`${r.session_id} ${r.request_id}`);
    } catch { /* a torn last line after kill -9 */ }
  }
}
const checkable = stats.acked.filter(([, , at]) => at > oldest + 1000);
const lost = checkable.filter(([sid, id]) => !seen.has(`${sid} ${id}`));
if (lost.length) {
  const ages = lost.map(([, , at]) => killAt - at).sort((a, b) => a - b);
  log(`lost records: sent ${ages[0]}..${ages[ages.length - 1]} ms before the kill; e.g. ${JSON.stringify(lost.slice(0, 3))}`);
}
log(`acknowledged calls whose record is still retained (newer than ${new Date(oldest).toISOString()}): ${checkable.length}; without an audit record: ${lost.length}`);

// Start again: stale cgroups go, the log continues and verifies.
bastion = startBastion();
await up();
await sleep(1000);
process.kill(bastion.pid, 'SIGTERM');
await new Promise((r) => bastion.once('exit', r));
const verify2 = execFileSync(BIN, ['audit', 'verify', auditDir], { encoding: 'utf8' }).trim().split('\n').pop();
const cgroupsAfter = cgroups();
log(`after a restart and a clean stop: audit verify: ${verify2}; cgroups left: ${cgroupsAfter.length}`);

const undocumented = [...stats.errors].filter(([k]) => /UNDOCUMENTED|UNEXPECTED/.test(k));
// A run where (almost) nothing was answered proves nothing: it fails.
const starved = stats.ok < stats.calls / 2;
if (starved) log(`only ${stats.ok} of ${stats.calls} calls answered; Bastion's log ends: ${bastionLog.slice(-2000)}`);
console.log(`# Soak and faults (bench/soak)

Run ${new Date(killAt).toISOString()}, \`uptime\`: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; ${SESSIONS} sessions, ${DURATION} s,
two upstreams (\`kit\`: \`bastion stdio --testkit\`; \`flaky\`: bench/soak_upstream.mjs), default runtime.

${report.map((l) => `- ${l}`).join('\n')}

| outcome | calls |
|---|---|
| answered | ${stats.ok} |
${[...stats.errors].sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k} | ${v} |`).join('\n')}
${idle.length ? `
Before the first round, and between rounds with every session closed (15 s after the last DELETE):

| after round (0: at start) | RSS KiB | descriptors | sessions | backlog bytes |${TRIM ? ' RSS after malloc_trim(0) KiB |' : ''}
|---|---|---|---|---|${TRIM ? '---|' : ''}
${idle.map((r) => `| ${r.slice(0, 5).join(' | ')} |${TRIM ? ` ${r[5]} |` : ''}`).join('\n')}
` : ''}
Verdict: ${starved ? 'FAILED: most calls were not answered; ' : ''}${undocumented.length === 0 ? 'no error outside the documented ones' : `${undocumented.length} kinds of undocumented error`};
RSS ${calm.rss <= firstWarm.rss * 1.25 + 8192 ? 'flat' : 'GREW'} (${firstWarm.rss} -> ${calm.rss} KiB${ROUNDS > 1 ? `, warm in round 1 -> after the faults of round ${ROUNDS}` : ''});
descriptors ${calm.fds <= warm.fds + 16 ? 'flat' : 'GREW'} (${warm.fds} -> ${calm.fds});
${orphans.length === 0 ? 'no' : orphans.length} leaked process(es); ${cgroupsAfter.length === 0 ? 'no' : cgroupsAfter.length} leaked cgroup(s);
audit verify ${vcode === 0 ? 'passes' : 'FAILS'} after kill -9; ${lost.length === 0 ? 'no acknowledged record lost' : `${lost.length} ACKNOWLEDGED RECORDS LOST`}.
`);
if (tmpfs) execFileSync('umount', [auditDir]);
rmSync(work, { recursive: true, force: true });
process.exit(starved || undocumented.length || lost.length || vcode || orphans.length || cgroupsAfter.length ? 1 : 0);
