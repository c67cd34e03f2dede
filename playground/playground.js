// playground.js: the Cu playground page (index.html, which imports glue.js and calls
// startPlayground). Starts one Cu instance on the IndexedDB database 'playground' (storage
// 'auto': a memory store and a warning where IndexedDB cannot be opened), runs the editor's
// Lua with print output, returned values and errors (code, message, line, violations),
// loads the examples, resets the database, and refreshes the side panels (storage-view.js)
// after every run.
import { createEditor } from './editor.js';
import { EXAMPLES, WELCOME } from './examples.js';
import { formatValue } from './format.js';
import { createStorageView } from './storage-view.js';

const DATABASE = 'playground';    // IndexedDB database 'cu:playground'
const CHUNK_NAME = '=input';      // errors read "input:3: ..."
const DRAFT_KEY = 'cu-playground:code';
const HEAP_SIZE = 8 << 20;
const INSTRUCTION_LIMIT = 2e8;    // a runaway loop stops after a few seconds (INSTRUCTION_LIMIT)

const $ = (i) => document.getElementById(i);
const statusEl = $('status'), versionEl = $('engine-version'), storageEl = $('storage-kind');
const runButton = $('run'), resetButton = $('reset'), output = $('output'), runInfo = $('run-info');

const setStatus = (text) => (statusEl.textContent = text);

// ---- output ----

const MAX_PRINTED = 5000; // printed lines kept per run; the rest are counted
let printed = 0, dropped = null, scrollPending = false;

// Keeps the output scrolled to its end, once a frame however much is printed.
function scrollOutput() {
  if (scrollPending) return;
  scrollPending = true;
  requestAnimationFrame(() => {
    scrollPending = false;
    output.scrollTop = output.scrollHeight;
  });
}

function clearOutput() {
  output.replaceChildren();
  printed = 0;
  dropped = null;
}

function line(text, kind, testid) {
  const el = document.createElement('div');
  el.className = 'line ' + kind;
  if (testid) el.dataset.testid = testid;
  el.textContent = text;
  output.append(el);
  scrollOutput();
  return el;
}

// print and io.write output: after MAX_PRINTED lines, only a count of the rest.
function print(text, stream) {
  if (printed++ < MAX_PRINTED) return line(text, stream === 'stderr' ? 'stderr' : 'stdout');
  dropped ??= line('', 'note', 'output-dropped');
  dropped.textContent = `… ${printed - MAX_PRINTED} more printed lines not shown`;
}

function showError(e) {
  const block = document.createElement('div');
  block.className = 'error-block';
  block.dataset.testid = 'error';
  const head = document.createElement('div');
  head.className = 'error-head';
  const code = document.createElement('strong');
  code.dataset.testid = 'error-code';
  code.textContent = e?.code || e?.name || 'Error';
  const message = document.createElement('span');
  message.dataset.testid = 'error-message';
  message.textContent = e?.message ?? String(e);
  head.append(code, ': ', message);
  block.append(head);
  const lineNumber = e?.details?.line;
  if (lineNumber != null) {
    const where = document.createElement('div');
    where.dataset.testid = 'error-line';
    where.textContent = `line ${lineNumber}`;
    block.append(where);
  }
  if (Array.isArray(e?.violations) && e.violations.length) block.append(violationTable(e.violations));
  if (e?.record != null) {
    const rec = document.createElement('div');
    rec.textContent = `record: ${formatValue(e.record)}`;
    block.append(rec);
  }
  if (e?.code === 'INSTANCE_DEAD') {
    const next = document.createElement('div');
    next.textContent = 'A new instance starts at the next run; Memory holds what the last successful run saved.';
    block.append(next);
  }
  if (e?.suggestion && e.code !== 'INSTANCE_DEAD') {
    const hint = document.createElement('div');
    hint.className = 'hint';
    hint.textContent = e.suggestion;
    block.append(hint);
  }
  if (e?.details?.traceback) {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'traceback';
    const pre = document.createElement('pre');
    pre.textContent = e.details.traceback;
    details.append(summary, pre);
    block.append(details);
  }
  output.append(block);
  scrollOutput();
  return lineNumber;
}

function violationTable(violations) {
  const table = document.createElement('table');
  table.className = 'rows violations';
  table.dataset.testid = 'violations';
  const caption = table.createCaption();
  caption.textContent = `violations (${violations.length})`;
  const head = table.createTHead().insertRow();
  for (const name of ['path', 'rule', 'expected', 'got']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = name;
    head.append(th);
  }
  const body = table.createTBody();
  for (const v of violations) {
    const row = body.insertRow();
    row.dataset.testid = 'violation';
    for (const value of [v.path, v.rule, formatValue(v.expected), formatValue(v.got)]) row.insertCell().textContent = value;
  }
  return table;
}

const saveDraft = (text) => {
  try {
    localStorage.setItem(DRAFT_KEY, text);
  } catch {} // storage refused (private mode, opaque origin): the draft is just not kept
};
const loadDraft = () => {
  try {
    return localStorage.getItem(DRAFT_KEY);
  } catch {
    return null;
  }
};

