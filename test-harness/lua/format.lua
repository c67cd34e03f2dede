-- format.lua: string.format (every conversion, flags, widths, precisions up to 99, %q,
-- %a), tostring and tonumber edge cases, and the numerals Lua accepts. The expected texts
-- are what C99's printf/strtod give (glibc), which Lua's own formatting builds on.

local F = string.format

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

local function eq(fmt, v, expected)
  local got = F(fmt, v)
  assert(got == expected, "format('" .. fmt .. "', " .. tostring(v) .. "): expected '" .. expected .. "', got '" .. got .. "'")
end

-- integers
eq("%d", 3, "3")
eq("%d", 3.0, "3")
eq("%d", "10", "10")
eq("%5d|", 42, "   42|")
eq("%-5d|", 42, "42   |")
eq("%05d", -42, "-0042")
eq("%+d", 5, "+5")
eq("% d", 5, " 5")
eq("%.3d", 7, "007")
eq("%i", 42, "42")
eq("%d", math.mininteger, "-9223372036854775808")
eq("%d", math.maxinteger, "9223372036854775807")
eq("%d", -0.0, "0")
eq("%x", 255, "ff")
eq("%X", 255, "FF")
eq("%#x", 255, "0xff")
eq("%x", -1, "ffffffffffffffff")
eq("%o", 8, "10")
eq("%#o", 8, "010")
eq("%c", 65, "A")
assert(F("%c", 0) == "\0", "%c of zero")
checkerror("number has no integer representation", F, "%d", 1.5)
checkerror("number has no integer representation", F, "%x", 2 ^ 63)
checkerror("number expected, got string", F, "%d", "x")
checkerror("bad argument #2 to 'string.format' (no value)", F, "%d")

-- floats: %f, %e, %g
eq("%.3f", 2 / 3, "0.667")
eq("%.0f", 0.5, "0")
eq("%.0f", 1.5, "2")
eq("%.0f", 2.5, "2")
eq("%5.2f", 3.14159, " 3.14")
eq("%.14f", 0.1, "0.10000000000000")
eq("%f", 1e15, "1000000000000000.000000")
eq("%-10.2f|", 1.005, "1.00      |")
eq("%+.1f", 2.25, "+2.2")
eq("%010.3f", -3.5, "-00003.500")
eq("%.1f", 0.05, "0.1")
eq("%.2f", 2.675, "2.67")
eq("%f", 2 ^ 63, "9223372036854775808.000000")
eq("%.3f", 1e-10, "0.000")
eq("% f", 1, " 1.000000")
eq("%f", 3, "3.000000")
eq("%e", 12345.6789, "1.234568e+04")
eq("%.0e", 5e-324, "5e-324")
eq("%E", 1.5, "1.500000E+00")
eq("%.3e", 0, "0.000e+00")
eq("%e", 1e300, "1.000000e+300")
eq("%#.0e", 2, "2.e+00")
eq("%g", 1e20, "1e+20")
eq("%g", 0.1, "0.1")
eq("%.3g", 2 / 3, "0.667")
eq("%g", 100000, "100000")
eq("%g", 1000000, "1e+06")
eq("%#g", 1, "1.00000")
eq("%g", 2 ^ 53, "9.0072e+15")
eq("%g", 1e-5, "1e-05")
eq("%g", 1e-4, "0.0001")
eq("%.0g", 0, "0")
eq("%G", 1e-10, "1E-10")
eq("%.17g", 0.1, "0.10000000000000001")
eq("%.20g", 1 / 3, "0.33333333333333331483")
eq("%g", 5e-324, "4.94066e-324")
eq("%g", -0.0, "-0")
eq("%.14g", 2 ^ 63, "9.2233720368548e+18")
eq("%f", math.huge, "inf")
eq("%e", -math.huge, "-inf")
eq("%g", math.huge, "inf")
eq("%5.1f|", math.huge, "  inf|")

-- huge precisions are exact
eq("%.99f", 1 / 3, "0.333333333333333314829616256247390992939472198486328125" .. string.rep("0", 45))
eq("%.99e", 1 / 3, "3.333333333333333148296162562473909929394721984863281250" .. string.rep("0", 45) .. "e-01")
local big = "100000000000000001097906362944045541740492309677311846336810682903157585404911491537163328978494688899061249669721172515611590283743140088328307009198146046031271664502933027185697489699588559043338384466165001178426897626212945177628091195786707458122783970171784415105291802893207873272974885715430223118336"
eq("%.99f", 1e308, big .. "." .. string.rep("0", 99))
eq("%99.99f", -1e308, "-" .. big .. "." .. string.rep("0", 99))
eq("%.0f", 2 ^ 100, "1267650600228229401496703205376")
eq("%.60f", 2 ^ -60, "0.000000000000000000867361737988403547205962240695953369140625")
checkerror("invalid conversion", F, "%.100f", 1)
checkerror("invalid conversion", F, "%100d", 1)
checkerror("invalid conversion", F, "%0100d", 1)

