// Moxxie dashboard: plain JavaScript, no dependencies. It reads the REST API of the server that serves it and
// follows GET /api/v1/events (Server-Sent Events) with fetch(), so that the bearer token travels in the
// Authorization header and never in a URL. The token is kept in this tab's sessionStorage only.
'use strict';

const TOKEN_KEY = 'moxxie.token';
const NODE_KEY = 'moxxie.node';
const HISTORY_SIZE = 12;
/** The latest rollouts shown, and how often they are read again (the event stream does not carry rollouts). */
const ROLLOUTS_SHOWN = 3;
const ROLLOUT_POLL_MS = 2000;
const ROLLOUT_ENDED = ['succeeded', 'failed', 'cancelled'];

const state = {
  nodes: [],
  selected: sessionStorage.getItem(NODE_KEY),
  guests: [],
  drains: new Map(),   // drainId -> {status, at: ms when received, rate: simulated seconds per real second}
  history: [],
  rollouts: [],
  authWaiters: [],
  streamGeneration: 0,
};

class AuthError extends Error {}

// ---------------------------------------------------------------- DOM helpers (no innerHTML with data)

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v; // CSSOM: allowed by the page's Content-Security-Policy, a style attribute is not
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (id) => document.getElementById(id);

function bar(fraction, cls) {
  const pct = Math.max(0, Math.min(1, fraction)) * 100;
  return h('div', { class: 'bar ' + (cls || ''), role: 'progressbar', 'aria-valuenow': Math.round(pct) },
    h('span', { style: 'width:' + pct.toFixed(1) + '%' }));
}

function gib(bytes) {
  return (bytes / 1073741824).toFixed(bytes >= 100 * 1073741824 ? 0 : 1) + ' GiB';
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return '–';
  seconds = Math.max(0, Math.round(seconds));
  const hh = Math.floor(seconds / 3600), mm = Math.floor(seconds % 3600 / 60), ss = seconds % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh > 0 ? hh + ':' + two(mm) + ':' + two(ss) : mm + ':' + two(ss);
}

function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function badge(text, cls) {
  return h('span', { class: 'badge ' + (cls || text) }, String(text).replace('_', ' '));
}

function tags(text) {
  return (text || '').split(/[,;]/).map((t) => t.trim()).filter(Boolean).map((t) => h('span', { class: 'tag ' + t }, t));
}

// ---------------------------------------------------------------- API

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: 'Bearer ' + token } : {};
}

