-- goto.lua: goto and labels: continue, leaving nested loops, backward jumps, fresh locals
-- on each backward jump, closing to-be-closed variables, and the compile-time rules
-- (visibility, jumps into the scope of a local, duplicate labels). Modelled on the checks
-- of Lua's own test suite (goto.lua).

local function errmsg(src, msg)
  local f, err = load(src, "=goto")
  assert(f == nil, "expected a compile error: " .. src)
  assert(err:find(msg, 1, true), "expected '" .. msg .. "', got '" .. err .. "'")
end

-- continue
local s = 0
for i = 1, 10 do
  if i % 2 == 0 then goto continue end
  s = s + i
  ::continue::
end
assert(s == 25, "continue in a for loop")
local i, odd = 0, {}
while i < 6 do
  i = i + 1
  if i % 2 == 0 then goto next end
  odd[#odd + 1] = i
  ::next::
end
assert(table.concat(odd, ",") == "1,3,5", "continue in a while loop")

-- leaving nested loops
local found
for a = 1, 10 do
  for b = 1, 10 do
    if a * b == 42 then found = a .. "x" .. b; goto done end
  end
end
::done::
assert(found == "6x7", "goto out of two loops")

-- a loop made of a backward goto
do
  local n = 1
  ::top::
  if n <= 3 then n = n + 1; goto top end
  assert(n == 4, "backward goto loop")
end

-- each backward jump creates new locals: closures see different variables
do
  local fs = {}
  local k = 1
  ::again::
  local x = k * 10
  fs[#fs + 1] = function() x = x + 1; return x end
  k = k + 1
  if k <= 3 then goto again end
  assert(fs[1]() == 11 and fs[2]() == 21 and fs[3]() == 31 and fs[1]() == 12, "fresh local per jump")
end

-- goto to the end of a block skips later statements; locals declared later are fine
-- when the label is the last statement of the block
local ran = false
do
  goto finish
  local late = 1
  ran = late == 1
  ::finish::
end
assert(not ran, "skipped code did not run")
assert(load("do goto l1; local a = 1; ::l1:: end"), "label at the end of a block")
assert(load("do goto l1; local a = 1; ::l1:: ;; end"), "void statements after a final label")

-- labels are per block and function; same names in nested functions are independent
do
  local function f()
    goto l
    do return "skipped" end
    ::l::
    return "jumped"
  end
  ::l::
  assert(f() == "jumped", "labels in nested functions are separate")
end
for _ = 1, 2 do
  goto l2
  ::l2::
end   -- each loop body is its own block: the label can repeat in sibling blocks
do goto x1 ::x1:: end
do goto x1 ::x1:: end

-- goto closes to-be-closed variables of the blocks it leaves
do
  local closed = 0
  local n = 0
  ::redo::
  do
    local v <close> = setmetatable({}, {__close = function() closed = closed + 1 end})
    n = n + 1
    if n < 3 then goto redo end
  end
  assert(closed == 3, "jumping out of a block closes its variables")
end

-- goto inside a coroutine and inside a repeat loop
do
  local co = coroutine.wrap(function()
    local c = 0
    ::loop::
    c = c + 1
    coroutine.yield(c)
    if c < 3 then goto loop end
    return "end"
  end)
  assert(co() == 1 and co() == 2 and co() == 3 and co() == "end", "goto with yields")
  local r = 0
  repeat
    r = r + 1
    if r < 5 then goto cont end
    r = r * 100
    ::cont::
  until r > 4
  assert(r == 500, "goto in repeat without locals in the until clause")
end

-- compile-time rules
errmsg("goto l1; local a ::l1:: print(a)", "jumps into the scope of local 'a'")
errmsg("do goto l1 end; local b = 1; ::l1:: print(b)", "jumps into the scope of local 'b'")
errmsg("repeat goto cont; local x ::cont:: until x", "jumps into the scope of local 'x'")
errmsg("do ::l1:: end goto l1", "no visible label 'l1' for <goto>")
errmsg("::l1:: local function f() goto l1 end", "no visible label 'l1' for <goto>")
errmsg("::l1:: ::l1::", "label 'l1' already defined on line 1")
errmsg("::l1:: do ::l1:: end", "label 'l1' already defined on line 1")
errmsg("goto = 1", "<name> expected near '='")
errmsg("::1::", "<name> expected near '1'")
errmsg("for i = 1, 2 do end ::l:: goto l2", "no visible label 'l2'")
assert(load("goto l; do ::l:: end ::l::"), "a label in an inner block does not hide the outer one")

-- 'goto' and labels are valid names only in their own places
local t = {}
t.label = 1
assert(t["goto"] == nil and load("local t = {}; t['goto'] = 1; return t['goto']")() == 1, "'goto' as a string key")

print("OK goto")
