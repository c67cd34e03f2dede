-- utf8.lua: the utf8 library: char, charpattern, codepoint, len, offset, codes, strict
-- and lax decoding, invalid sequences and error messages. Modelled on the checks of Lua's
-- own test suite (utf8.lua).

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

local function codes(s, lax)
  local t = {}
  for p, c in utf8.codes(s, lax) do t[#t + 1] = p .. ":" .. c end
  return table.concat(t, " ")
end

-- char
assert(utf8.char() == "", "char of nothing")
assert(utf8.char(72, 105) == "Hi", "ASCII")
assert(utf8.char(0) == "\0", "zero")
assert(utf8.char(228, 8364, 0x10FFFF) == "\xC3\xA4\xE2\x82\xAC\xF4\x8F\xBF\xBF", "2, 3 and 4 bytes")
assert(utf8.char(0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000) ==
       "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80", "boundaries")
assert(utf8.char(0x7FFFFFFF) == "\xFD\xBF\xBF\xBF\xBF\xBF", "largest value (6 bytes)")
assert(utf8.char(0x200000) == "\xF8\x88\x80\x80\x80", "5 bytes")
checkerror("value out of range", utf8.char, -1)
checkerror("value out of range", utf8.char, 0x80000000)
checkerror("number expected, got string", utf8.char, "x")

-- charpattern
assert(utf8.charpattern == "[\0-\x7F\xC2-\xFD][\x80-\xBF]*", "charpattern")
local s = "h\xC3\xA9llo \xE2\x82\xAC!"
local chars = {}
for ch in s:gmatch(utf8.charpattern) do chars[#chars + 1] = ch end
assert(#chars == 8 and chars[2] == "\xC3\xA9" and chars[7] == "\xE2\x82\xAC", "gmatch with charpattern")

-- len
assert(utf8.len("") == 0 and utf8.len("abc") == 3, "len ASCII")
assert(utf8.len(s) == 8, "len mixed")
assert(utf8.len(s, 4) == 6, "len from a position")
assert(utf8.len(s, 3) == nil and select(2, utf8.len(s, 3)) == 3, "len from a continuation byte fails")
assert(utf8.len(s, 1, 2) == 2, "len of a prefix ending inside a character")
assert(utf8.len(s, -4) == 2, "len from a negative position")
assert(utf8.len("abc", 4) == 0, "len at the end")
checkerror("initial position out of bounds", utf8.len, "abc", 5)
checkerror("final position out of bounds", utf8.len, "abc", 1, 4)
local n, pos = utf8.len("ab\xFFcd")
assert(n == nil and pos == 3, "len reports the first invalid byte")
n, pos = utf8.len("abc\xE4")
assert(n == nil and pos == 4, "truncated sequence")
n, pos = utf8.len("\xC0\x80")
assert(n == nil and pos == 1, "overlong encoding is invalid")
n, pos = utf8.len("\xED\xA0\x80")
assert(n == nil and pos == 1, "surrogates are invalid in strict mode")
assert(utf8.len("\xED\xA0\x80", 1, -1, true) == 1, "surrogates are accepted in lax mode")
n, pos = utf8.len("\xF4\x90\x80\x80")
assert(n == nil and pos == 1, "above U+10FFFF is invalid in strict mode")
assert(utf8.len("\xF4\x90\x80\x80", 1, -1, true) == 1, "above U+10FFFF in lax mode")
assert(utf8.len("\xFD\xBF\xBF\xBF\xBF\xBF", 1, -1, true) == 1, "6-byte sequence in lax mode")
n, pos = utf8.len("\x80")
assert(n == nil and pos == 1, "a lone continuation byte")

-- codepoint
assert(utf8.codepoint("A") == 65, "codepoint")
local cps = {utf8.codepoint(s, 1, -1)}
assert(#cps == 8 and cps[2] == 0xE9 and cps[7] == 0x20AC, "all code points")
assert(select("#", utf8.codepoint(s, 2, 3)) == 1, "a range ending inside a character")
assert(select("#", utf8.codepoint("abc", 3, 2)) == 0, "an empty range gives nothing")
assert(utf8.codepoint("\u{10FFFF}") == 0x10FFFF, "largest strict code point")
assert(utf8.codepoint("\u{7FFFFFFF}", 1, 1, true) == 0x7FFFFFFF, "largest lax code point")
checkerror("invalid UTF-8 code", utf8.codepoint, "\u{7FFFFFFF}")
checkerror("invalid UTF-8 code", utf8.codepoint, "\xFF")
checkerror("invalid UTF-8 code", utf8.codepoint, "a\x80", 1, -1)
checkerror("out of bounds", utf8.codepoint, "abc", 5)
checkerror("out of bounds", utf8.codepoint, "abc", 1, 4)
for _, c in ipairs{0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF} do
  local e = utf8.char(c)
  assert(utf8.codepoint(e) == c and utf8.len(e) == 1, "round trip of " .. c)
end
for _, c in ipairs{0xD800, 0xDFFF, 0x110000, 0x3FFFFFF, 0x4000000} do
  local e = utf8.char(c)
  assert(utf8.codepoint(e, 1, 1, true) == c, "lax round trip of " .. c)
  assert(utf8.len(e) == nil, "strict rejects " .. c)
end

-- offset
assert(utf8.offset(s, 1) == 1 and utf8.offset(s, 2) == 2 and utf8.offset(s, 3) == 4, "offset forward")
assert(utf8.offset(s, 8) == 11 and utf8.offset(s, 9) == #s + 1, "offset of the end")
assert(utf8.offset(s, 10) == nil, "offset past the end")
assert(utf8.offset(s, -1) == #s and utf8.offset(s, -2) == 8, "offset backward")
assert(utf8.offset(s, -8) == 1 and utf8.offset(s, -9) == nil, "offset backward to the start")
assert(utf8.offset(s, 0, 3) == 2 and utf8.offset(s, 0, 10) == 8, "offset 0 finds the start of a character")
assert(utf8.offset(s, 1, 4) == 4 and utf8.offset(s, 2, 4) == 5, "offset from a position")
assert(utf8.offset("", 1) == 1 and utf8.offset("", -1) == nil, "offset in an empty string")
checkerror("initial position is a continuation byte", utf8.offset, s, 1, 3)
checkerror("position out of bounds", utf8.offset, "abc", 1, 5)

-- codes
assert(codes("abc") == "1:97 2:98 3:99", "codes ASCII")
assert(codes(s) == "1:104 2:233 4:108 5:108 6:111 7:32 8:8364 11:33", "codes mixed")
assert(codes("") == "", "codes of an empty string")
assert(codes("\xED\xA0\x80", true) == "1:55296", "codes in lax mode")
checkerror("invalid UTF-8 code", codes, "a\xFFb")
checkerror("invalid UTF-8 code", codes, "\xED\xA0\x80")

-- every valid code point class round-trips through char/len/codepoint in one string
local list = {}
for c = 0, 0x10FFFF, 4099 do
  if c < 0xD800 or c > 0xDFFF then list[#list + 1] = c end
end
local str = utf8.char(table.unpack(list))
assert(utf8.len(str) == #list, "len of many code points")
local back = {utf8.codepoint(str, 1, -1)}
assert(#back == #list, "decoded count")
for i = 1, #list do assert(back[i] == list[i], "decoded value " .. i) end
local k = 0
for p, c in utf8.codes(str) do
  k = k + 1
  assert(c == list[k] and utf8.offset(str, k) == p, "codes and offset agree")
end
assert(k == #list, "codes visits every character")

print("OK utf8")