async function api(method, path, body) {
  const headers = authHeaders();
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    unreachable(e);
    throw e;
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (res.status === 401) {
    askForToken(data && data.error);
    throw new AuthError(data && data.error);
  }
  if (!res.ok) {
    const err = new Error((data && data.error) || res.status + ' ' + res.statusText);
    err.status = res.status;
    err.data = data;
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------- token

function askForToken(serverMessage) {
  const dialog = $('token-dialog');
  const had = sessionStorage.getItem(TOKEN_KEY);
  const err = $('token-error');
  if (had) {
    sessionStorage.removeItem(TOKEN_KEY);
    err.textContent = 'The server refused this token (' + (serverMessage || '401') + '). '
      + 'Enter the value of MOXXIE_API_TOKEN the server was started with.';
    err.hidden = false;
  } else {
    err.hidden = true;
  }
  $('live').dataset.state = 'down';
  $('live-text').textContent = 'token needed';
  if (!dialog.open) dialog.showModal();
  $('token-input').focus();
}

function onTokenSubmit(ev) {
  ev.preventDefault();
  const value = $('token-input').value;
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $('token-input').value = '';
  $('token-dialog').close();
  $('token-button').hidden = false;
  start();
}

// ---------------------------------------------------------------- loading

async function loadNodes() {
  state.nodes = await api('GET', '/api/v1/nodes');
  if (!state.selected || !state.nodes.some((n) => n.node === state.selected)) {
    state.selected = state.nodes.length ? state.nodes[0].node : null;
  }
  renderNodes();
  renderSummary();
}

async function loadGuests() {
  if (!state.selected) return;
  const node = state.selected;
  const guests = await api('GET', '/api/v1/vms?node=' + encodeURIComponent(node));
  if (node !== state.selected) return;
  state.guests = guests;
  renderGuests();
}

async function loadDrains() {
  const lists = await Promise.all(state.nodes.map((n) =>
    api('GET', '/api/v1/nodes/' + encodeURIComponent(n.node) + '/drains?limit=' + HISTORY_SIZE)));
  const all = lists.flat();
  const now = Date.now();
  for (const s of all) {
    if (s.status === 'in_progress') upsertDrain(s, now);
    else state.drains.delete(s.drainId);
  }
  state.history = all.filter((s) => s.status !== 'in_progress')
    .sort((a, b) => (b.startedAt || '').localeCompare(a.startedAt || '')).slice(0, HISTORY_SIZE);
  renderDrains();
  renderHistory();
}

async function loadRollouts() {
  state.rollouts = await api('GET', '/api/v1/rollouts?limit=' + ROLLOUTS_SHOWN);
  renderRollouts();
}

async function loadAll() {
  await loadNodes();
  await Promise.all([loadGuests(), loadDrains(), loadRollouts()]);
  hideBanner();
}

let refreshTimer = null;
let refreshHistory = false;
/** Node memory and the guest list change as guests move: refreshed once per burst of events, not polled. */
function refreshSoon(withHistory) {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshHistory = refreshHistory || withHistory;
  refreshTimer = setTimeout(async () => {
    const history = refreshHistory;
    refreshTimer = null;
    refreshHistory = false;
    try {
      await loadNodes();
      await loadGuests();
      if (history) await loadDrains();
    } catch (e) { /* shown by api() */ }
  }, 250);
}

// ---------------------------------------------------------------- live events

function upsertDrain(status, now) {
  const prev = state.drains.get(status.drainId);
  let rate = prev ? prev.rate : 1;
  if (prev && status.elapsedSeconds != null && prev.status.elapsedSeconds != null && now > prev.at + 200) {
    const r = (status.elapsedSeconds - prev.status.elapsedSeconds) / ((now - prev.at) / 1000);
    if (r > 0.05 && r < 10000) rate = r; // the demo cluster runs faster than the wall clock
  }
  state.drains.set(status.drainId, { status, at: now, rate });
}

function onEvent(name, data) {
  const now = Date.now();
  if (name === 'drain' || name === 'guest') {
    if (data.drain) showStatus(data.drain, now);
    renderDrains();
    if (name === 'drain' || data.change === 'completed' || data.change === 'failed') refreshSoon(name === 'drain');
  } else if (name === 'maintenance') {
    refreshSoon(false);
  }
}

/** A drain's status as it now stands: a running drain's card, or a finished drain's line in the history. */
function showStatus(s, now) {
  if (s.status === 'in_progress') upsertDrain(s, now);
  else finishDrain(s);
}

function finishDrain(s) {
  state.drains.delete(s.drainId);
  state.history = [s, ...state.history.filter((x) => x.drainId !== s.drainId)].slice(0, HISTORY_SIZE);
  renderHistory();
}

function setLive(stateName, text) {
  $('live').dataset.state = stateName;
  $('live-text').textContent = text;
}

/** Reads the event stream with fetch() (EventSource cannot send the Authorization header). */
async function stream(generation) {
  let delay = 1000;
  while (generation === state.streamGeneration) {
    try {
      let res;
      try {
        res = await fetch('/api/v1/events', { headers: authHeaders(), cache: 'no-store' });
      } catch (e) {
        unreachable(e);
        throw e;
      }
      if (res.status === 401) {
        const data = await res.json().catch(() => ({}));
        askForToken(data.error);
        return;
      }
      if (!res.ok || !res.body) throw new Error('event stream answered ' + res.status);
      setLive('live', 'live');
      delay = 1000;
      // Read once the stream is open: whatever changes after this read arrives as an event. (Errors: shown by api().)
      loadAll().catch(() => {});
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done || generation !== state.streamGeneration) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trimStart();
          }
          if (data) {
            try { onEvent(name, JSON.parse(data)); } catch (e) { console.warn('bad event', name, e); }
          }
        }
      }
    } catch (e) {
      // fall through to reconnect
    }
    if (generation !== state.streamGeneration) return;
    setLive('down', 'reconnecting…');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

