//! query.rs: queries over the records of one external table.
//!
//! A query is conditions (AND), an order, and a page (cursor, offset, limit). The plan uses
//! the first condition that an index on its field can answer (a B-tree: every operator but
//! `!=` and `contains`; a hash: `=` and `in`); otherwise it scans every record. Every
//! candidate is checked against every condition.
//!
//! Order (docs/API): by the `order_by` field, else the first condition's field, else the
//! record key; values in the type order false < true < numbers < strings, records where
//! the field is nil (or a table, a blob, NaN) last; ties by record key; `desc` reverses it
//! all. When the plan's B-tree is on the order field, its entries already come in that
//! order and the query stops after its page; otherwise the matches are selected and
//! sorted. A cursor is the sort key of a page's last row: `encode(field value)` (or `05`
//! for none) followed by `encode(record key)`.

use super::index::{value_range, IndexKind};
use super::value::{order_opt, Key, NodeId, Value};
use super::{sort, Store, StoreError};
use crate::index::keys::{self, prefix_successor, string_prefix_range, type_range};
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::ops::Bound;

#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
pub enum Op {
    Eq = 1,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Between,
    In,
    Contains,
    StartsWith,
}

impl Op {
    pub fn from_code(c: u8) -> Option<Op> {
        const ALL: [Op; 10] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Between, Op::In, Op::Contains, Op::StartsWith];
        ALL.get((c as usize).wrapping_sub(1)).copied()
    }

    /// The name JS and Lua use (`=` also answers to `==`, `eq`...: see the parsers).
    pub fn from_name(s: &[u8]) -> Option<Op> {
        Some(match s {
            b"=" | b"==" => Op::Eq,
            b"!=" | b"~=" => Op::Ne,
            b"<" => Op::Lt,
            b"<=" => Op::Le,
            b">" => Op::Gt,
            b">=" => Op::Ge,
            b"between" => Op::Between,
            b"in" => Op::In,
            b"contains" => Op::Contains,
            b"startsWith" => Op::StartsWith,
            _ => return None,
        })
    }
}

/// A field path inside a record (`address.city` is two keys).
pub struct Field {
    pub path: Vec<Key>,
    hash: u32,
}

impl Field {
    pub fn new(path: Vec<Key>) -> Field {
        let hash = path.first().map_or(0, Key::hash);
        Field { path, hash }
    }
}

pub struct Cond {
    pub field: Field,
    pub op: Op,
    /// One operand; two for between; any number for in.
    pub args: Vec<Key>,
}

impl Cond {
    /// Checks the operand count; operands are normalized keys.
    pub fn new(field: Field, op: Op, args: Vec<Key>) -> Result<Cond, StoreError> {
        let ok = match op {
            Op::Between => args.len() == 2,
            Op::In => true,
            _ => args.len() == 1,
        };
        if !ok || field.path.is_empty() {
            return Err(StoreError::Bad("bad condition: between takes [lo, hi], in a list, the others one value"));
        }
        Ok(Cond { field, op, args: args.iter().map(Key::normalized).collect() })
    }
}

#[derive(Default)]
pub struct Query {
    pub conds: Vec<Cond>,
    pub order_by: Option<Field>,
    pub desc: bool,
    pub limit: Option<usize>,
    pub offset: usize,
    pub cursor: Option<Vec<u8>>,
    pub count: bool,
}

#[derive(Default)]
pub struct Plan<'a> {
    /// The index used: its field and whether it is a hash index.
    pub index: Option<(&'a Key, bool)>,
    /// Index entries or records looked at.
    pub examined: usize,
    /// The matches had to be sorted (no index delivered them in order).
    pub sorted: bool,
}

pub struct Outcome<'a> {
    pub rows: Vec<(&'a Key, &'a Value)>,
    /// Matches in all (ignoring cursor, offset and limit); only computed with `count`.
    pub count: usize,
    pub cursor: Option<Vec<u8>>,
    pub plan: Plan<'a>,
}

/// The value at `field` of `record`.
fn field_of<'a>(store: &'a Store, record: &Value, field: &Field) -> Option<&'a Value> {
    let Value::Table(mut n) = *record else { return None };
    let mut v: Option<&'a Value> = None;
    for (i, k) in field.path.iter().enumerate() {
        if i > 0 {
            let Some(&Value::Table(c)) = v else { return None };
            n = c;
        }
        let map = &store.node(n)?.map;
        v = Some(if i == 0 { map.get_hashed(k, field.hash)? } else { map.get(k)? });
    }
    v
}

