// The job execution monitor. Reads the public API only; every piece of data reaches the page
// through textContent or a DOM property, never innerHTML (worker names and reasons are arbitrary).
// uPlot (modulepreloaded by the page) is imported alongside the API calls, not before them.
// Every URL is relative to this file, so the page also works behind a proxy that serves the service
// under a path of its own (https://ops.example/job-metrics/ → http://service/).
/** The service's root: the folder above this file's /dashboard/. */
const API_ROOT = new URL('../', import.meta.url);

const PRESETS = [1, 24, 168, 720];
const DEFAULT_HOURS = 24;
const DRILL_LIMIT = 50;
const STATES = ['completed', 'retryable', 'discarded', 'cancelled', 'snoozed'];

const $ = (id) => document.getElementById(id);
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

// ---------- formatting (the API is unrounded; the page rounds) ----------

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const formatCount = (n) => integer.format(n);

export function formatRate(rate) {
  if (rate === null) return '—';
  const text = (rate * 100).toFixed(1);
  if (text === '100.0' && rate < 1) return '>99.9%';
  if (text === '0.0' && rate > 0) return '<0.1%';
  return `${text}%`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 10) return `${oneDecimal.format(ms)} ms`;
  if (ms < 1000) return `${integer.format(ms)} ms`;
  if (ms < 60_000) return `${twoDecimals.format(ms / 1000)} s`;
  return `${oneDecimal.format(ms / 60_000)} min`;
}

export function windowLabel(hours) {
  if (hours === 1) return 'last hour';
  if (hours % 24 === 0 && hours >= 48) return `last ${hours / 24} days`;
  return `last ${formatCount(hours)} hours`;
}

const utc = (iso) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
const share = (part, whole) => formatRate(whole === 0 ? 0 : part / whole);

// ---------- the view in the URL ----------

function readView() {
  const params = new URLSearchParams(location.search);
  const hours = params.get('hours') ?? String(DEFAULT_HOURS);
  const worker = params.get('worker') ?? '';
  return { hours, worker };
}

function viewUrl({ hours, worker }) {
  const params = new URLSearchParams();
  params.set('hours', hours);
  if (worker) params.set('worker', worker);
  return `${location.pathname}?${params}`;
}

function syncControls({ hours, worker }) {
  const preset = PRESETS.includes(Number(hours)) ? hours : 'custom';
  for (const radio of document.querySelectorAll('input[name="preset"]')) radio.checked = radio.value === String(preset);
  $('hours').value = hours;
  $('hours').closest('label').hidden = preset !== 'custom';
  $('worker').value = worker;
}

function navigate(view) {
  const url = viewUrl(view);
  if (url !== location.pathname + location.search) history.pushState(null, '', url);
  void load();
}

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, title, detail, retryAfter) {
    super(detail);
    this.status = status;
    this.title = title;
    this.retryAfter = retryAfter;
  }
}

// With READ_TOKEN set, reads need `Authorization: Bearer …`; the token stays in this tab's session.
const TOKEN_KEY = 'job-metrics:read-token';

/**
 * Ids are bigints: past 2^53 a number would show other digits than the row holds. Such an integer
 * is kept as its source text (JSON.parse's reviver context; browsers without it show the number).
 */
const exactIntegers = (_key, value, context) =>
  typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source) ? context.source : value;

async function getJson(path, signal) {
  let response;
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { accept: 'application/json', authorization: `Bearer ${token}` } : { accept: 'application/json' };
  try {
    response = await fetch(new URL(path, API_ROOT), { signal, headers });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The API is not reachable', 'The service did not answer. Is it running? Check the network and retry.');
  }
  if (response.ok) return JSON.parse(await response.text(), exactIntegers);
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    // A proxy's HTML error page: fall back to the status line.
  }
  throw new ApiError(
    response.status,
    problem.title ?? `HTTP ${response.status}`,
    problem.detail ?? response.statusText,
    response.headers.get('retry-after'),
  );
}

let uPlotLoading;
/**
 * uPlot, once it has loaded. A failed fetch (a 503 while the service sheds load, a network blip) is
 * not kept: the next load, Retry's included, imports it again, as the browser allows.
 */