// ---------------------------------------------------------------- rendering

function renderSummary() {
  const online = state.nodes.filter((n) => n.online).length;
  const maint = state.nodes.filter((n) => n.inMaintenance).length;
  const guests = state.nodes.reduce((a, n) => a + (n.vms || 0), 0);
  $('summary').textContent = state.nodes.length + ' nodes · ' + online + ' online · ' + maint + ' in maintenance · '
    + guests + ' guests';
}

function runningOn(node) {
  for (const d of state.drains.values()) if (d.status.node === node) return d.status;
  return null;
}

let nodesKey = '';
/** Rebuilt only when something shown changed: a button must not vanish under the operator's pointer. */
function renderNodes() {
  const box = $('nodes');
  const key = JSON.stringify([state.nodes, state.selected, state.nodes.map((n) => runningOn(n.node) && runningOn(n.node).operation)]);
  if (key === nodesKey) return;
  nodesKey = key;
  box.replaceChildren(...state.nodes.map((n) => {
    const used = n.maxmem ? n.mem / n.maxmem : 0;
    const running = runningOn(n.node);
    const busy = !!running;
    return h('div', { class: 'node' + (n.node === state.selected ? ' selected' : ''), 'data-node': n.node },
      h('div', { class: 'head' },
        h('span', { class: 'name', title: 'Show its guests', onclick: () => selectNode(n.node) }, n.node),
        badge(n.status),
        h('span', { class: 'spacer', style: 'flex:1' }),
        h('span', { class: 'muted' }, n.vms + ' guests')),
      h('div', { class: 'mem' }, h('span', {}, 'Memory'), h('span', {}, gib(n.mem) + ' / ' + gib(n.maxmem) + ' · ' + Math.round(used * 100) + ' %')),
      bar(used, used > 0.9 ? 'crit' : used > 0.75 ? 'warn' : ''),
      n.inMaintenance && n.maintenanceReason ? h('div', { class: 'reason' }, 'Maintenance: ' + n.maintenanceReason) : null,
      busy ? h('div', { class: 'reason' }, (running.operation === 'undrain' ? 'Undrain' : 'Drain') + ' running') : null,
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'small', 'data-action': 'drain', disabled: busy || !n.online, onclick: () => openDrain(n.node) }, 'Drain…'),
        h('button', { type: 'button', class: 'small', 'data-action': 'undrain', disabled: busy || !n.online, onclick: () => openUndrain(n.node) }, 'Undrain…'),
        n.inMaintenance
          ? h('button', { type: 'button', class: 'small', 'data-action': 'maintenance-off', onclick: () => openMaintenance(n.node, false) }, 'End maintenance…')
          : h('button', { type: 'button', class: 'small', 'data-action': 'maintenance-on', onclick: () => openMaintenance(n.node, true) }, 'Maintenance…')));
  }));
}

function selectNode(node) {
  state.selected = node;
  sessionStorage.setItem(NODE_KEY, node);
  renderNodes();
  loadGuests().catch(() => {});
}

function renderGuests() {
  $('guests-section').hidden = false;
  $('guests-node').textContent = state.selected;
  $('guests-count').textContent = '(' + state.guests.length + ')';
  const rows = state.guests.map((g) => h('tr', { 'data-vmid': g.vmid },
    h('td', { class: 'num mono' }, g.vmid),
    h('td', {}, g.name, g.haManaged ? h('span', { class: 'note' }, ' · HA') : null, g.lock ? h('span', { class: 'note' }, ' · lock: ' + g.lock) : null),
    h('td', { class: 'muted' }, g.type === 'lxc' ? 'container' : 'VM'),
    h('td', {}, g.template ? badge('template') : badge(g.status)),
    h('td', { class: 'num' }, gib(g.maxmem)),
    h('td', {}, tags(g.tags))));
  $('guests').tBodies[0].replaceChildren(...rows);
}

