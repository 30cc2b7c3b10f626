// Bastion console. Everything shown is built with DOM calls and textContent
// (never innerHTML): tool descriptions, server errors and audit records come
// from untrusted parties. State changes are POSTs with the session's CSRF
// token in X-CSRF-Token and a JSON body.
'use strict';

const base = document.body.dataset.base;
const page = document.body.dataset.page;
let session = null;
let timer = null;

function h(tag, attrs, ...kids) {
  const svg = ['svg', 'path', 'line', 'rect', 'text', 'polyline', 'g'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                 : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, opts) {
  const r = await fetch(base + '/api/' + path, Object.assign({credentials: 'same-origin'}, opts));
  if (r.status === 401) { location.href = '/signin/login?return=' + base; throw new Error('not signed in'); }
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new Error((body && body.detail) || (body && body.error) || r.status);
  return body;
}

async function act(path, body) {
  return api(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf},
    body: JSON.stringify(body || {}),
  });
}

const isAdmin = () => session && session.role === 'admin';
const main = () => document.getElementById('main');
function flash(kind, text) {
  const n = h('p', {class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status'}, text);
  // Outside <main>, which the live refresh rebuilds.
  document.getElementById('flash').append(n);
  setTimeout(() => n.remove(), 8000);
}
function button(text, cls, onclick, extra) {
  return h('button', Object.assign({type: 'button', class: cls, onclick}, extra || {}), text);
}
async function doAct(path, body, ok) {
  try {
    const r = await act(path, body);
    flash('success', ok);
    await refresh();
    return r;
  } catch (e) {
    flash('error', String(e.message || e));
  }
}
function when(t) { return t ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : ''; }
function num(x, d) { return (Math.round(x * 10 ** (d || 0)) / 10 ** (d || 0)).toLocaleString(); }
function ms(s) { return num(s * 1000, 2) + ' ms'; }
function table(head, rows) {
  return h('div', {class: 'table-wrap'}, h('table', {},
    h('thead', {}, h('tr', {}, head.map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

// --- charts: inline SVG drawn here --------------------------------------------
function lineChart(title, series, keys, fmt) {
  const W = 300, H = 120, P = 4;
  const all = series.flatMap((s) => keys.map((k) => s[k] || 0));
  const max = Math.max(1e-9, ...all);
  const svg = h('svg', {class: 'chart', viewBox: `0 0 ${W} ${H + 16}`, role: 'img',
                        'aria-label': title});
  svg.append(h('line', {class: 'axis', x1: 0, y1: H, x2: W, y2: H}));
  keys.forEach((k, i) => {
    if (series.length < 2) return;
    const pts = series.map((s, j) => `${(P + j * (W - 2 * P) / (series.length - 1)).toFixed(1)},` +
                                     `${(H - (s[k] || 0) / max * (H - 10)).toFixed(1)}`);
    svg.append(h('polyline', {class: 'line' + (i ? i + 1 : ''), points: pts.join(' ')}));
  });
  svg.append(h('text', {x: 2, y: 10}, 'max ' + fmt(max)));
  svg.append(h('text', {x: 2, y: H + 13}, series.length < 2 ? 'collecting…' : 'last ' +
                        Math.round((series[series.length - 1].t - series[0].t) / 1000) + ' s'));
  const legend = h('div', {class: 'legend'}, keys.map((k, i) => h('span', {class: 'k' + (i + 1)},
                                                                    '■ ' + k + ' ')));
  return h('div', {class: 'card'}, h('div', {class: 'label'}, title), svg, legend);
}

function barChart(title, data) {
  const W = 300, H = 120;
  const entries = Object.entries(data);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const svg = h('svg', {class: 'chart', viewBox: `0 0 ${W} ${H + 16}`, role: 'img',
                        'aria-label': title});
  const bw = entries.length ? Math.min(60, (W - 10) / entries.length - 6) : 0;
  entries.forEach(([k, v], i) => {
    const x = 5 + i * (bw + 6), bh = v / max * (H - 14);
    svg.append(h('rect', {class: 'bar', x, y: H - bh, width: bw, height: bh}));
    svg.append(h('text', {x, y: H + 13}, k.slice(0, 10)));
    svg.append(h('text', {x, y: H - bh - 2}, String(v)));
  });
  if (!entries.length) svg.append(h('text', {x: 2, y: 20}, 'no PII found yet'));
  return h('div', {class: 'card'}, h('div', {class: 'label'}, title), svg);
}

// --- pages -----------------------------------------------------------------------
const pages = {
  async overview(m) {
    const o = await api('overview');
    const now = o.now || {};
    const last = o.series[o.series.length - 1] || {rps: 0, eps: 0};
    const fig = (label, value, id) => h('div', {class: 'card'}, h('div', {class: 'label'}, label),
                                        h('div', {class: 'figure', 'data-figure': id}, value));
    m.append(h('h1', {}, 'Overview'),
      h('div', {class: 'grid'},
        fig('Sessions', num(now.sessions || 0), 'sessions'),
        fig('Requests/s', num(last.rps, 2), 'rps'),
        fig('Errors/s', num(last.eps, 2), 'eps'),
        fig('Requests (total)', num(now.requests || 0), 'requests'),
        fig('Latency p50', ms(now.p50 || 0), 'p50'),
        fig('Latency p95', ms(now.p95 || 0), 'p95'),
        fig('Latency p99', ms(now.p99 || 0), 'p99')),
      h('h2', {}, 'Servers'),
      h('div', {class: 'grid'}, o.servers.map((s) => h('div', {class: 'card', 'data-server': s.name},
        h('div', {}, h('strong', {}, s.name)),
        h('span', {class: 'badge state-' + s.state, 'data-state': s.state}, s.state),
        h('div', {class: 'label'}, 'restarts ' + s.restarts)))),
      h('h2', {}, 'Traffic'),
      h('div', {class: 'charts'},
        lineChart('Request and error rate (per second)', o.series, ['rps', 'eps'], (x) => num(x, 2)),
        lineChart('Latency percentiles', o.series, ['p50', 'p95', 'p99'], ms),
        lineChart('Sessions', o.series, ['sessions'], (x) => num(x)),
        lineChart('PII findings over time (per sample)', o.series.map((x) => Object.assign(
          {findings: Object.values(x.pii || {}).reduce((a, b) => a + b, 0)}, x)), ['findings'],
        (x) => num(x)),
        barChart('PII findings by type (since start)', now.pii_by_type || {})));
  },

  async servers(m) {
    const list = await api('servers');
    m.append(h('h1', {}, 'Servers'));
    if (!list.length) m.append(h('p', {class: 'muted'}, 'No servers configured.'));
    m.append(h('div', {class: 'servers'}, list.map((s) => h('section',
      {class: 'card', 'data-server': s.name, 'aria-label': 'Server ' + s.name},
      h('h2', {}, s.name, ' ', h('span', {class: 'badge state-' + s.state, 'data-state': s.state},
                                  s.state)),
      h('div', {class: 'label'}, `runtime ${s.runtime} · restarts `,
        h('span', {'data-restarts': ''}, String(s.restarts)),
        ` · pinning ${s.pinning}${s.per_session ? ' · per session' : ''}`),
      h('div', {class: 'label'}, `limits: memory ${num(s.limits.memory_bytes / 1048576)} MiB · ` +
        `pids ${s.limits.max_pids} · files ${s.limits.open_files} · cpu ${s.limits.cpu_seconds || '∞'} s` +
        ` · network ${s.limits.network ? 'on' : 'off'}`),
      s.command.length ? h('pre', {}, s.command.join(' ')) : h('pre', {}, s.url),
      s.last_error ? h('p', {class: 'bad'}, 'Last error: ' + s.last_error) : null,
      s.errors.length ? h('details', {}, h('summary', {}, `Recent errors (${s.errors.length})`),
        h('ul', {}, s.errors.map((e) => h('li', {}, when(e.at) + ' ' + e.what)))) : null,
      h('details', {}, h('summary', {}, `stderr (last ${s.stderr_tail.length} lines)`),
        h('pre', {'data-stderr': ''}, s.stderr_tail.join('\n') || '(nothing)')),
      h('div', {class: 'label'}, `tools (${s.tools.length}): `, s.tools.join(', ') || '—'),
      h('div', {class: 'label'}, `prompts (${s.prompts.length}): `, s.prompts.join(', ') || '—'),
      h('div', {class: 'label'}, `resources (${s.resources.length + s.resource_templates.length}): `,
        [...s.resources, ...s.resource_templates].join(', ') || '—'),
      isAdmin() ? h('div', {class: 'actions'},
        button('Restart', 'primary', () => doAct('servers/restart', {server: s.name},
                                                 'Restarting ' + s.name)),
        button('Stop', 'danger', () => doAct('servers/stop', {server: s.name},
                                             'Stopped ' + s.name))) : null))));
  },

  async tools(m) {
    const t = await api('tools');
    const pending = t.items.filter((i) => i.state === 'quarantined');
    m.append(h('h1', {}, 'Tools'));
    m.append(h('h2', {}, `Quarantined changes (${pending.length})`));
    if (!pending.length) m.append(h('p', {class: 'muted'}, 'Nothing waits for a decision.'));
    for (const i of pending) {
      const p = i.pending || {};
      const findings = p.findings || [];
      m.append(h('section', {class: 'card', 'data-pending': i.server + '/' + i.name},
        h('h2', {}, `${i.server} / ${i.name} `, h('span', {class: 'badge warn'}, p.change || 'changed')),
        h('div', {class: 'label'}, `${i.kind} · new hash ${String(p.hash).slice(0, 16)}` +
          (p.seen ? ' · seen ' + p.seen : '')),
        diff(i.pinned && i.pinned.definition, p.definition),
        findings.length ? h('div', {}, h('strong', {class: 'bad'}, `Linter findings (${findings.length})`),
          h('ul', {}, findings.map((f) => h('li', {}, `${f.rule || f.kind || ''}: ${f.message || f.detail || JSON.stringify(f)}`)))) : null,
        isAdmin() ? h('div', {class: 'actions'},
          button('Approve', 'primary', () => doAct('tools/approve',
            {server: i.server, name: i.name, hash: p.hash}, `Approved ${i.server}/${i.name}`)),
          button('Reject', 'danger', () => doAct('tools/reject',
            {server: i.server, name: i.name, hash: p.hash}, `Rejected ${i.server}/${i.name}`))) : null));
    }
    m.append(h('h2', {}, 'Catalogue'));
    const served = new Set(t.served.map((s) => s.server + '/' + s.original));
    m.append(table(['Server', 'Kind', 'Name', 'Pin', 'Served'], t.items.map((i) => [
      i.server, i.kind, h('code', {}, i.name),
      h('span', {class: 'badge ' + (i.state === 'pinned' ? 'ok' : 'warn')}, i.state),
      served.has(i.server + '/' + i.name) ? 'yes' : 'no'])));
  },

  async clients(m) {
    const c = await api('clients');
    m.append(h('h1', {}, 'Clients'));
    if (isAdmin()) {
      const id = h('input', {name: 'client_id', required: true, pattern: '[A-Za-z0-9._-]{1,64}',
                             autocomplete: 'off'});
      const scopes = h('input', {name: 'scopes', value: 'mcp.access', required: true});
      const out = h('div', {id: 'created'});
      m.append(h('form', {class: 'filters', onsubmit: async (e) => {
        e.preventDefault();
        const r = await doAct('clients/create', {client_id: id.value,
          scopes: scopes.value.split(/\s+/).filter(Boolean)}, 'Client created');
        if (r) {
          // refresh() rebuilt the page: show the secret in the new one, once.
          const box = document.getElementById('created');
          box.replaceChildren(h('div', {class: 'notice success'},
            h('p', {}, `Client ${r.client_id} created. Its secret is shown once — copy it now:`),
            h('code', {class: 'secret', 'data-secret': ''}, r.client_secret),
            h('p', {class: 'label'}, 'Token endpoint: ' + r.token_endpoint)));
          stopRefresh();
        }
      }}, h('label', {}, 'Client id', id), h('label', {}, 'Scopes (space separated)', scopes),
        h('button', {type: 'submit', class: 'primary'}, 'Create client')), out);
    }
    const revoke = (id) => isAdmin() ? button('Revoke', 'danger', () => {
      if (confirm(`Revoke ${id}? Its tokens stop working at once.`))
        doAct('clients/revoke', {client_id: id}, 'Revoked ' + id);
    }, {'data-revoke': id}) : '';
    m.append(h('h2', {}, 'Configured (auth.clients)'),
      table(['Client', 'Scopes', 'Grants', 'State', ''], c.configured.map((x) => [
        h('code', {}, x.client_id), x.scopes.join(' '), x.grant_types.join(' '),
        x.revoked ? h('span', {class: 'bad'}, 'revoked') : 'active', x.revoked ? '' : revoke(x.client_id)])));
    m.append(h('h2', {}, 'Created here and registered'),
      table(['Client', 'Scopes', 'Created', 'State', ''], c.managed.map((x) => {
        const r = x.registered || x;
        return [h('code', {}, r.client_id), (r.scopes || (r.metadata && r.metadata.scope) || '').toString(),
          when(r.created || r.issued_at) + (r.created_by ? ' by ' + r.created_by : ''),
          r.revoked ? h('span', {class: 'bad', 'data-state': 'revoked'}, 'revoked') : 'active',
          r.revoked ? '' : revoke(r.client_id)];
      })));
    m.append(h('h2', {}, 'Active grants (signed-in users)'),
      table(['Client', 'User', 'Scopes', 'Expires'], c.grants.map((g) =>
        [g.client_id, g.subject, g.scopes.join(' '), when(g.expires)])));
  },

  async audit(m) {
    const q = new URLSearchParams(location.search);
    const field = (name, label, type) => h('label', {}, label,
      h('input', {name, type: type || 'text', value: q.get(name) || '', autocomplete: 'off'}));
    const form = h('form', {class: 'filters', method: 'get', action: base + '/audit'},
      field('from', 'From (UTC)'), field('to', 'To (UTC)'), field('event', 'Event'),
      field('server', 'Server'), field('tool', 'Tool'), field('client', 'Client'),
      h('label', {}, 'Limit', h('input', {name: 'limit', type: 'number', min: 1, max: 500,
                                          value: q.get('limit') || '100'})),
      h('button', {type: 'submit', class: 'primary'}, 'Filter'));
    m.append(h('h1', {}, 'Audit'), form);
    const params = new URLSearchParams();
    for (const [k, v] of q) if (v) params.set(k, v);
    const [v, list] = await Promise.all([api('audit/verify'), api('audit?' + params)]);
    m.append(h('div', {class: 'notice ' + (v.ok ? 'success' : 'error'), 'data-verify': v.ok ? 'ok' : 'failed'},
      !v.enabled ? 'The audit log is off.' : v.ok
        ? `Verified: ${v.records} records (seq ${v.first_seq}–${v.last_seq}), ${v.checkpoints} signed ` +
          `checkpoints, last signed checkpoint at seq ${v.last_checkpoint_seq}` +
          (v.head ? `, signed head at seq ${v.head.seq} (${v.head.ts})` : '') + `, key ${v.fingerprint}`
        : `TAMPERED: ${v.problem.file}:${v.problem.line} (seq ${v.problem.seq}): ${v.problem.what}`));
    m.append(h('div', {class: 'actions'},
      h('a', {class: 'button', href: base + '/api/audit/export?' + params, download: 'bastion-audit.ndjson'},
        'Export this range (NDJSON)')));
    m.append(table(['Seq', 'Time', 'Event', 'Server', 'Tool', 'Client', 'Outcome', 'Details'],
      list.records.map((r) => {
        const rest = Object.assign({}, r);
        for (const k of ['seq', 'ts', 'event_type', 'server', 'tool_name', 'tool', 'client_id', 'outcome', 'prev'])
          delete rest[k];
        return [r.seq, r.ts, h('code', {}, r.event_type), r.server || '', r.tool_name || r.tool || r.name || '',
          r.client_id || '', r.outcome || '', h('code', {}, JSON.stringify(rest).slice(0, 300))];
      })));
    if (list.next_before) {
      const older = new URLSearchParams(params);
      older.set('before', list.next_before);
      m.append(h('div', {class: 'actions'}, h('a', {class: 'button', href: base + '/audit?' + older}, 'Older')));
    }
  },

  async config(m) {
    const c = await api('config');
    m.append(h('h1', {}, 'Configuration'),
      h('p', {class: 'muted'}, 'The effective configuration; secrets, headers and environment values are redacted.'));
    if (isAdmin())
      m.append(h('div', {class: 'actions'}, button('Reload from file', 'primary',
        () => doAct('config/reload', {}, 'Configuration reloaded'))));
    m.append(h('pre', {'data-config': ''}, JSON.stringify(c, null, 2)));
  },
};

// A line diff (LCS) of two definitions, as pretty JSON.
function diff(a, b) {
  const x = a ? JSON.stringify(a, null, 2).split('\n') : [];
  const y = b ? JSON.stringify(b, null, 2).split('\n') : [];
  if (x.length * y.length > 250000) return h('pre', {}, JSON.stringify(b, null, 2));
  const L = Array.from({length: x.length + 1}, () => new Int32Array(y.length + 1));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { out.push(h('span', {}, '  ' + x[i])); i++; j++; }
    else if (i < x.length && (j >= y.length || L[i + 1][j] >= L[i][j + 1])) out.push(h('span', {class: 'del'}, '- ' + x[i++]));
    else out.push(h('span', {class: 'add'}, '+ ' + y[j++]));
  }
  return h('pre', {class: 'diff', 'aria-label': 'pinned → new definition'}, out);
}

// Live values: the page is rebuilt every few seconds, unless the user is
// typing in it or reading a shown secret.
async function refresh() {
  const m = main();
  const fresh = h('main', {id: 'main'});
  try {
    await pages[page](fresh);
  } catch (e) {
    fresh.replaceChildren(h('p', {class: 'notice error', role: 'alert'}, String(e.message || e)));
  }
  // Keep <details> that were open.
  const open = new Set([...m.querySelectorAll('details[open]')].map((d) => d.closest('[data-server]')?.dataset.server + d.querySelector('summary')?.textContent.split(' ')[0]));
  for (const d of fresh.querySelectorAll('details'))
    if (open.has(d.closest('[data-server]')?.dataset.server + d.querySelector('summary')?.textContent.split(' ')[0])) d.open = true;
  m.replaceWith(fresh);
}
function stopRefresh() { if (timer) clearInterval(timer); timer = null; }

async function start() {
  for (const a of document.querySelectorAll('nav a'))
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page');
  try {
    session = await api('session');
  } catch (e) {
    main().replaceChildren(h('p', {class: 'notice error', role: 'alert'},
      'You are signed in without a console role: ' + (e.message || e)));
    return;
  }
  const who = document.getElementById('who');
  who.textContent =
    `${session.name || session.user} · ${session.role}` + (isAdmin() ? '' : ' (read-only)') + ' ';
  // The sign-in pages' own sign-out (a form post with its token): ends the session everywhere.
  who.append(h('form', {method: 'post', action: '/signin/logout', class: 'inline'},
    h('input', {type: 'hidden', name: 'csrf', value: session.logout_csrf}),
    h('button', {type: 'submit'}, 'Sign out')));
  await refresh();
  if (page !== 'audit' && page !== 'config')
    timer = setInterval(() => {
      if (document.activeElement && ['INPUT', 'SELECT'].includes(document.activeElement.tagName)) return;
      refresh();
    }, 2000);
}
start();
