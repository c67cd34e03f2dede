-- pack.lua: string.pack, string.unpack and string.packsize: integer sizes and signedness,
-- endianness, alignment, floats, fixed, zero-terminated and length-prefixed strings,
-- positions, and the error cases. Modelled on the checks of Lua's own test suite
-- (tpack.lua). Only formats whose sizes are the same on every platform are used:
-- "l", "L", "T" and "!" without a size depend on the C ABI (wasm32 is 32-bit).

local pack, unpack, packsize = string.pack, string.unpack, string.packsize

local function checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- sizes
assert(packsize("b") == 1 and packsize("B") == 1 and packsize("h") == 2 and packsize("H") == 2, "byte, short")
assert(packsize("i") == 4 and packsize("I") == 4, "int")
assert(packsize("j") == 8 and packsize("J") == 8 and packsize("n") == 8, "lua_Integer, lua_Number")
assert(packsize("f") == 4 and packsize("d") == 8, "float, double")
for i = 1, 16 do
  assert(packsize("i" .. i) == i and packsize("I" .. i) == i, "integer of " .. i .. " bytes")
end
assert(packsize("c10") == 10 and packsize("c0") == 0 and packsize("") == 0, "fixed strings")
assert(packsize("i4i4i4") == 12 and packsize("x") == 1 and packsize("b x h") == 4, "sequences")

-- endianness
assert(pack("<i2", 1) == "\1\0" and pack(">i2", 1) == "\0\1", "little and big endian")
assert(pack("<i4", 0x01020304) == "\4\3\2\1" and pack(">i4", 0x01020304) == "\1\2\3\4", "four bytes")
assert(pack("<i2 >i2 =i2", 1, 1, 1):sub(1, 4) == "\1\0\0\1", "switching endianness")
assert(unpack("<i2", "\1\0") == 1 and unpack(">i2", "\1\0") == 256, "unpack endianness")
assert(pack("<j", -2) == "\xFE" .. ("\xFF"):rep(7), "negative lua_Integer")
assert(pack(">I3", 0xABCDEF) == "\xAB\xCD\xEF", "three-byte unsigned")

-- signed and unsigned ranges, sign extension
assert(pack("b", -1) == "\xFF" and pack("B", 255) == "\xFF", "byte values")
assert(unpack("b", "\xFF") == -1 and unpack("B", "\xFF") == 255, "sign of bytes")
assert(unpack("<i3", "\xFF\xFF\xFF") == -1 and unpack("<I3", "\xFF\xFF\xFF") == 0xFFFFFF, "three-byte sign")
assert(unpack("<i2", "\x00\x80") == -32768 and unpack("<I2", "\x00\x80") == 32768, "sign bit of a short")
checkerror("integer overflow", pack, "b", 128)
checkerror("integer overflow", pack, "b", -129)
checkerror("unsigned overflow", pack, "B", 256)
checkerror("integer overflow", pack, "i3", 2 ^ 23)
checkerror("integer overflow", pack, "<i2", -32769)
checkerror("unsigned overflow", pack, "<B", -1)
assert(pack("<i2", -32768) == "\0\x80" and pack("<I2", 65535) == "\xFF\xFF", "range ends")
checkerror("number has no integer representation", pack, "j", 1.5)
assert(pack("j", 3.0) == pack("j", 3) and pack("j", "7") == pack("j", 7), "integral floats and numeric strings")

-- wide integers: 9 to 16 bytes
local maxi, mini = math.maxinteger, math.mininteger
assert(pack("<i16", -1) == ("\xFF"):rep(16), "i16 of -1")
assert(pack("<i16", 1) == "\1" .. ("\0"):rep(15), "i16 of 1")
assert(pack(">i9", mini) == "\xFF\x80" .. ("\0"):rep(7), "sign extension to 9 bytes")
assert(unpack("<i16", pack("<i16", mini)) == mini and unpack(">i12", pack(">i12", maxi)) == maxi, "round trip of the limits")
assert(unpack("<I9", pack("<I9", -1)) == -1, "unsigned 9 bytes keeps 64 bits")
checkerror("16-byte integer does not fit into Lua Integer", unpack, "<i16", ("\0"):rep(8) .. "\1" .. ("\0"):rep(7))
checkerror("9-byte integer does not fit into Lua Integer", unpack, "<i9", ("\0"):rep(8) .. "\1")
assert(unpack("<i9", ("\xFF"):rep(9)) == -1, "9 bytes of sign extension")
checkerror("integral size (17) out of limits [1,16]", pack, "i17", 1)
checkerror("integral size (0) out of limits [1,16]", pack, "i0", 1)

