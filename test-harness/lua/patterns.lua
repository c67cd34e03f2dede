-- patterns.lua: pattern matching with string.find, match, gmatch and gsub: character
-- classes, sets, quantifiers, anchors, captures (including position captures and back
-- references), %b, %f, replacement strings, tables and functions, and malformed patterns.
-- Modelled on the checks of Lua's own test suite (pm.lua).

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

local function f(s, p)
  local i, e = string.find(s, p)
  if i then return string.sub(s, i, e) end
end

-- find
local a, b = string.find("", "")
assert(a == 1 and b == 0, "empty match")
a, b = string.find("alo", "")
assert(a == 1 and b == 0, "empty pattern")
a, b = string.find("a\0o a\0o a\0o", "a", 1)
assert(a == 1 and b == 1, "first a")
a, b = string.find("a\0o a\0o a\0o", "a\0o", 2)
assert(a == 5 and b == 7, "pattern with a zero")
a, b = string.find("a\0o a\0o a\0o", "a\0o", 9)
assert(a == 9 and b == 11, "from 9")
a, b = string.find("a\0a\0a\0a\0\0ab", "\0ab", 2)
assert(a == 9 and b == 11, "zero before ab")
a, b = string.find("a\0a\0a\0a\0\0ab", "b")
assert(a == 11 and b == 11, "last b")
assert(not string.find("a\0a\0a\0a\0\0ab", "b\0"), "b followed by zero")
assert(not string.find("", "\0"), "zero in empty")
assert(string.find("alo123alo", "12") == 4, "digits")
assert(not string.find("alo123alo", "^12"), "anchored failure")
assert(string.find("aaab", "a*b") == 1 and string.find("aaab", "a-b") == 1, "quantifiers from the start")
assert(string.find("abc", "", 4) == 4 and string.find("abc", "", 5) == nil, "init at and past the end")
assert(string.find("abc", "c", -1) == 3 and string.find("abc", "a", -10) == 1, "negative init")

-- single items and quantifiers
assert(f("aloALO", "%l*") == "alo", "%l*")
assert(f("aLo_ALO", "%a*") == "aLo", "%a*")
assert(f("  \n\r*&\n\r   xuxu  \n\n", "%g%g%g+") == "xuxu", "%g")
assert(f("aaab", "a*") == "aaa", "a*")
assert(f("aaa", "^.*$") == "aaa", "^.*$")
assert(f("aaa", "b*") == "", "b* matches empty")
assert(f("aaa", "ab*a") == "aa", "ab*a")
assert(f("aba", "ab*a") == "aba", "ab*a (2)")
assert(f("aaab", "a+") == "aaa", "a+")
assert(f("aaa", "^.+$") == "aaa", "^.+$")
assert(not f("aaa", "b+"), "b+ fails")
assert(not f("aaa", "ab+a"), "ab+a fails")
assert(f("aba", "ab+a") == "aba", "ab+a")
assert(f("a$a", ".$") == "a", ".$")
assert(f("a$a", ".%$") == "a$", ".%$")
assert(f("a$a", ".$.") == "a$a", "$ inside is literal")
assert(not f("a$a", "$$"), "$$")
assert(not f("a$b", "a$"), "a$ fails")
assert(f("a$a", "$") == "", "$ alone")
assert(f("", "b*") == "", "b* in empty")
assert(not f("aaa", "bb*"), "bb*")
assert(f("aaab", "a-") == "", "a- is lazy")
assert(f("aaa", "^.-$") == "aaa", "^.-$")
assert(f("aabaaabaaabaaaba", "b.*b") == "baaabaaabaaab", "greedy .*")
assert(f("aabaaabaaabaaaba", "b.-b") == "baaab", "lazy .-")
assert(f("alo xo", ".o$") == "xo", ".o$")
assert(f(" \n isto \195\169 assim", "%S%S*") == "isto", "%S")
assert(f(" \n isto \195\169 assim", "%S*$") == "assim", "%S*$")
assert(f(" \n isto \195\169 assim", "[a-z]*$") == "assim", "[a-z]*$")
assert(f("um caracter ? extra", "[^%sa-z]") == "?", "negated set")
assert(f("", "a?") == "", "a? on empty")
assert(f("\195\161", "\195?\161") == "\195\161", "optional byte")
assert(f("\161", "\195?\161") == "\161", "optional byte absent")
assert(f("abl", "a?b?l?") == "abl", "a?b?l?")
assert(f("  abl", "a?b?l?") == "", "a?b?l? empty")
assert(f("aa", "^aa?a?a") == "aa", "^aa?a?a")
assert(f("]]]\225b", "[^]]") == "\225", "[^]]")
assert(f("0alo alo", "%x*") == "0a", "%x*")
assert(f("alo alo", "%C+") == "alo alo", "%C+")
assert(f("(\195\161lo)", "%(\195") == "(\195", "escaped parenthesis")

