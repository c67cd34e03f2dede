-- 1e6 method calls through a metatable (__index lookup, self field updates).
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({ x = x, y = y }, Point) end
function Point:move(dx, dy)
  self.x = self.x + dx
  self.y = self.y + dy
  return self
end

collectgarbage()
local t0 = os.clock()
local p = Point.new(0, 0)
for i = 1, 1000000 do p:move(1, i & 3) end
local ms = (os.clock() - t0) * 1000

return ms .. "|" .. p.x .. ":" .. p.y