-- random round trips for every size
math.randomseed(1234)
for size = 1, 16 do
  for _ = 1, 40 do
    local v = math.random(mini, maxi)
    if size < 8 then
      local lim = 1 << (size * 8 - 1)
      v = v % (2 * lim) - lim
    end
    for _, e in ipairs{"<", ">", "="} do
      local fmt = e .. "i" .. size
      local bytes = pack(fmt, v)
      assert(#bytes == size and unpack(fmt, bytes) == v, "round trip " .. fmt .. " " .. v)
    end
  end
end

-- floats
assert(unpack("d", pack("d", 3.14)) == 3.14 and unpack("n", pack("n", -0.1)) == -0.1, "double round trip")
assert(unpack("f", pack("f", 0.5)) == 0.5 and unpack("f", pack("f", -1.25)) == -1.25, "float round trip")
assert(unpack("d", pack("d", math.huge)) == math.huge and unpack("f", pack("f", -math.huge)) == -math.huge, "infinities")
local nan = unpack("d", pack("d", 0 / 0))
assert(nan ~= nan, "nan")
assert(pack("<d", 1.0) == "\0\0\0\0\0\0\xF0\x3F" and pack(">f", 1.0) == "\x3F\x80\0\0", "IEEE 754 layout")
assert(pack("<d", -0.0) == ("\0"):rep(7) .. "\x80", "negative zero")
assert(unpack("<f", pack("<f", 0.1)) ~= 0.1, "float loses precision")
assert(math.type(unpack("d", pack("d", 3))) == "float", "unpacked doubles are floats")
assert(unpack("d", pack("d", "2.5")) == 2.5, "numeric strings")
checkerror("number expected, got string", pack, "d", "x")

-- strings: fixed (c), zero-terminated (z), length-prefixed (s)
assert(pack("c5", "abc") == "abc\0\0" and pack("c3", "abc") == "abc", "c pads with zeros")
assert(unpack("c3", "abcdef") == "abc" and select(2, unpack("c3", "abcdef")) == 4, "unpack c")
assert(unpack("c0", "") == "", "c0")
checkerror("string longer than given size", pack, "c2", "abc")
checkerror("missing size for format option 'c'", pack, "c", "abc")
assert(pack("z", "abc") == "abc\0" and unpack("z", "abc\0def") == "abc", "z")
assert(select(2, unpack("z", "abc\0def")) == 5, "z position")
assert(unpack("zz", "a\0b\0") == "a" and select(2, unpack("zz", "a\0b\0")) == "b", "two z strings")
checkerror("string contains zeros", pack, "z", "a\0b")
checkerror("unfinished string for format 'z'", unpack, "z", "abc")
assert(pack("s1", "abc") == "\3abc" and pack("<s2", "abc") == "\3\0abc", "s with small sizes")
assert(pack(">s4", "hi") == "\0\0\0\2hi", "s4")
assert(unpack("s1", "\3abcdef") == "abc" and select(2, unpack("s1", "\3abcdef")) == 5, "unpack s1")
assert(pack("s1", "") == "\0" and unpack("s1", "\0") == "", "empty s1")
checkerror("string length does not fit in given size", pack, "s1", ("x"):rep(256))
checkerror("data string too short", unpack, "s1", "\5ab")
local blob = ("\0\1\2\255"):rep(100)
assert(unpack("s2", pack("s2", blob)) == blob, "binary data round trip")

-- alignment: ! sets the maximum, X aligns, x pads
assert(packsize("!4 b i4") == 8 and pack("!4 <b i4", 1, 2) == "\1\0\0\0\2\0\0\0", "int aligned to 4")
assert(packsize("!8 b d") == 16 and packsize("!4 b d") == 12 and packsize("!2 b d") == 10, "alignment is capped by !n")
assert(packsize("!1 b d") == 9 and packsize("b d") == 9, "no alignment by default")
assert(packsize("!8 b Xd") == 8 and packsize("!8 b Xi2") == 2, "X aligns without an item")
assert(pack("<b x b", 1, 2) == "\1\0\2" and pack("!4 <i2 Xi4", 7) == "\7\0\0\0", "x and X padding")
assert(pack("<i2 Xi4", 7) == "\7\0", "X without ! aligns to 1")
checkerror("format asks for alignment not power of 2", packsize, "!4 i3")
checkerror("invalid next option for option 'X'", packsize, "X")
checkerror("invalid next option for option 'X'", packsize, "Xz")
checkerror("integral size (17) out of limits [1,16]", packsize, "!17")
local vals = {unpack("!4 <b i4 h d", pack("!4 <b i4 h d", -5, 100000, -300, 2.5))}
assert(vals[1] == -5 and vals[2] == 100000 and vals[3] == -300 and vals[4] == 2.5 and vals[5] == 21, "aligned round trip")

-- positions in unpack
assert(unpack("i1 i1", "\1\2\3", 2) == 2 and select(3, unpack("i1 i1", "\1\2\3", 2)) == 4, "unpack from 2")
assert(unpack("b", "\1\2", -1) == 2, "negative position counts from the end")
assert(select("#", unpack("", "abc", 4)) == 1 and unpack("", "abc", 4) == 4, "empty format at the end")
checkerror("initial position out of string", unpack, "b", "abc", 5)
checkerror("data string too short", unpack, "i4", "\1\2")
checkerror("data string too short", unpack, "b", "")
local pos, got = 1, {}
local data = pack("<i2 i2 i2", 10, 20, 30)
while pos <= #data do
  local v
  v, pos = unpack("<i2", data, pos)
  got[#got + 1] = v
end
assert(table.concat(got, ",") == "10,20,30", "reading a stream with positions")

-- format syntax
assert(pack("  < i2  ", 1) == "\1\0", "spaces are ignored")
checkerror("invalid format option 'y'", pack, "y")
checkerror("variable-length format", packsize, "s")
checkerror("variable-length format", packsize, "z")
checkerror("bad argument #2", pack, "i4")
assert(select("#", unpack("i1 i1 i1", "\1\2\3")) == 4, "one value per item, plus the position")
local many = pack(("B"):rep(200), table.unpack((function() local t = {} for i = 1, 200 do t[i] = i end return t end)()))
assert(#many == 200 and select(200, unpack(("B"):rep(200), many)) == 200, "200 items")

print("OK pack")
