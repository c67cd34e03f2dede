-- os_io.lua: what Cu provides of io, os and package (csrc/cu_iolib.c, csrc/cu_oslib.c),
-- and what it leaves out. This script needs Cu's runtime: it does NOT pass under a native
-- lua5.4, where files, processes and the environment exist. Lines marked "Cu:" are where
-- Cu differs from native Lua on purpose.
-- Time checks use fixed timestamps with "!" (UTC) formats, or relations between local
-- results that hold in every time zone.

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

---------------------------------------------------------------------------- absent
-- Cu: everything that needs a file system, processes or an environment is absent (nil)
for _, name in ipairs{"open", "popen", "tmpfile", "input", "output", "close"} do
  assert(io[name] == nil, "io." .. name .. " is absent")
end
for _, name in ipairs{"remove", "rename", "tmpname", "execute"} do
  assert(os[name] == nil, "os." .. name .. " is absent")
end
assert(dofile == nil and loadfile == nil, "dofile and loadfile are absent")
assert(package.loadlib == nil and package.searchpath == nil, "package.loadlib and searchpath are absent")

---------------------------------------------------------------------------- io
-- the standard files
for _, name in ipairs{"stdin", "stdout", "stderr"} do
  local f = io[name]
  assert(io.type(f) == "file", name .. " is an open file")
  assert(tostring(f):match("^file %(0x%x+%)$"), "tostring of " .. name .. ": " .. tostring(f))
  assert(getmetatable(f).__name == "FILE*", "FILE* metatable")
end
local mt = getmetatable(io.stdout)
assert(type(mt.__index) == "table" and type(mt.__close) == "function" and type(mt.__tostring) == "function", "file metamethods")
for _, m in ipairs{"read", "write", "lines", "flush", "seek", "close", "setvbuf"} do
  assert(type(mt.__index[m]) == "function", "file method " .. m)
end
assert(io.type(42) == nil and io.type({}) == nil and io.type(nil) == nil, "io.type of non-files")
checkerror("value expected", io.type)

-- writing: io.write goes to stdout and returns it; numbers are written as by %.14g / %d
assert(io.write() == io.stdout, "io.write returns io.stdout")
assert(io.write("") == io.stdout, "io.write of an empty string")
assert(io.stdout:write("") == io.stdout and io.stderr:write("") == io.stderr, "file:write returns the file")
checkerror("string expected, got table", io.write, {})
checkerror("string expected, got nil", io.stdout.write, io.stdout, nil)
checkerror("FILE* expected, got number", io.stdout.write, 42)
local r, msg, code = io.stdin:write("x")   -- Cu: stdin cannot be written, as on glibc
assert(r == nil and msg == "Bad file descriptor" and code == 9, "writing to stdin")
r, msg, code = io.stdin:write(1)
assert(r == nil and msg == "Bad file descriptor" and code == 9, "writing a number to stdin")
assert(io.stdin:write("") == io.stdin and io.stdin:write() == io.stdin, "writing nothing to stdin succeeds")

-- reading: stdin is always at end-of-file
assert(io.read() == nil, "read a line at EOF")
assert(io.read("l") == nil and io.read("L") == nil and io.read("n") == nil, "l, L, n at EOF")
assert(io.read("*l") == nil and io.read("*n") == nil, "formats with '*'")
assert(io.read("a") == "" and io.read("*a") == "", "'a' at EOF is the empty string")
assert(io.read(0) == nil and io.read(5) == nil, "byte counts at EOF")
assert(select("#", io.read("l", "a")) == 1, "reading stops at the first failure")
local x1, x2, x3 = io.read("a", "a", "l")
assert(x1 == "" and x2 == "" and x3 == nil, "several formats")
assert(io.stdin:read("a") == "" and io.stdin:read() == nil, "stdin:read")
checkerror("invalid format", io.read, "x")
checkerror("invalid format", io.read, "a", "x")
checkerror("number has no integer representation", io.read, 1.5)
r, msg, code = io.stdout:read()
assert(r == nil and msg == "Bad file descriptor" and code == 9, "stdout cannot be read")
r, msg, code = io.stderr:read("a")
assert(r == nil and msg == "Bad file descriptor" and code == 9, "stderr cannot be read")

