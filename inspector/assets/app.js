// walrelay inspector: plain JavaScript, no build step. Everything shown
// comes from /_/api/*, which needs an admin's token in the Authorization
// header. Values from the server are put into the page as text only
// (textContent), never as HTML.
'use strict';

const tokenKey = 'walrelay-inspector-token';
const maxEvents = 200;
let token = sessionStorage.getItem(tokenKey) || '';
let refreshTimer = null;
let stream = null; // the AbortController of the open event stream

const $ = (id) => document.getElementById(id);

/** Builds an element; children are nodes or strings (as text). */
function el(tag, props, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') n.className = v;
    else if (k.startsWith('data-')) n.setAttribute(k, v);
    else n[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    n.append(c instanceof Node ? c : String(c));
  }
  return n;
}

function setAuth(text, bad) {
  const s = $('auth');
  s.textContent = text;
  s.className = bad ? 'badge bad' : 'muted';
}

async function api(path, init) {
  const res = await fetch(path, { ...init, headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!res.ok) {
    let msg = `${res.status}`;
    try {
      const body = await res.json();
      msg = `${res.status} ${body.error?.message ?? ''}`;
    } catch {
      // not JSON
    }
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return res;
}

function bytes(n) {
  if (n === null || n === undefined) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
}

function renderModels(models) {
  const body = $('models');
  body.replaceChildren();
  const list = $('channels');
  list.replaceChildren();
  for (const m of models) {
    const status = m.status === 'served' ? el('span', { class: 'badge ok' }, 'served') : el('span', { class: 'badge bad' }, 'stopped');
    body.append(
      el(
        'tr',
        { 'data-testid': 'model-row', 'data-model': m.name, 'data-status': m.status },
        el('td', {}, el('strong', {}, m.name)),
        el('td', { class: 'mono' }, m.table),
        el('td', { class: 'mono' }, m.path),
        el('td', { class: 'chips mono' }, ...m.channels.map((c) => el('span', {}, c))),
        el('td', {}, status, m.problem ? el('div', { class: 'problem' }, m.problem) : null),
      ),
    );
    for (const c of m.channels) if (!c.includes('{')) list.append(el('option', { value: c }));
  }
}

function renderSlot(o) {
  const dl = $('slot');
  dl.replaceChildren();
  const fact = (k, v, id) => dl.append(el('dt', {}, k), el('dd', id ? { 'data-testid': id } : {}, v));
  if (!o.slot) {
    fact('Slot', o.slot_error || 'none: nothing is realtime');
  } else {
    const s = o.slot;
    fact('Slot', el('span', { class: 'mono' }, s.name));
    fact('Streaming', s.streaming ? el('span', { class: 'badge ok' }, 'yes') : el('span', { class: 'badge bad' }, 'no'), 'slot-streaming');
    fact('Confirmed', el('span', { class: 'mono' }, s.confirmed_lsn));
    fact('Lag', bytes(s.lag_bytes), 'slot-lag');
    fact('Retained WAL', bytes(s.retained_wal_bytes));
    fact('Epoch', s.epoch);
    if (o.slot_error) fact('Problem', o.slot_error);
  }
  fact('Subscriptions', o.subscriptions, 'subscriptions');
}

function renderConnections(conns) {
  $('conn-count').textContent = `(${conns.length})`;
  const body = $('connections');
  body.replaceChildren();
  for (const c of conns) {
    body.append(
      el(
        'tr',
        { 'data-testid': 'conn-row' },
        el('td', { class: 'mono' }, c.remote),
        el('td', {}, c.user || el('span', { class: 'muted' }, 'anonymous')),
        el('td', { title: c.since }, ago(c.since)),
        el('td', {}, c.queued),
        el('td', { class: 'chips mono' }, ...(c.channels || []).map((ch) => el('span', {}, ch))),
      ),
    );
  }
}

function renderErrors(entries) {
  const list = $('errors');
  list.replaceChildren();
  if (entries.length === 0) list.append(el('li', { class: 'muted' }, 'none since the server started'));
  for (const e of [...entries].reverse()) {
    const attrs = Object.entries(e.attrs || {}).map(([k, v]) => `${k}=${v}`).join(' ');
    list.append(
      el(
        'li',
        { 'data-testid': 'error-row' },
        el('span', { class: 'muted', title: e.time }, new Date(e.time).toLocaleTimeString(), ' '),
        el('span', { class: `level-${e.level}` }, e.level, ' '),
        e.msg,
        attrs ? el('div', { class: 'mono muted' }, attrs) : null,
      ),
    );
  }
}

async function refresh() {
  clearTimeout(refreshTimer);
  if (!token) return;
  try {
    const o = await (await api('/_/api/overview')).json();
    setAuth('connected');
    renderModels(o.models);
    renderSlot(o);
    renderConnections(o.connections);
    renderErrors(o.errors);
  } catch (e) {
    setAuth(e.status === 401 || e.status === 403 ? `refused: ${e.message}` : `error: ${e.message}`, true);
    if (e.status === 401 || e.status === 403) return;
  }
  refreshTimer = setTimeout(refresh, 2000);
}

function addEvent(m) {
  const list = $('events');
  let row;
  if (m.type === 'event') {
    const body = {};
    if (m.data !== undefined) body.data = m.data;
    if (m.old !== undefined) body.old = m.old;
    row = el(
      'li',
      { 'data-testid': 'event-row', 'data-event': m.event ?? '' },
      el(
        'div',
        { class: 'head' },
        el('strong', { class: `op-${m.event}` }, m.event),
        el('span', { class: 'mono' }, m.channel),
        m.id !== undefined ? el('span', { class: 'mono' }, `id ${JSON.stringify(m.id)}`) : null,
        m.commit_ts ? el('span', { class: 'muted' }, m.commit_ts) : null,
        m.from ? el('span', { class: 'muted' }, `from ${JSON.stringify(m.from)}`) : null,
      ),
      el('pre', {}, JSON.stringify(Object.keys(body).length ? body : m, null, 1)),
    );
  } else if (m.type === 'ping') {
    return;
  } else {
    row = el('li', { 'data-testid': 'stream-note', class: 'muted' }, `${m.type} ${JSON.stringify(m)}`);
  }
  list.prepend(row);
  while (list.children.length > maxEvents) list.lastChild.remove();
}

function streamStatus(text, cls) {
  const s = $('stream-status');
  s.textContent = text;
  s.className = cls || 'muted';
}

async function watch(channel) {
  stopWatching();
  const ctl = new AbortController();
  stream = ctl;
  $('stop').disabled = false;
  $('events').replaceChildren();
  streamStatus(`connecting to ${channel}`);
  try {
    const res = await api(`/_/api/stream?channel=${encodeURIComponent(channel)}`, { signal: ctl.signal });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!text.trim()) continue;
        const m = JSON.parse(text);
        if (m.type === 'subscribed') streamStatus(`watching ${m.channel}`, 'badge ok');
        else addEvent(m);
      }
    }
    if (stream === ctl) streamStatus('stream ended', 'badge warn');
  } catch (e) {
    if (ctl.signal.aborted) return;
    streamStatus(`error: ${e.message}`, 'badge bad');
  } finally {
    if (stream === ctl) {
      stream = null;
      $('stop').disabled = true;
    }
  }
}

function stopWatching() {
  if (stream) {
    stream.abort();
    stream = null;
    streamStatus('stopped');
  }
  $('stop').disabled = true;
}

document.addEventListener('DOMContentLoaded', () => {
  $('token').value = token;
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem(tokenKey, token);
    setAuth('connecting');
    refresh();
  });
  $('watch-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const ch = $('channel').value.trim();
    if (ch && token) watch(ch);
  });
  $('stop').addEventListener('click', stopWatching);
  if (token) refresh();
});
