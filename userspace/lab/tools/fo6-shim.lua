-- tandem: a tshark/Wireshark shim for the RFC 8156 failover stream on TCP port 647.
--
-- On the stream every message is a 2-octet message-size and then that many octets (RFC 8156
-- §5, framing of RFC 5460 §5.1). A message starts with msg-type (1 octet) and
-- transaction-id (3 octets); all but STARTTLS (23) and REPLY (7), which keep the 4-octet
-- header of RFC 7653, then carry a 4-octet sent-time. The options that follow use the DHCPv6
-- option format, so this shim rebuilds "msg-type, transaction-id, options" and hands it to
-- Wireshark's own dhcpv6 dissector, which knows the failover options 114-134.
--
-- Flagged Malformed here: a message too short for its header, and an option running past the
-- end of its message or container at any depth (the dhcpv6 dissector silently stops there).
-- Flagged by the dhcpv6 dissector: failover options of the wrong length ("Failover: malformed
-- option"). Only a stream in the clear can be read: after STARTTLS the bytes are TLS.
--
--   tshark -X lua_script:fo6-shim.lua -r partner.pcap -Y '_ws.expert.group == "Malformed"'

local SIZE_LEN = 2        -- message-size
local BASE_LEN = 4        -- msg-type + transaction-id
local SENT_TIME_LEN = 4   -- sent-time, absent from the short header
local SHORT_HEADER = { [7] = true, [23] = true }
local PORT = 647

local shim = Proto("tandemfo", "tandem RFC 8156 failover stream")
local field = {
  size = ProtoField.uint16("tandemfo.size", "Message size"),
  msgtype = ProtoField.uint8("tandemfo.msgtype", "Message type"),
  xid = ProtoField.uint24("tandemfo.xid", "Transaction ID", base.HEX),
  sent_time = ProtoField.uint32("tandemfo.sent_time", "Sent time"),
}
shim.fields = { field.size, field.msgtype, field.xid, field.sent_time }

local too_short = ProtoExpert.new("tandemfo.too_short",
  "Failover message shorter than its header", expert.group.MALFORMED, expert.severity.ERROR)
local overrun = ProtoExpert.new("tandemfo.overrun",
  "Option runs past the end of its message or container", expert.group.MALFORMED,
  expert.severity.ERROR)
shim.experts = { too_short, overrun }

local dhcpv6 = Dissector.get("dhcpv6")

-- Options that hold options after a fixed part of this many octets: IA_NA, IA_TA, IAADDR,
-- IA_PD, IAPREFIX (RFC 8415 §21.4-21.6, §21.21-21.22), CLIENT_DATA (RFC 5007 §4.1.2.2) and
-- F_DNS_REMOVAL_INFO (RFC 8156 §6.2).
local CONTAINERS = { [3] = 12, [4] = 4, [5] = 24, [25] = 12, [26] = 25, [45] = 0, [116] = 0 }

-- Wireshark's dhcpv6 dissector stops without a word at an option whose length runs past its
-- container, so the shim checks the option tree itself: true when every option (code,
-- length, data) from offset fits exactly up to stop, at every depth.
local function options_fit(tvb, offset, stop)
  while offset < stop do
    if stop - offset < 4 then
      return false
    end
    local code = tvb(offset, 2):uint()
    local len = tvb(offset + 2, 2):uint()
    local data = offset + 4
    if len > stop - data then
      return false
    end
    local fixed = CONTAINERS[code]
    if fixed ~= nil then
      if len < fixed or not options_fit(tvb, data + fixed, data + len) then
        return false
      end
    end
    offset = data + len
  end
  return true
end

-- Length of the message starting at offset, its message-size included.
local function message_length(tvb, _, offset)
  return SIZE_LEN + tvb(offset, SIZE_LEN):uint()
end

local function dissect_message(tvb, pinfo, tree)
  local total = tvb:len()
  local node = tree:add(shim, tvb())
  node:add(field.size, tvb(0, SIZE_LEN))
  pinfo.cols.protocol = "DHCPv6-FO"
  if total < SIZE_LEN + BASE_LEN then
    node:add_proto_expert_info(too_short)
    return total
  end
  local msgtype = tvb(SIZE_LEN, 1):uint()
  node:add(field.msgtype, tvb(SIZE_LEN, 1))
  node:add(field.xid, tvb(SIZE_LEN + 1, 3))
  local header = BASE_LEN
  if not SHORT_HEADER[msgtype] then
    header = BASE_LEN + SENT_TIME_LEN
    if total < SIZE_LEN + header then
      node:add_proto_expert_info(too_short)
      return total
    end
    node:add(field.sent_time, tvb(SIZE_LEN + BASE_LEN, SENT_TIME_LEN))
  end
  local bytes = tvb(SIZE_LEN, BASE_LEN):bytes()
  local options_at = SIZE_LEN + header
  if total > options_at then
    bytes:append(tvb(options_at):bytes())
    if not options_fit(tvb, options_at, total) then
      node:add_proto_expert_info(overrun)
    end
  end
  dhcpv6:call(bytes:tvb("Failover message as DHCPv6"), pinfo, node)
  return total
end

function shim.dissector(tvb, pinfo, tree)
  dissect_tcp_pdus(tvb, tree, SIZE_LEN, message_length, dissect_message)
  return tvb:len()
end

DissectorTable.get("tcp.port"):add(PORT, shim)