-- lines: the default input ends at once; a file name is an error (no file system)
local n = 0
for _ in io.lines() do n = n + 1 end
for _ in io.stdin:lines() do n = n + 1 end
for _ in io.stdin:lines("n", "l") do n = n + 1 end
for _ in io.lines(nil, "L") do n = n + 1 end
assert(n == 0, "no lines in stdin")
checkerror("no file system: cannot open 'data.txt'", io.lines, "data.txt")
checkerror("string expected, got table", io.lines, {})
checkerror("Bad file descriptor", function() for _ in io.stdout:lines() do end end)

-- the other methods
r, msg = io.stdout:close()
assert(r == nil and msg == "cannot close standard file", "standard files cannot be closed")
r, msg = io.stdin:close()
assert(r == nil and msg == "cannot close standard file", "stdin cannot be closed")
assert(io.type(io.stdout) == "file", "still open after close")
do local f <close> = io.stdout end   -- __close on a standard file does nothing
assert(io.type(io.stdout) == "file", "still open after <close>")
r, msg, code = io.stdout:seek()
assert(r == nil and msg == "Illegal seek" and code == 29, "Cu: standard files are like pipes: no seek")
r, msg, code = io.stdin:seek("set", 0)
assert(r == nil and msg == "Illegal seek" and code == 29, "seek on stdin")
checkerror("invalid option 'bad'", io.stdin.seek, io.stdin, "bad")
assert(io.stdout:setvbuf("no") == true and io.stdout:setvbuf("full", 1024) == true, "setvbuf")
checkerror("invalid option 'bad'", io.stdout.setvbuf, io.stdout, "bad")
assert(io.stdout:flush() == true and io.flush() == true and io.stderr:flush() == true, "flush")

---------------------------------------------------------------------------- os
-- Cu: no environment, and only the "C" locale
assert(os.getenv("HOME") == nil and os.getenv("PATH") == nil, "getenv is always nil")
checkerror("string expected, got no value", os.getenv)
assert(os.setlocale() == "C" and os.setlocale("") == "C", "locale queries")
assert(os.setlocale("C") == "C" and os.setlocale("POSIX") == "C", "setting C or POSIX")
assert(os.setlocale(nil, "numeric") == "C" and os.setlocale("C", "time") == "C", "categories")
assert(os.setlocale("en_US.UTF-8") == nil and os.setlocale("de_DE", "ctype") == nil, "other locales fail")
checkerror("invalid option 'bogus'", os.setlocale, "C", "bogus")
assert(type(os.exit) == "function", "os.exit exists (it would end this run)")

-- clocks
local now = os.time()
assert(math.type(now) == "integer" and now > 1.7e9, "os.time() is the current Unix time")
local c1 = os.clock()
assert(math.type(c1) == "float" and c1 >= 0, "os.clock")
local spin = 0
for i = 1, 100000 do spin = spin + i end
assert(os.clock() >= c1, "os.clock does not go backwards")
assert(os.difftime(10, 5) == 5.0 and math.type(os.difftime(10, 5)) == "float", "difftime")
assert(os.difftime(0, math.maxinteger) == -2 ^ 63 and os.difftime(math.maxinteger, math.mininteger) == 2 ^ 64, "difftime of far apart times")
checkerror("number expected, got no value", os.difftime, 1)

