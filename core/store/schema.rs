//! schema.rs: the schema of an external table's records (issue 6). A schema is an ordinary
//! store table in the system area (catalog.rs): the definition as given, checked once by
//! `Validator::check` when it is defined or loaded, then read directly while records are
//! validated (`Validator::record`). There is no second, compiled form to keep in step with
//! rollbacks: undoing a transaction undoes the schema with the data.
//!
//! A rule is a table of: `type` (string, number, integer, boolean, table, array, function,
//! any; absent: any), `required`, `default` (filled in when the field is missing),
//! `min`/`max` (numbers), `minLength`/`maxLength` (strings, in UTF-8 characters), `pattern`
//! (a Lua pattern, found anywhere in the string as `string.find` does), `enum` (an array of
//! booleans, numbers and strings), `fields` (field → rule), `additionalFields` (false: no
//! fields but those), `items` (the rule of every element of an array), `minItems`/`maxItems`.
//! A rule applies to values of its kind only: `minLength` without `type` checks strings
//! and lets numbers pass. Every problem is reported, not just the first.

use super::{ChangeKind, Key, NodeId, Savepoint, Store, Value, MAX_DEPTH, ROOT};
use alloc::rc::Rc;
use alloc::vec::Vec;

/// One problem of a record: where, which rule, what the rule wants, what was there.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub struct Violation {
    /// Keys from the record down (the record's key first).
    pub path: Vec<Key>,
    pub rule: &'static str,
    pub expected: Shown,
    pub got: Shown,
}

/// A value shown in a violation.
#[derive(Clone)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug, PartialEq))]
pub enum Shown {
    Nil,
    Key(Key),
    /// A type name.
    Text(&'static str),
    /// A table of the schema (the list of an `enum`).
    Table(NodeId),
}

/// Schema type names; index 0 is `any`.
const TYPES: [&str; 8] = ["any", "string", "number", "integer", "boolean", "table", "array", "function"];

/// The kind of a stored value, as schemas see it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nil,
    Boolean,
    Integer,
    Number,
    String,
    Table,
    Function,
    /// A table kept as serialized bytes (with a metatable, table keys or a cycle).
    Serialized,
}

impl Kind {
    fn of(v: Option<&Value>) -> Kind {
        match v {
            None => Kind::Nil,
            Some(Value::Key(Key::Bool(_))) => Kind::Boolean,
            Some(Value::Key(Key::Int(_))) => Kind::Integer,
            Some(Value::Key(Key::Float(_))) => Kind::Number,
            Some(Value::Key(_)) => Kind::String,
            Some(Value::Table(_)) => Kind::Table,
            Some(Value::Blob(b)) if b.func => Kind::Function,
            Some(Value::Blob(_)) => Kind::Serialized,
        }
    }

    fn name(self) -> &'static str {
        ["nil", "boolean", "integer", "number", "string", "table", "function", "serialized table"][self as usize]
    }
}

fn text(s: &'static str) -> Shown {
    Shown::Text(s)
}

/// A rule as validation reads it: its entries looked up once. Rule tables are never changed
/// in place (a new schema is new tables; rollbacks bring back the old ones unchanged), so
/// a rule read stays right while its node lives: the store keeps them by node and slot
/// generation (`RuleCache`).
#[derive(Default)]
pub struct Rule {
    /// Index in `TYPES`.
    ty: usize,
    required: bool,
    /// Has a `default`.
    default: bool,
    /// `additionalFields` is not false.
    open: bool,
    /// Has a rule that looks inside tables (fields, items, additionalFields, min/maxItems).
    inspects: bool,
    min: Option<Key>,
    max: Option<Key>,
    /// minLength, maxLength, minItems, maxItems.
    bounds: [Option<i64>; 4],
    pattern: Option<Key>,
    one_of: Option<NodeId>,
    /// The `fields` table and each field's name and rule.
    fields: Option<(NodeId, Vec<(Key, Option<NodeId>)>)>,
    items: Option<NodeId>,
}

/// The rules read so far, by node and slot generation (`Store::rules`); emptied when it
/// grows past `RULES_KEPT`.
#[derive(Default)]
pub struct RuleCache(Vec<(NodeId, u32, Rc<Rule>)>);

const RULES_KEPT: usize = 256;