function vmProgress(v) {
  const cell = h('td', { class: 'progress' });
  const spent = v.elapsedSeconds != null ? ' · ' + duration(v.elapsedSeconds) : '';
  const left = v.etaSeconds != null ? ' · ~' + duration(v.etaSeconds) + ' left' : '';
  if (v.status === 'in_progress' && v.transferredBytes != null && v.remainingBytes != null) {
    const all = v.transferredBytes + v.remainingBytes;
    cell.append(bar(all > 0 ? v.transferredBytes / all : 1, ''),
      h('div', { class: 'note' }, gib(v.transferredBytes) + ' sent, ' + gib(v.remainingBytes) + ' to go' + left + spent));
    return cell;
  }
  switch (v.status) {
    case 'completed': cell.append(bar(1, 'done'), h('div', { class: 'note' }, 'moved' + spent)); break;
    case 'in_progress': cell.append(bar(1, 'moving'), h('div', { class: 'note' }, 'moving' + (v.attempts > 1 ? ' (attempt ' + v.attempts + ')' : '') + left + spent)); break;
    case 'failed': cell.append(bar(1, 'failed'), h('div', { class: 'err' }, v.error || 'failed')); break;
    case 'skipped': cell.append(bar(1, 'skipped'), h('div', { class: 'note' }, v.reason || v.note || 'skipped')); break;
    default: cell.append(bar(0), h('div', { class: 'note' }, 'waiting'));
  }
  return cell;
}

function renderDrains() {
  const box = $('drains');
  const drains = [...state.drains.values()];
  $('drains-count').textContent = drains.length ? '(' + drains.length + ')' : '';
  // The tab's title carries the progress, for an operator looking at another window.
  document.title = drains.length ? drains.map(({ status: s }) => s.node + ' ' + s.completedVMs + '/' + Math.max(0, s.totalVMs - s.skippedVMs)
    + (s.failedVMs ? ' ' + s.failedVMs + ' failed' : '')).join(' · ') + ' — Moxxie' : 'Moxxie';
  if (!drains.length) {
    box.replaceChildren(h('p', { class: 'empty' }, 'No drain or undrain is running.'));
    renderNodes();
    return;
  }
  box.replaceChildren(...drains.map(({ status: s }) => {
    const toMove = Math.max(0, s.totalVMs - s.skippedVMs);
    const done = s.completedVMs + s.failedVMs;
    const order = { in_progress: 0, failed: 1, pending: 2, completed: 3, skipped: 4 };
    const vms = [...s.vmStatus].sort((a, b) => (order[a.status] - order[b.status]) || a.vmid - b.vmid);
    return h('div', { class: 'drain', 'data-drain': s.drainId, 'data-status': s.status },
      h('div', { class: 'head' },
        h('span', { class: 'title' }, (s.operation === 'undrain' ? 'Undrain of ' : 'Drain of ') + s.node),
        badge(s.status),
        s.drainMode ? h('span', { class: 'muted' }, s.drainMode + ' mode') : null,
        h('span', { class: 'muted mono' }, s.drainId.slice(0, 8)),
        h('span', { class: 'spacer' }),
        s.status === 'in_progress' ? h('button', { type: 'button', class: 'danger small', 'data-action': 'cancel', onclick: () => openCancel(s) }, 'Cancel…') : null),
      h('div', { class: 'figures' },
        figure('Moved', s.completedVMs + ' / ' + toMove, 'moved'),
        figure('Skipped', s.skippedVMs, 'skipped'),
        figure('Failed', s.failedVMs, 'failed', s.failedVMs > 0),
        figure('Elapsed', duration(s.elapsedSeconds), 'elapsed'),
        figure('Time left', s.etaSeconds != null ? '~' + duration(s.etaSeconds) : '–', 'eta')),
      h('div', { class: 'overall' }, bar(toMove ? done / toMove : 1, s.failedVMs ? 'warn' : '')),
      h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'VMID'), h('th', {}, 'Name'), h('th', {}, 'Move'), h('th', {}, 'Status'), h('th', {}, 'Progress'))),
        h('tbody', {}, vms.map((v) => h('tr', { 'data-vmid': v.vmid, 'data-status': v.status },
          h('td', { class: 'num mono' }, v.vmid),
          nameCell(v),
          h('td', {}, v.targetNode ? [v.sourceNode || s.node, h('span', { class: 'arrow' }, ' → '), v.targetNode,
            v.migrationType ? h('span', { class: 'note' }, ' (' + v.migrationType + ')') : null] : h('span', { class: 'muted' }, 'stays')),
          h('td', {}, badge(v.status)),
          vmProgress(v))))));
  }));
  renderNodes();
}

