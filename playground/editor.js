// editor.js: the playground's Lua editor, a plain textarea with a line-number gutter kept in
// step with its lines and scrolling, Tab/Shift+Tab indenting by two spaces (Esc, then Tab,
// moves focus on), Ctrl+Enter or Cmd+Enter to run, and one line marked as the error line.

const INDENT = '  ';

/**
 * Wires the editor. `textarea`, `gutterLines` (the element holding the numbers, inside a
 * gutter that scrolls with the textarea) and `errorBand` (a highlight behind the textarea)
 * are elements; `onRun` is called for Ctrl/Cmd+Enter. Returns { get value, set value,
 * markError(line), clearError(), insertAtCursor(text), focus() }.
 */
export function createEditor({ textarea, gutter, gutterLines, errorBand, onRun, onChange }) {
  let lineCount = 0;
  let errorLine = null;
  let tabLeaves = false; // after Esc, the next Tab moves focus instead of indenting

  const metrics = () => {
    const style = getComputedStyle(textarea);
    return { lineHeight: parseFloat(style.lineHeight), paddingTop: parseFloat(style.paddingTop) };
  };

  function renderGutter() {
    const count = textarea.value.split('\n').length;
    if (count !== lineCount) {
      const numbers = [];
      for (let i = 1; i <= count; i++) numbers.push(`<div class="gutter-line" data-line="${i}">${i}</div>`);
      gutterLines.innerHTML = numbers.join('');
      lineCount = count;
      if (errorLine != null) markGutter();
    }
    syncScroll();
  }

  function syncScroll() {
    gutter.scrollTop = textarea.scrollTop;
    if (errorLine != null) placeBand();
  }

  function markGutter() {
    for (const el of gutterLines.querySelectorAll('.gutter-error')) el.classList.remove('gutter-error');
    const el = gutterLines.querySelector(`[data-line="${errorLine}"]`);
    if (el) {
      el.classList.add('gutter-error');
      el.title = 'error on this line';
    }
  }

  function placeBand() {
    const { lineHeight, paddingTop } = metrics();
    errorBand.style.top = `${paddingTop + (errorLine - 1) * lineHeight - textarea.scrollTop}px`;
    errorBand.style.height = `${lineHeight}px`;
  }

  function markError(line) {
    clearError();
    if (!Number.isInteger(line) || line < 1 || line > lineCount) return;
    errorLine = line;
    markGutter();
    placeBand();
    errorBand.hidden = false;
    textarea.setAttribute('aria-invalid', 'true');
    // Bring the line into view.
    const { lineHeight } = metrics();
    const top = (line - 1) * lineHeight;
    if (top < textarea.scrollTop || top > textarea.scrollTop + textarea.clientHeight - lineHeight * 2) {
      textarea.scrollTop = Math.max(0, top - textarea.clientHeight / 3);
    }
  }

  function clearError() {
    errorLine = null;
    errorBand.hidden = true;
    textarea.removeAttribute('aria-invalid');
    for (const el of gutterLines.querySelectorAll('.gutter-error')) {
      el.classList.remove('gutter-error');
      el.removeAttribute('title');
    }
  }

  // Inserts text at the selection, through the browser's editing (so undo works) where it can.
  function insertText(text) {
    textarea.focus();
    if (!document.execCommand?.('insertText', false, text)) {
      textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, 'end');
      textarea.dispatchEvent(new Event('input'));
    }
  }

  // Indents (or with `outdent`, unindents) the lines the selection touches.
  function indentLines(outdent) {
    const { value, selectionStart, selectionEnd } = textarea;
    const from = value.lastIndexOf('\n', selectionStart - 1) + 1;
    const endsAt = selectionEnd > selectionStart && value[selectionEnd - 1] === '\n' ? selectionEnd - 1 : selectionEnd;
    let to = value.indexOf('\n', endsAt);
    if (to < 0) to = value.length;
    const lines = value.slice(from, to).split('\n');
    const changed = lines.map((line) => (outdent ? line.replace(/^ {1,2}/, '') : INDENT + line));
    const delta = changed.map((l, i) => l.length - lines[i].length);
    textarea.setSelectionRange(from, to);
    insertText(changed.join('\n'));
    const start = Math.max(from, selectionStart + delta[0]);
    const end = selectionEnd + delta.reduce((a, b) => a + b, 0);
    textarea.setSelectionRange(start, Math.max(start, end));
  }

  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      onRun();
      return;
    }
    if (e.key === 'Escape') {
      tabLeaves = true;
      return;
    }
    if (e.key === 'Tab' && !tabLeaves && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      const multiline = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd).includes('\n');
      if (e.shiftKey || multiline) indentLines(e.shiftKey);
      else insertText(INDENT);
      return;
    }
    tabLeaves = false;
  });
  textarea.addEventListener('blur', () => (tabLeaves = false));
  textarea.addEventListener('input', () => {
    clearError();
    renderGutter();
    onChange?.(textarea.value);
  });
  textarea.addEventListener('scroll', syncScroll);
  new ResizeObserver(syncScroll).observe(textarea);

  return {
    get value() {
      return textarea.value;
    },
    set value(text) {
      textarea.value = text;
      textarea.scrollTop = 0;
      clearError();
      renderGutter();
      onChange?.(text);
    },
    markError,
    clearError,
    // Adds `text` as a line of its own after the line of the cursor.
    insertLine(text) {
      const { value, selectionEnd } = textarea;
      let at = value.indexOf('\n', selectionEnd);
      if (at < 0) at = value.length;
      textarea.setSelectionRange(at, at);
      insertText((value.length ? '\n' : '') + text);
    },
    focus: () => textarea.focus(),
    refresh: renderGutter,
  };
}