-- character classes over all bytes, in the C locale
local function count(p)
  local n = 0
  for c = 0, 255 do if string.char(c):find(p) then n = n + 1 end end
  return n
end
assert(count("%a") == 52 and count("%A") == 204, "%a")
assert(count("%d") == 10 and count("%x") == 22, "%d %x")
assert(count("%l") == 26 and count("%u") == 26 and count("%w") == 62, "%l %u %w")
assert(count("%s") == 6 and count("%c") == 33 and count("%p") == 32 and count("%g") == 94, "%s %c %p %g")
assert(count(".") == 256 and count("[%a%d]") == 62 and count("[^%a%d]") == 194, "sets of classes")
assert(count("[a-f]") == 6 and count("[%a-z]") == 53 and count("[a-]") == 2, "ranges and a final '-'")
assert(count("[]]") == 1 and count("[^]]") == 255 and count("[%]]") == 1, "']' in sets")
assert(count("[\0-\31]") == 32 and count("[\128-\255]") == 128, "byte ranges")

-- anchors and match
assert(string.match("  hello world", "^%s*(%a+)") == "hello", "anchored capture")
assert(string.match("hello", "^(h)(e)") == "h", "first of two captures")
assert(select("#", string.match("hello", "^(h)(e)")) == 2, "two captures")
assert(string.match("hello", "()ll()") == 3, "position captures")
assert(select(2, string.match("hello", "()ll()")) == 5, "second position capture")
assert(string.match("key = value", "(%w+)%s*=%s*(%w+)") == "key", "key = value")
assert(string.match("2024-06-30", "(%d+)-(%d+)-(%d+)") == "2024", "date")
assert(string.match("x", "y") == nil, "no match")
assert(string.match("abc", "") == "", "empty pattern matches empty")
assert(string.match("abc", "b", -2) == "b" and string.match("abc", "^b", 2) == "b", "init and anchors")
assert(string.match("  x", "^x", 3) == "x", "^ anchors at init")
assert(string.match("hello world", ".-(o)") == "o", "lazy before a capture")
assert(string.match("a.b", "%.") == "." and string.match("a+b", "%+") == "+", "escaped magic characters")

