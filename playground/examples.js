// examples.js: the playground's examples, Lua programs loaded into the editor by the
// example buttons. Each runs as is, and again: none needs another to have run first.

export const EXAMPLES = [
  {
    id: 'counter',
    title: 'Counter that survives a reload',
    code: `-- A closure with an upvalue, stored in Memory. Memory is saved after
-- every run (IndexedDB), so after a page reload it goes on counting.
if not Memory.counter then
  local n = Memory.count_n or 0
  Memory.counter = function()
    n = n + 1           -- the upvalue: saved with the function
    Memory.count_n = n  -- a plain record too, for the table browser
    return n
  end
end

local value = Memory.counter()
print('counter: ' .. value)
return value
`,
  },
  {
    id: 'users',
    title: '1,000 users and an indexed query',
    code: `-- 1,000 records written in one run. A run is one transaction
-- (like lua.batchTableOperations in JS): an error undoes all of it.
Memory.users = {}  -- a new table (replacing one drops its indices)
local cities = { 'Paris', 'Oslo', 'Lima', 'Kyoto' }
for i = 1, 1000 do
  Memory.users['u' .. i] = {
    name = 'user ' .. i,
    age = 18 + (i * 37) % 60,
    city = cities[i % 4 + 1],
  }
end
ext.createIndex('users', 'age')  -- a B-tree index on the field age

local q = { field = 'age', op = 'between', value = { 30, 31 },
            orderBy = 'age', limit = 5 }
local rows, cursor = ext.query('users', q)
for _, row in ipairs(rows) do
  print(row.key, row.value.name, row.value.age, row.value.city)
end
print('more after this page: ' .. tostring(cursor ~= nil))

q.count = true
print('matches: ' .. ext.query('users', q))
q.count, q.explain = nil, true
local plan = ext.query('users', q)
print(string.format(
  'plan: %s index on %s, %d records examined, sorted: %s',
  plan.type, plan.index, plan.examined, tostring(plan.sorted)))
return plan
`,
  },
  {
    id: 'schema',
    title: 'Schema violation',
    code: `-- A schema for the records of Memory.accounts, checked on writes.
ext.defineSchema('accounts', {
  type = 'table',
  fields = {
    name  = { type = 'string', required = true, minLength = 1 },
    age   = { type = 'integer', min = 0, max = 150 },
    email = { type = 'string', pattern = '^[%w._]+@[%w.]+$' },
  },
  additionalFields = false,
})
Memory.accounts = Memory.accounts or {}
Memory.accounts.ann = { name = 'Ann', age = 30,
                        email = 'ann@example.com' }
print('a valid record is stored')

-- Inside pcall, a bad write gives false and the message, and only
-- the writes of that function are undone.
local ok, err = pcall(function()
  Memory.accounts.eve = { name = 'Eve', age = -1 }
end)
print('pcall:', ok, err)

-- Outside one, records are checked at the end of the run: this write
-- fails the run with SCHEMA_VIOLATION and its violations, and the
-- whole run is undone (the schema too), so it can run again any time.
Memory.accounts.bob = { name = '', age = 200,
                        email = 'bob(at)example.com' }
`,
  },
  {
    id: 'migration',
    title: 'Migration and rollback',
    code: `-- Version 1 records have a field 'name'; version 2 calls it
-- 'fullName'. The migration changes every record, then rolls back.
Memory.people = {
  ada = { name = 'Ada Lovelace', born = 1815 },
  alan = { name = 'Alan Turing', born = 1912 },
  grace = { name = 'Grace Hopper', born = 1906 },
}
-- ext.schema gives the schema (nil here) and the table's version (1).
local _, from = ext.schema('people')

ext.migrate('people', {
  version = from + 1,
  up = 'function(r) r.fullName = r.name; r.name = nil; return r end',
  down = 'function(r) r.name = r.fullName; r.fullName = nil; return r end',
  schema = {
    type = 'table',
    fields = {
      fullName = { type = 'string', required = true },
      born = { type = 'integer' },
    },
    additionalFields = false,
  },
})
local history = ext.migrations('people')
local last = history[#history]
print(string.format('migrated: from %d to version %d, %d records',
  last.from, last.version, last.records))
local ada = Memory.people.ada
print('ada.fullName = ' .. tostring(ada.fullName)
  .. ', ada.name = ' .. tostring(ada.name))

-- Roll it back: 'down' runs on every record; the version and the
-- schema go back too.
print('rolled back to version ' .. ext.rollbackMigration('people'))
print('ada.name = ' .. tostring(ada.name)
  .. ', ada.fullName = ' .. tostring(ada.fullName))
return { from = last.from, version = last.version,
         records = last.records }
`,
  },
];

export const WELCOME = `-- Welcome to Cu: Lua 5.4 in your browser. Ctrl+Enter runs it.
print('Hello from ' .. _VERSION)

-- Memory is kept in this browser: reload the page and it is still there.
Memory.visits = (Memory.visits or 0) + 1
print('runs of this code so far: ' .. Memory.visits)
return 2 + 2
`;