let rolloutsKey = '';
/** The latest rollouts: each node's step, and the button an operator needs now (continue, or cancel). */
function renderRollouts() {
  const list = state.rollouts || [];
  const running = list.filter((r) => !ROLLOUT_ENDED.includes(r.state)).length;
  $('rollouts-section').hidden = list.length === 0;
  $('rollouts-count').textContent = running ? '(' + running + ' running)' : '';
  const key = JSON.stringify(list);
  if (key === rolloutsKey) return;
  rolloutsKey = key;
  $('rollouts').replaceChildren(...list.map((r) => {
    const ended = ROLLOUT_ENDED.includes(r.state);
    return h('div', { class: 'drain rollout', 'data-rollout': r.rolloutId, 'data-state': r.state },
      h('div', { class: 'head' },
        h('span', { class: 'title' }, 'Rollout of ' + r.steps.map((s) => s.node).join(', ')),
        badge(r.state),
        h('span', { class: 'muted' }, r.completedNodes + ' / ' + r.totalNodes + ' done · action ' + r.request.action),
        h('span', { class: 'muted mono' }, r.rolloutId.slice(0, 8)),
        h('span', { class: 'spacer' }),
        r.awaitingContinue ? h('button', { type: 'button', class: 'primary small', 'data-action': 'continue',
          onclick: () => continueRollout(r) }, 'Continue ' + r.awaitingContinue) : null,
        ended ? null : h('button', { type: 'button', class: 'danger small', 'data-action': 'cancel-rollout', onclick: () => openCancelRollout(r) }, 'Cancel…')),
      h('div', { class: 'reason', 'data-field': 'message' }, r.message),
      h('div', { class: 'steps' }, r.steps.map((s) => h('div', { class: 'step', 'data-node': s.node, 'data-state': s.state, title: s.message },
        h('span', { class: 'name' }, s.node), badge(s.state), h('span', { class: 'muted' }, s.phase),
        s.action && s.action.exitStatus !== null && s.action.exitStatus !== undefined
          ? h('span', { class: s.action.exitStatus === 0 ? 'muted' : 'err' }, 'exit ' + s.action.exitStatus) : null))));
  }));
}

/** The go-ahead for the node the rollout waits on, named, so that a late click never lets another node go on. */
async function continueRollout(r) {
  try {
    const updated = await api('POST', '/api/v1/rollouts/' + encodeURIComponent(r.rolloutId) + '/continue?node=' + encodeURIComponent(r.awaitingContinue));
    state.rollouts = state.rollouts.map((x) => (x.rolloutId === updated.rolloutId ? updated : x));
    renderRollouts();
  } catch (e) {
    if (!(e instanceof AuthError)) showBanner('Continue refused: ' + e.message);
  }
}

function openCancelRollout(r) {
  openConfirm('Cancel the rollout of ' + r.steps.map((s) => s.node).join(', '), 'Cancel rollout', true);
  $('confirm-options').replaceChildren(h('p', {}, 'No new node starts; the drain or undrain under way is cancelled and a running command stopped. '
    + (r.currentNode ? r.currentNode + ' stays as it is (in maintenance once it was taken out).' : '')));
  $('confirm-ok').disabled = false;
  confirmAction = async () => {
    await api('POST', '/api/v1/rollouts/' + encodeURIComponent(r.rolloutId) + '/cancel');
    await loadRollouts();
  };
}

/** A guest's name, marked when it is always-on: in a drain's card and in a plan. */
function nameCell(g) {
  return h('td', {}, g.name, g.alwaysOn ? h('span', { class: 'tag always-on', style: 'margin-left:6px' }, 'always-on') : null);
}