/// Validates values against rules, and checks rules. Defaults are written into the store
/// (through `Store::set`: recorded, undone with the transaction) when `fill` is set.
pub struct Validator<'a> {
    pub store: &'a mut Store,
    /// Whether the Lua pattern (second argument) is found in the string (first).
    pub matcher: &'a mut dyn FnMut(&[u8], &[u8]) -> bool,
    pub out: Vec<Violation>,
    pub fill: bool,
    path: Vec<Key>,
}

impl<'a> Validator<'a> {
    pub fn new(store: &'a mut Store, matcher: &'a mut dyn FnMut(&[u8], &[u8]) -> bool) -> Self {
        Validator { store, matcher, out: Vec::new(), fill: true, path: Vec::new() }
    }

    /// Validates the record `table[key]` against `rule`. A missing record is not checked.
    /// Its violations come in the order of their paths (keys in key order).
    pub fn record(&mut self, rule: NodeId, table: NodeId, key: &Key) {
        if self.store.get(table, key).is_some() {
            let at = self.out.len();
            self.path.clear();
            self.path.push(key.clone());
            self.at(rule, table, key);
            if self.out.len() - at < 2 {
                return;
            }
            let found = self.out.split_off(at);
            let ord = super::sort::order(found.len(), usize::MAX, &|a, b| {
                let (x, y) = (&found[a].path, &found[b].path);
                x.iter().zip(y).map(|(p, q)| p.order(q)).find(|o| o.is_ne()).unwrap_or(x.len().cmp(&y.len()))
            });
            let mut found: Vec<Option<Violation>> = found.into_iter().map(Some).collect();
            self.out.extend(ord.iter().filter_map(|&i| found[i as usize].take()));
        }
    }

    /// The rule stored at `node`, read once (a malformed one, which only a damaged store
    /// can hold, as `any`).
    fn rule(&mut self, node: NodeId) -> Rc<Rule> {
        let gen = self.store.generation(node);
        if let Some((_, _, r)) = self.store.rules.0.iter().find(|r| r.0 == node && r.1 == gen) {
            return r.clone();
        }
        let r = Rc::new(self.read(node).unwrap_or_default());
        let cache = &mut self.store.rules.0;
        if cache.len() >= RULES_KEPT {
            cache.clear();
        }
        cache.push((node, gen, r.clone()));
        r
    }

    /// Reads and checks the rule stored at `node`; Err names the entry that is wrong and why.
    fn read(&self, node: NodeId) -> Result<Rule, (Key, &'static str)> {
        let mut r = Rule { open: true, ..Rule::default() };
        for (k, v) in self.store.node(node).map(|n| n.map.iter()).into_iter().flatten() {
            let table = if let Value::Table(t) = v { Some(*t) } else { None };
            let int = if let Value::Key(Key::Int(i)) = v { Some(*i).filter(|i| *i >= 0) } else { None };
            let flag = if let Value::Key(Key::Bool(b)) = v { Some(*b) } else { None };
            let name = k.bytes().unwrap_or_default();
            let bound = ["minLength", "maxLength", "minItems", "maxItems"].iter().position(|b| b.as_bytes() == name);
            let ok = match name {
                b"type" => TYPES.iter().position(|t| Some(t.as_bytes()) == v.key().and_then(Key::bytes)).map(|i| r.ty = i),
                b"required" => flag.map(|b| r.required = b),
                b"additionalFields" => flag.map(|b| r.open = b),
                b"default" => Some(r.default = true),
                b"min" => v.scalar().filter(|k| matches!(k, Key::Int(_) | Key::Float(_))).map(|k| r.min = Some(k.clone())),
                b"max" => v.scalar().filter(|k| matches!(k, Key::Int(_) | Key::Float(_))).map(|k| r.max = Some(k.clone())),
                _ if bound.is_some() => int.map(|i| r.bounds[bound.unwrap_or(0)] = Some(i)),
                b"pattern" => match v.key().and_then(Key::bytes) {
                    Some(p) => match check_pattern(p) {
                        Ok(()) => Some(r.pattern = v.key().cloned()),
                        Err(why) => return Err((k.clone(), why)),
                    },
                    None => None,
                },
                b"enum" => table
                    .filter(|&t| {
                        let n = self.store.node(t).map_or(0, |n| n.map.len());
                        n > 0 && self.store.border(t) == n as i64 && self.store.node(t).is_some_and(|n| n.map.iter().all(|(_, x)| x.scalar().is_some()))
                    })
                    .map(|t| r.one_of = Some(t)),
                b"items" => table.map(|t| r.items = Some(t)),
                b"fields" => table.map(|t| r.fields = Some((t, self.entries(t)))),
                _ => return Err((k.clone(), "unknown rule (rules: type, required, default, min, max, minLength, maxLength, pattern, enum, fields, additionalFields, items, minItems, maxItems)")),
            };
            if ok.is_none() {
                let why = match name {
                    b"type" => "type is one of string, number, integer, boolean, table, array, function, any",
                    b"required" | b"additionalFields" => "must be true or false",
                    b"min" | b"max" => "must be a number",
                    b"pattern" => "must be a string (a Lua pattern)",
                    b"enum" => "enum is an array of booleans, numbers and strings",
                    b"items" => "items is a rule (a table)",
                    b"fields" => "fields is a table of rules",
                    _ => "must be an integer >= 0",
                };
                return Err((k.clone(), why));
            }
            r.inspects |= matches!(name, b"fields" | b"items" | b"additionalFields" | b"minItems" | b"maxItems");
        }
        Ok(r)
    }