// ---- the page ----

/** Runs the playground in this page with glue.js's `CuWASM`. */
export function startPlayground({ CuWASM }) {
  let lua = null;
  let storageKind = null; // 'indexeddb' or 'memory'
  let busy = false;

  // ---- the instance ----

  async function start() {
    const warnings = [];
    lua = await CuWASM.init({
      name: DATABASE,
      storage: 'auto',
      heapSize: HEAP_SIZE,
      instructionLimit: INSTRUCTION_LIMIT,
      onPrint: print,
      onWarning: (w) => warnings.push(w),
    });
    storageKind = lua.warnings.length ? 'memory' : 'indexeddb';
    storageEl.textContent = storageKind === 'indexeddb'
      ? `storage: IndexedDB (cu:${DATABASE})`
      : 'storage: memory (IndexedDB unavailable: nothing is saved)';
    storageEl.dataset.kind = storageKind;
    for (const w of warnings) line(`${w.code}: ${w.message}`, 'warning');
    versionEl.textContent = await lua.compute('return _VERSION');
  }

  // One run or reset at a time: both buttons off and `label` in the status line while
  // `work` runs (output and error mark cleared first); `work` resolves to the status to show
  // after, once the storage view is refreshed.
  async function exclusive(label, work) {
    if (busy) return;
    busy = true;
    runButton.disabled = resetButton.disabled = true;
    setStatus(label);
    clearOutput();
    editor.clearError();
    const after = await work();
    await view.refresh();
    setStatus(after);
    busy = false;
    runButton.disabled = resetButton.disabled = false;
  }

  const run = () =>
    exclusive('running…', async () => {
      runInfo.textContent = '';
      try {
        if (!lua) await start();
        const began = performance.now();
        const values = await lua.computeAll(editor.value, { chunkName: CHUNK_NAME });
        const ms = performance.now() - began;
        if (values.length) line('→ ' + values.map((v) => formatValue(v)).join(', '), 'result', 'result');
        runInfo.textContent = `ran in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
        return 'done';
      } catch (e) {
        const lineNumber = showError(e);
        if (lineNumber != null) editor.markError(lineNumber);
        if (lua && e?.code === 'INSTANCE_DEAD') {
          const dead = lua;
          lua = null; // a new instance at the next run
          try {
            await dead.close();
          } catch {} // it is gone either way
        }
        return 'error';
      }
    });

  // Deletes everything: the IndexedDB database itself (schemas and indices go with it), or in
  // a memory store every key of Memory.
  const reset = () =>
    exclusive('resetting…', async () => {
      let after = 'ready';
      try {
        if (lua && storageKind === 'memory') {
          const keys = await lua.keys([]);
          await lua.batchTableOperations(keys.map((key) => ({ type: 'delete', table: [], key })));
        } else {
          await lua?.close();
          lua = null;
          await new Promise((resolve, reject) => {
            const request = indexedDB.deleteDatabase('cu:' + DATABASE);
            request.onsuccess = () => resolve();
            request.onerror = () => reject(request.error);
            request.onblocked = () => line('Waiting for other tabs of the playground to let go of the database…', 'warning');
          });
          await start();
        }
        line('The database was reset: Memory is empty.', 'result', 'reset-done');
      } catch (e) {
        after = 'error';
        showError(e);
      }
      view.forget();
      return after;
    });

  const editor = createEditor({
    textarea: $('code'),
    gutter: $('gutter'),
    gutterLines: $('gutter-lines'),
    errorBand: $('error-band'),
    onRun: run,
    onChange: saveDraft,
  });
  editor.value = loadDraft() ?? WELCOME;

  const view = createStorageView({
    getLua: () => lua,
    onCall: (call) => editor.insertLine(call),
  });

  const exampleButtons = $('examples');
  EXAMPLES.forEach((example, i) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'example';
    button.dataset.testid = `example-${example.id}`;
    button.dataset.example = example.id;
    button.textContent = `${i + 1}. ${example.title}`;
    button.addEventListener('click', () => {
      editor.value = example.code;
      clearOutput();
      line(`Example "${example.title}" loaded: press Run (or Ctrl+Enter).`, 'note');
    });
    exampleButtons.append(button);
  });

  runButton.addEventListener('click', run);
  $('clear-output').addEventListener('click', clearOutput);

  resetButton.addEventListener('click', () => {
    const sure = window.confirm('Reset the database? This deletes everything in Memory (records, indices, ' +
      'schemas, stored functions) from this browser. It cannot be undone.');
    if (sure) reset();
  });

  busy = true;
  start().then(
    async () => {
      await view.refresh();
      setStatus('ready');
    },
    (e) => {
      setStatus('failed to load');
      storageEl.textContent = 'storage: none';
      showError(e);
    },
  ).finally(() => {
    busy = false;
    runButton.disabled = resetButton.disabled = false;
  });
}
