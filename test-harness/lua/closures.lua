-- closures.lua: functions as values, upvalues (shared, per-iteration), recursion, varargs,
-- multiple results, tail calls, and local attributes (<const>, <close>). Modelled on the
-- checks of Lua's own test suite (closure.lua, calls.lua, locals.lua).

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- a counter: each closure has its own upvalue
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local c1, c2 = counter(), counter()
assert(c1() == 1 and c1() == 2 and c2() == 1 and c1() == 3, "independent counters")

-- closures created together share their upvalues
local function pair()
  local v = 0
  return function(x) v = x end, function() return v end
end
local set, get = pair()
set(10)
assert(get() == 10, "shared upvalue")
set("x")
assert(get() == "x", "shared upvalue (2)")

-- every iteration of a loop has fresh locals
local fs = {}
for i = 1, 5 do fs[i] = function() return i end end
for i = 1, 5 do assert(fs[i]() == i, "for loop variable captured per iteration") end
fs = {}
for _, v in ipairs{"a", "b", "c"} do fs[#fs + 1] = function() return v end end
assert(fs[1]() == "a" and fs[3]() == "c", "generic for captures per iteration")
fs = {}
local k = 1
while k <= 3 do
  local j = k * 10
  fs[k] = function() j = j + 1; return j end
  k = k + 1
end
assert(fs[1]() == 11 and fs[1]() == 12 and fs[2]() == 21 and fs[3]() == 31, "while loop locals")
fs = {}
local r = 0
repeat
  local j = r
  fs[#fs + 1] = function() return j end
  r = r + 1
until j >= 2   -- the until clause sees the loop body's locals
assert(#fs == 3 and fs[1]() == 0 and fs[3]() == 2, "repeat loop locals")

-- an upvalue outlives its block and is shared by closures of the same block
local a, b
do
  local x = 1
  a = function() x = x * 2; return x end
  b = function() return x end
end
assert(a() == 2 and a() == 4 and b() == 4, "closed upvalue shared after the block ends")

-- deep nesting of upvalues
local function outer()
  local x = 1
  return function()
    local y = 2
    return function()
      local z = 3
      return function() x = x + 1; return x + y + z end
    end
  end
end
local deep = outer()()()
assert(deep() == 7 and deep() == 8, "upvalues through three levels")

-- recursion
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
assert(fact(20) == 2432902008176640000, "recursive factorial")
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
assert(fib(20) == 6765, "fibonacci")
local even, odd
function even(n) if n == 0 then return true end return odd(n - 1) end
function odd(n) if n == 0 then return false end return even(n - 1) end
assert(even(100) and odd(7) and not odd(10), "mutual recursion")
local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
assert(depth(5000) == 5000, "non-tail recursion 5000 deep")

-- proper tail calls do not grow the stack
local function loop(n, acc) if n == 0 then return acc end return loop(n - 1, acc + 1) end
assert(loop(200000, 0) == 200000, "tail calls")
local function ping(n) if n == 0 then return "done" end return (function(m) return ping(m) end)(n - 1) end
assert(ping(1000) == "done", "tail calls through anonymous functions")

-- varargs
local function count(...) return select("#", ...) end
assert(count() == 0 and count(nil) == 1 and count(nil, nil) == 2 and count(1, nil, 3, nil) == 4, "select #")
local function last(...) return (select(-1, ...)) end
assert(last(1, 2, 3) == 3, "select negative")
assert(select(2, "a", "b", "c") == "b" and select("#", select(2, "a", "b", "c")) == 2, "select n")
checkerror("index out of range", select, 0, 1)
checkerror("index out of range", select, -2, 1)
local function pass(...) return ... end
assert(select("#", pass(1, nil, nil)) == 3, "varargs keep trailing nils")
local packed = table.pack(1, nil, 3, nil)
assert(packed.n == 4 and packed[1] == 1 and packed[3] == 3 and packed[4] == nil, "table.pack")
assert(select("#", table.unpack({1, 2, 3}, 2)) == 2, "unpack from 2")
assert(select("#", table.unpack({}, 1, 3)) == 3, "unpack with explicit range")
assert(select("#", table.unpack(packed, 1, packed.n)) == 4, "unpack a packed table")
local function vararg_closure(...)
  local t = {...}
  return function() return table.unpack(t) end
end
local x1, x2, x3 = vararg_closure(7, 8, 9)()
assert(x1 == 7 and x2 == 8 and x3 == 9, "varargs captured in a table")
local function sum(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + (select(i, ...)) end
  return s
end
assert(sum(1, 2, 3, 4, 5) == 15, "sum of varargs")
local many = {}
for i = 1, 200 do many[i] = i end
assert(sum(table.unpack(many)) == 20100, "200 arguments")

-- multiple results are adjusted
local function three() return 1, 2, 3 end
local t3 = {three()}
assert(#t3 == 3, "all results in a constructor's last field")
t3 = {three(), three()}
assert(#t3 == 4, "only the last call expands")
t3 = {(three())}
assert(#t3 == 1, "parentheses keep one value")
local p, q, r3, s4 = three()
assert(p == 1 and r3 == 3 and s4 == nil, "extra variables get nil")
assert(select("#", three(), 10) == 2, "a call not in last position gives one value")
assert(math.max(three()) == 3, "results as arguments")
local function none() end
assert(select("#", none()) == 0 and select("#", (none())) == 1, "no results")

-- functions are first-class values
local ops = {add = function(m, n) return m + n end, mul = function(m, n) return m * n end}
assert(ops.add(2, 3) == 5 and ops["mul"](2, 3) == 6, "functions in tables")
local obj = {v = 10}
function obj:get(d) return self.v + (d or 0) end
function obj.static(n) return n * 2 end
assert(obj:get() == 10 and obj.get(obj, 5) == 15 and obj.static(4) == 8, "method syntax")
local function compose(f, g) return function(...) return f(g(...)) end end
local inc = function(n) return n + 1 end
assert(compose(inc, inc)(1) == 3, "composition")
local function curry(f) return function(m) return function(n) return f(m, n) end end end
assert(curry(ops.add)(3)(4) == 7, "currying")
assert(string.format("%d", (function(...) return select("#", ...) end)(1, 2)) == "2", "immediate call")

-- debug information about closures
local up1, up2 = 1, 2
local function uses() return up1 + up2 end
assert(debug.getupvalue(uses, 1) == "up1" and select(2, debug.getupvalue(uses, 2)) == 2, "getupvalue")
debug.setupvalue(uses, 1, 10)
assert(uses() == 12 and up1 == 10, "setupvalue")
local info = debug.getinfo(uses, "u")
assert(info.nups == 2 and info.nparams == 0 and not info.isvararg, "getinfo u")
assert(debug.getinfo(count, "u").isvararg, "vararg function")

-- <const> locals
local K <const> = 42
assert(K == 42, "const local")
local ok, err = load("local x <const> = 1; x = 2")
assert(not ok and err:find("attempt to assign to const variable 'x'", 1, true), "const is checked at compile time")
ok, err = load("local x <bogus> = 1")
assert(not ok and err:find("unknown attribute 'bogus'", 1, true), "unknown attribute")

-- <close> locals run __close in reverse order, on normal exit and on errors
local log = {}
local function closer(name)
  return setmetatable({}, {__close = function(_, e) log[#log + 1] = name .. ":" .. tostring(e) end})
end
do
  local c_a <close> = closer("a")
  local c_b <close> = closer("b")
  local c_n <close> = nil   -- nil and false are allowed and ignored
  local c_f <close> = false
end
assert(table.concat(log, " ") == "b:nil a:nil", "closed in reverse order")
log = {}
ok, err = pcall(function()
  local c_x <close> = closer("x")
  error("boom", 0)
end)
assert(not ok and err == "boom" and log[1] == "x:boom", "__close gets the error object")
log = {}
local function early()
  local c_r <close> = closer("r")
  for i = 1, 3 do
    local c_i <close> = closer("i" .. i)
    if i == 2 then return "left" end
  end
end
assert(early() == "left" and table.concat(log, " ") == "i1:nil i2:nil r:nil", "return closes every pending variable")
log = {}
for i = 1, 2 do
  local c_l <close> = closer("l" .. i)
  if i == 1 then goto continue end
  ::continue::
end
assert(table.concat(log, " ") == "l1:nil l2:nil", "each iteration closes its variable")
checkerror("variable 'bad' got a non-closable value", function() local bad <close> = {} end)
local function tbc_iter()   -- a generic for closes its fourth value
  local closed = false
  local tbc = setmetatable({}, {__close = function() closed = true end})
  for _ in function(_, i) if i < 3 then return i + 1 end end, nil, 0, tbc do end
  return closed
end
assert(tbc_iter(), "generic for closes its closing value")

print("OK closures")