    fn violation(&mut self, rule: &'static str, expected: Shown, got: Shown) {
        self.out.push(Violation { path: self.path.clone(), rule, expected, got });
    }

    /// The value itself if it is a scalar, else its kind's name.
    fn shown(&self, table: NodeId, key: &Key) -> Shown {
        let v = self.store.get(table, key);
        match v.and_then(Value::key) {
            Some(k) => Shown::Key(k.clone()),
            None => text(Kind::of(v).name()),
        }
    }

    /// Checks `table[key]` (at `self.path`) against the rule at `node`; a missing value with
    /// a default gets it (or, when only checking, passes). Returns whether a value is there.
    fn at(&mut self, node: NodeId, table: NodeId, key: &Key) -> bool {
        let rule = self.rule(node);
        let mut value = self.store.get(table, key);
        if value.is_none() && rule.default {
            if !self.fill {
                return false;
            }
            let v = self.store.get(node, &Key::str(b"default")).map(copy_of);
            if let Some(v) = v {
                let v = self.store_copy(v);
                let _ = self.store.set(table, key.clone(), Some(v));
            }
            value = self.store.get(table, key);
        }
        let kind = Kind::of(value);
        if kind == Kind::Nil {
            if rule.required {
                self.violation("required", Shown::Key(Key::Bool(true)), Shown::Nil);
            }
            return false;
        }
        let scalar = value.and_then(Value::key).cloned();
        let sub = match value {
            Some(Value::Table(n)) => Some(*n),
            _ => None,
        };
        self.value(&rule, table, key, kind, scalar, sub);
        true
    }

