// The Holdfast dashboard: reads /api/v1 with the visitor's token and renders tables. Every value is
// written with textContent (never as HTML), and the page's CSP allows no other script.
'use strict';

const API = '/api/v1';
const REFRESH_MS = 5000;
const TOKEN_KEY = 'holdfast.token';

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// A token given in the URL fragment (/#token=...) is taken once and removed from the address bar;
// fragments are never sent to the server.
function takeTokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function get(path) {
  const r = await fetch(API + path, { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store' });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    throw new ApiError(r.status, 'internal', 'not JSON (HTTP ' + r.status + ')');
  }
  if (!r.ok) {
    const err = body && body.error ? body.error : { code: 'internal', message: 'HTTP ' + r.status };
    throw new ApiError(r.status, err.code, err.message);
  }
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) {
    e.textContent = String(text);
  }
  if (cls) {
    e.className = cls;
  }
  return e;
}

function time(iso) {
  if (!iso) {
    return '-';
  }
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function bytes(n) {
  if (n === null || n === undefined) {
    return '-';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}

function seconds(s) {
  if (s === null || s === undefined) {
    return '-';
  }
  return s < 10 ? s.toFixed(2) + ' s' : s < 600 ? s.toFixed(0) + ' s' : (s / 60).toFixed(0) + ' min';
}

// Fills a table's body: rows is a list of cell lists; a cell is text or a DOM node.
function fill(id, rows, emptyText) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = el('tr');
    const td = el('td', emptyText, 'empty');
    td.colSpan = document.querySelectorAll('#' + id + ' thead th').length;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el('tr');
    for (const c of cells) {
      tr.appendChild(c instanceof Node ? c : el('td', c));
    }
    body.appendChild(tr);
  }
}

function cell(text, cls) {
  return el('td', text, cls);
}

function stateCell(state) {
  const good = ['connected', 'streaming', 'archive', 'complete', 'succeeded', 'done', 'ok', 'approved'];
  const bad = ['failed', 'failing', 'refused', 'disconnected', 'unreadable', 'expired', 'gap'];
  return cell(state, good.includes(state) ? 'ok' : bad.includes(state) ? 'bad' : 'warn');
}

function progressCell(p) {
  const td = el('td');
  if (!p || !p.total_bytes) {
    td.textContent = p && p.phase ? p.phase : '-';
    return td;
  }
  const bar = el('progress');
  bar.max = p.total_bytes;
  bar.value = p.done_bytes;
  td.appendChild(bar);
  td.appendChild(document.createTextNode(' ' + Math.floor(100 * p.done_bytes / p.total_bytes) + '% ' + (p.phase || '')));
  return td;
}

function unavailable(id, e) {
  fill(id, [], e.code === 'not_implemented' ? 'not available in this controller version' : e.code + ': ' + e.message);
}

const views = {
  async agents() {
    const page = await get('/agents?limit=1000');
    fill('agents', page.items.map(a => [a.host, stateCell(a.connected ? 'connected' : 'disconnected'), time(a.last_seen),
      a.agent_version || '-', time(a.certificate_expires_at), (a.sources || []).join(', ')]), 'no agent enrolled yet');
  },
  async sources() {
    const page = await get('/sources?limit=1000');
    fill('sources', page.items.map(s => {
      const live = s.live || {};
      return [s.host, s.name, s.type, stateCell(live.state || 'unknown'), seconds(live.rpo_seconds), time(live.last_durable_at),
        cell(live.detail || '', 'detail')];
    }), 'no source reported yet');
  },
  async jobs() {
    const page = await get('/jobs?limit=25');
    fill('jobs', page.items.map(j => [j.id, j.host + '/' + j.source, j.kind, j.type, stateCell(j.state), progressCell(j.progress),
      time(j.created_at), cell(j.error ? j.error.code + ': ' + j.error.message : (j.backup_id || ''), j.error ? 'bad detail' : 'detail')]),
    'no job yet');
  },
  async backups() {
    const page = await get('/backups?limit=25');
    fill('backups', page.items.map(b => [b.id || '(job ' + b.job_id + ')', b.host + '/' + b.source, b.type, b.tag || '-',
      stateCell(b.state), time(b.finished_at), bytes(b.bytes), bytes(b.stored_bytes)]), 'no backup yet');
  },
  async restores() {
    try {
      const page = await get('/restores?limit=25');
      fill('restores', page.items.map(r => [r.id, r.host + '/' + r.source, r.target || '-', stateCell(r.state),
        r.requested_by || '-', (r.approvals || []).map(a => a.actor || a).join(', ') || '-']), 'no restore requested');
    } catch (e) {
      unavailable('restores', e);
    }
  },
  async drills() {
    try {
      const page = await get('/drills?limit=25');
      fill('drills', page.items.map(d => [d.id, d.host + '/' + d.source, stateCell(d.state), time(d.finished_at),
        seconds(d.rto_seconds), seconds(d.rpo_seconds)]), 'no drill yet');
    } catch (e) {
      unavailable('drills', e);
    }
  },
  async audit() {
    // The log is listed oldest first; walk to its end (at most 10 pages of 1,000) and show the newest 25.
    let items = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const page = await get('/audit?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      items = items.concat(page.items).slice(-25);
      if (!page.next) {
        break;
      }
      cursor = page.next;
    }
    fill('audit', items.reverse().map(a => [a.seq, time(a.at), a.actor, a.role, a.action, a.object,
      stateCell(a.outcome), cell(a.detail, 'detail')]), 'empty');
  },
};

function setStatus(text, error) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

let timer = null;

async function refresh() {
  const results = await Promise.allSettled(Object.values(views).map(v => v()));
  const failed = results.filter(r => r.status === 'rejected').map(r => r.reason);
  if (failed.some(e => e.status === 401)) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('That token was not accepted (unauthenticated): paste another one.');
    return;
  }
  if (failed.length > 0) {
    setStatus('partly updated at ' + new Date().toISOString().slice(11, 19) + 'Z: ' + failed[0].code + ': ' + failed[0].message, true);
  } else {
    setStatus('updated ' + new Date().toISOString().slice(11, 19) + 'Z');
  }
  document.body.dataset.loaded = 'true';
  timer = setTimeout(refresh, REFRESH_MS);
}

function showLogin(message) {
  if (timer) {
    clearTimeout(timer);
  }
  document.getElementById('views').hidden = true;
  document.getElementById('signout').hidden = true;
  document.getElementById('login').hidden = false;
  setStatus(message, true);
}

function start() {
  document.getElementById('login').hidden = true;
  document.getElementById('views').hidden = false;
  document.getElementById('signout').hidden = false;
  setStatus('loading');
  refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  takeTokenFromFragment();
  document.getElementById('login-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const t = document.getElementById('token').value.trim();
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t);
      document.getElementById('token').value = '';
      start();
    }
  });
  document.getElementById('signout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('token forgotten');
  });
  if (token()) {
    start();
  } else {
    showLogin('an API token is needed');
  }
});
