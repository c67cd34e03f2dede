-- sort.lua: table.sort with and without comparators, on numbers, strings, mixed integer
-- and float keys, objects with __lt, already sorted and reversed input, duplicates, and its
-- error cases. Modelled on the checks of Lua's own test suite (sort.lua). Deterministic:
-- the random input comes from an explicitly seeded math.random.

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

local function check(t, lt, what)
  lt = lt or function(a, b) return a < b end
  for i = 2, #t do
    assert(not lt(t[i], t[i - 1]), what .. ": out of order at " .. i)
  end
end

local function copy(t) local c = {} for i = 1, #t do c[i] = t[i] end return c end

local function sameitems(a, b, what)
  assert(#a == #b, what .. ": size changed")
  local count = {}
  for _, v in ipairs(a) do count[v] = (count[v] or 0) + 1 end
  for _, v in ipairs(b) do count[v] = (count[v] or 0) - 1 end
  for _, c in pairs(count) do assert(c == 0, what .. ": items changed") end
end

-- small cases
local t = {}
table.sort(t)
assert(#t == 0, "empty")
t = {1}
table.sort(t)
assert(t[1] == 1, "one element")
t = {2, 1}
table.sort(t)
assert(t[1] == 1 and t[2] == 2, "two elements")
t = {3, 1, 2}
table.sort(t, function(a, b) return a > b end)
assert(table.concat(t, ",") == "3,2,1", "descending comparator")
t = {"banana", "apple", "Cherry", "date", "", "apple"}
table.sort(t)
assert(table.concat(t, ",") == ",Cherry,apple,apple,banana,date", "strings in byte order")
t = {3, 1.5, -2, 2 ^ 53, math.mininteger, 0, -0.0, math.maxinteger, -math.huge, math.huge}
table.sort(t)
check(t, nil, "mixed integers and floats")
assert(t[1] == -math.huge and t[#t] == math.huge and t[2] == math.mininteger, "limits at the ends")

-- random arrays of several sizes (above and below the size where the pivot is randomized)
math.randomseed(2024)
for _, n in ipairs{5, 10, 50, 99, 100, 101, 500, 3000} do
  local a = {}
  for i = 1, n do a[i] = math.random(-1000, 1000) end
  local orig = copy(a)
  table.sort(a)
  check(a, nil, "random " .. n)
  sameitems(a, orig, "random " .. n)
  table.sort(a, function(x, y) return x > y end)
  check(a, function(x, y) return x > y end, "reverse random " .. n)
end

-- sorted, reversed, constant and organ-pipe inputs
local n = 2000
local a = {}
for i = 1, n do a[i] = i end
table.sort(a)
check(a, nil, "already sorted")
for i = 1, n do a[i] = n - i end
table.sort(a)
check(a, nil, "reversed")
for i = 1, n do a[i] = 7 end
table.sort(a)
check(a, nil, "constant")
for i = 1, n do a[i] = (i <= n / 2) and i or n - i end
table.sort(a)
check(a, nil, "organ pipe")
for i = 1, n do a[i] = i % 3 end
table.sort(a, function(x, y) return x > y end)
check(a, function(x, y) return x > y end, "many duplicates")

-- sorting records by a key, then by a second key
local people = {
  {name = "ana", age = 30}, {name = "bob", age = 25}, {name = "cid", age = 30},
  {name = "dan", age = 20}, {name = "eve", age = 25},
}
table.sort(people, function(p, q)
  if p.age ~= q.age then return p.age < q.age end
  return p.name < q.name
end)
local order = {}
for i, p in ipairs(people) do order[i] = p.name end
assert(table.concat(order, " ") == "dan bob eve ana cid", "sort by two keys")

-- objects ordered by __lt
local mt = {__lt = function(x, y) return x.v < y.v end}
local objs = {}
for i = 1, 200 do objs[i] = setmetatable({v = (i * 7919) % 211}, mt) end
table.sort(objs)
for i = 2, #objs do assert(objs[i - 1].v <= objs[i].v, "__lt order") end

-- sorting through __index/__newindex (a proxy) and with a length from __len
local store = {5, 3, 9, 1}
local proxy = setmetatable({}, {
  __index = store, __newindex = store, __len = function() return #store end,
})
table.sort(proxy)
assert(table.concat(store, ",") == "1,3,5,9", "sort through metamethods")

-- only the part 1..#t is sorted: fields after the sequence stay where they are
t = {4, 3, 2, 1, x = "a", [-1] = 10}
table.sort(t)
assert(table.concat(t, ",") == "1,2,3,4" and t.x == "a" and t[-1] == 10, "other keys untouched")

-- errors
checkerror("attempt to compare", table.sort, {1, "x", 2})
checkerror("attempt to compare two table values", table.sort, {{}, {}})
checkerror("bad argument #2 to 'table.sort' (function expected, got number)", table.sort, {3, 2, 1}, 42)
checkerror("array too big", table.sort, setmetatable({}, {__len = function() return math.maxinteger end}))
checkerror("comparator failed", table.sort, {3, 2, 1}, function() error("comparator failed") end)
local ok, err = pcall(table.sort, {5, 4, 3, 2, 1, 6, 7, 8, 9, 1, 2, 3}, function() return true end)
assert(ok or err:find("invalid order function for sorting", 1, true), "an inconsistent comparator fails cleanly")
local big = {}
for i = 1, 300 do big[i] = (i * 37) % 101 end
ok, err = pcall(table.sort, big, function(x, y) return x <= y end)
assert(ok or err:find("invalid order function for sorting", 1, true), "a non-strict comparator fails cleanly")
for i = 1, #big do assert(big[i] ~= nil, "no element lost after a failed sort") end

-- sort is usable from coroutines (without yielding inside the comparator)
local co = coroutine.wrap(function(arr) table.sort(arr); coroutine.yield(arr[1]); return arr[#arr] end)
assert(co({9, 8, 7}) == 7 and co() == 9, "sort inside a coroutine")

print("OK sort")