    /// `at` for a value that is there: its kind, the value if a scalar, the node if a table.
    fn value(&mut self, rule: &Rule, table: NodeId, key: &Key, kind: Kind, scalar: Option<Key>, sub: Option<NodeId>) {
        let sequence = sub.is_some_and(|n| self.store.node(n).is_some_and(|t| t.map.len() as i64 == self.store.border(n)));
        let fits = match rule.ty {
            1 => kind == Kind::String,
            2 => matches!(kind, Kind::Integer | Kind::Number),
            3 => kind == Kind::Integer || matches!(scalar, Some(Key::Float(f)) if f.is_finite() && f == (f as i64) as f64),
            4 => kind == Kind::Boolean,
            5 => matches!(kind, Kind::Table | Kind::Serialized),
            6 => sequence,
            7 => kind == Kind::Function,
            _ => true,
        };
        if !fits {
            return self.violation("type", text(TYPES[rule.ty]), text(kind.name()));
        }
        if let Some(list) = rule.one_of {
            let v = scalar.as_ref().filter(|k| !matches!(k, Key::Float(f) if f.is_nan())).map(Key::normalized);
            let listed = v.is_some() && self.store.node(list).is_some_and(|l| l.map.iter().any(|(_, x)| x.scalar().map(Key::normalized) == v));
            if !listed {
                let got = self.shown(table, key);
                self.violation("enum", Shown::Table(list), got);
            }
        }
        match scalar {
            Some(s @ (Key::Str(_) | Key::Short(..))) => {
                let s = s.bytes().unwrap_or_default();
                let chars = s.iter().filter(|&&b| b & 0xC0 != 0x80).count() as i64;
                self.bound(rule, 0, chars);
                if let Some(p) = &rule.pattern {
                    // (Copied out: the matcher runs Lua, whose finalizers may write to the store.)
                    if !(self.matcher)(s, p.bytes().unwrap_or_default()) {
                        self.violation("pattern", Shown::Key(p.clone()), Shown::Key(Key::str(s)));
                    }
                }
            }
            Some(n @ (Key::Int(_) | Key::Float(_))) => {
                for (name, limit, below) in [("min", &rule.min, true), ("max", &rule.max, false)] {
                    let Some(limit) = limit else { continue };
                    // NaN is outside every range.
                    let out = match n.compare(limit) {
                        _ if matches!(n, Key::Float(f) if f.is_nan()) => true,
                        Some(o) => o == if below { core::cmp::Ordering::Less } else { core::cmp::Ordering::Greater },
                        None => false,
                    };
                    if out {
                        self.violation(name, Shown::Key(limit.clone()), Shown::Key(n.clone()));
                    }
                }
            }
            _ => {}
        }
        if kind == Kind::Serialized && rule.inspects {
            return self.violation("type", text("plain table"), text(kind.name()));
        }
        let Some(sub) = sub else { return };
        if self.path.len() > MAX_DEPTH {
            return;
        }
        if let Some((fields, names)) = &rule.fields {
            let mut present = 0;
            for (name, field_rule) in names {
                let Some(field_rule) = *field_rule else { continue };
                self.path.push(name.clone());
                present += self.at(field_rule, sub, name) as usize;
                self.path.pop();
            }
            // Fields outside the schema, looked for only when some are there.
            let len = self.store.node(sub).map_or(0, |n| n.map.len());
            if !rule.open && len > present {
                let extra: Vec<Key> = self.store.node(sub).map_or(Vec::new(), |n| {
                    n.map.iter().filter(|(k, _)| self.store.get(*fields, k).is_none()).map(|(k, _)| k.clone()).collect()
                });
                for k in extra {
                    let got = self.shown(sub, &k);
                    self.path.push(k);
                    self.violation("additionalFields", Shown::Key(Key::Bool(false)), got);
                    self.path.pop();
                }
            }
        }
        if sequence {
            let n = self.store.border(sub);
            self.bound(rule, 2, n);
            if let Some(items) = rule.items {
                for i in 1..=n {
                    self.path.push(Key::Int(i));
                    self.at(items, sub, &Key::Int(i));
                    self.path.pop();
                }
            }
        }
    }

    /// The keys of a table, each with its value's node if that is a table.
    fn entries(&self, table: NodeId) -> Vec<(Key, Option<NodeId>)> {
        self.store.node(table).map_or(Vec::new(), |n| n.map.iter().map(|(k, v)| (k.clone(), if let Value::Table(t) = v { Some(*t) } else { None })).collect())
    }

    /// `min <= n <= max` for the bounds at `at` (0: lengths, 2: items).
    fn bound(&mut self, rule: &Rule, at: usize, n: i64) {
        const NAMES: [&str; 4] = ["minLength", "maxLength", "minItems", "maxItems"];
        if let Some(m) = rule.bounds[at].filter(|&m| n < m) {
            self.violation(NAMES[at], Shown::Key(Key::Int(m)), Shown::Key(Key::Int(n)));
        }
        if let Some(m) = rule.bounds[at + 1].filter(|&m| n > m) {
            self.violation(NAMES[at + 1], Shown::Key(Key::Int(m)), Shown::Key(Key::Int(n)));
        }
    }

    /// A stored copy of a default: tables are copied whole.
    fn store_copy(&mut self, v: Copy) -> Value {
        match v {
            Copy::Key(k) => Value::Key(k),
            Copy::Table(n) => Value::Table(self.store.copy_tree(n)),
            Copy::Blob(bytes, func) => self.store.blob(bytes.into(), func),
        }
    }

    /// Checks that `schema` is a well-formed rule and that each default satisfies its
    /// rule; the error says what is wrong, and `at_error` where (keys in the schema).
    pub fn definition(&mut self, schema: NodeId) -> Result<(), &'static str> {
        self.path.clear();
        self.check(schema)
    }

    /// Where in the schema `definition` found its error.
    pub fn at_error(&self) -> &[Key] {
        &self.path
    }

    fn check(&mut self, rule: NodeId) -> Result<(), &'static str> {
        if self.path.len() > MAX_DEPTH {
            return Err("nested too deep");
        }
        if self.store.node(rule).is_none() {
            return Err("a rule is a table");
        }
        let r = self.read(rule).map_err(|(k, why)| {
            self.path.push(k);
            why
        })?;
        if let Some(t) = r.items {
            self.path.push(Key::str(b"items"));
            self.check(t)?;
            self.path.pop();
        }
        if let Some((_, names)) = r.fields {
            self.path.push(Key::str(b"fields"));
            for (f, t) in names {
                self.path.push(f);
                self.check(t.ok_or("a field's rule is a table")?)?;
                self.path.pop();
            }
            self.path.pop();
        }
        // A default must pass its own rule (checked without filling anything in).
        let default = Key::str(b"default");
        if self.store.get(rule, &default).is_some() {
            let (fill, at) = (self.fill, self.out.len());
            self.fill = false;
            self.path.push(default.clone());
            self.at(rule, rule, &default);
            self.fill = fill;
            if self.out.len() > at {
                self.out.truncate(at);
                return Err("the default does not satisfy its rule");
            }
            self.path.pop();
        }
        Ok(())
    }
}

