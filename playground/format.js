// format.js: how the playground writes values and paths: values from Cu (README, "Values
// crossing to JS") as short text, Lua expressions for paths in Memory, and byte counts.

/** A stored function, or a table kept as serialized bytes, as it comes out of Cu. */
export const isOpaque = (v) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.type === 'string' &&
  typeof v.repr === 'string' && Object.keys(v).length === 2;

/** A value as one line of text: strings quoted, tables as JSON-like text, `nil` for nil. */
export function formatValue(v, max = Infinity) {
  let text;
  if (v === undefined || v === null) text = 'nil';
  else if (typeof v === 'string') text = JSON.stringify(v);
  else if (typeof v === 'bigint') text = String(v);
  else if (v instanceof Uint8Array) text = `<${v.length} bytes>`;
  else if (isOpaque(v)) text = v.repr;
  else if (typeof v === 'object') {
    const seen = new Set();
    try {
      text = JSON.stringify(v, (k, x) => {
        if (typeof x === 'bigint') return String(x);
        if (x instanceof Uint8Array) return `<${x.length} bytes>`;
        if (isOpaque(x)) return x.repr;
        if (x && typeof x === 'object') {
          if (seen.has(x)) return '<cycle>';
          seen.add(x);
        }
        return x;
      });
    } catch {
      text = String(v);
    }
  } else text = String(v);
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

const LUA_KEYWORDS = new Set(('and break do else elseif end false for function goto if in local nil not or ' +
  'repeat return then true until while').split(' '));

/** A Lua string literal for `s`. */
export function luaString(s) {
  return "'" + String(s).replace(/[\\'\x00-\x1f\x7f]/g, (c) => {
    const named = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' }[c];
    return named ?? '\\' + String(c.charCodeAt(0)).padStart(3, '0');
  }) + "'";
}

/** The Lua expression for the value at `keys` (an array) in Memory: Memory.users['a b'][3]. */
export function luaPath(keys) {
  let out = 'Memory';
  for (const k of keys) {
    if (typeof k === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !LUA_KEYWORDS.has(k)) out += '.' + k;
    else if (typeof k === 'string') out += `[${luaString(k)}]`;
    else out += `[${String(k)}]`;
  }
  return out;
}

/** 1536 → '1.5 KiB'. */
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}
