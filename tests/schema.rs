//! Schemas, validation and migrations (issue 6) on the host: every rule of the validator
//! (core/store/schema.rs) with the problems it reports, nesting, arrays, defaults, refused
//! definitions, Lua pattern syntax; which records a write unit touches; a seeded fuzz of
//! definitions and records.
#![cfg(feature = "persistence")]

use cu::protocol::dispatch;
use cu::runtime::{Instance, Status};
use cu::store::schema::{check_pattern, Shown, Validator, Violation};
use cu::store::{Key, NodeId, Store, Value, ROOT};

mod common;
use common::Rng;

// ---- values ----------------------------------------------------------------------------

/// A value to build in a store: `T::M` a map, `T::A` an array.
#[derive(Clone)]
enum T {
    I(i64),
    F(f64),
    S(&'static str),
    B(bool),
    M(Vec<(&'static str, T)>),
    A(Vec<T>),
}
use T::*;

fn build(s: &mut Store, t: &T) -> Value {
    match t {
        I(i) => Value::Key(Key::Int(*i)),
        F(f) => Value::Key(Key::Float(*f)),
        S(x) => Value::Key(Key::str(x.as_bytes())),
        B(b) => Value::Key(Key::Bool(*b)),
        M(kv) => {
            let n = s.new_node();
            for (k, v) in kv {
                let v = build(s, v);
                s.fill(n, Key::str(k.as_bytes()), v);
            }
            Value::Table(n)
        }
        A(xs) => {
            let n = s.new_node();
            for (i, v) in xs.iter().enumerate() {
                let v = build(s, v);
                s.fill(n, Key::Int(i as i64 + 1), v);
            }
            Value::Table(n)
        }
    }
}

fn node(v: Value) -> NodeId {
    match v {
        Value::Table(n) => n,
        _ => panic!("not a table"),
    }
}

/// `Memory[name] = t` committed; its node.
fn put(s: &mut Store, name: &str, t: &T) -> NodeId {
    let n = node(build(s, t));
    s.set(ROOT, Key::str(name.as_bytes()), Some(Value::Table(n))).unwrap();
    s.commit();
    n
}

/// The table `t[k]`.
fn sub(s: &Store, t: NodeId, k: &str) -> NodeId {
    match s.get(t, &Key::str(k.as_bytes())) {
        Some(Value::Table(n)) => *n,
        _ => panic!("{k} is not a table"),
    }
}

/// A plain matcher for store-level tests: the pattern as a substring (`^` anchors).
fn substring(s: &[u8], p: &[u8]) -> bool {
    match p.strip_prefix(b"^") {
        Some(p) => s.starts_with(p),
        None => p.is_empty() || s.windows(p.len()).any(|w| w == p),
    }
}

/// Validates `records[key]` against `schema`; the violations as `path rule expected got`.
fn check(s: &mut Store, schema: NodeId, records: NodeId, key: &str) -> Vec<String> {
    let mut m = substring;
    let mut v = Validator::new(s, &mut m);
    v.record(schema, records, &Key::str(key.as_bytes()));
    let out = std::mem::take(&mut v.out);
    out.iter().map(|x| show(s, x)).collect()
}

fn shown(s: &Store, v: &Shown) -> String {
    match v {
        Shown::Nil => "nil".into(),
        Shown::Text(t) => t.to_string(),
        Shown::Key(Key::Int(i)) => i.to_string(),
        Shown::Key(Key::Float(f)) => format!("{f:?}"),
        Shown::Key(Key::Bool(b)) => b.to_string(),
        Shown::Key(k) => String::from_utf8_lossy(k.bytes().unwrap()).into_owned(),
        Shown::Table(n) => format!("#{}", s.node(*n).unwrap().map.len()),
    }
}

fn show(s: &Store, v: &Violation) -> String {
    let mut p = Vec::new();
    cu::store::violation::path_text(&mut p, &v.path);
    format!("{} {} {} {}", String::from_utf8_lossy(&p), v.rule, shown(s, &v.expected), shown(s, &v.got))
}

/// The issue's schema.
fn users_schema() -> T {
    M(vec![
        ("type", S("table")),
        (
            "fields",
            M(vec![
                ("name", M(vec![("type", S("string")), ("required", B(true)), ("minLength", I(1)), ("maxLength", I(10))])),
                ("age", M(vec![("type", S("integer")), ("min", I(0)), ("max", I(150))])),
                ("email", M(vec![("type", S("string")), ("pattern", S("@"))])),
                ("role", M(vec![("type", S("string")), ("enum", A(vec![S("admin"), S("user")])), ("default", S("user"))])),
                ("tags", M(vec![("type", S("array")), ("items", M(vec![("type", S("string"))])), ("maxItems", I(2))])),
                ("address", M(vec![("type", S("table")), ("fields", M(vec![("city", M(vec![("type", S("string")), ("required", B(true))]))]))])),
                ("onSave", M(vec![("type", S("function"))])),
            ]),
        ),
        ("additionalFields", B(false)),
    ])
}

fn schema_of(s: &mut Store, t: &T) -> NodeId {
    let n = node(build(s, t));
    let mut m = substring;
    Validator::new(s, &mut m).definition(n).unwrap();
    n
}

#[test]
fn every_problem_of_a_record_is_reported() {
    let mut s = Store::new();
    let schema = schema_of(&mut s, &users_schema());
    let bad = M(vec![
        ("name", S("")),
        ("age", I(200)),
        ("email", S("nobody")),
        ("role", S("root")),
        ("tags", A(vec![S("a"), I(2), S("c")])),
        ("address", M(vec![("zip", I(1))])),
        ("onSave", S("not a function")),
        ("extra", B(true)),
    ]);
    let users = put(&mut s, "users", &M(vec![("u1", bad), ("u2", M(vec![("name", S("Ann"))]))]));
    let mut got = check(&mut s, schema, users, "u1");
    got.sort();
    assert_eq!(
        got,
        [
            "u1.address.city required true nil",
            "u1.age max 150 200",
            "u1.email pattern @ nobody",
            "u1.extra additionalFields false true",
            "u1.name minLength 1 0",
            "u1.onSave type function string",
            "u1.role enum #2 root",
            "u1.tags maxItems 2 3",
            "u1.tags[2] type string integer",
        ]
    );
    // A valid record gets its default and passes.
    assert!(check(&mut s, schema, users, "u2").is_empty());
    let u2 = sub(&s, users, "u2");
    assert!(matches!(s.get(u2, &Key::str(b"role")), Some(Value::Key(k)) if k.bytes() == Some(b"user")));
    // A missing record is not checked.
    assert!(check(&mut s, schema, users, "nobody").is_empty());
}

#[test]
fn types_match_their_values() {
    let mut s = Store::new();
    let values = [
        ("int", I(3)),
        ("whole", F(3.0)),
        ("half", F(3.5)),
        ("nan", F(f64::NAN)),
        ("text", S("x")),
        ("yes", B(true)),
        ("list", A(vec![I(1), I(2)])),
        ("empty", M(vec![])),
        ("map", M(vec![("a", I(1))])),
    ];
    let records = put(&mut s, "r", &M(values.to_vec()));
    let f = s.new_node();
    let func = s.blob(vec![1, 2, 3].into(), true);
    s.set(records, Key::str(b"fn"), Some(func)).unwrap();
    let ser = s.blob(vec![1, 2, 3].into(), false);
    s.set(records, Key::str(b"ser"), Some(ser)).unwrap();
    s.free_value(Some(Value::Table(f)));
    let names = ["int", "whole", "half", "nan", "text", "yes", "list", "empty", "map", "fn", "ser"];
    let expect = [
        ("string", &["text"][..]),
        ("number", &["int", "whole", "half", "nan"]),
        ("integer", &["int", "whole"]),
        ("boolean", &["yes"]),
        ("table", &["list", "empty", "map", "ser"]),
        ("array", &["list", "empty"]),
        ("function", &["fn"]),
        ("any", &names),
    ];
    for (ty, ok) in expect {
        let schema = schema_of(&mut s, &M(vec![("type", S(ty))]));
        for n in names {
            let v = check(&mut s, schema, records, n);
            assert_eq!(v.is_empty(), ok.contains(&n), "{ty} vs {n}: {v:?}");
            if !v.is_empty() {
                assert!(v[0].starts_with(&format!("{n} type {ty} ")), "{v:?}");
            }
        }
    }
    // What `got` names: integer, number, table, function, serialized table.
    let schema = schema_of(&mut s, &M(vec![("type", S("string"))]));
    let got: Vec<String> = ["int", "half", "map", "fn", "ser", "yes"].iter().map(|n| check(&mut s, schema, records, n)[0].clone()).collect();
    assert_eq!(got, ["int type string integer", "half type string number", "map type string table", "fn type string function", "ser type string serialized table", "yes type string boolean"]);
}

#[test]
fn bounds_enums_and_patterns() {
    let mut s = Store::new();
    let schema = schema_of(
        &mut s,
        &M(vec![(
            "fields",
            M(vec![
                ("n", M(vec![("min", F(-1.5)), ("max", I(10))])),
                ("s", M(vec![("minLength", I(2)), ("maxLength", I(3)), ("pattern", S("^a"))])),
                ("e", M(vec![("enum", A(vec![I(1), S("two"), B(false)]))])),
                ("l", M(vec![("minItems", I(1)), ("maxItems", I(2))])),
            ]),
        )]),
    );
    let cases: Vec<(T, &[&str])> = vec![
        (M(vec![("n", I(-1)), ("s", S("ab")), ("e", F(1.0)), ("l", A(vec![I(1)]))]), &[]),
        (M(vec![("n", I(-2)), ("s", S("b")), ("e", S("one")), ("l", M(vec![]))]), &["e enum #3 one", "l minItems 1 0", "n min -1.5 -2", "s minLength 2 1", "s pattern ^a b"]),
        (M(vec![("n", F(10.5)), ("s", S("abcd")), ("e", B(true)), ("l", A(vec![I(1), I(2), I(3)]))]), &["e enum #3 true", "l maxItems 2 3", "n max 10 10.5", "s maxLength 3 4"]),
        (M(vec![("n", F(f64::NAN))]), &["n max 10 NaN", "n min -1.5 NaN"]),
        // Rules apply to values of their kind only: a string `n`, a number `s` pass.
        (M(vec![("n", S("x")), ("s", I(5)), ("l", S("x"))]), &[]),
        // Lengths count UTF-8 characters.
        (M(vec![("s", S("aé"))]), &[]),
        (M(vec![("s", S("aéèê"))]), &["s maxLength 3 4"]),
    ];
    for (i, (rec, want)) in cases.into_iter().enumerate() {
        let t = put(&mut s, "t", &M(vec![("r", rec)]));
        let mut got = check(&mut s, schema, t, "r");
        got.sort();
        let got: Vec<String> = got.into_iter().map(|g| g.trim_start_matches("r.").to_string()).collect();
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn nested_tables_and_arrays_to_any_depth() {
    let mut s = Store::new();
    // A table of arrays of tables of arrays of integers.
    let leaf = M(vec![("type", S("array")), ("items", M(vec![("type", S("integer"))]))]);
    let b = M(vec![("required", B(true))]);
    let a = M(vec![("fields", M(vec![("b", b)]))]);
    let deep = M(vec![("fields", M(vec![("a", a)]))]);
    let group = M(vec![("type", S("table")), ("fields", M(vec![("ns", leaf), ("deep", deep)]))]);
    let groups = M(vec![("type", S("array")), ("items", group)]);
    let schema = schema_of(&mut s, &M(vec![("fields", M(vec![("groups", groups)]))]));
    let good = M(vec![("groups", A(vec![M(vec![("ns", A(vec![I(1), I(2)]))]), M(vec![("deep", M(vec![("a", M(vec![("b", I(1))]))]))])]))]);
    let bad = M(vec![(
        "groups",
        A(vec![M(vec![("ns", A(vec![I(1), S("x")]))]), S("no"), M(vec![("ns", M(vec![("k", I(1))])), ("deep", M(vec![("a", M(vec![])) ]))])]),
    )]);
    let t = put(&mut s, "t", &M(vec![("good", good), ("bad", bad)]));
    assert!(check(&mut s, schema, t, "good").is_empty());
    let mut got = check(&mut s, schema, t, "bad");
    got.sort();
    assert_eq!(got, ["bad.groups[1].ns[2] type integer string", "bad.groups[2] type table string", "bad.groups[3].deep.a.b required true nil", "bad.groups[3].ns type array table"]);
}

#[test]
fn defaults_fill_in_copies_and_must_satisfy_their_rule() {
    let mut s = Store::new();
    let schema = schema_of(
        &mut s,
        &M(vec![(
            "fields",
            M(vec![
                ("tags", M(vec![("type", S("array")), ("default", A(vec![S("new")]))])),
                ("n", M(vec![("type", S("integer")), ("required", B(true)), ("default", I(0))])),
                ("meta", M(vec![("type", S("table")), ("default", M(vec![])), ("fields", M(vec![("v", M(vec![("default", I(1))]))]))])),
            ]),
        )]),
    );
    let t = put(&mut s, "t", &M(vec![("a", M(vec![])), ("b", M(vec![]))]));
    // Checking only: missing fields with defaults pass, nothing is written.
    {
        let mut m = substring;
        let mut v = Validator::new(&mut s, &mut m);
        v.fill = false;
        v.record(schema, t, &Key::str(b"a"));
        assert!(v.out.is_empty());
    }
    let a = match s.get(t, &Key::str(b"a")) {
        Some(Value::Table(n)) => *n,
        _ => unreachable!(),
    };
    assert_eq!(s.node(a).unwrap().map.len(), 0);
    assert!(check(&mut s, schema, t, "a").is_empty());
    assert!(check(&mut s, schema, t, "b").is_empty());
    // Filled in: each record its own copy of a table default, whose own default is filled.
    let tags = |s: &Store, r: &[u8]| match s.get(t, &Key::str(r)) {
        Some(Value::Table(n)) => match s.get(*n, &Key::str(b"tags")) {
            Some(Value::Table(x)) => *x,
            _ => panic!("no tags"),
        },
        _ => unreachable!(),
    };
    assert_ne!(tags(&s, b"a"), tags(&s, b"b"));
    assert!(matches!(s.get(a, &Key::str(b"n")), Some(Value::Key(Key::Int(0)))));
    let meta = match s.get(a, &Key::str(b"meta")) {
        Some(Value::Table(n)) => *n,
        _ => panic!(),
    };
    assert!(matches!(s.get(meta, &Key::str(b"v")), Some(Value::Key(Key::Int(1)))));
    // The defaults were ordinary writes: a rollback takes them back.
    s.rollback();
    assert_eq!(s.node(a).unwrap().map.len(), 0);
    s.check_invariants().unwrap();
    // Checking only, a default taken as there is no field: others are still extra.
    let closed = schema_of(&mut s, &M(vec![("fields", M(vec![("d", M(vec![("default", I(1))]))])), ("additionalFields", B(false))]));
    let t2 = put(&mut s, "t2", &M(vec![("r", M(vec![("x", I(1))]))]));
    {
        let mut m = substring;
        let mut v = Validator::new(&mut s, &mut m);
        v.fill = false;
        v.record(closed, t2, &Key::str(b"r"));
        assert_eq!(v.out.len(), 1);
        assert_eq!(v.out[0].rule, "additionalFields");
    }
    // A default that breaks its own rule is refused.
    let bad = node(build(&mut s, &M(vec![("fields", M(vec![("n", M(vec![("type", S("integer")), ("default", S("zero"))]))]))])));
    let mut m = substring;
    let mut v = Validator::new(&mut s, &mut m);
    assert_eq!(v.definition(bad), Err("the default does not satisfy its rule"));
    let at: Vec<_> = v.at_error().iter().map(|k| String::from_utf8_lossy(k.bytes().unwrap()).into_owned()).collect();
    assert_eq!(at, ["fields", "n", "default"]);
}

#[test]
fn bad_definitions_are_refused_with_where_and_why() {
    let cases: Vec<(T, &str, &str)> = vec![
        (M(vec![("type", S("str"))]), "type", "type is one of"),
        (M(vec![("type", I(1))]), "type", "type is one of"),
        (M(vec![("required", S("yes"))]), "required", "true or false"),
        (M(vec![("additionalFields", I(0))]), "additionalFields", "true or false"),
        (M(vec![("min", S("1"))]), "min", "a number"),
        (M(vec![("max", F(f64::NAN))]), "max", "a number"),
        (M(vec![("minLength", I(-1))]), "minLength", "integer >= 0"),
        (M(vec![("maxItems", F(1.5))]), "maxItems", "integer >= 0"),
        (M(vec![("pattern", I(1))]), "pattern", "a string"),
        (M(vec![("pattern", S("[a"))]), "pattern", "missing ']'"),
        (M(vec![("pattern", S("a%"))]), "pattern", "ends with '%'"),
        (M(vec![("pattern", S("%b("))]), "pattern", "missing arguments to '%b'"),
        (M(vec![("pattern", S("%fx"))]), "pattern", "missing '[' after '%f'"),
        (M(vec![("pattern", S("(a"))]), "pattern", "unfinished capture"),
        (M(vec![("pattern", S("a)"))]), "pattern", "invalid pattern capture"),
        (M(vec![("pattern", S("(a)%2"))]), "pattern", "invalid capture index"),
        (M(vec![("pattern", S("(a%1)"))]), "pattern", "invalid capture index"),
        (M(vec![("enum", A(vec![]))]), "enum", "enum is an array"),
        (M(vec![("enum", M(vec![("a", I(1))]))]), "enum", "enum is an array"),
        (M(vec![("enum", A(vec![M(vec![])]))]), "enum", "enum is an array"),
        (M(vec![("items", S("string"))]), "items", "items is a rule"),
        (M(vec![("items", M(vec![("tyep", S("string"))]))]), "items.tyep", "unknown rule"),
        (M(vec![("fields", S("x"))]), "fields", "fields is a table"),
        (M(vec![("fields", M(vec![("a", S("string"))]))]), "fields.a", "a field's rule is a table"),
        (M(vec![("fields", M(vec![("a", M(vec![("fields", M(vec![("b", M(vec![("minlength", I(1))]))]))]))]))]), "fields.a.fields.b.minlength", "unknown rule"),
    ];
    for (t, at, why) in cases {
        let mut s = Store::new();
        let n = node(build(&mut s, &t));
        let mut m = substring;
        let mut v = Validator::new(&mut s, &mut m);
        let e = v.definition(n).expect_err(at);
        assert!(e.contains(why), "{at}: {e}");
        let mut p = Vec::new();
        cu::store::violation::path_text(&mut p, v.at_error());
        assert_eq!(String::from_utf8_lossy(&p), at);
    }
    for good in ["", "^a$", "%d+%.?%d*", "[%a_][%w_]*", "[]]", "[^]]", "%bxy", "%f[%w]%w+", "(a)(b)%2%1", "()a", "a-b*c?d+", "$a^", "%%", "[a%]]"] {
        assert_eq!(check_pattern(good.as_bytes()), Ok(()), "{good}");
    }
}

/// Lua's own matcher and the pattern check agree: a pattern the check accepts never makes
/// `string.find` fail on a syntax error, over random patterns and subjects.
#[test]
fn the_pattern_check_accepts_nothing_lua_refuses() {
    let mut inst = Instance::new(0, 0, [1, 2]).unwrap();
    let mut rng = Rng(9);
    let alphabet = b"ab%()[]^$.*+-?1bf".to_vec();
    let mut pats = Vec::new();
    for _ in 0..3000 {
        let p: Vec<u8> = (0..rng.index(8)).map(|_| alphabet[rng.index(alphabet.len())]).collect();
        if check_pattern(&p).is_ok() {
            pats.push(p);
        }
    }
    assert!(pats.len() > 300, "{}", pats.len());
    let list: Vec<String> = pats.iter().map(|p| format!("{:?}", String::from_utf8_lossy(p))).collect();
    let src = format!(
        "for _, p in ipairs({{ {} }}) do for _, s in ipairs({{ '', 'a', 'ab', 'ba(b)', '[a]b%', 'aab1' }}) do
            local ok, e = pcall(string.find, s, p)
            assert(ok or not (e:find('malformed') or e:find('capture') or e:find('missing')), p .. ': ' .. tostring(e))
        end end",
        list.join(", ")
    );
    ok(&mut inst, &src);
}

#[test]
fn the_records_a_unit_touched_are_the_ones_checked() {
    let mut s = Store::new();
    let schema = build(&mut s, &M(vec![("fields", M(vec![("n", M(vec![("type", S("integer"))]))]))]));
    let e = s.make_entry(&[Key::str(b"app"), Key::str(b"users")]).unwrap();
    s.set(e, Key::str(b"schema"), Some(schema)).unwrap();
    let app = put(&mut s, "app", &M(vec![("users", M(vec![("a", M(vec![("n", I(1))])), ("b", M(vec![("n", S("bad"))])), ("c", M(vec![("deep", M(vec![("x", I(1))]))]))]))]));
    let users = match s.get(app, &Key::str(b"users")) {
        Some(Value::Table(n)) => *n,
        _ => unreachable!(),
    };
    let rec = |s: &Store, k: &[u8]| match s.get(users, &Key::str(k)) {
        Some(Value::Table(n)) => *n,
        _ => unreachable!(),
    };
    let mut m = substring;
    let mut paths = |s: &mut Store, sp| -> Vec<String> { s.validate_since(sp, &mut m, None).iter().map(|v| show(s, v)).collect() };
    // Nothing written: nothing checked (the bad record b included).
    let sp = s.savepoint();
    assert!(paths(&mut s, sp).is_empty());
    // A write deep in record c touches c; a write elsewhere touches nothing.
    let c = rec(&s, b"c");
    let deep = match s.get(c, &Key::str(b"deep")) {
        Some(Value::Table(n)) => *n,
        _ => unreachable!(),
    };
    s.set(deep, Key::str(b"x"), Some(Value::Key(Key::Int(2)))).unwrap();
    s.set(c, Key::str(b"n"), Some(Value::Key(Key::str(b"no")))).unwrap();
    s.set(ROOT, Key::str(b"other"), Some(Value::Key(Key::Int(1)))).unwrap();
    assert_eq!(paths(&mut s, sp), ["app.users.c.n type integer string"]);
    s.rollback();
    // Writing record b checks it; deleting it checks nothing.
    let sp = s.savepoint();
    s.set(rec(&s, b"b"), Key::str(b"z"), Some(Value::Key(Key::Int(1)))).unwrap();
    assert_eq!(paths(&mut s, sp), ["app.users.b.n type integer string"]);
    s.set(users, Key::str(b"b"), None).unwrap();
    assert!(paths(&mut s, sp).is_empty());
    s.rollback();
    // Replacing a table on the path (here `app`) checks every record of the new table.
    let sp = s.savepoint();
    let new = build(&mut s, &M(vec![("users", M(vec![("x", M(vec![("n", F(1.5))])), ("y", M(vec![]))]))]));
    s.set(ROOT, Key::str(b"app"), Some(new)).unwrap();
    assert_eq!(paths(&mut s, sp), ["app.users.x.n type integer number"]);
    s.rollback();
    // A savepoint past the end (a unit that was rolled back under it) checks nothing.
    let sp = cu::store::Savepoint { undo: 99, changes: 99 };
    assert!(paths(&mut s, sp).is_empty());
    s.check_invariants().unwrap();
}

// ---- the instance ----------------------------------------------------------------------

fn named(src: &str) -> Vec<u8> {
    let mut r = vec![0u8];
    r.extend_from_slice(&2u16.to_le_bytes());
    r.extend_from_slice(b"=t");
    r.extend_from_slice(src.as_bytes());
    r
}

fn run(inst: &mut Instance, src: &str) -> (Status, String) {
    let mut reply = Vec::new();
    let s = dispatch(inst, 1, &named(src), &mut reply);
    (s, String::from_utf8_lossy(&reply).into_owned())
}

fn ok(inst: &mut Instance, src: &str) {
    let (s, r) = run(inst, src);
    assert_eq!(s, Status::Ok, "{src}\n{r}");
}

// ---- fuzz ------------------------------------------------------------------------------

const RULES: [&str; 15] = ["type", "required", "default", "min", "max", "minLength", "maxLength", "pattern", "enum", "fields", "additionalFields", "items", "minItems", "maxItems", "other"];

fn rand_value(rng: &mut Rng, depth: u32) -> T {
    const STRS: [&str; 8] = ["string", "integer", "table", "array", "any", "x", "^a", "[a"];
    match rng.below(if depth > 3 { 5 } else { 7 }) {
        0 => I(rng.below(7) as i64 - 2),
        1 => F([1.5, f64::NAN, -0.5, 3.0][rng.index(4)]),
        2 => S(STRS[rng.index(STRS.len())]),
        3 => B(rng.below(2) == 1),
        4 => A((0..rng.below(3)).map(|_| [I(1), S("a"), B(true)][rng.index(3)].clone()).collect()),
        5 => A((0..rng.below(3)).map(|_| rand_value(rng, depth + 1)).collect()),
        _ => M((0..rng.below(4)).map(|_| (["a", "b", "c"][rng.index(3)], rand_value(rng, depth + 1))).collect()),
    }
}

fn rand_rule(rng: &mut Rng, depth: u32) -> T {
    let mut kv = Vec::new();
    for _ in 0..rng.below(4) {
        let name = RULES[rng.index(RULES.len())];
        let v = match name {
            "fields" if depth < 4 => M((0..rng.below(3)).map(|_| (["a", "b", "c"][rng.index(3)], rand_rule(rng, depth + 1))).collect()),
            "items" if depth < 4 => rand_rule(rng, depth + 1),
            _ => rand_value(rng, depth + 1),
        };
        kv.push((name, v));
    }
    M(kv)
}

/// Random definitions are checked without a panic; the accepted ones validate random
/// records without one, and leave the store's invariants whole.
#[test]
fn random_definitions_and_records_never_break_anything() {
    let mut rng = Rng(2024);
    let mut accepted = 0;
    for round in 0..3000 {
        let mut s = Store::new();
        let n = node(build(&mut s, &rand_rule(&mut rng, 0)));
        let mut m = substring;
        if Validator::new(&mut s, &mut m).definition(n).is_err() {
            continue;
        }
        accepted += 1;
        let e = s.make_entry(&[Key::str(b"t")]).unwrap();
        s.set(e, Key::str(b"schema"), Some(Value::Table(n))).unwrap();
        s.commit();
        let sp = s.savepoint();
        let records: Vec<(&str, T)> = (0..4).map(|i| (["r1", "r2", "r3", "r4"][i], rand_value(&mut rng, 0))).collect();
        let t = build(&mut s, &M(records));
        s.set(ROOT, Key::str(b"t"), Some(t)).unwrap();
        let v = s.validate_since(sp, &mut m, None);
        for x in &v {
            assert!(x.path.len() >= 2, "round {round}: a violation names its record");
        }
        s.check_invariants().unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    assert!(accepted > 300, "{accepted} accepted");
}

