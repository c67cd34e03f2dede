-- coroutines.lua: create, resume, yield, status, wrap, isyieldable, running, close;
-- values through yield and resume, errors inside coroutines, generators, yields across
-- pcall and metamethods. Modelled on the checks of Lua's own test suite (coroutine.lua).

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- the main coroutine
local main, ismain = coroutine.running()
assert(type(main) == "thread" and ismain == true, "running in the main coroutine")
assert(not coroutine.isyieldable(), "the main coroutine cannot yield")
assert(coroutine.status(main) == "running", "main is running")
checkerror("attempt to yield from outside a coroutine", coroutine.yield, 1)

-- values flow both ways
local co = coroutine.create(function(a, b)
  assert(coroutine.isyieldable(), "a coroutine can yield")
  local self, ism = coroutine.running()
  assert(type(self) == "thread" and ism == false, "running inside a coroutine")
  local c = coroutine.yield(a + b)
  local d, e = coroutine.yield(c * 2)
  return d + e, "end"
end)
assert(type(co) == "thread" and coroutine.status(co) == "suspended", "new coroutine is suspended")
local ok, v = coroutine.resume(co, 1, 2)
assert(ok and v == 3, "first resume gets the first yield")
ok, v = coroutine.resume(co, 10)
assert(ok and v == 20, "yield returns the resume arguments")
local ok2, sum, tag = coroutine.resume(co, 3, 4)
assert(ok2 and sum == 7 and tag == "end", "the return values end the coroutine")
assert(coroutine.status(co) == "dead", "finished coroutine is dead")
ok, v = coroutine.resume(co)
assert(not ok and v == "cannot resume dead coroutine", "resuming a dead coroutine fails")

-- many values through yield and resume
co = coroutine.create(function(...)
  local args = table.pack(...)
  local back = table.pack(coroutine.yield(table.unpack(args, 1, args.n)))
  return back.n, table.unpack(back, 1, back.n)
end)
local big = {}
for i = 1, 100 do big[i] = i end
local res = table.pack(coroutine.resume(co, table.unpack(big)))
assert(res.n == 101 and res[1] == true and res[101] == 100, "100 values yielded")
res = table.pack(coroutine.resume(co, nil, nil, 3))
assert(res[1] and res[2] == 3 and res[3] == nil and res[5] == 3, "trailing and leading nils")

-- status seen from inside: running, normal
local outer
local inner = coroutine.create(function()
  assert(coroutine.status(outer) == "normal", "the resumer is normal")
  assert(coroutine.status(coroutine.running()) == "running", "self is running")
  coroutine.yield()
end)
outer = coroutine.create(function()
  assert(coroutine.resume(inner), "nested resume")
  local okr, msg = coroutine.resume(outer)
  assert(not okr and msg == "cannot resume non-suspended coroutine", "a running coroutine cannot be resumed")
  return "outer done"
end)
ok, v = coroutine.resume(outer)
assert(ok and v == "outer done", "outer finished")
assert(coroutine.status(inner) == "suspended", "inner still suspended")
ok, v = coroutine.resume(main)
assert(not ok and v == "cannot resume non-suspended coroutine", "main cannot be resumed")

-- errors inside coroutines
co = coroutine.create(function() local x = nil; return x.field end)
ok, v = coroutine.resume(co)
assert(not ok and v:find("attempt to index a nil value (local 'x')", 1, true), "runtime error in a coroutine")
assert(coroutine.status(co) == "dead", "an error kills the coroutine")
local errobj = {}
co = coroutine.create(function() coroutine.yield(1); error(errobj) end)
assert(coroutine.resume(co))
ok, v = coroutine.resume(co)
assert(not ok and v == errobj, "error objects keep their identity")
checkerror("thread expected", coroutine.resume, 1)
checkerror("function expected", coroutine.create, 1)

-- wrap
local gen = coroutine.wrap(function(n) for i = 1, n do coroutine.yield(i) end return "last" end)
assert(gen(3) == 1 and gen() == 2 and gen() == 3 and gen() == "last", "wrap resumes")
checkerror("cannot resume dead coroutine", gen)
local failing = coroutine.wrap(function() error("inside wrap") end)
ok, v = pcall(failing)
assert(not ok and v:find("inside wrap", 1, true), "wrap propagates errors")
failing = coroutine.wrap(function() error({code = 7}) end)
ok, v = pcall(failing)
assert(not ok and v.code == 7, "wrap propagates error objects")