function loadUPlot() {
  uPlotLoading ??= import('./vendor/uPlot.esm.js').then(
    (module) => module.default,
    () => {
      uPlotLoading = undefined;
      throw new ApiError(0, 'The chart library did not load', 'The page could not fetch its chart library. Check the network and retry.');
    },
  );
  return uPlotLoading;
}
void loadUPlot().catch(() => {});

const metricsBase = (worker) => (worker ? `metrics/worker/${encodeURIComponent(worker)}` : 'metrics/system');

// ---------- rendering ----------

function setMetric(name, value, text, title) {
  const node = document.querySelector(`[data-metric="${name}"]`);
  node.textContent = text;
  node.dataset.value = value === null ? '' : String(value);
  node.title = title ?? '';
}

function renderSummary(metrics, view) {
  const hours = metrics.window.hours;
  $('summary-title').textContent = view.worker ? `Worker ${view.worker}` : 'System (all workers)';
  const retention = metrics.meta?.retention;
  // Before the retention horizon raw rows are pruned: the rollups count from the window's hour on.
  $('window-range').textContent = `${windowLabel(hours)}: ${utc(metrics.window.from)} → ${utc(metrics.window.to)}` + (retention
    ? `. Rows before ${utc(retention.horizon)} were pruned (RETENTION_DAYS): their counts come from the rollups, counted from ${utc(retention.counted_from)}; the executions list shows only rows still kept.`
    : '');
  document.title = `${view.worker || 'System'} · ${windowLabel(hours)} · Job executions`;

  setMetric('executions', metrics.executions, formatCount(metrics.executions));
  setMetric('success_rate', metrics.success_rate, formatRate(metrics.success_rate),
    metrics.success_rate === null ? 'No executions in the window' : `${metrics.states.completed} of ${metrics.executions} completed`);
  for (const state of STATES) setMetric(state, metrics.states[state], formatCount(metrics.states[state]));
  for (const key of ['avg', 'p50', 'p95', 'p99', 'max']) {
    const value = metrics.duration_ms === null ? null : metrics.duration_ms[key];
    setMetric(key, value, formatDuration(value), value === null ? 'No durations recorded in the window' : `${value} ms`);
  }

  const empty = $('empty');
  empty.hidden = metrics.executions > 0;
  empty.textContent = `No executions ${view.worker ? 'for this worker ' : ''}in the ${windowLabel(hours)}.` +
    (view.worker ? ' The worker has run before: try a longer window.' : '');
}

function reasonBar({ label, note, count, total, kind, onSelect }) {
  const item = el('li', `bar bar-${kind}`);
  // Without onSelect (the reasons left out of the list) there is nothing to open: not a button.
  const button = el(onSelect ? 'button' : 'div', 'bar-button');
  if (onSelect) button.type = 'button';
  const name = el('span', 'bar-label');
  name.append(el('span', 'bar-text', label));
  if (note) name.append(el('span', 'bar-note', note));
  name.title = label;
  const track = el('span', 'bar-track');
  const fill = el('span', 'bar-fill');
  fill.style.width = total === 0 ? '0' : `${Math.max((count / total) * 100, count > 0 ? 0.5 : 0)}%`;
  track.append(fill);
  const figure = el('span', 'bar-count', formatCount(count));
  figure.dataset.value = String(count);
  const percent = el('span', 'bar-share', share(count, total));
  // The accessible name is the visible text plus hidden words around it, never a separate label,
  // so what a speech-input user reads on the bar is what names it (WCAG 2.5.3).
  button.append(name, el('span', 'sr-only', ': '), track, figure, el('span', 'sr-only', ' cancellations, '), percent);
  if (onSelect) {
    button.append(el('span', 'sr-only', '. Show the executions.'));
    button.addEventListener('click', onSelect);
  } else {
    button.setAttribute('role', 'group');
    button.setAttribute('aria-label', `${label}${note ? ` (${note})` : ''}: ${formatCount(count)} cancellations, ${share(count, total)}.`);
  }
  item.append(button);
  return item;
}

/** How a stored reason reads on the page: quoted exactly, so "unknown" never looks like Unknown. */
const quoted = (reason) => `“${reason}”`;

