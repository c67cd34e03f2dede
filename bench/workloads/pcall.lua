-- 200k pcall calls, of which 20k raise an error (error() with a string message, which
-- gets the chunk name and line in front of it).
local function ok(x) return x + 1 end
local function bad(x) error("bad value " .. x) end

collectgarbage()
local t0 = os.clock()
local sum, errors, last = 0, 0, nil
for i = 1, 200000 do
  local f = (i % 10 == 0) and bad or ok
  local good, r = pcall(f, i)
  if good then
    sum = sum + r
  else
    errors = errors + 1
    last = r
  end
end
local ms = (os.clock() - t0) * 1000

-- the last message, less the chunk name (engines name chunks differently)
return ms .. "|" .. sum .. ":" .. errors .. ":" .. tostring(last):gsub("^.-:(%d+:)", "%1")