-- os.date in UTC, with fixed timestamps
local T = 1700000000   -- Tue Nov 14 22:13:20 2023 UTC
assert(os.date("!%Y-%m-%d %H:%M:%S", 0) == "1970-01-01 00:00:00", "the epoch")
assert(os.date("!%c", T) == "Tue Nov 14 22:13:20 2023", "%c")
assert(os.date("!%x|%X|%D|%F|%T|%R|%r", T) == "11/14/23|22:13:20|11/14/23|2023-11-14|22:13:20|22:13|10:13:20 PM", "composite conversions")
assert(os.date("!%a %A %b %B %h", T) == "Tue Tuesday Nov November Nov", "names")
assert(os.date("!%d %e %j %m %y %Y %C", T) == "14 14 318 11 23 2023 20", "day, month, year")
assert(os.date("!%H %I %M %S %p", T) == "22 10 13 20 PM", "hour, minute, second")
assert(os.date("!%u %w %U %W %V %G %g", T) == "2 2 46 46 46 2023 23", "weeks")
assert(os.date("!%z %Z", T) == "+0000 GMT", "UTC zone")
assert(os.date("!%n%t%%", T) == "\n\t%", "%n %t %%")
assert(os.date("!%e", 86400 * 5) == " 6", "%e pads with a space")
assert(os.date("!%I %p", 0) == "12 AM" and os.date("!%I %p", 43200) == "12 PM", "12-hour clock")
assert(os.date("!%Ec|%EC|%Ex|%EX|%Ey|%EY", T) == os.date("!%c|%C|%x|%X|%y|%Y", T), "E modifier")
assert(os.date("!%Od%Oe%OH%OI%Om%OM%OS%Ou%OU%OV%Ow%OW%Oy", T) == os.date("!%d%e%H%I%m%M%S%u%U%V%w%W%y", T), "O modifier")
assert(os.date("!x\0y%Y", T) == "x\0y2023", "zeros in the format")
assert(os.date("!", T) == "", "empty format")
-- ISO weeks around new year
assert(os.date("!%G-W%V-%u", 1104537600) == "2004-W53-6", "2005-01-01 is in 2004's week 53")
assert(os.date("!%G-W%V-%u", 1230768000) == "2009-W01-4", "2009-01-01 is in 2009's week 1")
assert(os.date("!%G-W%V-%u", 1230595200) == "2009-W01-2", "2008-12-30 is in 2009's week 1")
assert(os.date("!%U %W", 1230768000) == "00 00", "week 0")
-- far from the epoch
assert(os.date("!%Y-%m-%d", -62135596800) == "1-01-01", "year 1 (no padding)")
assert(os.date("!%Y-%m-%d %a", -62198755200) == "-1-01-01 Fri", "year -1")
assert(os.date("!%Y-%m-%d", 253402300799) == "9999-12-31", "year 9999")
assert(os.date("!%Y", 1e12) == "33658", "year 33658")
assert(os.date("!%Y-%m-%d", 951782400) == "2000-02-29", "leap day 2000")
assert(os.date("!%Y-%m-%d", 4107456000) == "2100-02-28" and os.date("!%Y-%m-%d", 4107542400) == "2100-03-01", "2100 is not a leap year")
checkerror("date result cannot be represented", os.date, "!%Y", math.maxinteger)
checkerror("number has no integer representation", os.date, "!%Y", 0.5)
-- invalid conversions are errors, as in loslib.c
checkerror("invalid conversion specifier '%Ez'", os.date, "%Ez", 0)
checkerror("invalid conversion specifier '%'", os.date, "abc%", 0)
checkerror("invalid conversion specifier '%Q rest'", os.date, "%Q rest", 0)
checkerror("invalid conversion specifier '%k'", os.date, "%k", 0)
checkerror("invalid conversion specifier '%s'", os.date, "%s", 0)
checkerror("invalid conversion specifier '%E'", os.date, "%E", 0)