-- generators: all permutations
local function permgen(a, n)
  n = n or #a
  if n <= 1 then coroutine.yield(a)
  else
    for i = 1, n do
      a[n], a[i] = a[i], a[n]
      permgen(a, n - 1)
      a[n], a[i] = a[i], a[n]
    end
  end
end
local function permutations(a)
  return coroutine.wrap(function() permgen(a) end)
end
local seen, nperm = {}, 0
for p in permutations({1, 2, 3, 4}) do
  local key = table.concat(p)
  assert(not seen[key], "no permutation twice")
  seen[key] = true
  nperm = nperm + 1
end
assert(nperm == 24 and seen["1234"] and seen["4321"], "24 permutations")

-- producer / filter / consumer
local function producer(items)
  return coroutine.create(function() for _, x in ipairs(items) do coroutine.yield(x) end end)
end
local function filter(src, pred)
  return coroutine.create(function()
    while true do
      local okf, x = coroutine.resume(src)
      if not x then return end
      if pred(x) then coroutine.yield(x) end
    end
  end)
end
local evens = filter(producer({1, 2, 3, 4, 5, 6, 7, 8}), function(x) return x % 2 == 0 end)
local got = {}
while true do
  local okc, x = coroutine.resume(evens)
  if not x then break end
  got[#got + 1] = x
end
assert(table.concat(got, ",") == "2,4,6,8", "pipeline of coroutines")

-- yields across pcall, metamethods and iterators (allowed in Lua 5.4)
co = coroutine.create(function()
  local okp, val = pcall(function()
    local x = coroutine.yield("in pcall")
    error("after " .. x, 0)
  end)
  coroutine.yield(okp, val)
  return "finished"
end)
assert(select(2, coroutine.resume(co)) == "in pcall", "yield inside pcall")
local _, okp, val = coroutine.resume(co, "resume")
assert(okp == false and val == "after resume", "pcall catches after the yield")
assert(select(2, coroutine.resume(co)) == "finished", "continues after pcall")
local lazy = setmetatable({}, {__index = function(_, k) return coroutine.yield(k) end,
                               __add = function(_, n) return coroutine.yield("add") + n end})
co = coroutine.wrap(function() return lazy.some + (lazy + 1) end)
assert(co() == "some" and co(10) == "add", "yield inside __index and __add")
assert(co(5) == 16, "metamethod results after resuming")
co = coroutine.wrap(function()
  local acc = {}
  for k in function(_, prev) prev = (prev or 0) + 1; if prev <= 3 then coroutine.yield(prev); return prev end end do
    acc[#acc + 1] = k
  end
  return table.concat(acc)
end)
assert(co() == 1 and co() == 2 and co() == 3 and co() == "123", "yield inside an iterator")
co = coroutine.wrap(function() table.sort({3, 2, 1}, function(a, b) coroutine.yield(); return a < b end) end)
checkerror("attempt to yield across a C-call boundary", co)

-- coroutine.close
co = coroutine.create(function() coroutine.yield() end)
assert(coroutine.close(co) and coroutine.status(co) == "dead", "close a new coroutine")
local closed = false
co = coroutine.create(function()
  local res <close> = setmetatable({}, {__close = function() closed = true end})
  coroutine.yield()
end)
coroutine.resume(co)
assert(coroutine.close(co) and closed, "close runs pending __close")
co = coroutine.create(function() error("dead by error", 0) end)
coroutine.resume(co)
ok, v = coroutine.close(co)
assert(ok == false and v == "dead by error", "close reports the error of a dead coroutine")
assert(coroutine.close(coroutine.create(print)), "close a coroutine that never ran")
checkerror("cannot close a running coroutine", coroutine.close, main)

-- many coroutines alive at once
local cos = {}
for i = 1, 500 do
  cos[i] = coroutine.create(function(x) local y = coroutine.yield(x * 2); return x + y end)
end
local total = 0
for i = 1, 500 do total = total + select(2, coroutine.resume(cos[i], i)) end
for i = 1, 500 do total = total + select(2, coroutine.resume(cos[i], 1)) end
assert(total == 500 * 501 + 500 * 501 / 2 + 500, "500 coroutines")

-- a coroutine keeps its own stack of calls
local function deep(n) if n == 0 then return coroutine.yield("bottom") end return deep(n - 1) + 1 end
co = coroutine.create(function() return deep(100) end)
assert(select(2, coroutine.resume(co)) == "bottom", "yield from deep inside")
assert(select(2, coroutine.resume(co, 0)) == 100, "the stack unwinds after resuming")
local tb = debug.traceback(coroutine.create(function() end))
assert(type(tb) == "string" and tb:find("stack traceback", 1, true), "traceback of a coroutine")

print("OK coroutines")
