-- tables.lua: tables and metatables: constructors, length, keys, next/pairs/ipairs, the
-- table library (insert, remove, move, pack, unpack, concat), metamethods (index, newindex,
-- call, arithmetic, comparison, concat, len, eq, tostring, metatable protection), raw
-- access, weak tables and finalizers. Modelled on the checks of Lua's own test suite
-- (nextvar.lua, events.lua, gc.lua). Never depends on the order of hash keys.

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

local function size(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

-- constructors
local t = {10, 20, 30, x = 1, ["y"] = 2, [1 + 3] = 40}
assert(#t == 4 and t[4] == 40 and t.x == 1 and t.y == 2, "constructor fields")
t = {[1] = "a", "b"}
assert(t[1] == "b", "positional fields win over [1]")
local function three() return 1, 2, 3 end
assert(#{three()} == 3 and #{three(), three()} == 4 and #{(three())} == 1, "multiple results in constructors")
assert(#{1, 2, 3, nil} == 3, "trailing nil")
t = {}
for i = 1, 1000 do t[i] = i * 2 end
assert(#t == 1000 and t[500] == 1000, "growing array")
for i = 1000, 501, -1 do t[i] = nil end
assert(#t == 500, "shrinking array")

-- keys: integers, floats, strings, booleans, tables, functions
t = {}
t[1] = "int"; t[1.5] = "float"; t["1"] = "string"; t[true] = "bool"
local k1, k2 = {}, function() end
t[k1] = "table"; t[k2] = "function"
assert(t[1.0] == "int" and t[1.5] == "float" and t["1"] == "string" and t[true] == "bool", "key kinds")
assert(t[k1] == "table" and t[k2] == "function" and t[{}] == nil, "reference keys")
assert(size(t) == 6, "six keys")
t[2 ^ 53] = "big"
assert(t[1 << 53] == "big", "float key with an integer value")
checkerror("index is nil", function() t[nil] = 1 end)
checkerror("index is NaN", function() t[0 / 0] = 1 end)
assert(t[nil] == nil and t[0 / 0] == nil, "reading nil and NaN keys is fine")

-- next, pairs, ipairs
t = {1, 2, 3, a = "x", b = "y"}
local n, sum = 0, 0
for k, v in pairs(t) do n = n + 1; if type(v) == "number" then sum = sum + v end end
assert(n == 5 and sum == 6, "pairs visits everything")
assert(next({}) == nil, "next of an empty table")
checkerror("invalid key to 'next'", next, {}, "nokey")
local order = {}
for i, v in ipairs({"a", "b", nil, "d"}) do order[#order + 1] = i .. v end
assert(table.concat(order, ",") == "1a,2b", "ipairs stops at the first nil")
local proxied = setmetatable({}, {__index = function(_, i) if i <= 3 then return i * 10 end end})
order = {}
for i, v in ipairs(proxied) do order[#order + 1] = v end
assert(table.concat(order, ",") == "10,20,30", "ipairs respects __index")
local custom = setmetatable({}, {__pairs = function(self) return function(_, k) if not k then return 1, "one" end end, self, nil end})
order = {}
for k, v in pairs(custom) do order[#order + 1] = k .. v end
assert(order[1] == "1one" and #order == 1, "__pairs")
t = {}
for i = 1, 100 do t[i] = i end
for k in pairs(t) do t[k] = nil end   -- clearing fields during traversal is allowed
assert(next(t) == nil, "cleared during traversal")

-- table.insert and table.remove
t = {}
table.insert(t, "a")
table.insert(t, "c")
table.insert(t, 2, "b")
table.insert(t, 1, "z")
assert(table.concat(t) == "zabc", "insert")
table.insert(t, #t + 1, "end")
assert(t[5] == "end", "insert at #t+1")
checkerror("wrong number of arguments to 'insert'", table.insert, t, 1, 2, 3)
checkerror("position out of bounds", table.insert, t, 0, "x")
checkerror("position out of bounds", table.insert, t, 7, "x")
assert(table.remove(t) == "end" and table.remove(t, 1) == "z" and table.concat(t) == "abc", "remove")
assert(table.remove(t, 2) == "b" and table.concat(t) == "ac", "remove from the middle")
assert(table.remove({}) == nil, "remove from empty")
assert(table.remove({}, 1) == nil, "remove position 1 of empty")
t = {[0] = "zero"}
assert(table.remove(t, 0) == "zero" and t[0] == nil, "remove position 0 when empty")
t = {1, 2, 3}
assert(table.remove(t, 4) == nil and #t == 3, "remove at #t+1")
checkerror("position out of bounds", table.remove, {1, 2, 3}, 5)
checkerror("position out of bounds", table.remove, {1, 2, 3}, -1)

-- table.move
t = {1, 2, 3, 4, 5}
table.move(t, 2, 4, 1)
assert(table.concat(t, ",") == "2,3,4,4,5", "move left (overlapping)")
t = {1, 2, 3, 4, 5}
table.move(t, 1, 3, 3)
assert(table.concat(t, ",") == "1,2,1,2,3", "move right (overlapping)")
local dst = table.move({1, 2, 3}, 1, 3, 2, {"x"})
assert(table.concat(dst, ",") == "x,1,2,3", "move to another table")
assert(table.move({1}, 1, 0, 5)[5] == nil, "empty move")
t = table.move({1, 2, 3}, 1, 3, math.maxinteger - 2)
assert(t[math.maxinteger] == 3, "move to the end of the integers")
checkerror("too many elements to move", table.move, {}, -1, math.maxinteger, 2)
checkerror("destination wrap around", table.move, {}, 1, math.maxinteger, 2)

-- table.pack, table.unpack, table.concat
t = table.pack()
assert(t.n == 0, "pack nothing")
t = table.pack(nil, nil)
assert(t.n == 2 and #t == 0, "pack nils")
assert(select("#", table.unpack({1, 2, 3})) == 3, "unpack")
assert(select("#", table.unpack({1, 2, 3}, 2, 3)) == 2, "unpack range")
assert(select("#", table.unpack({}, 5, 4)) == 0, "unpack empty range")
local u1, u2 = table.unpack({}, math.maxinteger - 1, math.maxinteger)
assert(u1 == nil and u2 == nil, "unpack at the end of the integers")
checkerror("too many results to unpack", table.unpack, {}, 1, 1e7)
checkerror("too many results to unpack", table.unpack, {}, math.mininteger, math.maxinteger)
assert(table.concat({1, 2.0, "x"}, "-") == "1-2.0-x", "concat formats numbers like tostring")

-- metatables
t = setmetatable({}, {__index = {inherited = "yes"}})
assert(t.inherited == "yes" and rawget(t, "inherited") == nil, "__index table")
local base = {greet = function(self) return "hi " .. self.name end}
base.__index = base
local obj = setmetatable({name = "ann"}, base)
assert(obj:greet() == "hi ann", "method lookup through __index")
local derived = setmetatable({shout = function(self) return self:greet():upper() end}, {__index = base})
derived.__index = derived
local o2 = setmetatable({name = "bob"}, derived)
assert(o2:shout() == "HI BOB", "two levels of inheritance")
local log = {}
t = setmetatable({}, {__newindex = function(tt, k, v) log[#log + 1] = k; rawset(tt, k, v * 2) end})
t.a = 1
t.a = 5   -- existing key: no __newindex
assert(t.a == 5 and #log == 1, "__newindex only for absent keys")
local store = {}
t = setmetatable({}, {__newindex = store})
t.x = 1
assert(rawget(t, "x") == nil and store.x == 1, "__newindex table")
local callable = setmetatable({}, {__call = function(self, a, b) return a + b, self end})
local r1, r2 = callable(2, 3)
assert(r1 == 5 and r2 == callable, "__call")
checkerror("attempt to call a table value", function() local plain = {}; plain() end)

-- arithmetic, bitwise, concat, length and unary metamethods
local V = {}
V.__index = V
local function vec(x, y) return setmetatable({x = x, y = y}, V) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__sub = function(a, b) return vec(a.x - b.x, a.y - b.y) end
V.__mul = function(a, b)
  if type(a) == "number" then return vec(a * b.x, a * b.y) end
  if type(b) == "number" then return vec(a.x * b, a.y * b) end
  return a.x * b.x + a.y * b.y
end
V.__unm = function(a) return vec(-a.x, -a.y) end
V.__len = function(a) return math.sqrt(a.x * a.x + a.y * a.y) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return #a < #b end
V.__le = function(a, b) return #a <= #b end
V.__tostring = function(a) return "(" .. a.x .. "," .. a.y .. ")" end
V.__concat = function(a, b) return tostring(a) .. tostring(b) end
V.__div = function(a, n) return vec(a.x / n, a.y / n) end
V.__idiv = function(a, n) return vec(a.x // n, a.y // n) end
V.__mod = function(a, n) return vec(a.x % n, a.y % n) end
V.__pow = function(a, n) return vec(a.x ^ n, a.y ^ n) end
V.__band = function(a, b) return "band" end
V.__shl = function(a, b) return "shl" end
V.__bnot = function(a) return "bnot" end
local p, q = vec(1, 2), vec(3, 4)
assert(tostring(p + q) == "(4,6)" and tostring(q - p) == "(2,2)", "__add, __sub")
assert(p * q == 11 and tostring(2 * p) == "(2,4)" and tostring(p * 3) == "(3,6)", "__mul with numbers")
assert(tostring(-p) == "(-1,-2)" and #q == 5.0, "__unm, __len")
assert(p == vec(1, 2) and p ~= q and not rawequal(p, vec(1, 2)), "__eq")
assert(p < q and p <= q and not (q < p) and q > p and q >= p, "__lt, __le")
assert(p .. q == "(1,2)(3,4)" and p .. "!" == "(1,2)!" and "v=" .. p == "v=(1,2)", "__concat")
assert(tostring(q / 2) == "(1.5,2.0)" and tostring(q // 2) == "(1,2)" and tostring(q % 2) == "(1,0)", "__div, __idiv, __mod")
assert(tostring(p ^ 2) == "(1.0,4.0)", "__pow")
assert((p & 1) == "band" and (1 << p) == "shl" and ~p == "bnot", "bitwise metamethods")
checkerror("attempt to compare two table values", function() return {} < {} end)
assert(setmetatable({}, {__eq = function() return true end}) ~= 1, "__eq is not used with other types")
local eqcalls = 0
local E = {__eq = function() eqcalls = eqcalls + 1; return false end}
local e1 = setmetatable({}, E)
assert(e1 == e1 and eqcalls == 0, "__eq is not called for the same object")
assert(not (e1 == setmetatable({}, E)) and eqcalls == 1, "__eq is called for different objects")
assert(#setmetatable({1, 2, 3}, {__len = function() return 42 end}) == 42, "__len on tables")
assert(rawlen({1, 2, 3}) == 3 and rawlen("abcd") == 4, "rawlen")
checkerror("table or string expected", rawlen, 5)
assert(rawequal(t, t) and not rawequal({}, {}) and rawequal("a", "a"), "rawequal")
local idx = setmetatable({}, {__index = function(_, k) return k * 2 end})
assert(idx[21] == 42 and rawget(idx, 21) == nil, "__index function")
rawset(idx, 21, "raw")
assert(idx[21] == "raw", "rawset bypasses metamethods")

-- metatable protection and __name
local locked = setmetatable({}, {__metatable = "locked"})
assert(getmetatable(locked) == "locked", "__metatable hides the metatable")
checkerror("cannot change a protected metatable", setmetatable, locked, {})
assert(getmetatable("abc").__index == string, "strings have a metatable")
assert(getmetatable(1) == nil and getmetatable(print) == nil, "numbers and functions have none")
checkerror("nil or table expected", setmetatable, {}, 1)
local named = setmetatable({}, {__name = "Point"})
assert(tostring(named):find("^Point: "), "__name in tostring")
checkerror("bad argument #1", string.rep, named)
assert(select(2, pcall(string.rep, named)):find("Point expected", 1, true) or
       select(2, pcall(string.rep, named)):find("got Point", 1, true), "__name in argument errors")

-- weak tables and finalizers
local weak = setmetatable({}, {__mode = "k"})
local function fillweak() for i = 1, 10 do weak[{}] = i end end
fillweak()
local keep = {}
weak[keep] = "kept"
collectgarbage()
collectgarbage()
assert(size(weak) == 1 and weak[keep] == "kept", "weak keys are collected")
local weakv = setmetatable({}, {__mode = "v"})
local function fillweakv() for i = 1, 10 do weakv[i] = {} end weakv[11] = "strings stay" end
fillweakv()
collectgarbage()
assert(size(weakv) == 1 and weakv[11] == "strings stay", "weak values are collected")
local finalized = {}
local function make(i) setmetatable({}, {__gc = function() finalized[#finalized + 1] = i end}) end
for i = 1, 5 do make(i) end
collectgarbage()
collectgarbage()
assert(#finalized == 5, "finalizers run on collection")
local ephemeron = setmetatable({}, {__mode = "k"})
do
  local key = {}
  ephemeron[key] = {ref = key}   -- the value refers to its key: still collectable
end
collectgarbage()
assert(next(ephemeron) == nil, "ephemeron entries are collected")
assert(type(collectgarbage("count")) == "number" and collectgarbage("count") > 0, "collectgarbage count")
assert(collectgarbage("isrunning") == true, "collector is running")
collectgarbage("step")
collectgarbage("incremental")

-- many tables
local all = {}
for i = 1, 2000 do all[i] = {id = i, tag = "t" .. i} end
local total = 0
for _, rec in ipairs(all) do total = total + rec.id end
assert(total == 2001000 and all[1234].tag == "t1234", "2000 small tables")

print("OK tables")