-- *t tables
local d = os.date("!*t", T)
assert(d.year == 2023 and d.month == 11 and d.day == 14 and d.hour == 22 and d.min == 13 and d.sec == 20, "!*t fields")
assert(d.wday == 3 and d.yday == 318 and d.isdst == false, "!*t wday, yday, isdst")
local lt = os.date("*t", T)
assert(type(lt.isdst) == "boolean" and lt.year == 2023, "local *t")
assert(os.time(lt) == T, "os.time(os.date('*t', t)) == t")
for _, t in ipairs{0, 86399, 951782400, 1700000000, 1719792000, 2000000000, -86400 * 365} do
  assert(os.time(os.date("*t", t)) == t, "round trip of " .. t)
end
assert(os.date("%Y-%m-%d %H:%M:%S", T) == string.format("%d-%02d-%02d %02d:%02d:%02d",
       lt.year, lt.month, lt.day, lt.hour, lt.min, lt.sec), "local formats agree with *t")
local off = os.date("%z", T)
assert(off:match("^[+-]%d%d%d%d$"), "%z is +hhmm")
local offsec = (tonumber(off:sub(2, 3)) * 3600 + tonumber(off:sub(4, 5)) * 60) * (off:sub(1, 1) == "-" and -1 or 1)
local u = os.date("!*t", T + offsec)
assert(u.hour == lt.hour and u.min == lt.min and u.day == lt.day, "local time is UTC plus the %z offset")
assert(type(os.date()) == "string" and #os.date() > 0, "os.date() is %c of now")

-- os.time(table) normalises like mktime and updates the table (noon avoids DST changes)
local function norm(fields)
  local t = {}
  for k, v in pairs(fields) do t[k] = v end
  os.time(t)
  return string.format("%d-%02d-%02d", t.year, t.month, t.day), t
end
assert(norm{year = 2000, month = 13, day = 1} == "2001-01-01", "month 13")
assert(norm{year = 2000, month = 3, day = 0} == "2000-02-29", "day 0")
assert(norm{year = 2001, month = 3, day = 0} == "2001-02-28", "day 0 in a common year")
assert(norm{year = 2000, month = 1, day = -1} == "1999-12-30", "negative day")
assert(norm{year = 2000, month = -1, day = 1} == "1999-11-01", "negative month")
assert(norm{year = 2000, month = 1, day = 366} == "2000-12-31", "day 366 of a leap year")
assert(norm{year = 2000, month = 1, day = 1, hour = 48} == "2000-01-03", "48 hours")
local _, nt = norm{year = 2024, month = 2, day = 29, hour = 12, min = 90}
assert(nt.hour == 13 and nt.min == 30 and nt.sec == 0 and nt.wday == 5 and nt.yday == 60, "fields are updated")
assert(type(nt.isdst) == "boolean", "isdst is set")
local base = os.time{year = 2020, month = 6, day = 15, hour = 12}
assert(os.time{year = 2020, month = 6, day = 16, hour = 12} - base == 86400, "one day later")
assert(os.time{year = 2020, month = 6, day = 15, hour = 12, min = 1} - base == 60, "one minute later")
assert(os.time{year = 2020, month = 6, day = 15, hour = 12, sec = -1} - base == -1, "negative seconds")
assert(os.time{year = 2020, month = 6, day = 15} == base, "hour defaults to 12")
assert(os.time{year = "2020", month = 6.0, day = "15"} == base, "numeric strings and integral floats")
checkerror("field 'month' missing in date table", os.time, {year = 2000})
checkerror("field 'day' missing in date table", os.time, {year = 2000, month = 1})
checkerror("field 'year' missing in date table", os.time, {month = 1, day = 1})
checkerror("field 'day' is not an integer", os.time, {year = 2000, month = 1, day = 1.5})
checkerror("field 'hour' is not an integer", os.time, {year = 2000, month = 1, day = 1, hour = "x"})
checkerror("field 'year' is out-of-bound", os.time, {year = 2 ^ 31 + 1900, month = 1, day = 1})
checkerror("field 'month' is out-of-bound", os.time, {year = 2000, month = 2 ^ 31 + 1, day = 1})
checkerror("table expected, got number", os.time, 5)

---------------------------------------------------------------------------- require
assert(type(require) == "function", "require exists")
assert(package.path == "" and package.cpath == "", "Cu: no search paths")
assert(package.config == "/\n;\n?\n!\n-\n", "package.config")
assert(package.loaded._G == _G and package.loaded.string == string and package.loaded.io == io, "package.loaded")
assert(package.loaded.os == os and package.loaded.package == package, "loaded libraries")
-- Cu: the preload searcher, then (with the database: `ext` exists) the stored modules'.
local stored = ext and "\n\tno stored module '%s'" or ""
assert(type(package.preload) == "table" and #package.searchers == (ext and 2 or 1), "Cu: preload and stored searchers")
package.preload.mymod = function(name, extra)
  return {name = name, extra = extra}
end
local m, data = require("mymod")
assert(m.name == "mymod" and m.extra == ":preload:" and data == ":preload:", "require from preload")
assert(require("mymod") == m and package.loaded.mymod == m, "modules are cached")
assert(select("#", require("mymod")) == 1, "a cached module returns one value")
package.preload.nilmod = function() end
assert(require("nilmod") == true and package.loaded.nilmod == true, "a module returning nothing is true")
package.preload.setsloaded = function(name) package.loaded[name] = "self" end
assert(require("setsloaded") == "self", "a module can set package.loaded itself")
local ok, err = pcall(require, "missing")
assert(not ok and err == "module 'missing' not found:\n\tno field package.preload['missing']" .. stored:format("missing"), "not found: " .. tostring(err))
package.preload.broken = function() error("broken module", 0) end
ok, err = pcall(require, "broken")
assert(not ok and err == "broken module" and package.loaded.broken == nil, "errors in loaders propagate")
table.insert(package.searchers, function(name)
  if name == "virtual" then return function(n, x) return "V:" .. n .. ":" .. x end, "payload" end
  return "no virtual module '" .. name .. "'"
end)
local v, vdata = require("virtual")
assert(v == "V:virtual:payload" and vdata == "payload", "a searcher added by the program")
ok, err = pcall(require, "nothing")
assert(err == "module 'nothing' not found:\n\tno field package.preload['nothing']" .. stored:format("nothing") .. "\n\tno virtual module 'nothing'", "every searcher in the message")
local saved = package.searchers
package.searchers = nil
checkerror("'package.searchers' must be a table", require, "zzz")
package.searchers = saved
checkerror("string expected, got no value", require)

---------------------------------------------------------------------------- load
-- Cu: binary chunks load only through the bytecode validator. Builds without it (the
-- "persistence" feature off, as the shipped module is today) refuse every binary chunk.
local dumped = string.dump(function() return 1 end)
assert(type(dumped) == "string" and dumped:sub(1, 4) == "\27Lua", "string.dump works")
local f, lerr = load(dumped)
if f then
  assert(f() == 1, "string.dump + load round trip")
  f, lerr = load(dumped:sub(1, #dumped - 3))
  assert(f == nil and lerr:find("bad bytecode", 1, true), "a damaged binary chunk is refused")
  local pieces = { dumped:sub(1, 10), dumped:sub(11) }
  f = load(function() return table.remove(pieces, 1) end)
  assert(f and f() == 1, "binary chunks read through a reader function")
else
  assert(lerr:find("binary chunk refused", 1, true), "without the validator, binary chunks are refused")
end
f, lerr = load(dumped, "bin", "t")
assert(f == nil and lerr:find("attempt to load a binary chunk", 1, true), "mode 't' refuses binary chunks")
f, lerr = load("return 1", "src", "b")
assert(f == nil and lerr:find("attempt to load a text chunk", 1, true), "mode 'b' refuses source")
assert(load("return 2", "src", "t")() == 2, "source chunks load")

print("OK os_io")