/// A default's value, copied out of the schema before it is stored.
enum Copy {
    Key(Key),
    Table(NodeId),
    Blob(Vec<u8>, bool),
}

fn copy_of(v: &Value) -> Copy {
    match v {
        Value::Key(k) => Copy::Key(k.clone()),
        Value::Table(n) => Copy::Table(*n),
        Value::Blob(b) => Copy::Blob(b.bytes.to_vec(), b.func),
    }
}

/// Checks the syntax of a Lua pattern as lstrlib.c's matcher would meet it, so that a bad
/// pattern is refused when its schema is defined, with the message Lua gives. (Matching is
/// Lua's own: the `Validator`'s matcher.)
pub fn check_pattern(p: &[u8]) -> Result<(), &'static str> {
    // Captures: for each, whether it was closed.
    let mut caps: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'(' => {
                if caps.len() >= 32 {
                    return Err("too many captures");
                }
                caps.push(p.get(i + 1) == Some(&b')'));
                i += 1 + caps.last().copied().unwrap_or(false) as usize;
                continue;
            }
            b')' => {
                let open = caps.iter().rposition(|&closed| !closed).ok_or("invalid pattern capture")?;
                caps[open] = true;
                i += 1;
                continue;
            }
            b'%' => match p.get(i + 1) {
                None => return Err("malformed pattern (ends with '%')"),
                Some(b'b') => {
                    if p.len() < i + 4 {
                        return Err("malformed pattern (missing arguments to '%b')");
                    }
                    i += 4;
                    continue;
                }
                Some(b'f') => {
                    if p.get(i + 2) != Some(&b'[') {
                        return Err("missing '[' after '%f' in pattern");
                    }
                    i = class_end(p, i + 2)?;
                    continue;
                }
                Some(&d) if d.is_ascii_digit() => {
                    let n = (d - b'0') as usize;
                    if n == 0 || !caps.get(n - 1).copied().unwrap_or(false) {
                        return Err("invalid capture index in pattern");
                    }
                    i += 2;
                    continue;
                }
                Some(_) => i += 2,
            },
            b'[' => i = class_end(p, i)?,
            _ => i += 1,
        }
        // A single-character class may be followed by a repetition.
        if matches!(p.get(i), Some(b'*' | b'+' | b'-' | b'?')) {
            i += 1;
        }
    }
    if caps.contains(&false) {
        return Err("unfinished capture");
    }
    Ok(())
}

/// The index after the set `[...]` starting at `p[at]` (lstrlib's classEnd).
fn class_end(p: &[u8], at: usize) -> Result<usize, &'static str> {
    let mut i = at + 1;
    if p.get(i) == Some(&b'^') {
        i += 1;
    }
    // The first character is part of the set even if it is `]`.
    loop {
        let c = *p.get(i).ok_or("malformed pattern (missing ']')")?;
        i += 1;
        if c == b'%' {
            if i >= p.len() {
                return Err("malformed pattern (missing ']')");
            }
            i += 1;
        }
        if p.get(i) == Some(&b']') {
            return Ok(i + 1);
        }
    }
}

/// A migration in progress (the migration engine's view): `table`'s records `keys` (in key
/// order) from `done` on are not migrated yet; `keys[from..done]` were migrated by the writes
/// being validated.
pub struct Migrating<'a> {
    pub table: &'a [Key],
    pub keys: &'a [Key],
    pub from: usize,
    pub done: usize,
}

