-- 100k string.format calls (integer, string and float conversions), joined with
-- table.concat and the .. operator.
local N = 100000
collectgarbage()
local t0 = os.clock()
local parts = {}
for i = 1, N do
  parts[i] = string.format("%d:%s:%.3f", i, "item", i / 7) .. ";" .. i % 13
end
local s = table.concat(parts, ",")
local ms = (os.clock() - t0) * 1000

-- checksum: the length and a hash of every 29th byte (so formatting differences show)
local h = 0
for i = 1, #s, 29 do h = (h * 31 + string.byte(s, i)) & 0x7fffffff end
return ms .. "|" .. #s .. ":" .. h