fn equal(a: &Key, b: &Key) -> bool {
    match (a, b) {
        // Same representation: plain equality (strings are stored canonically, short ones
        // in place); integers against floats need the numeric comparison.
        (Key::Short(..), Key::Short(..)) | (Key::Int(_), Key::Int(_)) | (Key::Bool(_), Key::Bool(_)) | (Key::Str(_), Key::Str(_)) => a == b,
        (Key::Short(..), Key::Str(_)) | (Key::Str(_), Key::Short(..)) => false,
        _ => a.order(b) == Ordering::Equal,
    }
}

fn matches(store: &Store, cond: &Cond, v: Option<&Value>) -> bool {
    let s = v.and_then(Value::scalar);
    let a = &cond.args;
    let cmp = |k: &Key| s.and_then(|s| s.compare(k));
    match cond.op {
        Op::Eq => s.is_some_and(|s| equal(s, &a[0])),
        Op::Ne => !s.is_some_and(|s| equal(s, &a[0])),
        Op::Lt => cmp(&a[0]).is_some_and(Ordering::is_lt),
        Op::Le => cmp(&a[0]).is_some_and(Ordering::is_le),
        Op::Gt => cmp(&a[0]).is_some_and(Ordering::is_gt),
        Op::Ge => cmp(&a[0]).is_some_and(Ordering::is_ge),
        Op::Between => cmp(&a[0]).is_some_and(Ordering::is_ge) && cmp(&a[1]).is_some_and(Ordering::is_le),
        Op::In => s.is_some_and(|s| a.iter().any(|k| equal(s, k))),
        Op::StartsWith => matches!((s.and_then(Key::bytes), a[0].bytes()), (Some(s), Some(p)) if s.starts_with(p)),
        Op::Contains => match (v, s.and_then(Key::bytes), &a[0]) {
            (_, Some(s), p) if p.bytes().is_some() => {
                let p = p.bytes().unwrap_or_default();
                p.is_empty() || s.windows(p.len()).any(|w| w == p)
            }
            (Some(Value::Table(n)), _, k) => {
                (1..=store.border(*n)).any(|i| store.get(*n, &Key::Int(i)).and_then(Value::scalar).is_some_and(|e| equal(e, k)))
            }
            _ => false,
        },
    }
}

/// The B-tree ranges holding the entries that can satisfy `cond`, ascending.
fn ranges(cond: &Cond) -> Vec<(Vec<u8>, Vec<u8>)> {
    let enc = |k: &Key| {
        let mut v = Vec::new();
        k.encode(&mut v);
        v
    };
    let succ = |k: &Key| prefix_successor(&enc(k)).unwrap_or_default();
    let a = &cond.args;
    // The encodings of a's type: numbers and strings only (booleans do not order in Lua).
    let class = |k: &Key| match k {
        Key::Int(_) | Key::Float(_) => Some(type_range(keys::TAG_NUMBER)),
        Key::Str(_) | Key::Short(..) => Some(type_range(keys::TAG_STRING)),
        Key::Bool(_) => None,
    };
    let r = |lo: Vec<u8>, hi: Vec<u8>| if lo < hi { alloc::vec![(lo, hi)] } else { Vec::new() };
    match cond.op {
        Op::Eq => alloc::vec![value_range(&a[0])],
        Op::In => {
            let v: Vec<_> = a.iter().map(value_range).collect();
            let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for i in sort::order(v.len(), usize::MAX, &|x, y| v[x].cmp(&v[y])) {
                if out.last() != Some(&v[i as usize]) {
                    out.push(v[i as usize].clone());
                }
            }
            out
        }
        Op::StartsWith => match a[0].bytes() {
            Some(p) => {
                let (lo, hi) = string_prefix_range(p);
                r(lo, hi)
            }
            _ => Vec::new(),
        },
        Op::Between if a[0].compare(&a[1]).is_none() => Vec::new(),
        _ => match class(&a[0]) {
            None => Vec::new(),
            Some((lo, hi)) => match cond.op {
                Op::Lt => r(lo.to_vec(), enc(&a[0])),
                Op::Le => r(lo.to_vec(), succ(&a[0])),
                Op::Gt => r(succ(&a[0]), hi.to_vec()),
                Op::Ge => r(enc(&a[0]), hi.to_vec()),
                _ => r(enc(&a[0]), succ(&a[1])),
            },
        },
    }
}

