//! core/store: model-based tests. Random sequences of writes (whole records, single fields,
//! deletes), index creation and removal (B-tree and hash, unique or not), savepoints,
//! rollbacks and commits run against the store and against a plain model (a list of records
//! scanned linearly); after every step the store's invariants hold (`Store::check`: parent
//! links, borders, every index exactly matching its records) and random queries give the
//! same rows in the same order as the model, also when paged with cursors. Seeded.

use cu::store::query::{run, Cond, Field, Op, Query};
use cu::store::{Key, Store, StoreError, Value, ROOT};
use std::cmp::Ordering;
use std::collections::BTreeMap;

mod common;
use common::Rng;

#[derive(Clone, Debug)]
enum Rec {
    Scalar(Key),
    Table(BTreeMap<&'static str, Key>),
}

#[derive(Clone, Default)]
struct Model {
    recs: Vec<(Key, Rec)>,
    /// field, hash, unique
    indices: Vec<(&'static str, bool, bool)>,
}

const FIELDS: [&str; 3] = ["age", "name", "score"];

impl Model {
    fn get(&self, k: &Key) -> Option<&Rec> {
        self.recs.iter().find(|r| &r.0 == k).map(|r| &r.1)
    }
    fn put(&mut self, k: Key, r: Option<Rec>) {
        self.recs.retain(|x| x.0 != k);
        if let Some(r) = r {
            self.recs.push((k, r));
        }
    }
    fn field<'a>(r: &'a Rec, f: &str) -> Option<&'a Key> {
        match r {
            Rec::Table(m) => m.get(f).filter(|k| !matches!(k, Key::Float(x) if x.is_nan())),
            Rec::Scalar(_) => None,
        }
    }
    /// A unique index would see `v` twice with `rec` at key `k`.
    fn violates(&self, k: &Key, rec: Option<&Rec>) -> bool {
        self.indices.iter().filter(|i| i.2).any(|&(f, _, _)| {
            let Some(v) = rec.and_then(|r| Self::field(r, f)) else { return false };
            self.recs.iter().any(|(rk, r)| rk != k && Self::field(r, f).is_some_and(|w| w.order(v) == Ordering::Equal))
        })
    }
}

fn rand_key(rng: &mut Rng) -> Key {
    match rng.below(10) {
        0..=4 => Key::Int(rng.below(30) as i64),
        5..=6 => Key::str(format!("k{}", rng.below(10)).as_bytes()),
        7 => Key::str(format!("a key longer than fourteen bytes {}", rng.below(5)).as_bytes()),
        8 => Key::Float([1.5, 2.5, -0.5][rng.index(3)]),
        _ => Key::Bool(rng.below(2) == 1),
    }
}

fn rand_scalar(rng: &mut Rng) -> Key {
    match rng.below(12) {
        0..=3 => Key::Int(rng.below(7) as i64 - 3),
        4 => Key::Float([-0.0, 0.5, 1.0, 2.5, f64::NAN, 1e300][rng.index(6)]),
        5..=8 => Key::str([&b""[..], b"a", b"ab", b"b", b"\0", b"abc", b"abcdefghijklmnopq", b"abcdefghijklmnop\0"][rng.index(8)]),
        9 => Key::Int(i64::MAX - rng.below(2) as i64),
        _ => Key::Bool(rng.below(2) == 1),
    }
}

fn rand_rec(rng: &mut Rng) -> Rec {
    if rng.below(8) == 0 {
        return Rec::Scalar(rand_scalar(rng));
    }
    let mut m = BTreeMap::new();
    for f in FIELDS {
        if rng.below(4) != 0 {
            m.insert(f, rand_scalar(rng));
        }
    }
    Rec::Table(m)
}

/// The record as a store value (a fresh table for a Table record).
fn to_store(store: &mut Store, r: &Rec) -> Value {
    match r {
        Rec::Scalar(k) => Value::Key(k.clone()),
        Rec::Table(m) => {
            let n = store.new_node();
            for (f, v) in m {
                store.fill(n, Key::str(f.as_bytes()), Value::Key(v.clone()));
            }
            Value::Table(n)
        }
    }
}