function figure(label, value, key, bad) {
  return h('div', { class: 'figure', 'data-figure': key }, h('div', { class: 'k' }, label), h('div', { class: 'v' + (bad ? ' bad' : '') }, value));
}

/** Elapsed and time left move on between events, at the pace the server's clock was last seen to run. */
function tick() {
  const now = Date.now();
  for (const d of state.drains.values()) {
    const card = document.querySelector('[data-drain="' + d.status.drainId + '"]');
    if (!card) continue;
    const passed = (now - d.at) / 1000 * d.rate;
    if (d.status.elapsedSeconds != null) card.querySelector('[data-figure="elapsed"] .v').textContent = duration(d.status.elapsedSeconds + passed);
    if (d.status.etaSeconds != null) card.querySelector('[data-figure="eta"] .v').textContent = '~' + duration(Math.max(0, d.status.etaSeconds - passed));
  }
}

function renderHistory() {
  const rows = state.history.map((s) => {
    const took = s.startedAt && s.completedAt ? (new Date(s.completedAt) - new Date(s.startedAt)) / 1000 : s.elapsedSeconds;
    return h('tr', { 'data-drain': s.drainId, 'data-status': s.status },
      h('td', {}, s.node),
      h('td', {}, s.operation + (s.drainMode && s.operation === 'drain' ? ' (' + s.drainMode + ')' : '')),
      h('td', {}, badge(s.status)),
      h('td', {}, when(s.startedAt)),
      h('td', { class: 'num' }, duration(took)),
      h('td', { class: 'num' }, s.completedVMs),
      h('td', { class: 'num' }, s.skippedVMs),
      h('td', { class: 'num' + (s.failedVMs ? ' err' : '') }, s.failedVMs),
      h('td', { class: 'muted' }, s.message || '',
        s.vmStatus.filter((v) => v.status === 'failed').map((v) => h('div', { class: 'err' }, v.vmid + ' ' + v.name + ': ' + (v.error || 'failed')))));
  });
  $('history').tBodies[0].replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No drain yet.'))]));
}

function unreachable(e) {
  showBanner('Cannot reach the Moxxie server (' + e.message + '). Retrying when the event stream reconnects.');
}

function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

// ---------------------------------------------------------------- actions with confirmation

let confirmAction = null;

function openConfirm(title, okLabel, danger) {
  $('confirm-title').textContent = title;
  $('confirm-options').replaceChildren();
  $('confirm-plan').replaceChildren();
  $('confirm-error').hidden = true;
  const ok = $('confirm-ok');
  ok.textContent = okLabel;
  ok.className = danger ? 'danger' : 'primary';
  ok.disabled = true;
  if (!$('confirm-dialog').open) $('confirm-dialog').showModal();
}

function confirmError(message) {
  $('confirm-error').textContent = message;
  $('confirm-error').hidden = false;
}

function planTable(plan) {
  const order = { block: 0, move: 1, skip: 2 };
  const rows = [...plan.vms].sort((a, b) => (order[a.action] - order[b.action]) || a.vmid - b.vmid).map((e) =>
    h('tr', { 'data-vmid': e.vmid, 'data-action': e.action },
      h('td', { class: 'num mono' }, e.vmid),
      nameCell(e),
      h('td', {}, badge(e.action === 'block' ? 'blocked' : e.action, e.action === 'move' ? 'in_progress' : e.action === 'block' ? 'failed' : 'skipped')),
      h('td', {}, e.targetNode ? ['→ ', e.targetNode, e.migrationType ? h('span', { class: 'note' }, ' (' + e.migrationType + ')') : null] : ''),
      h('td', { class: 'num' }, gib(e.maxmem)),
      h('td', { class: 'muted' }, e.reason || '')));
  return h('div', { class: 'plan' }, h('table', { class: 'grid', id: 'plan-table' },
    h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'VMID'), h('th', {}, 'Name'), h('th', {}, 'Plan'), h('th', {}, 'Target'), h('th', { class: 'num' }, 'Memory'), h('th', {}, 'Why'))),
    h('tbody', {}, rows)));
}

