// lib/ipvs_wire.hpp - private to the lib/ipvs*.cpp files: the IPVS generic-netlink encoding and
// parsing (lib/ipvs_wire.cpp, as moby/ipvs's netlink_linux.go), and the small helpers the typed
// API, the planner, the JSON schema and the ipvsadm format share.
#pragma once
#include <linux/ip_vs.h>
#include <netlink/msg.h>

#include <cstdint>
#include <optional>
#include <string>

#include "ovnet/ipvs.hpp"

namespace ovnet::ipvs_detail {

constexpr uint32_t kDefaultPersist = 360;   // ipvsadm's -p without a value

int proto_num(const std::string& p);        // "tcp" -> IPPROTO_TCP; 0 when unknown
std::string proto_name(int n);
int tun_num(const std::string& t);          // "ipip" 0, "gue" 1, "gre" 2; -1 when unknown
const char* tun_name(int t);                // nullptr when unknown
inline int max_plen(int af) { return af == AF_INET6 ? 128 : 32; }
inline bool sched_has_flags(const std::string& s) { return s == "sh" || s == "mh"; }
/// "10.0.0.5:80", "[fd00::1]:443" (labels are made for every change of a large apply: no fmt).
std::string addr_port(const IpAddr& a, uint16_t port);

/// Configuration equality (what a write would change), ignoring stats and counters.
bool same_config(const IpvsService& a, const IpvsService& b);
bool same_config(const IpvsDest& a, const IpvsDest& b);
/// ipvsadm -Ln's order.
bool svc_less(const IpvsService& a, const IpvsService& b);
int dest_cmp(const IpvsDest& a, const IpvsDest& b);   // by family, address, port
inline bool dest_less(const IpvsDest& a, const IpvsDest& b) { return dest_cmp(a, b) < 0; }

// ---- encoding ----
void set_genl_hdr(void* hdr, uint8_t cmd);
NlMsg genl_msg(int family, uint8_t cmd, int flags, size_t size = 512);
/// IPVS_CMD_ATTR_SERVICE: the key (af, fwmark or protocol/address/port), with `full` the settings.
void put_service(nl_msg* m, const IpvsService& s, bool full);
/// IPVS_CMD_ATTR_DEST: the address, port and family, with `full` the settings.
void put_dest(nl_msg* m, const IpvsDest& d, bool full);
NlMsg svc_msg(int fam, uint8_t cmd, const IpvsService& s, bool full);
NlMsg dest_msg(int fam, uint8_t cmd, const IpvsService& s, const IpvsDest& d, bool full);
/// IPVS_CMD_SET_CONFIG with the timeouts that are not 0.
NlMsg timeouts_msg(int fam, const IpvsTimeouts& t);
/// CTRL_CMD_GETFAMILY for "IPVS".
NlMsg family_msg();

// ---- parsing: every attribute's length is checked against a policy table (genlmsg_parse,
// nla_parse_nested) before it is read; a reply that fails the check raises Error(Runtime). ----
std::optional<IpvsService> parse_service_msg(const nlmsghdr* h);   // nullopt: no service attribute
std::optional<IpvsDest> parse_dest_msg(const nlmsghdr* h, int svc_af);
void parse_timeouts_msg(const nlmsghdr* h, IpvsTimeouts& t);
void parse_info_msg(const nlmsghdr* h, uint32_t& version, uint32_t& conn_tab_size);
int parse_family_msg(const nlmsghdr* h);   // the family id, 0 when absent

}  // namespace ovnet::ipvs_detail

namespace ovnet::ipvs_detail {
// ---- planner pieces used by the verbs (lib/ipvs_plan.cpp) ----
/// The plan of one service's add (ipvs_add_service): its destinations are added or edited, never removed.
IpvsPlan plan_one(const IpvsService& want, const IpvsService* cur);
/// The changes to report for a plan: its writes, or when there are none "unchanged" records (one
/// per unchanged service, or with `summarize_unchanged` one for the set: "N services"; "ipvs" when empty).
Changes plan_report(IpvsPlan&& p, bool summarize_unchanged);
}  // namespace ovnet::ipvs_detail