/**
 * The largest reasons the page asks for; the rest come summed in other_reasons. Reasons that embed
 * ids can number 200,000 in a day: 9.5 MB of JSON, and as many bars for the browser to lay out.
 */
const LISTED_REASONS = 50;

function renderReasons(metrics, view) {
  const { total, unknown, by_reason: byReason, other_reasons: other } = metrics.cancellations;
  const list = $('reasons');
  list.replaceChildren();
  $('reasons-empty').hidden = total > 0;
  if (total === 0) return;
  const unknownItem = reasonBar({
    label: 'Unknown', note: 'no reason recorded', count: unknown, total, kind: 'unknown',
    onSelect: () => openDrill(view, { unknown: true }),
  });
  unknownItem.dataset.kind = 'unknown';
  list.append(unknownItem);
  for (const { reason, count } of byReason) {
    const item = reasonBar({
      label: quoted(reason), note: reason === '' ? 'empty text' : '', count, total, kind: 'reason',
      onSelect: () => openDrill(view, { reason }),
    });
    item.dataset.kind = 'reason';
    item.dataset.reason = reason;
    list.append(item);
  }
  if (other && other.count > 0) {
    const item = reasonBar({
      label: `${formatCount(other.reasons)} other ${other.reasons === 1 ? 'reason' : 'reasons'}`,
      note: 'not listed', count: other.count, total, kind: 'other',
    });
    item.dataset.kind = 'other';
    list.append(item);
  }
}

/** 24-hour UTC ticks, with the date at midnight: what an on-call engineer reads in logs. */
function axisTime(seconds) {
  const iso = new Date(seconds * 1000).toISOString();
  return iso.slice(11, 16) === '00:00' ? iso.slice(5, 10) : iso.slice(11, 16);
}

let chart;
let chartData;
let seriesPoints = [];

/** The chart's data as a table: up to 721 rows, so built only when someone opens it. */
function renderSeriesTable() {
  $('series-table').tBodies[0].replaceChildren(...seriesPoints.map((p) => {
    const row = el('tr');
    row.append(el('td', '', utc(p.start)), el('td', 'num', formatCount(p.executions)),
      el('td', 'num', formatCount(p.states.cancelled)), el('td', 'num', formatCount(p.unknown)));
    return row;
  }));
}

function chartSize() {
  const width = Math.max($('chart').clientWidth, 260);
  return { width, height: width < 500 ? 200 : 260 };
}

function renderSeries(series, uPlot) {
  const points = series.points;
  $('chart-note').textContent = `${formatCount(points.length)} ${series.bucket === 'hour' ? 'hourly' : 'daily'} buckets (UTC); ` +
    'the first and last buckets hold only the part inside the window.';
  chartData = [
    points.map((p) => Date.parse(p.start) / 1000),
    points.map((p) => p.executions),
    points.map((p) => p.states.cancelled),
    points.map((p) => p.unknown),
  ];
  seriesPoints = points;
  if ($('series-details').open) renderSeriesTable();
  const total = points.reduce((sum, p) => sum + p.executions, 0);
  $('chart').setAttribute('aria-label', `Executions and cancellations per ${series.bucket}, ${formatCount(points.length)} buckets, ` +
    `${formatCount(total)} executions in all. The table below holds the same data.`);
  if (chart) {
    chart.setData(chartData);
    return;
  }
  chart = new uPlot({
    ...chartSize(),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
    axes: [{ values: (_u, ticks) => ticks.map(axisTime) }, { values: (_u, ticks) => ticks.map((t) => formatCount(t)) }],
    series: [
      { label: 'Bucket (UTC)', value: (_u, ts) => (ts === null ? '—' : utc(new Date(ts * 1000).toISOString())) },
      { label: 'Executions', stroke: '#2f6fdf', width: 2, fill: 'rgba(47, 111, 223, 0.08)', value: (_u, v) => (v === null ? '—' : formatCount(v)) },
      { label: 'Cancelled', stroke: '#c2410c', width: 2, value: (_u, v) => (v === null ? '—' : formatCount(v)) },
      { label: 'Unknown reason', stroke: '#7c3aed', width: 2, dash: [6, 4], value: (_u, v) => (v === null ? '—' : formatCount(v)) },
    ],
  }, chartData, $('chart'));
}