impl Store {
    /// Validates, against their tables' schemas, the records that the writes since position
    /// `from` of the change set touched: a write anywhere in a record touches it, and a
    /// write replacing a table with a schema (or one on its path) touches all its records.
    /// Missing fields with defaults are filled in. While a migration runs (`migrating`), its
    /// table's records not migrated yet are left alone and the ones just migrated are all
    /// checked, touched or not. Violations come in table and key order, paths from `Memory`.
    pub fn validate_since(&mut self, from: Savepoint, matcher: &mut dyn FnMut(&[u8], &[u8]) -> bool, migrating: Option<&Migrating>) -> Vec<Violation> {
        let schemas = self.schemas();
        if schemas.is_empty() {
            return Vec::new();
        }
        // Each table's node (if it exists) and the nodes holding the steps of its path.
        let tables: Vec<(Vec<NodeId>, Option<NodeId>)> = schemas
            .iter()
            .map(|(path, _)| {
                let mut steps = Vec::new();
                let mut at = Some(ROOT);
                for k in path {
                    steps.push(at.unwrap_or(NodeId::MAX));
                    at = at.and_then(|n| match self.get(n, k) {
                        Some(Value::Table(c)) => Some(*c),
                        _ => None,
                    });
                }
                (steps, at)
            })
            .collect();
        // (table, Some(record) | None for all its records)
        let mut todo: Vec<(usize, Option<Key>)> = Vec::new();
        let mut walked = None;
        for (node, gen, key, kind) in self.changes.get(from.changes..).unwrap_or_default() {
            if *kind != ChangeKind::Value || self.slots.get(*node as usize).is_none_or(|s| s.gen != *gen) {
                continue;
            }
            for (i, (steps, table)) in tables.iter().enumerate() {
                if *table == Some(*node) {
                    todo.push((i, Some(key.clone())));
                }
                if steps.iter().zip(&schemas[i].0).any(|(n, k)| n == node && k == key) {
                    todo.push((i, None));
                }
            }
            // Every table above the written one: the record of a table with a schema.
            if walked != Some(*node) {
                walked = Some(*node);
                let mut at = *node;
                while let Some((p, k)) = self.node(at).and_then(|n| n.parent.as_ref()) {
                    for (i, (_, table)) in tables.iter().enumerate() {
                        if *table == Some(*p) {
                            todo.push((i, Some(k.clone())));
                        }
                    }
                    at = *p;
                }
            }
        }
        // A migration's records: those just migrated are all checked (first, in key order),
        // those not migrated yet are left for their own chunk.
        let mut explicit: (usize, &[Key]) = (usize::MAX, &[]);
        if let Some(m) = migrating {
            if let Some(i) = schemas.iter().position(|(p, _)| p == m.table) {
                let chunk = &m.keys[m.from.min(m.done)..m.done.min(m.keys.len())];
                let (first, last) = (chunk.first(), chunk.last());
                let checked = |k: &Key| {
                    let within = first.is_some_and(|f| f.order(k).is_le()) && last.is_some_and(|l| k.order(l).is_le());
                    within || m.keys.binary_search_by(|x| x.order(k)).is_ok_and(|j| j >= m.done)
                };
                todo.retain(|(t, k)| *t != i || !k.as_ref().is_some_and(checked));
                explicit = (i, chunk);
            }
        }
        let ord = super::sort::order(todo.len(), usize::MAX, &|a, b| {
            let (x, y) = (&todo[a], &todo[b]);
            x.0.cmp(&y.0).then_with(|| match (&x.1, &y.1) {
                (Some(p), Some(q)) => p.order(q),
                (p, q) => p.is_some().cmp(&q.is_some()),
            })
        });
        let mut v = Validator::new(self, matcher);
        let check = |v: &mut Validator, t: usize, k: &Key| {
            let Some(table) = tables[t].1 else { return };
            let at = v.out.len();
            v.record(schemas[t].1, table, k);
            for x in &mut v.out[at..] {
                let mut path = schemas[t].0.clone();
                path.append(&mut x.path);
                x.path = path;
            }
        };
        for k in explicit.1 {
            check(&mut v, explicit.0, k);
        }
        let mut last: Option<&(usize, Option<Key>)> = None;
        let mut all_done = Vec::new();
        for &j in &ord {
            let t = &todo[j as usize];
            if last == Some(t) || all_done.contains(&t.0) {
                continue;
            }
            last = Some(t);
            match &t.1 {
                Some(k) => check(&mut v, t.0, k),
                None => {
                    all_done.push(t.0);
                    for k in tables[t.0].1.map_or(Vec::new(), |n| v.store.sorted_keys(n)) {
                        check(&mut v, t.0, &k);
                    }
                }
            }
        }
        v.out
    }
}
