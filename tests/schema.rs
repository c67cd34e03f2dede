//! Schemas, validation and migrations (issue 6) on the host: every rule of the validator
//! (core/store/schema.rs) with the problems it reports, nesting, arrays, defaults, refused
//! definitions, Lua pattern syntax; which records a write unit touches; the units of the
//! running instance (a call, a pcall/xpcall, a store op, each op of a batch); ops 23–27;
//! migrations (chunks, failures naming the record, abort, rollback, history); schemas,
//! versions and history through storage pages; a seeded fuzz of definitions and records.
#![cfg(feature = "persistence")]

use cu::protocol::dispatch;
use cu::runtime::{Instance, Status};
use cu::store::schema::{check_pattern, Shown, Validator, Violation};
use cu::store::{Key, NodeId, Store, Value, ROOT};

mod common;
use common::{fails, named, ok, run, take_pages_request, Rng};

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

/// A rule of these fields.
fn fields(kv: Vec<(&'static str, T)>) -> T {
    M(vec![("fields", M(kv))])
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
        &fields(vec![
            ("n", M(vec![("min", F(-1.5)), ("max", I(10))])),
            ("s", M(vec![("minLength", I(2)), ("maxLength", I(3)), ("pattern", S("^a"))])),
            ("e", M(vec![("enum", A(vec![I(1), S("two"), B(false)]))])),
            ("l", M(vec![("minItems", I(1)), ("maxItems", I(2))])),
        ]),
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
        &fields(vec![
            ("tags", M(vec![("type", S("array")), ("default", A(vec![S("new")]))])),
            ("n", M(vec![("type", S("integer")), ("required", B(true)), ("default", I(0))])),
            ("meta", M(vec![("type", S("table")), ("default", M(vec![])), ("fields", M(vec![("v", M(vec![("default", I(1))]))]))])),
        ]),
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

fn new() -> Box<Instance> {
    Instance::new(0, 0, [3, 4]).unwrap()
}





/// A new instance with the schema `USERS` on `users`, after which `setup` has run.
fn with_users(setup: &str) -> Box<Instance> {
    let mut a = new();
    ok(&mut a, USERS);
    ok(&mut a, setup);
    a
}

const USERS: &str = r#"
    ext.defineSchema('users', { type = 'table', fields = {
        name = { type = 'string', required = true, minLength = 1, maxLength = 100 },
        age = { type = 'integer', min = 0, max = 150 },
        email = { type = 'string', pattern = '^[%w._]+@[%w.]+$' },
        role = { type = 'string', enum = { 'admin', 'user' }, default = 'user' },
        tags = { type = 'array', items = { type = 'string' }, maxItems = 20 },
        address = { type = 'table', fields = { city = { type = 'string', required = true } } },
        onSave = { type = 'function' },
    }, additionalFields = false })
"#;

#[test]
fn a_call_is_a_unit_checked_when_it_ends() {
    let mut a = with_users("");
    // Built in steps: valid when the call ends. Defaults filled, functions allowed.
    ok(&mut a, "Memory.users = {} Memory.users.u1 = {} Memory.users.u1.name = 'Ann' Memory.users.u1.onSave = function() end");
    ok(&mut a, "local u = Memory.users.u1 assert(u.role == 'user' and type(u.onSave) == 'function')");
    // A violation anywhere fails the call with every problem, and undoes all its writes.
    let r = fails(&mut a, "Memory.other = 1 Memory.users.u1.address = { zip = 1 } Memory.users.u1.age = -1", Status::SchemaViolation, "schema violation: ");
    assert!(r.contains("users.u1.address.city: required (expected true, got nil)") && r.contains("users.u1.age: min (expected 0, got -1)"), "{r}");
    assert!(r.contains("violations") && r.contains("users.u1.address.city"), "the reply's violations: {r}");
    ok(&mut a, "assert(Memory.other == nil and Memory.users.u1.address == nil and Memory.users.u1.age == nil)");
    // Replacing the whole table checks every record; writes to other tables pass freely.
    fails(&mut a, "Memory.users = { a = { name = 'x' }, b = { name = 5 } }", Status::SchemaViolation, "users.b.name: type");
    ok(&mut a, "Memory.free = { anything = { goes = true } }");
    ok(&mut a, "assert(Memory.users.u1.name == 'Ann' and Memory.users.a == nil)");
    // The schema stays with the path when the table is replaced.
    ok(&mut a, "Memory.users = { v = { name = 'V' } }");
    ok(&mut a, "assert(Memory.users.v.role == 'user')");
    a.check_store().unwrap();
}

#[test]
fn pcall_and_xpcall_are_units_too() {
    let mut a = with_users("Memory.users = { u1 = { name = 'Ann' } }");
    ok(&mut a, r#"
        Memory.users.u1.age = 40
        local ok, e = pcall(function() Memory.users.u2 = { age = 500 } Memory.users.u1.age = 41 end)
        assert(not ok and e:find('users.u2.age: max %(expected 150, got 500%)') and e:find('users.u2.name: required'), e)
        -- Its writes are undone, the ones before it kept.
        assert(Memory.users.u2 == nil and Memory.users.u1.age == 40)
        -- A valid pcall returns its results.
        local ok2, x, y = pcall(function(a) Memory.users.u3 = { name = 'C' } return a, 2 end, 1)
        assert(ok2 and x == 1 and y == 2 and Memory.users.u3.role == 'user')
        -- xpcall: the handler sees ordinary errors; a violation comes back as false, message.
        local okx, ex = xpcall(function() Memory.users.u4 = { name = '' } end, function(m) return 'handled: ' .. m end)
        assert(not okx and ex:find('^schema violation: users.u4.name: minLength'), ex)
        assert(select(2, xpcall(error, function(m) return 'handled ' .. m end, 'x')) == 'handled x')
        -- Nested: the inner unit fails alone.
        local ok3 = pcall(function()
            Memory.users.u5 = { name = 'E' }
            local inner = pcall(function() Memory.users.u5.age = -3 end)
            assert(not inner and Memory.users.u5.age == nil)
        end)
        assert(ok3 and Memory.users.u5.name == 'E')
        -- Argument errors as lbaselib's.
        assert(not pcall(pcall) and select(2, pcall(xpcall, print)):find("bad argument #2 to 'xpcall'"))
    "#);
    // Yields across a pcall in a coroutine: checked when it returns.
    ok(&mut a, r#"
        local co = coroutine.wrap(function()
            return pcall(function() Memory.users.y = { name = 'Y' } coroutine.yield(1) Memory.users.y.age = 999 end)
        end)
        assert(co() == 1)
        local ok, e = co()
        assert(not ok and e:find('users.y.age: max'), e)
        assert(Memory.users.y == nil)
    "#);
    // A caught violation leaves the call free to end well.
    ok(&mut a, "assert(Memory.users.u1.age == 40 and Memory.users.u3.name == 'C' and Memory.users.u5.name == 'E')");
}

/// Runs op `op` with `req`; the status and the reply as text.
fn op(inst: &mut Instance, op: u32, req: &[u8]) -> (Status, String) {
    let mut reply = Vec::new();
    let s = dispatch(inst, op, req, &mut reply);
    (s, String::from_utf8_lossy(&reply).into_owned())
}

fn w_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(5);
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

fn w_path(out: &mut Vec<u8>, p: &[&str]) {
    out.push(p.len() as u8);
    for s in p {
        w_str(out, s.as_bytes());
    }
}

/// A wire map of string keys.
fn w_map(out: &mut Vec<u8>, kv: &[(&str, &dyn Fn(&mut Vec<u8>))]) {
    out.push(7);
    out.extend_from_slice(&(kv.len() as u32).to_le_bytes());
    for (k, v) in kv {
        w_str(out, k.as_bytes());
        v(out);
    }
}

fn w_int(out: &mut Vec<u8>, i: i64) {
    out.push(3);
    out.extend_from_slice(&i.to_le_bytes());
}

#[test]
fn store_ops_and_batch_ops_are_units() {
    let mut a = with_users("");
    // SET (op 10) of a bad record: SCHEMA_VIOLATION, nothing stored.
    let mut req = Vec::new();
    w_path(&mut req, &["users"]);
    w_str(&mut req, b"u1");
    w_map(&mut req, &[("age", &|o| w_int(o, 200))]);
    let (s, r) = op(&mut a, 10, &req);
    assert_eq!(s, Status::SchemaViolation, "{r}");
    assert!(r.contains("users.u1.age: max") && r.contains("users.u1.name: required") && r.contains("violations"), "{r}");
    ok(&mut a, "assert(Memory.users == nil or Memory.users.u1 == nil)");
    // A good one, then DELETE (op 11) of its required field fails.
    let mut req = Vec::new();
    w_path(&mut req, &["users"]);
    w_str(&mut req, b"u1");
    w_map(&mut req, &[("name", &|o| w_str(o, b"Ann"))]);
    assert_eq!(op(&mut a, 10, &req).0, Status::Ok);
    let mut req = Vec::new();
    w_path(&mut req, &["users", "u1"]);
    w_str(&mut req, b"name");
    let (s, r) = op(&mut a, 11, &req);
    assert_eq!(s, Status::SchemaViolation, "{r}");
    ok(&mut a, "assert(Memory.users.u1.name == 'Ann' and Memory.users.u1.role == 'user')");
    // BATCH (op 15): each op is a unit. Not atomic: the bad op fails alone.
    let batch = |flags: u8| {
        let mut r = vec![flags];
        r.extend_from_slice(&3u32.to_le_bytes());
        for (key, name) in [("b1", &b"ok"[..]), ("b2", b""), ("b3", b"fine")] {
            r.push(1);
            w_path(&mut r, &["users"]);
            w_str(&mut r, key.as_bytes());
            w_map(&mut r, &[("name", &|o| w_str(o, name))]);
        }
        r
    };
    let mut reply = Vec::new();
    assert_eq!(dispatch(&mut a, 15, &batch(2 | 4), &mut reply), Status::Ok);
    // Per op: status (integer), result; the failed one's is [message, { violations }].
    assert_eq!(&reply[..4], &6u32.to_le_bytes());
    let text = String::from_utf8_lossy(&reply).into_owned();
    assert!(text.contains("users.b2.name: minLength") && text.contains("violations"), "{text}");
    assert!(reply.windows(9).any(|w| w == [3, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), "status -16 for the bad op");
    ok(&mut a, "assert(Memory.users.b1.name == 'ok' and Memory.users.b2 == nil and Memory.users.b3.name == 'fine')");
    // Atomic: the batch is rolled back.
    ok(&mut a, "Memory.users.b1 = nil Memory.users.b3 = nil");
    assert_eq!(dispatch(&mut a, 15, &batch(1 | 2 | 4), &mut reply), Status::Ok);
    ok(&mut a, "assert(Memory.users.b1 == nil and Memory.users.b3 == nil)");
    a.check_store().unwrap();
}

#[test]
fn schema_ops_define_read_and_validate() {
    let mut a = new();
    ok(&mut a, "Memory.t = { a = { n = 1 }, b = { n = 'x' }, c = 5 }");
    let define = |inst: &mut Instance, schema: &dyn Fn(&mut Vec<u8>)| {
        let mut req = Vec::new();
        w_path(&mut req, &["t"]);
        schema(&mut req);
        op(inst, 23, &req)
    };
    let int_n = |o: &mut Vec<u8>| w_map(o, &[("type", &|o| w_str(o, b"table")), ("fields", &|o| w_map(o, &[("n", &|o| w_map(o, &[("type", &|o| w_str(o, b"integer"))]))]))]);
    // Defining does not check what is there.
    let (s, r) = define(&mut a, &int_n);
    assert_eq!((s, r.as_bytes()[4]), (Status::Ok, 1), "{r}");
    // VALIDATE_TABLE (op 25): the records checked, every violation.
    let mut req = Vec::new();
    w_path(&mut req, &["t"]);
    let (s, r) = op(&mut a, 25, &req);
    assert_eq!(s, Status::Ok);
    assert!(r.contains("t.b.n") && r.contains("t.c") && !r.contains("t.a."), "{r}");
    // SCHEMA (op 24): schema, version, history.
    let (s, r) = op(&mut a, 24, &req);
    assert_eq!(s, Status::Ok);
    assert!(r.contains("integer"), "{r}");
    // From Lua, the same.
    ok(&mut a, r#"
        local v, n = ext.validateTable('t')
        assert(n == 3 and #v == 2, #v)
        assert(v[1].path == 't.b.n' and v[1].rule == 'type' and v[1].expected == 'integer' and v[1].got == 'string')
        assert(v[2].path == 't.c' and v[2].got == 'integer')
        local s, version = ext.schema('Memory.t')
        assert(s.fields.n.type == 'integer' and version == 1)
        s.fields.n.type = 'string'   -- a copy: the schema does not change
        assert(ext.schema(Memory.t).fields.n.type == 'integer')
        assert(#ext.migrations('t') == 0 and ext.schema('none') == nil)
        assert(#ext.validateTable('none') == 0)
    "#);
    // Bad definitions: BAD_ARGUMENT naming the place; a non-table; nil removes.
    let (s, r) = define(&mut a, &|o| w_map(o, &[("fields", &|o| w_map(o, &[("n", &|o| w_map(o, &[("pattern", &|o| w_str(o, b"[x"))]))]))]));
    assert_eq!(s, Status::BadArgument);
    assert!(r.contains("bad schema for t: fields.n.pattern: malformed pattern (missing ']')"), "{r}");
    let (s, r) = define(&mut a, &|o| w_int(o, 1));
    assert_eq!(s, Status::BadArgument, "{r}");
    fails(&mut a, "ext.defineSchema('t', { fields = { n = { type = 'int' } } })", Status::LuaRuntime, "bad schema for t: fields.n.type: type is one of");
    fails(&mut a, "ext.defineSchema('t', 5)", Status::LuaRuntime, "a schema is a table");
    fails(&mut a, "ext.defineSchema(5, {})", Status::LuaRuntime, "a table path");
    let (s, r) = define(&mut a, &|o| o.push(0));
    assert_eq!((s, r.as_bytes()[4]), (Status::Ok, 2), "removed: there was one");
    ok(&mut a, "assert(ext.schema('t') == nil and ext.defineSchema('t', nil) == false)");
    ok(&mut a, "Memory.t.b.n = {} assert(#ext.validateTable('t') == 0)");
    // Malformed requests.
    assert_eq!(op(&mut a, 23, &[1]).0, Status::BadArgument);
    assert_eq!(op(&mut a, 24, &[1, 5, 1, 0, 0, 0, b't', 9]).0, Status::BadArgument);
    assert_eq!(op(&mut a, 25, &[]).0, Status::BadArgument);
}

// ---- migrations ------------------------------------------------------------------------

/// MIGRATE's first request: path `users`, `up` (and `down`, a schema) for `version`;
/// `count` records per chunk.
fn migrate_req(count: u32, version: i64, up: &str, down: Option<&str>, schema: Option<&dyn Fn(&mut Vec<u8>)>) -> Vec<u8> {
    let mut r = vec![1u8];
    r.extend_from_slice(&count.to_le_bytes());
    w_path(&mut r, &["users"]);
    w_int(&mut r, version);
    w_str(&mut r, up.as_bytes());
    match down {
        Some(d) => w_str(&mut r, d.as_bytes()),
        None => r.push(0),
    }
    match schema {
        Some(s) => s(&mut r),
        None => r.push(0),
    }
    r
}

fn next_req(count: u32) -> Vec<u8> {
    let mut r = vec![0u8];
    r.extend_from_slice(&count.to_le_bytes());
    r
}

/// The four integers of a MIGRATE reply: done, total, from, to.
fn progress(reply: &[u8]) -> [i64; 4] {
    assert_eq!(&reply[..4], &4u32.to_le_bytes());
    let mut out = [0; 4];
    for (i, o) in out.iter_mut().enumerate() {
        let at = 4 + 9 * i;
        assert_eq!(reply[at], 3);
        *o = i64::from_le_bytes(reply[at + 1..at + 9].try_into().unwrap());
    }
    out
}

const UP: &str = "function(record) record.fullName = record.name; record.name = nil; return record end";
const DOWN: &str = "function(record) record.name = record.fullName; record.fullName = nil; return record end";

fn full_name(o: &mut Vec<u8>) {
    w_map(o, &[("fields", &|o| w_map(o, &[("fullName", &|o| w_map(o, &[("type", &|o| w_str(o, b"string")), ("required", &|o| o.push(2))]))])), ("additionalFields", &|o| o.push(1))]);
}

#[test]
fn a_migration_goes_in_chunks_and_commits_at_the_end() {
    let mut a = new();
    ok(&mut a, "ext.defineSchema('users', { fields = { name = { type = 'string', required = true } } })");
    ok(&mut a, "local u = ext.table('users') for i = 1, 25 do u['u' .. i] = { name = 'n' .. i } end");
    let mut reply = Vec::new();
    let s = dispatch(&mut a, 26, &migrate_req(10, 2, UP, Some(DOWN), Some(&full_name)), &mut reply);
    assert_eq!(s, Status::Ok, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(progress(&reply), [10, 25, 1, 2]);
    assert_eq!(dispatch(&mut a, 26, &next_req(10), &mut reply), Status::Ok);
    assert_eq!(progress(&reply), [20, 25, 1, 2]);
    // Printing from the migration (the OUTPUT op between chunks) keeps it open.
    assert_eq!(dispatch(&mut a, 2, &[], &mut reply), Status::Ok);
    assert_eq!(dispatch(&mut a, 26, &next_req(10), &mut reply), Status::Ok);
    assert_eq!(progress(&reply), [25, 25, 1, 2]);
    ok(&mut a, r#"
        local u = Memory.users
        assert(u.u1.fullName == 'n1' and u.u1.name == nil and u.u25.fullName == 'n25')
        local s, v = ext.schema('users') assert(v == 2 and s.fields.fullName.required and s.additionalFields == false)
        local h = ext.migrations('users')
        assert(#h == 1 and h[1].version == 2 and h[1].from == 1 and h[1].records == 25 and h[1].up:find('fullName'))
        assert(h[1].previous.fields.name and h[1].schema.fields.fullName and h[1].at > 0 and h[1].rolledBack == nil)
    "#);
    // The new schema holds from now on.
    fails(&mut a, "Memory.users.u1.name = 'back'", Status::SchemaViolation, "users.u1.name: additionalFields");
    // Rolled back: down, the old schema and version, the history kept (marked).
    let mut r = vec![3u8];
    r.extend_from_slice(&100u32.to_le_bytes());
    w_path(&mut r, &["users"]);
    assert_eq!(dispatch(&mut a, 26, &r, &mut reply), Status::Ok, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(progress(&reply), [25, 25, 2, 1]);
    ok(&mut a, "assert(Memory.users.u3.name == 'n3' and Memory.users.u3.fullName == nil and select(2, ext.schema('users')) == 1)");
    ok(&mut a, "local h = ext.migrations('users') assert(#h == 1 and h[1].rolledBack >= h[1].at)");
    ok(&mut a, "assert(ext.schema('users').fields.name.required == true)");
    let (s, r2) = op(&mut a, 26, &r);
    assert_eq!(s, Status::BadArgument, "nothing more to roll back: {r2}");
    assert!(r2.contains("no migration to roll back"));
    a.check_store().unwrap();
}

#[test]
fn a_failing_record_undoes_the_migration_and_is_named() {
    let mut a = new();
    ok(&mut a, "local u = ext.table('users') for i = 1, 30 do u[string.format('u%02d', i)] = { name = 'n' .. i, n = i } end");
    let mut reply = Vec::new();
    // An error in `up` at record u17, in the second chunk: the first chunk is undone too.
    let up = "function(r) if r.n == 17 then error('boom') end r.seen = true return r end";
    assert_eq!(dispatch(&mut a, 26, &migrate_req(10, 2, up, None, None), &mut reply), Status::Ok);
    let s = dispatch(&mut a, 26, &next_req(10), &mut reply);
    let text = String::from_utf8_lossy(&reply).into_owned();
    assert_eq!(s, Status::MigrationFailed, "{text}");
    assert!(text.contains("migration of users to version 2 failed at record u17: users.up:1: boom"), "{text}");
    assert!(text.contains("record") && text.contains("violations"), "{text}");
    ok(&mut a, "assert(Memory.users.u01.seen == nil and select(2, ext.schema('users')) == 1 and #ext.migrations('users') == 0)");
    assert_eq!(op(&mut a, 26, &next_req(10)).0, Status::BadArgument, "nothing left open");
    // A result that breaks the new schema: the record named, its violations listed.
    let schema = |o: &mut Vec<u8>| w_map(o, &[("fields", &|o| w_map(o, &[("n", &|o| w_map(o, &[("max", &|o| w_int(o, 20))]))]))]);
    let (s, text) = op(&mut a, 26, &migrate_req(100, 2, "function(r) return r end", None, Some(&schema)));
    assert_eq!(s, Status::MigrationFailed, "{text}");
    assert!(text.contains("failed at record u21: schema violation: users.u21.n: max (expected 20, got 21); users.u22.n"), "{text}");
    // up returning nil, or not a table; a new table is copied in.
    let (s, text) = op(&mut a, 26, &migrate_req(100, 2, "function(r) if r.n == 5 then return nil end return r end", None, None));
    assert_eq!(s, Status::MigrationFailed);
    assert!(text.contains("at record u05: the migration returned nil, not the record (a table)"), "{text}");
    let (s, _) = op(&mut a, 26, &migrate_req(100, 2, "function(r) return { v = r.n * 2 } end", None, None));
    assert_eq!(s, Status::Ok);
    ok(&mut a, "assert(Memory.users.u07.v == 14 and Memory.users.u07.n == nil)");
    // Bad requests: a lower version, code that does not compile, a bad new schema, not a function.
    for (req, status, text) in [
        (migrate_req(10, 2, "function(r) return r end", None, None), Status::BadArgument, "at version 2"),
        (migrate_req(10, 3, "function(r) return r +", None, None), Status::LuaSyntax, "users.up:1:"),
        (migrate_req(10, 3, "function(r) return r end", Some("function("), None), Status::LuaSyntax, "users.down:1:"),
        (migrate_req(10, 3, "42", None, None), Status::BadArgument, "function expression"),
        (migrate_req(10, 3, "nil + 1", None, None), Status::BadArgument, "arithmetic"),
        (migrate_req(10, 3, "function(r) return r end", None, Some(&|o: &mut Vec<u8>| w_map(o, &[("type", &|o| w_str(o, b"x"))]))), Status::BadArgument, "bad schema"),
    ] {
        let (s, r) = op(&mut a, 26, &req);
        assert_eq!(s, status, "{r}");
        assert!(r.contains(text), "{r} lacks {text}");
    }
    ok(&mut a, "assert(select(2, ext.schema('users')) == 2)");
    a.check_store().unwrap();
}

#[test]
fn an_aborted_or_interrupted_migration_is_undone() {
    let mut a = new();
    ok(&mut a, "local u = ext.table('users') for i = 1, 30 do u['u' .. i] = { name = 'n' .. i } end");
    for interrupt in [27u32, 1, 10, 15] {
        let mut reply = Vec::new();
        assert_eq!(dispatch(&mut a, 26, &migrate_req(10, 2, UP, None, None), &mut reply), Status::Ok);
        assert_eq!(progress(&reply)[0], 10);
        // MIGRATE_ABORT, or any other op (a call, a store op, a batch) arriving.
        let req = match interrupt {
            1 => named("return 1"),
            10 => {
                let mut r = Vec::new();
                w_path(&mut r, &["x"]);
                w_str(&mut r, b"k");
                w_int(&mut r, 1);
                r
            }
            15 => {
                let mut r = vec![2 | 4];
                r.extend_from_slice(&0u32.to_le_bytes());
                r
            }
            _ => Vec::new(),
        };
        assert_eq!(dispatch(&mut a, interrupt, &req, &mut reply), Status::Ok, "{}", String::from_utf8_lossy(&reply));
        ok(&mut a, "assert(Memory.users.u1.name == 'n1' and Memory.users.u1.fullName == nil and select(2, ext.schema('users')) == 1)");
        assert_eq!(op(&mut a, 26, &next_req(10)).0, Status::BadArgument);
    }
    // A new first chunk replaces an open migration.
    let mut reply = Vec::new();
    assert_eq!(dispatch(&mut a, 26, &migrate_req(10, 2, UP, None, None), &mut reply), Status::Ok);
    assert_eq!(dispatch(&mut a, 26, &migrate_req(100, 2, "function(r) r.z = 1 return r end", None, None), &mut reply), Status::Ok);
    assert_eq!(progress(&reply), [30, 30, 1, 2]);
    ok(&mut a, "assert(Memory.users.u1.name == 'n1' and Memory.users.u1.z == 1)");
    a.check_store().unwrap();
}

#[test]
fn migrations_from_lua() {
    let mut a = with_users("for i = 1, 20 do Memory.users = Memory.users or {} Memory.users['k' .. i] = { name = 'n' .. i } end");
    ok(&mut a, r#"
        local v = ext.migrate('users', { version = 2, up = 'function(r) r.fullName = r.name r.name = nil return r end',
            down = 'function(r) r.name = r.fullName r.fullName = nil return r end',
            schema = { fields = { fullName = { type = 'string', required = true }, role = { type = 'string' } } } })
        assert(v == 2 and Memory.users.k1.fullName == 'n1' and Memory.users.k1.name == nil and select(2, ext.schema('users')) == 2)
        assert(ext.rollbackMigration('users') == 1 and Memory.users.k1.name == 'n1')
        local h = ext.migrations('users') assert(#h == 1 and h[1].rolledBack)
        -- A failure raises (pcall works) and undoes every change of the migration.
        local ok, e = pcall(ext.migrate, 'users', { version = 3, up = 'function(r) if r.name == "n7" then r.name = 7 end return r end' })
        assert(not ok and e:find('migration of users to version 3 failed at record k7: schema violation: users.k7.name: type'), e)
        assert(Memory.users.k7.name == 'n7' and select(2, ext.schema('users')) == 1 and #ext.migrations('users') == 1)
        local ok2, e2 = pcall(ext.migrate, 'users', { version = 1, up = 'function(r) return r end' })
        assert(not ok2 and e2:find('at version 1'), e2)
        -- One migration at a time.
        local ok3, e3 = pcall(ext.migrate, 'users', { version = 3, up = 'function(r) ext.migrate("users", { version = 4, up = "function(x) return x end" }) return r end' })
        assert(not ok3 and e3:find('already running'), e3)
        assert(not pcall(ext.migrate, 'users', 'x') and not pcall(ext.migrate, 'users', { version = 'x', up = '' }))
    "#);
    // A script failing after a successful migration undoes it with everything else.
    fails(&mut a, "ext.migrate('users', { version = 5, up = 'function(r) r.age = 1 return r end' }) error('later')", Status::LuaRuntime, "later");
    ok(&mut a, "assert(Memory.users.k1.age == nil and select(2, ext.schema('users')) == 1)");
    // Without a schema, a migration keeps the table's: its results are checked against it.
    fails(&mut a, "ext.migrate('users', { version = 5, up = 'function(r) r.x = 1 return r end' })", Status::LuaRuntime, "at record k1: schema violation: users.k1.x: additionalFields");
    a.check_store().unwrap();
}


#[test]
fn schemas_versions_and_history_are_saved_in_the_pages() {
    let mut a = with_users("Memory.users = { u1 = { name = 'Ann' } }");
    ok(&mut a, "ext.migrate('users', { version = 2, up = 'function(r) r.tags = { r.name } return r end', down = 'function(r) r.tags = nil return r end' })");
    ok(&mut a, "ext.defineSchema('users', { fields = { name = { type = 'string', required = true }, tags = { type = 'array', items = { type = 'string' } } } })");
    let saved = take_pages_request(&mut a);
    // Nothing of it shows in Memory or the change set.
    ok(&mut a, "local n = 0 for k in pairs(Memory) do n = n + 1 end assert(n == 1)");
    let mut b = new();
    let mut reply = Vec::new();
    assert_eq!(dispatch(&mut b, 22, &saved, &mut reply), Status::Ok);
    ok(&mut b, "local s, v = ext.schema('users') assert(v == 2 and s.fields.tags.items.type == 'string' and #ext.migrations('users') == 1)");
    fails(&mut b, "Memory.users.u1.tags = { 1 }", Status::SchemaViolation, "users.u1.tags[1]: type");
    ok(&mut b, "assert(ext.rollbackMigration('users') == 1 and Memory.users.u1.tags == nil)");
    b.check_store().unwrap();
}

#[test]
fn patterns_run_under_the_instruction_budget() {
    let mut a = Instance::new(0, 200_000, [1, 2]).unwrap();
    let slow = format!("{}{}b", "a?".repeat(40), "a".repeat(40));
    ok(&mut a, &format!("ext.defineSchema('t', {{ fields = {{ s = {{ pattern = '{slow}' }} }} }})"));
    let subject = "a".repeat(40);
    fails(&mut a, &format!("Memory.t = {{ x = {{ s = '{subject}' }} }}"), Status::InstructionLimit, "instruction limit");
    let mut req = Vec::new();
    w_path(&mut req, &["t"]);
    w_str(&mut req, b"x");
    w_map(&mut req, &[("s", &|o| w_str(o, subject.as_bytes()))]);
    assert_eq!(op(&mut a, 10, &req).0, Status::InstructionLimit);
    ok(&mut a, "assert(Memory.t == nil) Memory.u = 1");
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


#[test]
fn messages_show_values_and_lua_gets_copies() {
    let mut a = new();
    ok(&mut a, r#"
        ext.defineSchema('t', { fields = {
            e = { enum = { 'a', 'b', 3 } },
            x = { min = 1.5 },
            s = { maxLength = 3 },
            f = { type = 'function', default = function() return 'made' end },
        } })
        ext.defineSchema('many', { fields = { n = { type = 'integer' } } })
    "#);
    let long = "y".repeat(60);
    let r = fails(&mut a, &format!("Memory.t = {{ r = {{ e = 'c', x = 0.5, s = '{long}' }} }}"), Status::SchemaViolation, "schema violation");
    assert!(r.contains(r#"t.r.e: enum (expected {"a", "b", 3}, got "c")"#), "{r}");
    assert!(r.contains("t.r.x: min (expected 1.5, got 0.5)"), "{r}");
    assert!(r.contains(&format!("t.r.s: maxLength (expected 3, got 60)")), "{r}");
    let r = fails(&mut a, "Memory.many = {} for i = 1, 12 do Memory.many[i] = { n = i + 0.5 } end", Status::SchemaViolation, "; and 2 more");
    assert!(r.contains("many[1].n: type (expected \"integer\", got \"number\")"), "{r}");
    ok(&mut a, "Memory.t = { r = { e = 'a' } }");
    ok(&mut a, r#"
        assert(Memory.t.r.f() == 'made', 'a function default is copied in')
        Memory.t.q = { e = 'long ' .. string.rep('z', 50) }
        local ok, e = pcall(function() Memory.t.q.x = 2.0 end)
        assert(not ok and e:find('got "long zzzz.-%.%.%."'), e)
        Memory.t.q = nil
        -- validateTable from Lua: expected values as plain copies (the enum list too).
        Memory.t.w = nil
        local s = ext.schema('t')
        assert(type(s.fields.f.default) == 'function' and s.fields.e.enum[3] == 3)
        local bad = pcall(ext.validateTable, 'Memory.t.r.e.z')
        assert(not bad)
        local ok2, e2 = pcall(ext.validateTable, 'Memory.t.r.e.z')
        assert(e2:find('not a table'), e2)
        local gone = Memory.t.r
        Memory.t.r = nil
        local ok3, e3 = pcall(ext.schema, gone)
        assert(not ok3 and e3:find('deleted'), e3)
        assert(not pcall(ext.schema, 5))
    "#);
    // validateTable's values from Lua, a table included.
    ok(&mut a, "Memory.t = nil");
    ok(&mut a, r#"
        local n = 0 for k in pairs(Memory) do n = n + 1 end
        ext.defineSchema('v', { fields = { e = { enum = { 'a' } }, k = { type = 'integer' } } })
    "#);
    let mut reply = Vec::new();
    let mut req = Vec::new();
    w_path(&mut req, &["v"]);
    w_str(&mut req, b"r");
    w_map(&mut req, &[("e", &|o| w_str(o, b"a"))]);
    assert_eq!(dispatch(&mut a, 10, &req, &mut reply), Status::Ok);
    ok(&mut a, "Memory.v.s = { e = 'a', k = 0 }");
    ok(&mut a, "ext.defineSchema('v', { fields = { e = { enum = { 'b', 'c' } }, k = { min = 0.25 } } })");
    let (s, r) = run(&mut a, "Memory.v.s.k = 0.1");
    assert_eq!(s, Status::SchemaViolation, "{r}");
    ok(&mut a, r#"
        local v, n = ext.validateTable('v')
        assert(n == 2 and #v == 3, #v)
        assert(v[1].path == 'v.r.e' and v[1].rule == 'enum' and v[1].expected[1] == 'b' and v[1].expected[2] == 'c' and v[1].got == 'a')
        assert(v[2].path == 'v.s.e' and v[3].path == 'v.s.k' and v[3].rule == 'min' and v[3].expected == 0.25 and v[3].got == 0)
    "#);
}