fn users(store: &Store) -> Option<u32> {
    store.find(&[Key::str(b"users")]).unwrap()
}

fn model_query(m: &Model, q: &MQuery) -> Vec<Key> {
    let matches = |r: &Rec| {
        q.conds.iter().all(|(f, op, args)| {
            let s = Model::field(r, f);
            let eq = |a: &Key| s.is_some_and(|s| s.order(a) == Ordering::Equal);
            let cmp = |a: &Key| s.and_then(|s| s.compare(a));
            match op {
                Op::Eq => eq(&args[0]),
                Op::Ne => !eq(&args[0]),
                Op::Lt => cmp(&args[0]) == Some(Ordering::Less),
                Op::Le => cmp(&args[0]).is_some_and(|o| o != Ordering::Greater),
                Op::Gt => cmp(&args[0]) == Some(Ordering::Greater),
                Op::Ge => cmp(&args[0]).is_some_and(|o| o != Ordering::Less),
                Op::Between => cmp(&args[0]).is_some_and(|o| o != Ordering::Less) && cmp(&args[1]).is_some_and(|o| o != Ordering::Greater),
                Op::In => args.iter().any(eq),
                Op::StartsWith => matches!((s.and_then(Key::bytes), args[0].bytes()), (Some(s), Some(p)) if s.starts_with(p)),
                Op::Contains => match (s.and_then(Key::bytes), args[0].bytes()) {
                    (Some(s), Some(p)) => p.is_empty() || s.windows(p.len()).any(|w| w == p),
                    _ => false,
                },
            }
        })
    };
    let order = q.order_by.or(q.conds.first().map(|c| c.0));
    let mut rows: Vec<&(Key, Rec)> = m.recs.iter().filter(|(_, r)| matches(r)).collect();
    rows.sort_by(|a, b| {
        let fa = order.and_then(|f| Model::field(&a.1, f));
        let fb = order.and_then(|f| Model::field(&b.1, f));
        let o = cu::store::value::order_opt(fa, fb).then_with(|| a.0.order(&b.0));
        if q.desc { o.reverse() } else { o }
    });
    rows.into_iter().skip(q.offset).take(q.limit.unwrap_or(usize::MAX)).map(|r| r.0.clone()).collect()
}

struct MQuery {
    conds: Vec<(&'static str, Op, Vec<Key>)>,
    order_by: Option<&'static str>,
    desc: bool,
    limit: Option<usize>,
    offset: usize,
}

fn rand_query(rng: &mut Rng) -> MQuery {
    let ops = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Between, Op::In, Op::Contains, Op::StartsWith];
    let mut conds = Vec::new();
    for _ in 0..rng.below(3) {
        let op = rng.pick(&ops);
        let n = match op {
            Op::Between => 2,
            Op::In => rng.below(4) as usize,
            _ => 1,
        };
        let mut args: Vec<Key> = (0..n).map(|_| rand_scalar(rng)).filter(|k| !matches!(k, Key::Float(f) if f.is_nan())).collect();
        while args.len() < n.min(2) && op != Op::In {
            args.push(Key::Int(rng.below(4) as i64));
        }
        conds.push((rng.pick(&FIELDS), op, args));
    }
    MQuery {
        conds,
        order_by: (rng.below(3) == 0).then(|| rng.pick(&FIELDS)),
        desc: rng.below(2) == 0,
        limit: (rng.below(2) == 0).then(|| rng.below(6) as usize),
        offset: if rng.below(3) == 0 { rng.below(4) as usize } else { 0 },
    }
}

fn to_query(q: &MQuery) -> Query {
    let field = |f: &str| Field::new(vec![Key::str(f.as_bytes())]);
    Query {
        conds: q.conds.iter().map(|(f, op, args)| Cond::new(field(f), *op, args.clone()).unwrap()).collect(),
        order_by: q.order_by.map(field),
        desc: q.desc,
        limit: q.limit,
        offset: q.offset,
        ..Query::default()
    }
}