/** Shows the dry run's plan; the confirmation is enabled when nothing is blocked or allowBlocked(plan) says so. Errors show in the dialog. */
async function showPlan(node, body, allowBlocked) {
  $('confirm-plan').replaceChildren(h('p', { class: 'muted' }, 'Asking the planner…'));
  $('confirm-ok').disabled = true;
  let plan;
  try {
    plan = await api('POST', '/api/v1/nodes/' + encodeURIComponent(node) + '/drain?dryRun=true', body);
  } catch (e) {
    if (!(e instanceof AuthError)) confirmError(e.message);
    return;
  }
  $('confirm-plan').replaceChildren(
    h('p', { class: 'plan-summary', id: 'plan-summary' }, h('strong', {}, plan.moveVMs + ' move'), ' · ' + plan.skipVMs + ' stay · ',
      h('span', { class: plan.blockedVMs ? 'err' : '' }, plan.blockedVMs + ' cannot move'), ' — ' + plan.message),
    planTable(plan));
  const refused = plan.blockedVMs > 0 && !allowBlocked(plan);
  if (refused) confirmError('A soft drain refuses to start while a guest cannot move: choose hard mode, or fix the guests listed.');
  $('confirm-ok').disabled = refused;
}

function openDrain(node) {
  openConfirm('Drain ' + node, 'Start drain', false);
  const mode = h('select', { id: 'drain-mode' }, h('option', { value: 'soft' }, 'soft — tag policy decides'), h('option', { value: 'hard' }, 'hard — move everything that can move'));
  const max = h('input', { id: 'drain-max', type: 'text', value: 'auto', size: 5, title: 'a whole number, or auto' });
  $('confirm-options').replaceChildren(h('div', { class: 'row' },
    h('label', {}, 'Mode', mode), h('label', {}, 'Migrations at once', max)),
    h('p', { class: 'muted' }, 'This is the plan the drain would follow now (a dry run: nothing has moved yet).'));
  const body = () => {
    const b = { drainMode: mode.value };
    const m = max.value.trim();
    if (m && m !== 'auto') b.maxConcurrent = /^\d+$/.test(m) ? Number(m) : m;
    else b.maxConcurrent = 'auto';
    return b;
  };
  const preview = () => showPlan(node, body(), () => mode.value === 'hard');
  mode.addEventListener('change', () => { $('confirm-error').hidden = true; $('confirm-ok').textContent = 'Start ' + mode.value + ' drain'; preview(); });
  max.addEventListener('change', () => { $('confirm-error').hidden = true; preview(); });
  $('confirm-ok').textContent = 'Start soft drain';
  preview();
  confirmAction = async () => {
    const s = await api('POST', '/api/v1/nodes/' + encodeURIComponent(node) + '/drain', body());
    upsertDrain(s, Date.now());
    renderDrains();
  };
}

function openUndrain(node) {
  openConfirm('Undrain ' + node, 'Start undrain', false);
  const last = state.history.find((s) => s.node === node && s.operation === 'drain');
  const back = last ? last.vmStatus.filter((v) => v.status === 'completed') : [];
  $('confirm-options').replaceChildren(h('p', {}, last
    ? 'Brings back the guests the last drain of ' + node + ' (' + when(last.startedAt) + ') moved away and that are still where it put them:'
    : 'No drain of ' + node + ' is in the recent history: the server will say what, if anything, there is to bring back.'));
  if (back.length) {
    $('confirm-plan').replaceChildren(h('div', { class: 'plan' }, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'VMID'), h('th', {}, 'Name'), h('th', {}, 'Returns from'))),
      h('tbody', {}, back.map((v) => h('tr', {}, h('td', { class: 'num mono' }, v.vmid), h('td', {}, v.name), h('td', {}, v.targetNode + ' → ' + node)))))));
  }
  $('confirm-ok').disabled = false;
  confirmAction = async () => {
    const s = await api('POST', '/api/v1/nodes/' + encodeURIComponent(node) + '/undrain');
    upsertDrain(s, Date.now());
    renderDrains();
  };
}

