-- errors.lua: error, pcall, xpcall, assert, error levels and positions, error objects,
-- the messages of runtime errors (with variable names), syntax errors from load, and the
-- C-stack limit. Modelled on the checks of Lua's own test suite (errors.lua). Messages are
-- matched without the chunk name, which depends on how the script was started.

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- the message of a chunk that fails at run time
local function doit(src)
  local f, err = load(src, "=chunk")
  if not f then return "syntax: " .. err end
  local ok, msg = pcall(f)
  assert(not ok, "expected a runtime error from: " .. src)
  return msg
end
local function checkmsg(src, msg)
  local got = doit(src)
  assert(type(got) == "string" and got:find(msg, 1, true), "for " .. src .. ": expected '" .. msg .. "', got '" .. tostring(got) .. "'")
end

-- error with a string adds the position; level 0 does not; level 2 blames the caller
local line = debug.getinfo(1, "l").currentline
local ok, err = pcall(error, "plain", 0)
assert(not ok and err == "plain", "level 0: no position")
ok, err = pcall(function() error("msg") end)
assert(not ok and err:match(":(%d+): msg$") == tostring(line + 3), "level 1: position of the error call")
local function blame() error("caller's fault", 2) end
ok, err = pcall(function()
  blame()   -- this line is blamed
end)
assert(err:match(":(%d+): caller's fault$") == tostring(line + 7), "level 2: position of the caller")
ok, err = pcall(error)
assert(not ok and err == nil, "error without a value")
ok, err = pcall(error, 42)
assert(not ok and err == 42, "numbers get no position")
local obj = setmetatable({}, {__tostring = function() return "custom error" end})
ok, err = pcall(error, obj)
assert(not ok and err == obj and tostring(err) == "custom error", "tables are raised as they are")
ok, err = pcall(function() error(setmetatable({}, {__index = {code = 5}})) end)
assert(err.code == 5, "error objects with metatables")
ok, err = pcall(function() local t = {}; error(t) end)
assert(type(err) == "table", "error object identity through pcall")

-- nested pcall keeps the innermost result
ok, err = pcall(pcall, error, "x")
assert(ok == true and err == false, "pcall(pcall, error) succeeds")
assert(select("#", pcall(function() return 1, 2, 3 end)) == 4, "pcall returns every result")
ok, err = pcall(nil)
assert(not ok and err:find("attempt to call a nil value", 1, true), "pcall of nil")
checkerror("bad argument #1 to 'pcall' (value expected)", pcall)

-- xpcall
ok, err = xpcall(function() error("deep") end, function(m) return "handled: " .. m end)
assert(not ok and err:find("^handled: .*deep$"), "the handler transforms the message")
local r1, r2, r3 = xpcall(function(a, b) return a + b, a * b end, print, 3, 4)
assert(r1 and r2 == 7 and r3 == 12, "xpcall passes arguments and returns results")
ok, err = xpcall(function() local x = nil; return x() end, debug.traceback)
assert(not ok and err:find("attempt to call a nil value (local 'x')", 1, true), "traceback handler keeps the message")
assert(err:find("stack traceback:", 1, true), "traceback handler adds the traceback")
ok, err = xpcall(error, function() error("handler fails") end)
assert(not ok, "an error in the handler is still an error")
local handler_level
ok = xpcall(function() error("x") end, function(m) handler_level = debug.getinfo(2, "S").what return m end)
assert(not ok and handler_level ~= nil, "the handler runs where the error happened")

-- assert
ok, err = pcall(assert, false)
assert(not ok and err == "assertion failed!", "default assert message")
ok, err = pcall(assert, nil, "my message")
assert(not ok and err == "my message", "assert message has no position")
ok, err = pcall(assert, false, {code = 1})
assert(not ok and err.code == 1, "assert with an error object")
assert(select("#", assert(1, 2, 3)) == 3, "assert returns all its arguments")
checkerror("value expected", assert)

-- runtime errors name the culprit
checkmsg("local t = {}; t.x.y = 1", "attempt to index a nil value (field 'x')")
checkmsg("undefinedglobal.x = 1", "attempt to index a nil value (global 'undefinedglobal')")
checkmsg("local a; a.b = 1", "attempt to index a nil value (local 'a')")
checkmsg("local a = {}; return a.b.c.d", "attempt to index a nil value (field 'b')")
checkmsg("nofunc()", "attempt to call a nil value (global 'nofunc')")
checkmsg("local t = {}; t.method()", "attempt to call a nil value (field 'method')")
checkmsg("local s = 'x'; s:nomethod()", "attempt to call a nil value (method 'nomethod')")
checkmsg("local a = {}; return a + 1", "attempt to perform arithmetic on a table value (local 'a')")
checkmsg("return {} .. 'x'", "attempt to concatenate a table value")
checkmsg("local n; return 'x' .. n", "attempt to concatenate a nil value (local 'n')")
checkmsg("return {} < {}", "attempt to compare two table values")
checkmsg("return 1 < '2'", "attempt to compare number with string")
checkmsg("return nil < 1", "attempt to compare nil with number")
checkmsg("local a; return #a", "attempt to get length of a nil value (local 'a')")
checkmsg("return -{}", "attempt to perform arithmetic on a table value")
checkmsg("return 1.5 | 1", "number has no integer representation")
checkmsg("return 'a' | 1", "attempt to perform bitwise operation on a string value")
checkmsg("return ~{}", "attempt to perform bitwise operation on a table value")
checkmsg("for i = 1, 'x' do end", "'for' limit")
checkmsg("for i = 1, 10, 0 do end", "'for' step is zero")
checkmsg("local t = setmetatable({}, {__index = function(t, k) return k.x end}); return t[1]", "attempt to index a number value (local 'k')")
checkmsg("string.rep()", "bad argument #1 to 'rep'")
checkmsg("('x'):rep({})", "bad argument #1 to 'rep' (number expected, got table)")
checkmsg("setmetatable(1, {})", "bad argument #1 to 'setmetatable' (table expected, got number)")
checkmsg("local t = setmetatable({}, {__metatable = 'locked'}); setmetatable(t, {})", "cannot change a protected metatable")
checkmsg("return math.floor('a')", "bad argument #1 to 'floor' (number expected, got string)")
checkmsg("error('at level 1')", "chunk:1: at level 1")
checkmsg("\n\nerror('line 3')", "chunk:3: line 3")
local upv
local f_up = function() return upv.field end
ok, err = pcall(f_up)
assert(err:find("attempt to index a nil value (upvalue 'upv')", 1, true), "upvalue named in the message")