fn check_queries(store: &Store, model: &Model, rng: &mut Rng, step: usize) {
    for _ in 0..4 {
        let mq = rand_query(rng);
        let want = model_query(model, &mq);
        let q = to_query(&mq);
        let out = run(store, users(store), &q).unwrap();
        let got: Vec<Key> = out.rows.iter().map(|r| r.0.clone()).collect();
        assert_eq!(got, want, "step {step}: query {:?} desc {} order {:?} limit {:?} offset {}", mq.conds, mq.desc, mq.order_by, mq.limit, mq.offset);
        // Count: every match, whatever the page.
        let all = model_query(model, &MQuery { limit: None, offset: 0, ..clone_q(&mq) });
        let mut qc = to_query(&MQuery { limit: Some(1), offset: 2, ..clone_q(&mq) });
        qc.count = true;
        assert_eq!(run(store, users(store), &qc).unwrap().count, all.len(), "step {step}: count");
        // Paging with cursors gives every match once, in order.
        let mut qp = to_query(&MQuery { limit: Some(3), offset: 0, ..clone_q(&mq) });
        let mut paged = Vec::new();
        loop {
            let out = run(store, users(store), &qp).unwrap();
            paged.extend(out.rows.iter().map(|r| r.0.clone()));
            match out.cursor {
                Some(c) => qp.cursor = Some(c),
                None => break,
            }
            assert!(paged.len() <= all.len(), "step {step}: paging runs past the end");
        }
        assert_eq!(paged, all, "step {step}: paged");
    }
}

fn clone_q(q: &MQuery) -> MQuery {
    MQuery { conds: q.conds.clone(), order_by: q.order_by, desc: q.desc, limit: q.limit, offset: q.offset }
}

#[test]
fn store_matches_the_model() {
    for seed in 0..12u64 {
        let mut rng = Rng(seed);
        let mut store = Store::new();
        let mut model = Model::default();
        let mut committed = (Model::default(), true);
        let mut saved: Option<(cu::store::Savepoint, Model)> = None;
        store.make_path(&[Key::str(b"users")]).unwrap();
        store.commit();
        committed.0 = model.clone();
        for step in 0..400 {
            let t = users(&store).unwrap();
            match rng.below(20) {
                0..=7 => {
                    let k = rand_key(&mut rng);
                    let r = rand_rec(&mut rng);
                    let v = to_store(&mut store, &r);
                    let res = store.set(t, k.clone(), Some(v));
                    if model.violates(&k, Some(&r)) {
                        assert_eq!(res, Err(StoreError::Unique), "step {step}");
                    } else {
                        res.unwrap();
                        model.put(k, Some(r));
                    }
                }
                8..=10 => {
                    // One field of an existing table record.
                    let tables: Vec<Key> = model.recs.iter().filter(|r| matches!(r.1, Rec::Table(_))).map(|r| r.0.clone()).collect();
                    if tables.is_empty() {
                        continue;
                    }
                    let k = tables[rng.index(tables.len())].clone();
                    let f = rng.pick(&FIELDS);
                    let v = (rng.below(5) != 0).then(|| rand_scalar(&mut rng));
                    let Some(Value::Table(rn)) = store.get(t, &k) else { panic!("step {step}: record is not a table") };
                    let rn = *rn;
                    let res = store.set(rn, Key::str(f.as_bytes()), v.clone().map(Value::Key));
                    let mut r = model.get(&k).unwrap().clone();
                    if let Rec::Table(m) = &mut r {
                        match &v {
                            Some(v) => m.insert(f, v.clone()),
                            None => m.remove(f),
                        };
                    }
                    if model.violates(&k, Some(&r)) {
                        assert_eq!(res, Err(StoreError::Unique), "step {step}");
                    } else {
                        res.unwrap();
                        model.put(k, Some(r));
                    }
                }
                11 | 12 => {
                    let k = rand_key(&mut rng);
                    store.set(t, k.clone(), None).unwrap();
                    model.put(k, None);
                }
                13 => {
                    let f = rng.pick(&FIELDS);
                    let (hash, unique) = (rng.below(2) == 0, rng.below(3) == 0);
                    let res = store.create_index(t, Key::str(f.as_bytes()), hash, unique);
                    match model.indices.iter().find(|i| i.0 == f) {
                        Some(&(_, h, u)) if h == hash && u == unique => res.unwrap(),
                        Some(_) => assert!(matches!(res, Err(StoreError::Bad(_))), "step {step}"),
                        None => {
                            let dup = unique
                                && model.recs.iter().enumerate().any(|(i, (_, a))| {
                                    model.recs[i + 1..].iter().any(|(_, b)| {
                                        matches!((Model::field(a, f), Model::field(b, f)), (Some(x), Some(y)) if x.order(y) == Ordering::Equal)
                                    })
                                });
                            if dup {
                                assert_eq!(res, Err(StoreError::Unique), "step {step}");
                            } else {
                                res.unwrap();
                                model.indices.push((f, hash, unique));
                            }
                        }
                    }
                }
                14 => {
                    let f = rng.pick(&FIELDS);
                    let had = model.indices.iter().any(|i| i.0 == f);
                    assert_eq!(store.drop_index(t, &Key::str(f.as_bytes())), had, "step {step}");
                    model.indices.retain(|i| i.0 != f);
                }
                15 => {
                    if saved.is_none() {
                        saved = Some((store.savepoint(), model.clone()));
                    }
                }
                16 => {
                    if let Some((sp, m)) = saved.take() {
                        store.rollback_to(sp);
                        model = m;
                    }
                }
                17 => {
                    store.commit();
                    saved = None;
                    committed.0 = model.clone();
                }
                18 => {
                    store.rollback();
                    saved = None;
                    model = committed.0.clone();
                }
                _ => {
                    // Replace the whole table now and then (its indices go with it).
                    if rng.below(8) == 0 {
                        let n = store.new_node();
                        store.set(ROOT, Key::str(b"users"), Some(Value::Table(n))).unwrap();
                        model.recs.clear();
                        model.indices.clear();
                    }
                }
            }
            store.check_invariants().unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
            assert_eq!(store.node(users(&store).unwrap()).unwrap().map.len(), model.recs.len(), "seed {seed} step {step}: record count");
            if step % 5 == 0 {
                check_queries(&store, &model, &mut rng, step);
            }
        }
    }
}

