-- A 200k-entry table built and summed twice: once as an array (t[i] = ...), once as a
-- hash (negative integer keys, which live in the hash part), the sum with pairs().
local N = 200000
collectgarbage()
local t0 = os.clock()
local t, h = {}, {}
for i = 1, N do t[i] = i * 3 end
for i = 1, N do h[-i] = i end
local s = 0
for i = 1, #t do s = s + t[i] end
for k, v in pairs(h) do s = s + v - k end
local ms = (os.clock() - t0) * 1000

return ms .. "|" .. s
