-- math.lua: integers and floats, arithmetic, comparisons, conversions, bitwise operators,
-- numeric for loops and the math library. Modelled on the checks of Lua's own test suite
-- (math.lua). Deterministic: math.random is seeded explicitly.

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

local maxi, mini = math.maxinteger, math.mininteger
local inf = math.huge

local function isnan(x) return x ~= x end
local function eqT(a, b) return a == b and math.type(a) == math.type(b) end

-- the two number subtypes
assert(math.type(1) == "integer" and math.type(1.0) == "float", "math.type")
assert(math.type("1") == nil and math.type({}) == nil, "math.type of non-numbers")
checkerror("value expected", math.type)
assert(1 == 1.0 and -0.0 == 0.0, "integers equal floats with the same value")
assert(maxi == 0x7fffffffffffffff and mini == -maxi - 1, "integer limits")
assert(maxi == 9223372036854775807 and math.type(9223372036854775807) == "integer", "maxinteger literal")
assert(math.type(9223372036854775808) == "float", "decimal literal past maxinteger is a float")
assert(0xffffffffffffffff == -1 and 0x10000000000000000 == 0, "hex literals wrap around")

-- integer arithmetic wraps around
assert(maxi + 1 == mini and mini - 1 == maxi, "wrap around")
assert(-mini == mini and maxi * 2 == -2, "negation and multiplication wrap")
assert(mini // -1 == mini and mini % -1 == 0, "mininteger // -1")

-- floor division and modulo
assert(eqT(7 // 2, 3) and eqT(7.0 // 2, 3.0) and eqT(-7 // 2, -4), "floor division")
assert(eqT(7 % 3, 1) and eqT(-7 % 3, 2) and eqT(7 % -3, -2) and eqT(-7 % -3, -1), "integer modulo")
assert(eqT(-7.5 % 2, 0.5) and eqT(7.5 % -2, -0.5), "float modulo")
assert(eqT(5 % inf, 5.0) and eqT(-5 % inf, inf) and eqT(5 % -inf, -inf), "modulo by infinity")
assert(eqT(1 // 0.0, inf) and eqT(-1 // 0.0, -inf) and eqT(1 / 0, inf), "float division by zero")
assert(isnan(0 / 0) and isnan(1 % 0.0) and isnan(inf - inf), "nan results")
checkerror("attempt to divide by zero", function(a, b) return a // b end, 1, 0)
checkerror("attempt to perform 'n%0'", function(a, b) return a % b end, 1, 0)
assert(eqT(3 / 2, 1.5) and eqT(4 / 2, 2.0), "'/' is float division")
assert(eqT(2 ^ 2, 4.0) and eqT(2 ^ -1, 0.5), "'^' is float exponentiation")
assert(-2 ^ 2 == -4 and 2 ^ 3 ^ 2 == 512, "'^' binds tighter than unary minus, right associative")

-- comparisons between integers and floats are exact
assert(maxi < 2 ^ 63 and maxi + 0.0 == 2 ^ 63, "maxinteger against 2^63")
assert(maxi ~= 2 ^ 63 and maxi ~= maxi + 0.0, "exact comparison")
assert(mini == -2 ^ 63 and mini + 0.0 == -2 ^ 63, "mininteger is exact in a float")
assert((1 << 53) + 1 > 2.0 ^ 53, "2^53 + 1 > 2.0^53")
assert(not ((1 << 53) + 1 == 2.0 ^ 53), "2^53 + 1 ~= 2.0^53")
assert(1 < 1.5 and 2 > 1.5 and 1 <= 1.0 and -1 > -1.5, "mixed comparisons")
assert(maxi < inf and mini > -inf, "infinities")
local nan = 0 / 0
assert(nan ~= nan and not (nan < nan) and not (nan <= nan) and not (nan > 0) and not (nan < 0), "nan")
assert(not (1 < nan) and not (maxi < nan) and not (nan == 1), "nan against integers")

-- float keys are normalised
local t = {}
t[1.0] = "a"; t[2 ^ 53] = "b"
assert(t[1] == "a" and t[1 << 53] == "b", "integral float keys become integers")
assert(next({[3.0] = true}) == 3 and math.type(next({[3.0] = true})) == "integer", "normalised key")
checkerror("index is NaN", function() local x = {}; x[0 / 0] = 1 end)
checkerror("index is nil", function() local x = {}; x[nil] = 1 end)

-- conversions
assert(math.tointeger(3.0) == 3 and math.type(math.tointeger(3.0)) == "integer", "tointeger")
assert(math.tointeger(3.5) == nil and math.tointeger(2 ^ 63) == nil, "tointeger fails")
assert(math.tointeger(-2 ^ 63) == mini, "tointeger of -2^63")
assert(math.tointeger({}) == nil and math.tointeger(inf) == nil and math.tointeger(nan) == nil, "tointeger of others")
assert(eqT(math.floor(3.5), 3) and eqT(math.ceil(3.5), 4), "floor/ceil give integers")
assert(eqT(math.floor(-3.5), -4) and eqT(math.ceil(-3.5), -3), "floor/ceil of negatives")
assert(eqT(math.floor(7), 7) and eqT(math.ceil(mini), mini), "floor/ceil of integers")
assert(math.type(math.floor(1e100)) == "float" and math.floor(-inf) == -inf, "floor out of integer range")
assert(eqT(math.floor(2 ^ 62), 1 << 62), "floor of 2^62")
assert(eqT(3 | 0, 3) and eqT(2.0 | 1, 3), "bitwise accepts floats with integer values")
checkerror("number has no integer representation", function() return 1.5 | 0 end)
checkerror("number has no integer representation", function() return 2 ^ 63 | 0 end)
checkerror("attempt to perform bitwise operation on a string value", function() return "3" | 0 end)
checkerror("number has no integer representation", string.rep, "x", 1.5)

-- bitwise operators
assert(0xF0 | 0x0F == 0xFF and 0xF0 & 0x3C == 0x30 and 0xF0 ~ 0x3C == 0xCC, "and/or/xor")
assert(~0 == -1 and ~mini == maxi, "not")
assert(1 << 63 == mini and 1 << 64 == 0 and 1 << -1 == 0 and 2 >> -1 == 4, "shifts")
assert(-1 >> 1 == maxi and -1 >> 63 == 1 and -1 >> 64 == 0, "logical right shift")
assert(-1 << 0 == -1 and 5 >> 0 == 5, "zero shift")

-- numeric for loops: no overflow at the limits, exact counts
local n = 0
for i = maxi - 2, maxi do n = n + 1 end
assert(n == 3, "loop up to maxinteger")
n = 0
for i = mini, mini + 2 do n = n + 1 end
assert(n == 3, "loop from mininteger")
n = 0
for i = mini + 2, mini, -1 do n = n + 1 end
assert(n == 3, "loop down to mininteger")
n = 0
for i = 1, 0 do n = n + 1 end
assert(n == 0, "empty loop")
n = 0
for i = 3, 1, -1 do n = n * 10 + i end
assert(n == 321, "descending loop")
n = 0
for x = 0.1, 1.0, 0.3 do n = n + 1 end
assert(n == 4, "float loop")
n = 0
for i = 1, 3.5 do n = n + 1; assert(math.type(i) == "integer", "integer loop with float limit") end
assert(n == 3, "float limit is floored")
n = 0
for i = 1, inf do n = n + 1; if n == 10 then break end end
assert(n == 10, "infinite limit")
n = 0
for i = 1, -inf do n = n + 1 end
assert(n == 0, "minus infinite limit")
for i = 1.0, 2 do assert(math.type(i) == "float", "float start gives a float loop") end
checkerror("'for' step is zero", function() for i = 1, 10, 0 do end end)
checkerror("bad 'for' initial value (number expected, got string)", function() for i = "a", 2 do end end)

-- the math library
assert(math.abs(-3) == 3 and math.abs(mini) == mini and eqT(math.abs(-0.0), 0.0), "abs")
assert(eqT(math.max(1, 2.5, -1), 2.5) and eqT(math.max(1, 2), 2) and eqT(math.min(3, 1.0), 1.0), "max/min")
assert(math.max(maxi, 2 ^ 63) == 2 ^ 63 and math.min(mini, -2 ^ 63) == mini, "max/min near the limits")
checkerror("value expected", math.max)
checkerror("value expected", math.min)
assert(math.ult(1, -1) and not math.ult(-1, 1) and math.ult(maxi, mini), "ult")
assert(eqT(math.fmod(-7, 3), -1) and eqT(math.fmod(7, -3), 1) and eqT(math.fmod(7, 3), 1), "fmod integers")
assert(eqT(math.fmod(mini, -1), 0) and eqT(math.fmod(mini, mini), 0), "fmod at the limits")
assert(eqT(math.fmod(-6.5, 2), -0.5) and isnan(math.fmod(1, 0.0)), "fmod floats")
checkerror("zero", math.fmod, 1, 0)
assert(math.sqrt(16) == 4.0 and math.exp(0) == 1.0, "sqrt, exp")
assert(math.log(8, 2) == 3.0 and math.log(100, 10) == 2.0 and math.log(1) == 0.0, "log")
assert(math.log(0) == -inf and math.log(2 ^ 10, 2) == 10.0, "log limits and base 2")
assert(math.sin(0) == 0.0 and math.cos(0) == 1.0 and math.tan(0) == 0.0, "trigonometry at 0")
assert(math.abs(math.pi - 3.141592653589793) < 1e-15, "pi")
assert(math.abs(math.sin(math.pi / 6) - 0.5) < 1e-15, "sin(pi/6)")
assert(math.abs(math.atan(1, 1) - math.pi / 4) < 1e-15 and math.atan(0, -1) == math.pi, "atan")
assert(math.abs(math.asin(1) - math.pi / 2) < 1e-15 and math.acos(1) == 0.0, "asin, acos")
assert(math.huge == inf and -math.huge < mini, "huge")
local ip, fp = math.modf(3.75)
assert(eqT(ip, 3) and eqT(fp, 0.75), "modf: the integral part is an integer when it fits")
ip, fp = math.modf(-3.75)
assert(ip == -3.0 and fp == -0.75, "modf negative")
ip, fp = math.modf(inf)
assert(eqT(ip, inf) and eqT(fp, 0.0), "modf infinity")
ip, fp = math.modf(2 ^ 70)
assert(eqT(ip, 2 ^ 70) and eqT(fp, 0.0), "modf past the integers")
ip, fp = math.modf(5)
assert(eqT(ip, 5) and eqT(fp, 0.0), "modf integer")

-- decimal and hexadecimal numerals, to and from strings
assert(tonumber("0x10") == 16 and tonumber("10", 16) == 16 and tonumber("ff", 16) == 255, "bases")
assert(tonumber("zz", 36) == 1295 and tonumber("ZZ", 36) == 1295, "base 36")
assert(tonumber("8", 8) == nil and tonumber("777", 8) == 511 and tonumber("-ff", 16) == -255, "base 8")
assert(tonumber("1111", 2) == 15 and tonumber("  101  ", 2) == 5, "base 2")
assert(tonumber("1e1", 10) == nil and tonumber("1.5", 10) == nil, "a base allows only digits")
checkerror("base out of range", tonumber, "10", 99)
checkerror("base out of range", tonumber, "10", 1)
checkerror("string expected, got number", tonumber, 10, 16)
for _, x in ipairs{0.1, 1 / 3, math.pi, 2 ^ -1074, 2 ^ 1023 * 1.5, 1e300, -123.456, 5e-324, 1.7976931348623157e308} do
  assert(tonumber(string.format("%.17g", x)) == x, "%.17g round trip of " .. string.format("%a", x))
  assert(tonumber(string.format("%a", x)) == x, "%a round trip")
end

-- math.random (seeded: the sequence repeats, and values stay in range)
math.randomseed(42)
local seq = {}
for i = 1, 10 do seq[i] = math.random(1, 1000) end
math.randomseed(42)
for i = 1, 10 do assert(math.random(1, 1000) == seq[i], "same seed, same sequence") end
math.randomseed(7, 11)
for _ = 1, 1000 do
  local r = math.random()
  assert(math.type(r) == "float" and r >= 0 and r < 1, "random() in [0,1)")
  local k = math.random(10)
  assert(math.type(k) == "integer" and k >= 1 and k <= 10, "random(m) in [1,m]")
  local j = math.random(-3, 3)
  assert(j >= -3 and j <= 3, "random(m,n) in [m,n]")
end
assert(math.random(5, 5) == 5 and math.random(maxi, maxi) == maxi, "one-value intervals")
assert(math.type(math.random(0)) == "integer", "random(0) is any integer")
local big = math.random(mini, maxi)
assert(math.type(big) == "integer", "full interval")
checkerror("interval is empty", math.random, 3, 1)
checkerror("interval is empty", math.random, 0 - 1)
checkerror("wrong number of arguments", math.random, 1, 2, 3)
local counts = {0, 0, 0, 0}
for _ = 1, 4000 do local k = math.random(4); counts[k] = counts[k] + 1 end
for k = 1, 4 do assert(counts[k] > 800, "random(4) is roughly uniform") end

print("OK math")