-- hexadecimal floats
eq("%a", 1, "0x1p+0")
eq("%a", 0.5, "0x1p-1")
eq("%a", 3, "0x1.8p+1")
eq("%a", 0.0, "0x0p+0")
eq("%a", -0.0, "-0x0p+0")
eq("%a", 0.1, "0x1.999999999999ap-4")
eq("%.3a", 1, "0x1.000p+0")
eq("%A", 1, "0X1P+0")
eq("%a", 2 ^ -1074, "0x0.0000000000001p-1022")
eq("%a", 2 ^ -1022, "0x1p-1022")
eq("%a", 1e308, "0x1.1ccf385ebc8ap+1023")
eq("%a", math.huge, "inf")
eq("%a", -math.huge, "-inf")

-- strings
eq("%s", "abc", "abc")
eq("%5.1s|", "abc", "    a|")
eq("%-5s|", "ab", "ab   |")
eq("%.0s|", "abc", "|")
eq("%s", 1.5, "1.5")
eq("%s", 10, "10")
assert(F("%s", "a\0b") == "a\0b", "%s keeps zeros")
assert(F("%s %s", true, nil) == "true nil", "%s uses tostring")
assert(F("%s", setmetatable({}, {__tostring = function() return "obj" end})) == "obj", "%s uses __tostring")
checkerror("string contains zeros", F, "%10s", "a\0b")
local long = string.rep("x", 1000)
assert(F("%s", long) == long and F("<%s>", long) == "<" .. long .. ">", "long strings")
assert(#F("%099d", 1) == 99 and #F("%-99s|", "a") == 100, "widths up to 99")

-- %% and invalid conversions
assert(F("%%") == "%" and F("100%%") == "100%", "%%")
assert(F("no conversions") == "no conversions", "plain text")
assert(F("%s-%s", 1, 2) == "1-2", "two items")
checkerror("invalid conversion '%y' to 'format'", F, "%y", 1)
checkerror("invalid conversion '%5%' to 'format'", F, "%5%", 1)
checkerror("invalid conversion", F, "%", 1)
checkerror("specifier '%q' cannot have modifiers", F, "%10q", 1)
checkerror("bad argument #2", F, "%s")

-- %q produces Lua literals that read back as the same value
eq("%q", 'a"b\n\0c\1272', '"a\\"b\\\n\\0c\\1272"')
eq("%q", "\r\t\\", '"\\13\\9\\\\"')
eq("%q", "\0001", '"\\0001"')
eq("%q", 1, "1")
eq("%q", -5, "-5")
eq("%q", math.mininteger, "0x8000000000000000")
eq("%q", 0.5, "0x1p-1")
eq("%q", 1.0, "0x1p+0")
eq("%q", 2 ^ 63, "0x1p+63")
eq("%q", math.huge, "1e9999")
eq("%q", -math.huge, "-1e9999")
eq("%q", 0 / 0, "(0/0)")
eq("%q", true, "true")
eq("%q", nil, "nil")
checkerror("value has no literal form", F, "%q", {})
checkerror("value has no literal form", F, "%q", print)
math.randomseed(99)
for _ = 1, 200 do
  local bytes = {}
  for i = 1, math.random(0, 20) do bytes[i] = math.random(0, 255) end
  local s = string.char(table.unpack(bytes))
  assert(load("return " .. F("%q", s))() == s, "%q round trip of a binary string")
end
for _, v in ipairs{0.1, -1 / 3, 1e300, 2 ^ -1074, math.maxinteger, math.mininteger, 0, -0.0, 123456789} do
  local back = load("return " .. F("%q", v))()
  assert(back == v and math.type(back) == math.type(v), "%q round trip of " .. tostring(v))
end
assert(1 / load("return " .. F("%q", -0.0))() == -math.huge, "%q keeps the sign of zero")

-- tostring of numbers (%.14g for floats, a ".0" marks integral floats)
local ts = {
  {1e15, "1e+15"}, {1e14, "1e+14"}, {123456.0, "123456.0"}, {2 ^ 53, "9.007199254741e+15"},
  {-2 ^ 63, "-9.2233720368548e+18"}, {math.pi, "3.1415926535898"}, {0.1 + 0.2, "0.3"},
  {100, "100"}, {1e100, "1e+100"}, {5e-324, "4.9406564584125e-324"}, {-0.0, "-0.0"},
  {1e-7, "1e-07"}, {123456789012.5, "123456789012.5"}, {math.huge, "inf"}, {-math.huge, "-inf"},
  {3.0, "3.0"}, {-7, "-7"}, {2 ^ 24, "16777216.0"}, {0.5, "0.5"},
}
for _, c in ipairs(ts) do
  assert(tostring(c[1]) == c[2], "tostring: expected " .. c[2] .. ", got " .. tostring(c[1]))
end

-- tonumber and the numerals of the language
local function num(s, expected, subtype)
  local v = tonumber(s)
  assert(v == expected, "tonumber('" .. s .. "'): expected " .. tostring(expected) .. ", got " .. tostring(v))
  if subtype then assert(math.type(v) == subtype, "tonumber('" .. s .. "') should be " .. subtype) end
end
num("10", 10, "integer")
num(" 10 ", 10, "integer")
num("\t10\n", 10, "integer")
num("-0", 0, "integer")
num("0x10", 16, "integer")
num("0X1F", 31, "integer")
num("0xffffffffffffffff", -1, "integer")
num("0x8000000000000000", math.mininteger, "integer")
num("9223372036854775807", math.maxinteger, "integer")
num("-9223372036854775808", math.mininteger, "integer")
num("9223372036854775808", 2 ^ 63, "float")
num("1e1", 10.0, "float")
num("1E2", 100.0, "float")
num(".5", 0.5, "float")
num("5.", 5.0, "float")
num("-.5e1", -5.0, "float")
num("0x1p4", 16.0, "float")
num("0x.8", 0.5, "float")
num("0xA.8p1", 21.0, "float")
num("0x1P-2", 0.25, "float")
num("0x1p-1074", 2 ^ -1074, "float")
num("1e309", math.huge, "float")
num("-1e309", -math.huge, "float")
num("1" .. string.rep("0", 400), math.huge, "float")
num("1e-400", 0.0, "float")
num("0x1p-1075", 0.0, "float")
num("3.14159265358979323846264338327950288419716939937510", math.pi, "float")
num("0.1", 0.1, "float")
num("2.2250738585072014e-308", 2 ^ -1022, "float")
num("4.9406564584124654e-324", 2 ^ -1074, "float")
num("1.7976931348623157e308", 1.7976931348623157e308, "float")
num("123456789012345678", 123456789012345678, "integer")
for _, bad in ipairs{"", " ", "0x", "1e", "1e+", "0x.p1", ".", ".e1", "1 e1", "1..2", "- 1", "inf", "nan",
                     "1.5x", "0x1g", "abc", "1e1.5", "--1", "0x-1", "1f", "\0" .. "1", "1\0"} do
  assert(tonumber(bad) == nil, "tonumber('" .. bad .. "') should fail")
end
assert(1 / tonumber("-0.0") == -math.huge, "-0.0 keeps its sign")
assert(tonumber(42) == 42 and tonumber(1.5) == 1.5 and tonumber(nil) == nil and tonumber({}) == nil, "non-strings")
checkerror("value expected", tonumber)
assert(tonumber("10", 36) == 36 and tonumber("Z", 36) == 35 and tonumber("7fffffffffffffff", 16) == math.maxinteger, "bases")
assert(tonumber("ffffffffffffffff", 16) == -1 and tonumber(" -1 ", 2) == -1, "base wraps around")
assert(tonumber("1.0", 10) == nil and tonumber("", 10) == nil and tonumber("2", 2) == nil, "invalid in base")

-- conversions between integers and floats
assert(math.tointeger(2 ^ 53) == 9007199254740992, "2^53 converts")
assert(3 == 3.0 and math.type(3 // 1.0) == "float", "mixed arithmetic gives floats")
assert(F("%.0f", 2 ^ 63) == "9223372036854775808", "2^63 exactly")
assert(tostring(1e15 // 1) == "1e+15" and tostring(10 // 3) == "3", "floor division results")
assert(tostring(2 ^ 63 == math.maxinteger + 1.0) == "true", "2^63 == maxinteger + 1.0")
math.randomseed(5)
for _ = 1, 300 do
  local x = (math.random() - 0.5) * 2.0 ^ math.random(-1000, 1000)
  assert(tonumber(F("%.17g", x)) == x, "%.17g round trip")
  assert(tonumber(F("%a", x)) == x, "%a round trip")
  assert(load("return " .. F("%q", x))() == x, "%q round trip")
  local s14 = tostring(x)
  assert(math.abs(tonumber(s14) - x) <= math.abs(x) * 1e-13, "tostring keeps 14 digits")
end

print("OK format")