-- back references, %b and %f
assert(string.match([[say "hi" and 'bye']], "([\"'])(.-)%1") == '"', "back reference: quote")
assert(select(2, string.match([[say "hi" and 'bye']], "([\"'])(.-)%1")) == "hi", "back reference: text")
assert(string.match("abcabc", "(abc)%1") == "abc" and not string.match("abcabd", "(abc)%1"), "repeated capture")
assert(string.match("==[[x]]==", "%[(=*)%[(.-)%]%1%]") == "", "long bracket level 0")
assert(string.match("x(a(b)c)y", "%b()") == "(a(b)c)", "%b()")
assert(string.match("{{}}{}", "%b{}") == "{{}}", "%b{}")
assert(string.match("(((", "%b()") == nil and string.match("(x", "%b()") == nil, "unbalanced")
assert(string.gsub("alo 'oi' alo", "%b''", '"') == 'alo " alo', "gsub with %b")
assert(string.match("THE (quick) fox", "%f[%a]%a+") == "THE", "frontier at the start")
assert(string.gsub("THE (quick) fox", "%f[%a]%a+%f[%A]", "X") == "X (X) X", "frontiers around words")
assert(string.find("a", "%f[a]") == 1 and string.find("a", "%f[^%z]") == 1, "frontier at position 1")
assert(string.find("a", "%f[^%l]") == 2 and string.find("aba", "%f[a%z]") == 3, "frontier at the end")
assert(string.find("aba", "%f[%z]") == 4 and not string.find("aba", "%f[%l%z]"), "frontier with the final zero")
assert(string.gsub("function: 0x12ab, thread: 0x34cd", "%f[%w]%w+:", "K:") == "K: 0x12ab, K: 0x34cd", "frontier before words")
local words = {}
for w in string.gmatch("one two  three", "%f[%w]%w+") do words[#words + 1] = w end
assert(table.concat(words, "|") == "one|two|three", "gmatch with frontier")

-- gmatch
local t = {}
for w in string.gmatch("first second word", "%a+") do t[#t + 1] = w end
assert(#t == 3 and t[3] == "word", "gmatch words")
t = {}
for k, v in string.gmatch("a=1, b=2, c=3", "(%w+)=(%w+)") do t[k] = tonumber(v) end
assert(t.a == 1 and t.b == 2 and t.c == 3, "gmatch pairs")
t = {}
for p in string.gmatch("abc", "()") do t[#t + 1] = p end
assert(table.concat(t, ",") == "1,2,3,4", "gmatch empty matches at every position")
t = {}
for w in string.gmatch("xuxx uu ppar r", "()(.)%2") do t[#t + 1] = w end
assert(table.concat(t, ",") == "3,6,9", "gmatch with back reference")
t = {}
for w in string.gmatch("aaa bbb ccc", "%a+", 5) do t[#t + 1] = w end
assert(table.concat(t, ",") == "bbb,ccc", "gmatch from an initial position")
t = {}
for w in string.gmatch("abc", ".", -1) do t[#t + 1] = w end
assert(table.concat(t) == "c", "gmatch from a negative position")

-- gsub
assert(string.gsub("hello world", "o", "0") == "hell0 w0rld", "gsub simple")
assert(select(2, string.gsub("hello world", "o", "0")) == 2, "gsub count")
assert(string.gsub("hello world", "o", "0", 1) == "hell0 world", "gsub limit")
assert(select(2, string.gsub("hello", "x", "y")) == 0, "gsub without matches")
assert(string.gsub("abc", "", "-") == "-a-b-c-", "gsub empty pattern")
assert(string.gsub("abc", "%w*", "-") == "-", "gsub %w* on a word")
assert(string.gsub("abc d", "%w*", "-") == "- -", "gsub %w* with a space: no empty match right after a match")
assert(string.gsub("hello world", "(%w+)", "<%1>") == "<hello> <world>", "%1 in replacement")
assert(string.gsub("hello", "", "%0") == "hello", "%0 of empty matches")
assert(string.gsub("abc", "%w", "%0%0") == "aabbcc", "%0")
assert(string.gsub("abc", "%w", "%%") == "%%%", "%% in replacement")
assert(string.gsub("hello world", "(%w+) (%w+)", "%2 %1") == "world hello", "swap")
assert(string.gsub("abc", "b", "%1") == "abc", "%1 without captures is the whole match")
assert(string.gsub("$name is $age", "%$(%w+)", {name = "Ann", age = 30}) == "Ann is 30", "table replacement")
assert(string.gsub("$a $b", "%$(%w+)", {a = false}) == "$a $b", "false and nil keep the match")
assert(string.gsub("1 2 3", "%d", function(d) return d * 2 end) == "2 4 6", "function replacement")
assert(string.gsub("a b", "%w", function() end) == "a b", "function returning nil keeps the match")
assert(string.gsub("abc", "(b)()", function(c, p) return c:upper() .. p end) == "aB3c", "position capture in function")
assert(string.gsub("hello", "l+", {ll = "LL"}) == "heLLo", "whole match as the key")
assert(string.gsub("\0\0\0", "\0", "x") == "xxx", "zeros")
assert(string.gsub("abc", "^a", "x") == "xbc" and string.gsub("aaa", "^a", "x") == "xaa", "anchored gsub once")
assert(string.gsub("trim  me  ", "^%s*(.-)%s*$", "%1") == "trim  me", "trim")
assert(string.gsub("um (dois) tres (quatro)", "(%(%w+%))", string.upper) == "um (DOIS) tres (QUATRO)", "string.upper as replacement")
local counter = 0
assert(string.gsub("abc", ".", function() counter = counter + 1; return counter end) == "123", "stateful replacement")
local long = string.rep("a", 1000)
assert(select(2, string.gsub(long, "a", "b")) == 1000, "1000 replacements")
assert(#string.gsub(long, "a", "bb") == 2000, "growing result")
checkerror("invalid replacement value (a table)", string.gsub, "alo", ".", function() return {} end)
checkerror("invalid replacement value (a table)", string.gsub, "alo", ".", {a = {}})
checkerror("invalid capture index %2", string.gsub, "alo", "(.)", "%2")
checkerror("invalid use of '%' in replacement string", string.gsub, "alo", ".", "%x")
checkerror("string/function/table expected", string.gsub, "alo", ".", true)

-- malformed patterns
checkerror("unfinished capture", string.find, "a", "(")
checkerror("malformed pattern (ends with '%')", string.find, "a", "%")
checkerror("malformed pattern (missing ']')", string.find, "a", "[a")
checkerror("malformed pattern (missing ']')", string.find, "a", "[]")
checkerror("malformed pattern (missing ']')", string.find, "a", "[^]")
checkerror("missing '[' after '%f' in pattern", string.find, "a", "%f")
checkerror("missing arguments to '%b'", string.find, "a", "%b")
checkerror("invalid pattern capture", string.match, "a", ")")
assert(string.find("a)", ")") == 2, "find without magic characters is a plain search")
checkerror("invalid capture index %1", string.match, "a", "%1")
checkerror("invalid capture index %1", string.match, "a", "(%1)")
checkerror("unfinished capture", string.find, "a", "(()")

-- backtracking stays bounded on ordinary patterns
local s = string.rep("a", 200)
assert(string.find(s, ".-b") == nil, "lazy backtracking fails cleanly")
assert(string.find(s .. "b", "a*a*a*b") == 1, "nested quantifiers")
assert(string.match(string.rep("x", 100) .. "=" .. string.rep("y", 100), "^(.-)=(.*)$") == string.rep("x", 100), "split on =")
checkerror("too many captures", string.match, "x", string.rep("()", 40))

print("OK patterns")
