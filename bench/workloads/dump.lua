-- 10k string.dump + load of a small function (binary chunks: Cu may refuse them).
local function f(a, b)
  local t = { a, b }
  return t[1] * t[2] + 1
end

collectgarbage()
local t0 = os.clock()
local s = 0
for i = 1, 10000 do
  local g = assert(load(string.dump(f), "=dumped", "b"))
  s = s + g(i, 2)
end
local ms = (os.clock() - t0) * 1000

return ms .. "|" .. s
