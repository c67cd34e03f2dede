-- fib(30), recursive: Lua function calls and integer arithmetic.
-- Every workload measures its own body with os.clock() and returns "<ms>|<checksum>";
-- the checksum (computed outside the timed part) must agree across engines.
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

collectgarbage()
local t0 = os.clock()
local r = fib(30)
local ms = (os.clock() - t0) * 1000

return ms .. "|" .. r