/// Sort key of a row, the cursor format.
fn sort_key(fv: Option<&Key>, key: &Key) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    match fv {
        Some(v) => v.encode(&mut out),
        None => out.push(keys::TAG_STRING + 1),
    }
    key.encode(&mut out);
    out
}

fn parse_cursor(c: &[u8]) -> Option<(Option<Key>, Key)> {
    let (fv, rest) = if c.first() == Some(&(keys::TAG_STRING + 1)) { (None, &c[1..]) } else {
        let (k, rest) = Key::decode(c)?;
        (Some(k), rest)
    };
    let (key, rest) = Key::decode(rest)?;
    rest.is_empty().then_some((fv, key))
}

/// Runs `q` over the records of `node` (a missing table has none).
pub fn run<'a>(store: &'a Store, node: Option<NodeId>, q: &Query) -> Result<Outcome<'a>, StoreError> {
    let mut out = Outcome { rows: Vec::new(), count: 0, cursor: None, plan: Plan::default() };
    let Some(n) = node.and_then(|n| store.node(n)) else { return Ok(out) };
    let cursor = match &q.cursor {
        Some(c) => Some(parse_cursor(c).ok_or(StoreError::Bad("bad cursor"))?),
        None => None,
    };
    let order = q.order_by.as_ref().or(q.conds.first().map(|c| &c.field));
    // The first condition an index can answer.
    let mut plan = None;
    for (ci, c) in q.conds.iter().enumerate() {
        if c.field.path.len() != 1 {
            continue;
        }
        if let Some(ix) = n.indices.iter().find(|ix| ix.field == c.field.path[0]) {
            let usable = match c.op {
                Op::Eq | Op::In => true,
                Op::Ne | Op::Contains => false,
                _ => !ix.is_hash(),
            };
            if usable {
                plan = Some((ci, ix));
                break;
            }
        }
    }
    let check = |rec: &Value, skip: Option<usize>| {
        q.conds.iter().enumerate().all(|(i, c)| Some(i) == skip || matches(store, c, field_of(store, rec, &c.field)))
    };
    let fv_of = |rec: &Value| order.and_then(|f| field_of(store, rec, f)).and_then(Value::scalar);

    // Streaming: a B-tree on the order field delivers rows in order.
    if let Some((ci, ix)) = plan {
        out.plan.index = Some((&ix.field, ix.is_hash()));
        let cond = &q.conds[ci];
        let in_order = order.is_some_and(|f| f.path.len() == 1 && f.path[0] == ix.field);
        if let (IndexKind::BTree(t), true) = (&ix.kind, in_order) {
            let mut rs = ranges(cond);
            if q.desc {
                rs.reverse();
            }
            let mut skip = q.offset;
            let want = q.limit.unwrap_or(usize::MAX);
            let cur = q.cursor.as_deref();
            for (lo, hi) in &rs {
                let mut lo_b = Bound::Included(lo.as_slice());
                let mut hi_b = Bound::Excluded(hi.as_slice());
                if let Some(c) = cur {
                    if q.desc {
                        if c <= lo.as_slice() {
                            continue;
                        }
                        if c < hi.as_slice() {
                            hi_b = Bound::Excluded(c);
                        }
                    } else {
                        if c >= hi.as_slice() {
                            continue;
                        }
                        if c >= lo.as_slice() {
                            lo_b = Bound::Excluded(c);
                        }
                    }
                }
                let mut range = t.range(lo_b, hi_b);
                let mut step = || if q.desc { range.next_back() } else { range.next() };
                while let Some(e) = step() {
                    if out.rows.len() >= want && !q.count {
                        break;
                    }
                    out.plan.examined += 1;
                    let Some(rk) = Key::encoded_len(e).and_then(|l| Key::decode(&e[l..])) else { continue };
                    let Some((key, rec)) = n.map.get_entry(&rk.0) else { continue };
                    if !check(rec, Some(ci)) {
                        continue;
                    }
                    out.count += 1;
                    if skip > 0 {
                        skip -= 1;
                    } else if out.rows.len() < want {
                        out.rows.push((key, rec));
                        if out.rows.len() == want {
                            out.cursor = Some(e.to_vec());
                        }
                    }
                }
            }
            if q.count && cur.is_some() {
                // The count ignores the cursor: count the rows before it too.
                let mut count = 0;
                collect(store, node.unwrap_or(0), n, q, Some((ci, ix)), &check, &mut out.plan, &mut |_, _| count += 1);
                out.count = count;
            }
            return Ok(out);
        }
    }

    // Otherwise: candidates (from the index or every record), checked, then sorted.
    let mut found: Vec<(Option<&Key>, &Key)> = Vec::new();
    collect(store, node.unwrap_or(0), n, q, plan, &check, &mut out.plan, &mut |k, rec| found.push((fv_of(rec), k)));
    out.count = found.len();
    let cmp = |a: &(Option<&Key>, &Key), b: &(Option<&Key>, &Key)| {
        let o = order_opt(a.0, b.0).then_with(|| a.1.order(b.1));
        if q.desc { o.reverse() } else { o }
    };
    if let Some((cfv, ck)) = &cursor {
        let c = (cfv.as_ref(), ck);
        found.retain(|r| cmp(r, &c) == Ordering::Greater);
    }
    out.plan.sorted = true;
    let need = q.limit.map_or(usize::MAX, |l| l.saturating_add(q.offset));
    let rows: Vec<_> = sort::order(found.len(), need, &|a, b| cmp(&found[a], &found[b])).iter().skip(q.offset).map(|&i| found[i as usize]).collect();
    if let (Some(l), Some(last)) = (q.limit, rows.last()) {
        if rows.len() == l {
            out.cursor = Some(sort_key(last.0, last.1));
        }
    }
    out.rows = rows.into_iter().filter_map(|r| n.map.get_entry(r.1)).collect();
    Ok(out)
}

