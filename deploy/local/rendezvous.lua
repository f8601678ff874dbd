-- The relay owner function of common/src/relay-ring.ts (FNV-1a + murmur3 fmix32, rendezvous over
-- the relays HAProxy sees UP), so HAProxy sends a viewer straight to the relay that owns its
-- session and a dying relay only affects its own sessions' viewers. If this ever disagrees with
-- the relays' ring (a member is up here but not yet registered, or the reverse), the relay that
-- receives the viewer forwards it: correctness never depends on this file.
local M32 = 0xffffffff

local function fmix32(h)
  h = h & M32
  h = h ~ (h >> 16)
  h = (h * 0x85ebca6b) & M32
  h = h ~ (h >> 13)
  h = (h * 0xc2b2ae35) & M32
  h = h ~ (h >> 16)
  return h
end

local function hash(s, seed)
  local h = seed
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = (h * 0x01000193) & M32
  end
  return fmix32(h)
end

local seeds = {}

core.register_fetches("relay_owner", function(txn)
  local sid = string.match(txn.sf:path(), "^/vnc/([A-Za-z0-9._:-]+)$")
  local be = core.backends["relays"]
  if not sid or not be then return "" end
  local key = hash(sid, 0x811c9dc5)
  local names = {}
  for name, _ in pairs(be.servers) do names[#names + 1] = name end
  table.sort(names)
  local best, bestScore = "", -1
  for _, name in ipairs(names) do
    local status = be.servers[name]:get_stats().status or ""
    if string.sub(status, 1, 2) == "UP" then
      seeds[name] = seeds[name] or hash(name, 0x9747b28c)
      local score = fmix32(key ~ seeds[name])
      if score > bestScore then best, bestScore = name, score end
    end
  end
  return best
end)

-- What the owner function sees (GET /lua-status on the vnc frontend), for operators and tests.
core.register_fetches("relay_status", function(txn)
  local be = core.backends["relays"]
  if not be then return "" end
  local out = {}
  for name, srv in pairs(be.servers) do out[#out + 1] = name .. "=" .. (srv:get_stats().status or "?") end
  table.sort(out)
  return table.concat(out, " ")
end)
