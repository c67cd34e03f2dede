-- strings.lua: string values and the basic string library (sub, byte, char, rep, reverse,
-- upper, lower, len, find without patterns), comparison, coercion, escapes and tostring.
-- Modelled on the checks of Lua's own test suite (strings.lua); patterns, format and
-- pack have their own scripts.

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- comparison is bytewise, and '\0' is an ordinary byte
assert("alo" < "alo1", "prefix sorts first")
assert("" < "a", "empty string sorts first")
assert("alo\0alo" < "alo\0b", "zero inside strings")
assert("alo\0alo\0\0" > "alo\0alo\0", "trailing zeros")
assert("alo" < "alo\0", "a zero byte extends")
assert("alo\0" > "alo", "a zero byte extends (2)")
assert("\0" < "\1", "byte order")
assert("\0\0" < "\0\1", "byte order after zero")
assert("\1\0a\0a" <= "\1\0a\0a", "<= on equal strings")
assert(not ("\1\0a\0b" <= "\1\0a\0a"), "not <=")
assert("\0\0\0" < "\0\0\0\0", "shorter run of zeros")
assert(not ("\0\0\0\0" < "\0\0\0"), "longer run of zeros")
assert("\0\0\0" <= "\0\0\0", "<= equal zeros")
assert("a\0" ~= "a", "zero byte is significant for equality")
assert("Z" < "a" and "A" < "Z", "ASCII order in the C locale")

-- string.sub
local s9 = "123456789"
assert(s9:sub(2, 4) == "234", "sub 2,4")
assert(s9:sub(7) == "789", "sub 7")
assert(s9:sub(7, 6) == "", "sub empty range")
assert(s9:sub(7, 7) == "7", "sub one char")
assert(s9:sub(0, 0) == "", "sub 0,0")
assert(s9:sub(-10, 10) == s9, "sub clamps")
assert(s9:sub(1, 9) == s9, "sub whole")
assert(s9:sub(-10, -20) == "", "sub negative empty")
assert(s9:sub(-1) == "9", "sub -1")
assert(s9:sub(-4) == "6789", "sub -4")
assert(s9:sub(-6, -4) == "456", "sub -6,-4")
assert(s9:sub(math.mininteger, -4) == "123456", "sub mininteger")
assert(s9:sub(math.maxinteger) == "", "sub maxinteger")
assert(s9:sub(math.mininteger, math.maxinteger) == s9, "sub full integer range")
assert(s9:sub(math.mininteger, math.mininteger) == "", "sub mininteger twice")
assert(("\000123456789"):sub(8) == "789", "sub after a zero byte")
assert(string.sub("abc", 2.0) == "bc", "float index with an integer value")
checkerror("number has no integer representation", string.sub, "abc", 1.5)
checkerror("number expected, got table", string.sub, "abc", {})

-- plain find
assert(s9:find("345") == 3, "find 345")
local a, b = s9:find("345")
assert(a == 3 and b == 5, "find returns both ends")
assert(s9:find("345", 3) == 3, "find from 3")
assert(s9:find("345", 4) == nil, "find from 4 fails")
assert(s9:find("789", -3) == 7, "find from negative init")
assert(s9:find("", 10) == 10, "empty string at the end")
assert(s9:find("", 11) == nil, "init past the end")
assert(string.find("", "") == 1, "empty in empty")
assert(string.find("alo", "") == 1, "empty in alo")
assert(string.find("", "aaa", 1) == nil, "nonempty in empty")
assert(("alo(.)alo"):find("(.)", 1, true) == 4, "plain find ignores magic characters")
assert(("a+b"):find("+", 1, true) == 2, "plain +")