-- the position of runtime errors is the line where they happen
ok, err = pcall(load("local x = 1\nlocal y = nil\nreturn x + y", "=lines"))
assert(err == "lines:3: attempt to perform arithmetic on a nil value (local 'y')", "message with line: " .. err)

-- syntax errors
local function syntax(src, msg)
  local f, e = load(src, "=src")
  assert(f == nil and type(e) == "string", "expected a syntax error: " .. src)
  assert(e:find(msg, 1, true), "for " .. src .. ": expected '" .. msg .. "', got '" .. e .. "'")
end
syntax("x =", "src:1: unexpected symbol near <eof>")
syntax("x = = 1", "unexpected symbol near '='")
syntax("local 1 = 2", "<name> expected near '1'")
syntax("f(", "unexpected symbol near <eof>")
syntax("if x then", "'end' expected near <eof>")
syntax("\n\nif x then\n\n", "src:5: 'end' expected (to close 'if' at line 3) near <eof>")
syntax("x = 'abc", "unfinished string near <eof>")
syntax("x = 'abc\ndef'", "unfinished string near ''abc'")
syntax("x = [[abc", "unfinished long string")
syntax("x = 1e", "malformed number near '1e'")
syntax("x = 0x", "malformed number near '0x'")
syntax("x = 3..4", "malformed number near '3..4'")
syntax("return 1 +* 2", "unexpected symbol near '*'")
syntax("goto nowhere", "no visible label 'nowhere' for <goto> at line 1")
syntax("break", "break outside loop")
syntax("::a:: ::a::", "label 'a' already defined on line 1")
syntax("local function f() return end end", "<eof> expected near 'end'")
syntax("x = }", "unexpected symbol near '}'")
syntax("a.b:c = 1", "function arguments expected near '='")
assert(load("return ..."), "main chunk is vararg")
syntax("function f() return ... end", "cannot use '...' outside a vararg function")
syntax("return " .. string.rep("(", 300) .. "1" .. string.rep(")", 300), "C stack overflow")
local f300 = load("return " .. string.rep("(", 100) .. "1" .. string.rep(")", 100))
assert(f300 and f300() == 1, "100 nested parentheses")

-- load reports errors as nil plus message, with chunk names
local f, e = load("error('in chunk')", "=mychunk")
ok, err = pcall(f)
assert(err == "mychunk:1: in chunk", "chunk name in runtime errors")
f, e = load("x = ", "@file.lua")
assert(f == nil and e:find("^file.lua:1:"), "@ chunk names")
f, e = load("x = ", "some code")
assert(f == nil and e:find('^%[string "some code"%]:1:'), "string chunk names")
f, e = load(function() return nil end)
assert(f and f() == nil, "empty chunk from a reader")
local pieces = {"return ", "1 ", "+ 41"}
local i = 0
f = load(function() i = i + 1; return pieces[i] end)
assert(f() == 42, "chunk from a reader function")
f, e = load(function() return {} end)
assert(f == nil and e:find("reader function must return a string", 1, true), "reader returning a non-string")
f, e = load(function() error("reader fails") end)
assert(f == nil and e:find("reader fails", 1, true), "errors in the reader")

-- errors inside metamethods and iterators propagate
checkerror("from __index", function()
  local t = setmetatable({}, {__index = function() error("from __index") end})
  return t.x
end)
checkerror("from __lt", function()
  local mt = {__lt = function() error("from __lt") end}
  return setmetatable({}, mt) < setmetatable({}, mt)
end)
checkerror("from iterator", function() for _ in function() error("from iterator") end do end end)
checkerror("from __close", function()
  local x <close> = setmetatable({}, {__close = function() error("from __close") end})
end)

-- runaway recursion through C calls is caught
local loop = setmetatable({}, {})
getmetatable(loop).__index = function(t, k) return t[k] end
ok, err = pcall(function() return loop.x end)
assert(not ok and tostring(err):find("stack overflow", 1, true), "C stack overflow is an error: " .. tostring(err))
ok, err = pcall(string.gsub, "x", "x", function() return ("x"):gsub("x", function() error("nested", 0) end) end)
assert(not ok and err == "nested", "errors from nested C calls")
local depth = 0
local function recurse() depth = depth + 1; return pcall(recurse) end
recurse()
assert(depth > 100, "nested pcall eventually fails without crashing")

-- error values of every type
for _, v in ipairs{true, 1.5, "s", print, coroutine.create(print)} do
  ok, err = pcall(error, v)
  assert(not ok and err == v, "error value of type " .. type(v))
end

print("OK errors")