// ---------- the drill-down ----------

const drill = { controller: undefined, params: undefined, cursor: null, opener: undefined };

function drillRow(execution) {
  const row = el('tr');
  const reasonCell = el('td');
  if (execution.state !== 'cancelled') reasonCell.textContent = '';
  else if (execution.cancel_reason === null) reasonCell.append(el('span', 'unknown-key', 'Unknown'));
  else reasonCell.textContent = quoted(execution.cancel_reason);
  row.append(
    el('td', 'nowrap', utc(execution.inserted_at)),
    el('td', 'worker-cell', execution.worker),
    el('td', 'num', `${execution.job_id} / ${execution.attempt}`),
    el('td', '', execution.state),
    reasonCell,
    el('td', 'num', formatDuration(execution.duration_ms)),
    el('td', '', execution.queue ?? '—'),
  );
  return row;
}

async function fetchDrillPage() {
  drill.controller?.abort();
  drill.controller = new AbortController();
  const params = new URLSearchParams(drill.params);
  if (drill.cursor) params.set('cursor', drill.cursor);
  $('drill-more').hidden = true;
  $('drill-status').textContent = 'Loading executions…';
  try {
    const page = await getJson(`job-executions?${params}`, drill.controller.signal);
    $('drill-rows').append(...page.executions.map(drillRow));
    drill.cursor = page.next_cursor;
    const shown = $('drill-rows').rows.length;
    const pruned = page.pruned ? ` Executions before ${utc(page.pruned.before)} were pruned and are not listed.` : '';
    $('drill-status').textContent = (shown === 0
      ? 'No executions found.'
      : `${formatCount(shown)} execution${shown === 1 ? '' : 's'} shown, newest first${drill.cursor ? '; more available' : ''}.`) + pruned;
    $('drill-more').hidden = !drill.cursor;
  } catch (error) {
    if (error.name === 'AbortError') return;
    $('drill-status').textContent = error.status === 404
      ? 'The execution listing (GET /job-executions) is not available on this service.'
      : `Could not list the executions: ${error.title}. ${error.message}`;
  }
}

function openDrill(view, which) {
  const params = new URLSearchParams({ hours: view.hours, state: 'cancelled', limit: String(DRILL_LIMIT) });
  if (view.worker) params.set('worker', view.worker);
  if (which.unknown) params.set('unknown', 'true');
  else params.set('reason', which.reason);
  drill.params = params.toString();
  drill.cursor = null;
  $('drill-title').textContent = which.unknown
    ? 'Cancelled with no reason recorded (Unknown)'
    : `Cancelled with reason ${quoted(which.reason)}`;
  $('drill-rows').replaceChildren();
  drill.opener = document.activeElement;
  $('drill').hidden = false;
  $('drill').focus();
  void fetchDrillPage();
}

function closeDrill() {
  drill.controller?.abort();
  if ($('drill').hidden) return;
  $('drill').hidden = true;
  if (drill.opener?.isConnected) drill.opener.focus();
}

// ---------- loading ----------

let loadController;
let workersLoaded;
let retryTimer;

const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

function showProblem(error, view) {
  $('content').hidden = true;
  $('problem').hidden = false;
  const home = $('problem-home');
  home.hidden = true;
  $('token-form').hidden = error.status !== 401;
  if (error.status === 401) {
    $('problem-title').textContent = 'This service needs a read token';
    $('problem-detail').textContent = sessionStorage.getItem(TOKEN_KEY)
      ? 'The token given was not accepted. Enter the service’s READ_TOKEN.'
      : 'Its reads are protected by READ_TOKEN. Enter it to see the dashboard.';
  } else if (error.status === 404 && view.worker) {
    $('problem-title').textContent = 'Unknown worker';
    $('problem-detail').textContent = `No execution has ever been recorded for the worker “${view.worker}”. Check the name, or pick one from the list.`;
    home.href = viewUrl({ hours: view.hours, worker: '' });
    home.hidden = false;
  } else if (error.status === 0) {
    $('problem-title').textContent = error.title;
    $('problem-detail').textContent = error.message;
  } else if (error.status === 503) {
    const seconds = Number(error.retryAfter) || 0;
    $('problem-title').textContent = `The service is unavailable (503 ${error.title})`;
    $('problem-detail').textContent = `${sentence(error.message)}${seconds ? ` Retrying automatically in ${seconds} s.` : ''}`;
    if (seconds) retryTimer = setTimeout(() => void load(), seconds * 1000);
  } else {
    $('problem-title').textContent = `${error.title} (${error.status})`;
    $('problem-detail').textContent = sentence(error.message);
  }
  $('status').textContent = `Error: ${$('problem-title').textContent}`;
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('token').value = '';
  workersLoaded = undefined;
  void load();
});