-- length and #
assert(#"" == 0 and string.len("") == 0, "empty length")
assert(#"\0\0\0" == 3, "zeros count")
assert(#"1234567890" == 10, "ten")
assert(string.len(12345) == 5, "len coerces numbers")
for i = 0, 30 do assert(#string.rep("a", i) == i, "rep length " .. i) end

-- byte and char
assert(string.byte("a") == 97, "byte a")
assert(string.byte("\xe4") > 127, "high byte")
assert(string.byte(string.char(255)) == 255, "byte 255")
assert(string.byte(string.char(0)) == 0, "byte 0")
assert(string.byte("\0") == 0, "byte of zero")
assert(string.byte("\0\0alo\0x", -1) == string.byte("x"), "byte -1")
assert(string.byte("ba", 2) == 97, "byte 2")
assert(string.byte("\n\n", 2, -1) == 10, "byte 2,-1")
assert(string.byte("\n\n", 2, 2) == 10, "byte 2,2")
assert(string.byte("") == nil, "byte of empty")
assert(string.byte("hi", -3) == nil, "byte before start")
assert(string.byte("hi", 3) == nil, "byte after end")
assert(string.byte("hi", 9, 10) == nil, "byte far after end")
assert(string.byte("hi", 2, 1) == nil, "byte empty range")
assert(select("#", string.byte("hello", 1, -1)) == 5, "byte returns every byte")
assert(string.char() == "", "char of nothing")
assert(string.char(0, 255, 0) == "\0\255\0", "char with zeros")
assert(string.char(0, string.byte("\xe4"), 0) == "\0\xe4\0", "char round trip")
assert(string.char(string.byte("\xe4l\0\xf3u", 1, -1)) == "\xe4l\0\xf3u", "char(byte(s)) == s")
assert(string.char(string.byte("\xe4l\0\xf3u", 1, 0)) == "", "char(byte(empty range))")
assert(string.char(string.byte("\xe4l\0\xf3u", -10, 100)) == "\xe4l\0\xf3u", "clamped byte range")
checkerror("out of range", string.char, 256)
checkerror("out of range", string.char, -1)
checkerror("out of range", string.char, math.maxinteger)
checkerror("out of range", string.char, math.mininteger)

-- upper, lower, reverse, rep
assert(string.upper("ab\0c") == "AB\0C", "upper keeps zeros")
assert(string.lower("\0ABCc%$") == "\0abcc%$", "lower")
assert(string.upper("\xe4") == "\xe4", "C locale: bytes above 127 are not letters")
assert(string.reverse("") == "", "reverse empty")
assert(string.reverse("\0\1\2\3") == "\3\2\1\0", "reverse bytes")
assert(string.reverse("\0001234") == "4321\0", "reverse with a zero")
assert(string.rep("teste", 0) == "", "rep 0")
assert(string.rep("t\233s\00t\234", 2) == "t\233s\0t\234t\233s\000t\234", "rep with zeros")
assert(string.rep("", 10) == "", "rep of empty")
assert(string.rep("x", -1) == "", "rep negative")
assert(string.rep("teste", 0, "xuxu") == "", "rep 0 with sep")
assert(string.rep("teste", 1, "xuxu") == "teste", "rep 1 with sep")
assert(string.rep("\1\0\1", 2, "\0\0") == "\1\0\1\0\0\1\0\1", "rep with sep and zeros")
assert(string.rep("", 10, ".") == string.rep(".", 9), "rep of empty with sep")
assert(string.rep("ab", 3, ", ") == "ab, ab, ab", "rep with sep")
checkerror("resulting string too large", string.rep, "aa", math.maxinteger // 2)
checkerror("resulting string too large", string.rep, "", math.maxinteger // 2, "x")

-- strings are values: methods through the string metatable
assert(getmetatable("").__index == string, "string metatable")
assert(("abc"):upper() == "ABC", "method call on a literal")
local str = "hello"
assert(str:len() == 5 and str:byte(-1) == 111, "methods on a variable")
assert(("x"):rep(3) == "xxx", "rep method")

-- escapes in literals
assert("\65\066\0677" == "ABC7", "decimal escapes (at most three digits)")
assert("\x41\x42\x7a" == "ABz", "hex escapes")
assert("\u{41}\u{7FF}" == "A\xDF\xBF", "utf-8 escapes")
assert("\u{10FFFF}" == "\xF4\x8F\xBF\xBF", "largest unicode code point")
assert("\u{7FFFFFFF}" == "\xFD\xBF\xBF\xBF\xBF\xBF", "largest escape (6 bytes)")
assert("a\z
        b" == "ab", "\\z skips whitespace and newlines")
assert("\a\b\f\n\r\t\v\\\"\'" == "\7\8\12\10\13\9\11\92\34\39", "single-letter escapes")
assert("a\
b" == "a\nb", "escaped newline")
assert([[
abc]] == "abc", "first newline of a long string is skipped")
assert([==[ ]] ]=] ]==] == " ]] ]=] ", "long brackets with levels")
assert(#[[
]] == 0, "long string holding one newline is empty")
assert(not load([["\q"]]), "invalid escape is a syntax error")
assert(not load([["\300"]]), "decimal escape too large")
assert(not load([["\u{80000000}"]]), "utf-8 escape too large")
assert(not load([["abc]]), "unfinished string")

-- coercions between strings and numbers
assert("10" + 1 == 11 and math.type("10" + 1) == "integer", "string + integer")
assert("10" * "2" == 20, "string * string")
assert("0x10" + 0 == 16, "hex string")
assert("1e1" + 0 == 10.0 and math.type("1e1" + 0) == "float", "float string")
assert(" 10 " + 1 == 11, "spaces around numerals")
assert("10" // "3" == 3 and "7" % "4" == 3, "integer division and modulo on strings")
assert(-"2" == -2 and math.type(-"2") == "integer", "unary minus on string")
assert(10 .. 20 == "1020", "concat numbers")
assert(1.0 .. "" == "1.0", "float keeps its point")
assert(-0.0 .. "" == "-0.0", "negative zero")
assert(math.maxinteger .. "" == "9223372036854775807", "maxinteger")
assert(math.mininteger .. "" == "-9223372036854775808", "mininteger")
checkerror("attempt to add a 'string' with a 'number'", function() return "abc" + 1 end)
checkerror("attempt to concatenate a nil value", function() local x; return "a" .. x end)
checkerror("attempt to concatenate a table value", function() return "a" .. {} end)

-- tostring
assert(type(tostring(nil)) == "string" and tostring(nil) == "nil", "tostring nil")
assert(tostring(true) == "true" and tostring(false) == "false", "tostring booleans")
assert(tostring(12) == "12" and tostring(-1203) == "-1203", "tostring integers")
assert(tostring(1234567890123) == "1234567890123", "tostring large integer")
assert(tostring(1203.125) == "1203.125" and tostring(-0.5) == "-0.5", "tostring floats")
assert(tostring(-1203 + 0.0) == "-1203.0", "integral float")
assert(tostring(1e100) == "1e+100", "exponent")
assert(tostring(2^63) == "9.2233720368548e+18", "2^63")
assert(tostring(0.1) == "0.1" and tostring(1/3) == "0.33333333333333", "%.14g")
assert(#tostring("\0") == 1, "tostring keeps zeros")
assert(tostring({}):find("^table: "), "tostring table")
assert(tostring(print):find("^function: "), "tostring function")
assert(tostring(setmetatable({}, {__tostring = function() return "custom" end})) == "custom", "__tostring")
assert(tostring(setmetatable({}, {__name = "MyType"})):find("^MyType: "), "__name")
checkerror("'__tostring' must return a string", tostring, setmetatable({}, {__tostring = function() return {} end}))

-- table.concat
assert(table.concat({}, "x") == "", "concat empty")
assert(table.concat({1, 2, 3}, ", ") == "1, 2, 3", "concat numbers")
assert(table.concat({1, 2.5, "a"}) == "12.5a", "concat mixed")
assert(table.concat({"a", "b", "c"}, "-", 2, 3) == "b-c", "concat range")
assert(table.concat({"a", "b", "c"}, "-", 3, 2) == "", "concat empty range")
assert(table.concat({"a", "b"}, "\0") == "a\0b", "concat with zero separator")
checkerror("at index 1 in table for 'concat'", table.concat, {{}})
checkerror("at index 2 in table for 'concat'", table.concat, {"a", true})

-- building long strings
local parts = {}
for i = 1, 1000 do parts[i] = string.format("%04d", i) end
local long = table.concat(parts)
assert(#long == 4000 and long:sub(-4) == "1000" and long:sub(1, 4) == "0001", "long string")
local acc = ""
for i = 1, 200 do acc = acc .. i % 10 end
assert(#acc == 200 and acc:sub(1, 10) == "1234567890", "repeated concatenation")

print("OK strings")
