// storage-view.js: the playground's side panels, all read through the JS API of glue.js:
// the tree of tables in Memory (lua.stats(path).tables), the records of the selected table
// (lua.queryTable, 50 at a time by cursor), its indices (lua.indexes), a query form
// (lua.queryTable: rows and the plan from explain), the functions stored in Memory (values
// `{ type: 'function', repr }` in lua.getValue's snapshots) and lua.stats().
import { formatBytes, formatValue, isOpaque, luaPath } from './format.js';

const PAGE = 50;          // records and child tables shown per page
const SCAN_LIMIT = 1 << 20; // top-level tables larger than this (raw bytes) are not searched for functions

const h = (tag, props = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c != null));
  return el;
};
const id = (path) => JSON.stringify(path);
const errorText = (e) => `${e?.code || e?.name || 'Error'}: ${e?.message || e}`;

/** Parses a query form value: JSON when it is JSON, else the text as a string. */
export function parseQueryValue(text) {
  const t = text.trim();
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/**
 * The side panels. `getLua()` gives the current instance (or null while there is none);
 * `onCall(text)` receives a call of a stored function to put in the editor.
 */
export function createStorageView({ getLua, onCall }) {
  const $ = (i) => document.getElementById(i);
  const tree = $('table-tree'), view = $('table-view'), title = $('table-title');
  const indexesEl = $('indexes'), recordsEl = $('records'), moreButton = $('records-more');
  const form = $('query-form'), planEl = $('query-plan'), rowsEl = $('query-rows'), nextButton = $('query-next');
  const functionsEl = $('functions'), statsEl = $('stats');

  const expanded = new Set([id([])]); // the tree's open nodes (paths as JSON)
  const shownChildren = new Map();     // how many child tables a node shows
  let selected = null;                 // the path of the selected table
  let recordCursor = null;
  let lastQuery = null;                // { path, query, cursor } for "Next page"
  let generation = 0;                  // refreshes that began; an older one drops its result

  // ---- the tree ----

  // `memory` (optional): Memory's own { stats, count } as refresh() read them, so the root
  // is not read again.
  async function renderNode(lua, path, info, memory) {
    const key = id(path);
    const isRoot = path.length === 0;
    const open = expanded.has(key);
    const name = isRoot ? 'Memory' : String(path[path.length - 1]);
    const fullName = luaPath(path);
    const count = isRoot ? memory?.count ?? await lua.count([]) : info.records;
    const row = h('div', { class: 'node' + (selected && id(selected) === key ? ' selected' : '') },
      h('button', {
        type: 'button', class: 'twisty', 'aria-expanded': String(open),
        'aria-label': `${open ? 'Collapse' : 'Expand'} ${fullName}`, onclick: () => toggle(path),
      }, open ? '▾' : '▸'),
      h('button', {
        type: 'button', class: 'node-name', 'data-testid': 'table-node', 'data-path': fullName,
        'aria-current': selected && id(selected) === key ? 'true' : null, onclick: () => select(path),
      }, name),
      h('span', { class: 'node-count' }, `${count} ${count === 1 ? 'record' : 'records'}`),
      info?.indexes?.length ? h('span', { class: 'badge', title: 'indices' }, info.indexes.map((i) => i.field).join(', ')) : null);
    const li = h('li', {}, row);
    if (open) {
      const children = (isRoot && memory ? memory.stats : await lua.stats(path)).tables;
      const shown = shownChildren.get(key) ?? PAGE;
      const list = h('ul');
      for (const child of children.slice(0, shown)) list.append(await renderNode(lua, child.path, child));
      if (children.length > shown) {
        list.append(h('li', {}, h('button', {
          type: 'button', class: 'quiet more', 'data-testid': 'tree-more',
          onclick: () => (shownChildren.set(key, shown + PAGE), refreshTree()),
        }, `${children.length - shown} more tables…`)));
      }
      if (!children.length) list.append(h('li', { class: 'hint' }, 'no tables inside'));
      li.append(list);
    }
    return li;
  }

  async function refreshTree(memory) {
    const lua = getLua();
    if (!lua) return;
    const mine = ++generation;
    try {
      const root = h('ul', { class: 'tree-root' }, await renderNode(lua, [], null, memory));
      if (mine === generation) tree.replaceChildren(root);
    } catch (e) {
      if (mine === generation) tree.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    }
  }

  function toggle(path) {
    const key = id(path);
    if (expanded.has(key)) expanded.delete(key);
    else expanded.add(key);
    refreshTree().then(() => tree.querySelector(`[data-path="${CSS.escape(luaPath(path))}"]`)?.previousElementSibling?.focus());
  }

  async function select(path) {
    selected = path;
    lastQuery = null;
    rowsEl.replaceChildren();
    planEl.hidden = true;
    nextButton.hidden = true;
    await Promise.all([refreshTree(), refreshTable()]);
    tree.querySelector(`[data-path="${CSS.escape(luaPath(path))}"]`)?.focus();
  }

  // ---- the selected table ----

  const recordRow = (row) =>
    h('tr', {},
      h('th', { scope: 'row', class: 'key' }, formatValue(row.key, 60)),
      h('td', { class: 'value', title: formatValue(row.value, 2000) }, formatValue(row.value, 160)));

  const recordTable = (rows, testid) =>
    h('table', { class: 'rows', 'data-testid': testid },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'key' }, 'key'), h('th', { scope: 'col' }, 'value'))),
      h('tbody', {}, rows.map(recordRow)));

  async function refreshTable() {
    const lua = getLua();
    if (!lua || !selected) {
      view.hidden = true;
      return;
    }
    const path = selected;
    view.hidden = false;
    try {
      const [count, indexes, rows] = await Promise.all([
        lua.count(path), lua.indexes(path), lua.queryTable(path, { limit: PAGE }),
      ]);
      if (path !== selected) return;
      title.textContent = `${luaPath(path)}: ${count} ${count === 1 ? 'record' : 'records'}`;
      indexesEl.replaceChildren(indexes.length
        ? h('ul', { class: 'index-list' }, indexes.map((i) =>
          h('li', { 'data-testid': 'index' }, h('code', {}, i.field), ` ${i.type}${i.unique ? ', unique' : ''}`)))
        : h('p', { class: 'hint' }, 'No indices. In Lua: ext.createIndex(\'' + path.join('.') + '\', \'field\')'));
      recordCursor = rows.cursor;
      recordsEl.replaceChildren(rows.length ? recordTable(rows, 'record-rows') : h('p', { class: 'hint' }, 'No records.'));
      moreButton.hidden = recordCursor == null;
    } catch (e) {
      if (e?.code === 'NOT_A_TABLE' && path === selected) { // it was replaced by a value
        selected = null;
        view.hidden = true;
        return;
      }
      title.textContent = luaPath(path);
      indexesEl.replaceChildren();
      recordsEl.replaceChildren(h('p', { class: 'error' }, errorText(e)));
      moreButton.hidden = true;
    }
  }

  moreButton.addEventListener('click', async () => {
    const lua = getLua(), path = selected;
    if (!lua || !path || recordCursor == null) return;
    try {
      const rows = await lua.queryTable(path, { limit: PAGE, cursor: recordCursor });
      if (path !== selected) return;
      recordsEl.querySelector('tbody')?.append(...rows.map(recordRow));
      recordCursor = rows.cursor;
      moreButton.hidden = recordCursor == null;
    } catch (e) {
      recordsEl.append(h('p', { class: 'error' }, errorText(e)));
    }
  });

  // ---- the query form ----

  function readQuery() {
    const data = new FormData(form);
    const query = {};
    const field = String(data.get('field')).trim();
    if (field) Object.assign(query, { field, operator: data.get('op'), value: parseQueryValue(String(data.get('value'))) });
    const orderBy = String(data.get('orderBy')).trim();
    if (orderBy) query.orderBy = orderBy;
    query.order = data.get('order');
    const limit = String(data.get('limit')).trim();
    if (limit) query.limit = Number(limit);
    return query;
  }

  function showPlan(plan, rows, total) {
    const where = plan.type === 'scan' ? 'a scan of the table (no index used)' : `${plan.type} index on ${plan.index}`;
    planEl.textContent = `Plan: ${where}; ${plan.examined} records examined; sorted afterwards: ${plan.sorted ? 'yes' : 'no'}. ` +
      `${total} ${total === 1 ? 'match' : 'matches'}, ${rows} shown.`;
    planEl.dataset.planType = plan.type;
    planEl.dataset.planIndex = plan.index ?? '';
    planEl.hidden = false;
  }

  async function runQuery(cursor) {
    const lua = getLua(), path = selected;
    if (!lua || !path) return;
    const query = cursor ? { ...lastQuery.query, cursor } : readQuery();
    try {
      const [rows, plan, total] = await Promise.all([
        lua.queryTable(path, query),
        lua.queryTable(path, { ...query, cursor: undefined, explain: true }),
        lua.queryTable(path, { ...query, cursor: undefined, count: true }),
      ]);
      lastQuery = { path, query: { ...query, cursor: undefined } };
      showPlan(plan, rows.length, total);
      const table = rows.length ? recordTable(rows, 'query-result-rows') : h('p', { class: 'hint' }, 'No records match.');
      if (cursor) rowsEl.append(table);
      else rowsEl.replaceChildren(table);
      nextButton.hidden = rows.cursor == null;
      lastQuery.cursor = rows.cursor;
    } catch (e) {
      planEl.hidden = true;
      nextButton.hidden = true;
      rowsEl.replaceChildren(h('p', { class: 'error', 'data-testid': 'query-error' }, errorText(e)));
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runQuery(null);
  });
  nextButton.addEventListener('click', () => lastQuery?.cursor != null && runQuery(lastQuery.cursor));

  // ---- stored functions ----

  async function findFunctions(lua, memoryStats) {
    const found = [], skipped = [];
    const typedKeys = new Map(); // a table's real keys (numbers stay numbers), when needed
    const realKey = async (path, k) => {
      if (!/^-?\d+(\.\d+)?$/.test(k)) return k;
      const cache = id(path);
      if (!typedKeys.has(cache)) typedKeys.set(cache, await lua.keys(path));
      return typedKeys.get(cache).find((x) => x === k) ?? typedKeys.get(cache).find((x) => String(x) === k) ?? k;
    };
    const walk = async (value, path) => {
      if (isOpaque(value)) {
        if (value.type === 'function') found.push(path);
      } else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) await walk(value[i], [...path, i + 1]);
      } else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
        for (const [k, v] of Object.entries(value)) await walk(v, [...path, await realKey(path, k)]);
      }
    };
    const sizes = new Map((memoryStats ?? await lua.stats([])).tables.map((t) => [id(t.path), t.rawBytes]));
    for (const key of await lua.keys([])) {
      if ((sizes.get(id([key])) ?? 0) > SCAN_LIMIT) {
        skipped.push([key]);
        continue;
      }
      await walk(await lua.getValue([], key), [key]);
    }
    return { found, skipped };
  }

  async function refreshFunctions(memoryStats) {
    const lua = getLua();
    if (!lua) return;
    try {
      const { found, skipped } = await findFunctions(lua, memoryStats);
      const items = found.map((path) => {
        const call = `print(${luaPath(path)}())`;
        return h('li', {},
          h('button', {
            type: 'button', class: 'function', 'data-testid': 'function', 'data-path': luaPath(path),
            title: `Add ${call} to the editor`, onclick: () => onCall(call),
          }, h('code', {}, luaPath(path))));
      });
      if (!found.length) items.push(h('li', { class: 'hint' }, 'None yet. The counter example stores one.'));
      for (const path of skipped) items.push(h('li', { class: 'hint' }, `${luaPath(path)} not searched (over ${formatBytes(SCAN_LIMIT)})`));
      functionsEl.replaceChildren(...items);
    } catch (e) {
      functionsEl.replaceChildren(h('li', { class: 'error' }, errorText(e)));
    }
  }

  // ---- statistics ----

  // Shows `memory` ({ stats, count } of Memory, read by refresh()).
  async function refreshStats(memory) {
    try {
      const { stats: s, count: ownKeys } = await memory;
      const bytes = (n) => `${n.toLocaleString('en')} B` + (n >= 1024 ? ` (${formatBytes(n)})` : '');
      const rows = [
        ['memory-keys', 'Keys in Memory itself', ownKeys.toLocaleString('en')],
        ['records', "Records of Memory's tables", s.records.toLocaleString('en')],
        ['raw-bytes', 'Raw bytes', bytes(s.rawBytes)],
        ['stored-bytes', 'Stored bytes', bytes(s.storedBytes)],
        ['compression-ratio', 'Compression ratio', `${s.compressionRatio.toFixed(2)} : 1`],
        ['index-bytes', 'Index bytes', bytes(s.indexBytes)],
        ['lua-heap', 'Lua heap used / limit', `${formatBytes(s.luaHeap.used)} / ${formatBytes(s.luaHeap.limit)}`],
        ['lua-heap-peak', 'Lua heap peak', formatBytes(s.luaHeap.peak)],
        ['wasm-memory', 'WebAssembly memory', formatBytes(s.moduleMemory.wasmMemory)],
        ['module-heap', 'Module heap used', formatBytes(s.moduleMemory.heapUsed)],
        ['instructions', 'Instructions, last run', `≈ ${s.lastInstructions.toLocaleString('en')}`],
        ['compression', 'Compression', s.compression.level === 'off' ? 'off' : `${s.compression.level}, over ${s.compression.threshold} B`],
      ];
      statsEl.replaceChildren(...rows.flatMap(([key, label, value]) => [
        h('dt', {}, label), h('dd', { 'data-testid': `stat-${key}` }, value),
      ]));
    } catch (e) {
      statsEl.replaceChildren(h('dd', { class: 'error' }, errorText(e)));
    }
  }

  return {
    /** Reads everything again (after a run, a reset, a new instance). */
    async refresh() {
      const lua = getLua();
      if (!lua) return refreshTable(); // (which hides the table view)
      // Memory's statistics and key count, read once for the three panels, and first:
      // reading a stored function runs Lua, which resets lastInstructions.
      const reading = (async () => ({ stats: await lua.stats(), count: await lua.count([]) }))();
      await refreshStats(reading);
      const memory = await reading.catch(() => undefined); // (refreshStats showed the error)
      await Promise.all([refreshTree(memory), refreshTable(), refreshFunctions(memory?.stats)]);
    },
    /** Forgets the selection (after a reset). */
    forget() {
      selected = null;
      lastQuery = null;
      expanded.clear();
      expanded.add(id([]));
      shownChildren.clear();
      rowsEl.replaceChildren();
      planEl.hidden = true;
      nextButton.hidden = true;
    },
  };
}