#[test]
fn changes_are_recorded_once_per_location_and_forgotten_on_rollback() {
    let mut s = Store::new();
    let users = s.make_path(&[Key::str(b"users")]).unwrap();
    s.set(users, Key::str(b"u1"), Some(Value::Key(Key::Int(1)))).unwrap();
    s.set(users, Key::str(b"u1"), Some(Value::Key(Key::Int(2)))).unwrap();
    s.create_index(users, Key::str(b"age"), false, false).unwrap();
    s.commit();
    s.set(users, Key::str(b"u2"), Some(Value::Key(Key::Int(3)))).unwrap();
    s.rollback();
    let changes = s.take_changes();
    let got: Vec<(Vec<Key>, Key, u8)> = changes.into_iter().map(|(p, k, c)| (p, k, c.code())).collect();
    assert_eq!(
        got,
        vec![
            (vec![], Key::str(b"users"), 0),
            (vec![Key::str(b"users")], Key::str(b"u1"), 0),
            (vec![Key::str(b"users")], Key::str(b"age"), 1),
        ]
    );
    assert!(s.take_changes().is_empty());
}

#[test]
fn depth_and_borders() {
    let mut s = Store::new();
    let mut at = ROOT;
    for _ in 0..200 {
        let n = s.new_node();
        s.set(at, Key::str(b"x"), Some(Value::Table(n))).unwrap();
        at = n;
    }
    let n = s.new_node();
    assert!(matches!(s.set(at, Key::str(b"x"), Some(Value::Table(n))), Err(StoreError::Bad(_))));
    let t = s.make_path(&[Key::str(b"list")]).unwrap();
    for i in [1, 2, 4, 3, 5] {
        s.set(t, Key::Int(i), Some(Value::Key(Key::Int(i)))).unwrap();
    }
    assert_eq!(s.border(t), 5);
    s.set(t, Key::Int(3), None).unwrap();
    assert_eq!(s.border(t), 2);
    s.rollback();
    assert_eq!(s.border(ROOT), 0);
    assert!(s.find(&[Key::str(b"list")]).unwrap().is_none());
    s.check_invariants().unwrap();
}