async function loadWorkers() {
  try {
    const { workers } = await getJson('metrics/workers');
    $('workers').replaceChildren(...workers.map(({ worker }) => {
      const option = document.createElement('option');
      option.value = worker;
      return option;
    }));
    $('workers-status').textContent = `${formatCount(workers.length)} workers; type to search`;
    $('workers').dataset.loaded = 'true';
  } catch (error) {
    $('workers-status').textContent = `The worker list could not be loaded (${error.title})`;
    workersLoaded = undefined;
  }
}

async function load() {
  const view = readView();
  syncControls(view);
  closeDrill();
  clearTimeout(retryTimer);
  loadController?.abort();
  const controller = (loadController = new AbortController());
  document.documentElement.dataset.state = 'loading';
  delete document.documentElement.dataset.ready;
  $('status').textContent = 'Loading…';

  const base = metricsBase(view.worker);
  const query = `hours=${encodeURIComponent(view.hours)}`;
  try {
    const [metrics, series, uPlot] = await Promise.all([
      getJson(`${base}?${query}&reasons=${LISTED_REASONS}`, controller.signal),
      getJson(`${base}/timeseries?${query}`, controller.signal),
      loadUPlot(),
    ]);
    $('problem').hidden = true;
    $('content').hidden = false;
    renderSummary(metrics, view);
    renderReasons(metrics, view);
    renderSeries(series, uPlot);
    $('status').textContent = `Showing ${view.worker ? `worker ${view.worker}` : 'all workers'}, ${windowLabel(metrics.window.hours)}.`;
    document.documentElement.dataset.state = 'ready';
  } catch (error) {
    if (error.name === 'AbortError') return;
    showProblem(error, view);
    document.documentElement.dataset.state = 'error';
  }
  document.documentElement.dataset.ready = 'true';
  performance.mark('data-ready');
  // The picker's list is a scan of every worker: fetched once, after the figures are on screen.
  workersLoaded ??= loadWorkers();
}

// ---------- wiring ----------

function currentForm() {
  const preset = document.querySelector('input[name="preset"]:checked')?.value ?? String(DEFAULT_HOURS);
  const hours = preset === 'custom' ? $('hours').value.trim() : preset;
  return { hours, worker: $('worker').value };
}

$('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  navigate(currentForm());
});
for (const radio of document.querySelectorAll('input[name="preset"]')) {
  radio.addEventListener('change', () => {
    if (radio.value === 'custom') {
      $('hours').closest('label').hidden = false;
      $('hours').focus();
    } else {
      navigate(currentForm());
    }
  });
}
$('worker').addEventListener('change', () => {
  // A pick from the list applies at once; free text waits for Enter or Show.
  if ([...$('workers').options].some((o) => o.value === $('worker').value)) navigate(currentForm());
});
$('all-workers').addEventListener('click', () => navigate({ ...currentForm(), worker: '' }));
$('retry').addEventListener('click', () => void load());
$('series-details').addEventListener('toggle', () => $('series-details').open && renderSeriesTable());
$('drill-close').addEventListener('click', closeDrill);
$('drill').addEventListener('keydown', (event) => event.key === 'Escape' && closeDrill());
$('drill-more').addEventListener('click', () => void fetchDrillPage());
window.addEventListener('popstate', () => void load());
new ResizeObserver(() => chart?.setSize(chartSize())).observe($('over-time'));

void load();