function openCancel(s) {
  openConfirm('Cancel the ' + s.operation + ' of ' + s.node, 'Cancel ' + s.operation, true);
  const moving = s.vmStatus.filter((v) => v.status === 'in_progress').length;
  const waiting = s.vmStatus.filter((v) => v.status === 'pending').length;
  $('confirm-options').replaceChildren(h('p', {}, 'No new migration starts. ' + moving + ' guest(s) moving now finish their move; '
    + waiting + ' waiting guest(s) stay on ' + s.node + '. The node stays in maintenance.'));
  $('confirm-ok').disabled = false;
  confirmAction = async () => {
    const r = await api('POST', '/api/v1/nodes/' + encodeURIComponent(s.node) + '/drain/' + encodeURIComponent(s.drainId) + '/cancel');
    showStatus(r, Date.now());
    renderDrains();
  };
}

function openMaintenance(node, on) {
  const n = state.nodes.find((x) => x.node === node) || {};
  if (on) {
    openConfirm('Put ' + node + ' in maintenance', 'Start maintenance', false);
    const reason = h('input', { id: 'maint-reason', type: 'text', size: 40, maxlength: 500, placeholder: 'e.g. kernel update' });
    const drain = h('input', { id: 'maint-drain', type: 'checkbox' });
    $('confirm-options').replaceChildren(
      h('p', {}, 'The planner stops placing guests on ' + node + '. Guests already there stay unless you drain it.'),
      h('label', {}, 'Reason', reason), h('label', {}, drain, ' and drain it now (soft mode; the plan is shown below)'));
    drain.addEventListener('change', () => {
      $('confirm-error').hidden = true;
      if (drain.checked) showPlan(node, { drainMode: 'soft' }, () => false);
      else { $('confirm-plan').replaceChildren(); $('confirm-ok').disabled = false; }
    });
    $('confirm-ok').disabled = false;
    confirmAction = async () => {
      const q = new URLSearchParams();
      if (drain.checked) q.set('drain', 'true');
      if (reason.value.trim()) q.set('reason', reason.value.trim());
      await api('POST', '/api/v1/nodes/' + encodeURIComponent(node) + '/maintenance' + (q.toString() ? '?' + q : ''));
      await loadAll();
    };
  } else {
    openConfirm('End maintenance of ' + node, 'End maintenance', false);
    const undrain = h('input', { id: 'maint-undrain', type: 'checkbox' });
    $('confirm-options').replaceChildren(
      h('p', {}, node + (n.maintenanceReason ? ' is in maintenance: ' + n.maintenanceReason + '.' : ' is in maintenance.') + ' The planner may place guests on it again.'),
      h('label', {}, undrain, ' and bring back the guests its last drain moved away (undrain)'));
    $('confirm-ok').disabled = false;
    confirmAction = async () => {
      await api('DELETE', '/api/v1/nodes/' + encodeURIComponent(node) + '/maintenance' + (undrain.checked ? '?undrain=true' : ''));
      await loadAll();
    };
  }
}

async function onConfirm(ev) {
  ev.preventDefault();
  if (!confirmAction) return;
  $('confirm-ok').disabled = true;
  try {
    await confirmAction();
    confirmAction = null;
    $('confirm-dialog').close();
  } catch (e) {
    if (e instanceof AuthError) { $('confirm-dialog').close(); return; }
    confirmError(e.message + (e.data && e.data.blocked ? ' — ' + e.data.blocked.map((b) => b.vmid + ' ' + b.name + ': ' + b.reason).join('; ') : ''));
    $('confirm-ok').disabled = false;
  }
}

// ---------------------------------------------------------------- start

/** Follows the event stream, which reads everything once it is open (a 401 asks for the token). */
function start() {
  setLive('connecting', 'connecting…');
  stream(++state.streamGeneration);
}

document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', onTokenSubmit);
  $('token-button').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); state.streamGeneration++; askForToken(); });
  $('token-button').hidden = !sessionStorage.getItem(TOKEN_KEY);
  $('confirm-form').addEventListener('submit', onConfirm);
  $('confirm-cancel').addEventListener('click', () => { confirmAction = null; $('confirm-dialog').close(); });
  setInterval(tick, 1000);
  setInterval(() => { if ($('live').dataset.state === 'live') loadRollouts().catch(() => {}); }, ROLLOUT_POLL_MS);
  start();
});