/// Feeds every record that satisfies the conditions to `f`.
#[allow(clippy::too_many_arguments)]
fn collect<'a>(
    store: &'a Store,
    id: NodeId,
    n: &'a super::Node,
    q: &Query,
    plan: Option<(usize, &'a super::index::Index)>,
    check: &dyn Fn(&Value, Option<usize>) -> bool,
    stats: &mut Plan<'a>,
    f: &mut dyn FnMut(&'a Key, &Value),
) {
    match plan {
        // Without `!=` only table records can match: walk them in memory order.
        None if !q.conds.iter().any(|c| c.op == Op::Ne) && !q.conds.is_empty() => store.table_records(id, &mut |k, c| {
            stats.examined += 1;
            let rec = Value::Table(c);
            if check(&rec, None) {
                f(k, &rec);
            }
        }),
        None => {
            for (k, rec) in n.map.iter() {
                stats.examined += 1;
                if check(rec, None) {
                    f(k, rec);
                }
            }
        }
        Some((ci, ix)) => {
            let cond = &q.conds[ci];
            let mut visit = |rk: &Key| {
                stats.examined += 1;
                if let Some((k, rec)) = n.map.get_entry(rk) {
                    if check(rec, Some(ci)) {
                        f(k, rec);
                    }
                }
            };
            match &ix.kind {
                IndexKind::BTree(t) => {
                    for (lo, hi) in ranges(cond) {
                        for e in t.range(Bound::Included(&lo), Bound::Excluded(&hi)) {
                            if let Some((rk, _)) = Key::encoded_len(e).and_then(|l| Key::decode(&e[l..])) {
                                visit(&rk);
                            }
                        }
                    }
                }
                IndexKind::Hash(m) => {
                    let a = &cond.args;
                    let ord = sort::order(a.len(), usize::MAX, &|x, y| a[x].order(&a[y]));
                    for (j, &i) in ord.iter().enumerate() {
                        let a = &a[i as usize];
                        if j > 0 && cond.args[ord[j - 1] as usize] == *a {
                            continue;
                        }
                        for rk in m.get(a).map_or(&[][..], |l| &l[..]) {
                            visit(rk);
                        }
                    }
                }
            }
        }
    }
}
