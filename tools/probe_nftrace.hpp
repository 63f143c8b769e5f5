// ovnet-trace --probe: the kernel's own rule trace (nf_tables' nftrace) for the probe's packet
// only. In each namespace of the path, an ovnet-owned nf_tables table (ip ovnet_probe_PID) hooks
// PREROUTING and OUTPUT before raw with one rule each, `<the probe's tuple> meta nftrace set 1`,
// written as one netlink batch (a table of its own: nothing added to the tables iptables owns);
// the events come from NFNLGRP_NFTRACE (NFTA_TRACE_* decoded here, as xtables-monitor --trace
// shows them) and each rule handle is placed in its chain (one NFT_MSG_GETRULE dump), hence
// mapped to the iptables-save rule the trace read. The table is deleted when the NfTrace goes, also on throw;
// it is owned by its netlink socket (NFT_TABLE_F_OWNER), so the kernel deletes it even when the
// process is killed.
// iptables-legacy rules are invisible to this tracer (it follows nf_tables only): said, not guessed.
#pragma once
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ovnet/error.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/json.hpp"
#include "ovnet/netns.hpp"

namespace ovnet::tool {

class NfTrace {
public:
    /// What selects the probe's packet: its protocol, and ports (tcp, udp) or the echo request
    /// to dst (icmp).
    struct Match {
        uint8_t proto = 0;
        uint16_t sport = 0, dport = 0;   ///< 0: any
        uint32_t src_be = 0, dst_be = 0; ///< src 0: any
        bool operator==(const Match&) const = default;
    };
    /// `ns`: a namespace label, `path` its file; `matches`: the forms the probe's packet has
    /// there (the overlay's packet, the VXLAN packet carrying it). Does nothing (ok() false,
    /// why() says) when the kernel refuses the table.
    NfTrace(const std::string& ns, const std::string& path, const std::vector<Match>& matches) : ns_(ns), path_(path) {
        {
            NetnsFile nsf = netns_open(path);
            NetnsGuard g(nsf);
            fd_ = Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER));
            ctl_ = Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
        }
        if (!fd_ || !ctl_) throw Error(ErrorKind::Runtime, "--probe: nftrace in " + ns + ": netlink socket: " + std::strerror(errno));
        int grp = NFNLGRP_NFTRACE, big = 1 << 20;
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        // bound first: an unbound netlink socket keeps port id 0, the kernel's own, and a
        // broadcast skips the socket whose port id is the sender's (every kernel event, then)
        sockaddr_nl me{};
        me.nl_family = AF_NETLINK;
        if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&me), sizeof me) < 0) {
            why_ = std::string("NFNLGRP_NFTRACE: bind: ") + std::strerror(errno);
            return;
        }
        if (::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp) < 0) {
            why_ = std::string("NFNLGRP_NFTRACE: ") + std::strerror(errno);
            return;
        }
        table_ = "ovnet_probe_" + std::to_string(::getpid());
        std::string err = batch(true, matches);
        if (!err.empty()) {
            why_ = err;
            batch(false, {});
            return;
        }
        added_ = true;
    }
    ~NfTrace() {
        if (added_) batch(false, {});
    }
    NfTrace(const NfTrace&) = delete;
    NfTrace& operator=(const NfTrace&) = delete;

    bool ok() const { return added_; }
    const std::string& why() const { return why_; }
    const std::string& netns() const { return ns_; }

    struct Event {
        std::string table, chain, verdict;
        int type = 0;                 ///< NFT_TRACETYPE_RULE, _RETURN, _POLICY
        uint64_t handle = 0;
        uint32_t id = 0;              ///< the kernel's id of the traced packet (skb)
        int position = 0;             ///< the rule's place in its chain (1-based), 0 unknown
    };
    /// The events of the probe's packet received so far, in the kernel's order, their rules
    /// placed in their chains. Our own table's events left out; so is all that follows one of
    /// our rules marking another packet than the first it marked (an ACK, a retransmission:
    /// later packets of the flow). Not the packet id: the kernel derives it from the skb's flow
    /// hash, which may change on the way (IPVS sends the packet through OUTPUT once more).
    std::vector<Event> events() {
        std::vector<Event> out;
        if (!added_) return out;
        std::map<uint64_t, uint32_t> first;   // our rule -> the id of the first packet it marked
        bool later = false;
        char buf[1 << 16];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
            if (n <= 0) break;
            size_t left = size_t(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
                if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE)) continue;
                Event e;
                attrs(h, [&](int t, const char* v, size_t vn) {
                    if (t == NFTA_TRACE_TABLE) e.table = cstr(v, vn);
                    else if (t == NFTA_TRACE_CHAIN) e.chain = cstr(v, vn);
                    else if (t == NFTA_TRACE_TYPE && vn >= 4) e.type = int(be32(v));
                    else if (t == NFTA_TRACE_RULE_HANDLE && vn >= 8) e.handle = be64(v);
                    else if (t == NFTA_TRACE_ID && vn >= 4) e.id = be32(v);
                    else if (t == NFTA_TRACE_POLICY && vn >= 4) {
                        uint32_t p = be32(v);
                        if (p > 0xffff) p = __builtin_bswap32(p);   // kernels that put it in host order
                        e.verdict = verdict_name(int32_t(p));
                    }
                    else if (t == NFTA_TRACE_VERDICT)
                        each(v, vn, [&](int vt, const char* x, size_t xn) {
                            if (vt == NFTA_VERDICT_CODE && xn >= 4) e.verdict = verdict_name(int32_t(be32(x))) + e.verdict;
                            else if (vt == NFTA_VERDICT_CHAIN) e.verdict += " " + cstr(x, xn);
                        });
                });
                if (e.table == table_) {
                    if (e.type == NFT_TRACETYPE_RULE) {
                        auto [it, fresh] = first.emplace(e.handle, e.id);
                        later |= !fresh && it->second != e.id;
                    }
                    continue;
                }
                if (!later && !first.empty()) out.push_back(std::move(e));
            }
        }
        if (out.empty()) return out;
        auto pos = positions();
        for (auto& e : out) {
            if (e.type != NFT_TRACETYPE_RULE) continue;
            auto it = pos.find({e.table, e.handle});
            if (it == pos.end()) continue;
            e.position = it->second;
        }
        return out;
    }

private:
    std::string ns_, path_, table_, why_;
    Fd fd_;    // the trace events
    Fd ctl_;   // the table's owner: the kernel deletes the table when it closes, even on SIGKILL
    uint32_t seq_ = 1;
    bool added_ = false;

    // ---- a netlink message builder, just enough for one nf_tables batch ----
    struct Msg {
        std::string b;
        std::vector<size_t> nest;
        void put(int type, const void* d, size_t n) {
            nlattr a{uint16_t(NLA_HDRLEN + n), uint16_t(type)};
            b.append(reinterpret_cast<const char*>(&a), sizeof a);
            b.append(static_cast<const char*>(d), n);
            b.append(NLA_ALIGN(n) - n, '\0');
        }
        void str(int type, const std::string& v) { put(type, v.c_str(), v.size() + 1); }
        void u32(int type, uint32_t v) {
            uint32_t be = htonl(v);
            put(type, &be, 4);
        }
        void open(int type) {
            nest.push_back(b.size());
            nlattr a{0, uint16_t(type | NLA_F_NESTED)};
            b.append(reinterpret_cast<const char*>(&a), sizeof a);
        }
        void close() {
            size_t at = nest.back();
            nest.pop_back();
            uint16_t len = uint16_t(b.size() - at);
            std::memcpy(&b[at], &len, 2);
        }
    };
    static void begin(std::string& out, Msg& m, int type, int flags, int family, uint16_t res = 0) {
        (void)out;
        m = Msg{};
        nlmsghdr h{};
        h.nlmsg_type = uint16_t(type), h.nlmsg_flags = uint16_t(NLM_F_REQUEST | flags);
        nfgenmsg g{};
        g.nfgen_family = uint8_t(family), g.version = NFNETLINK_V0, g.res_id = htons(res);
        m.b.append(reinterpret_cast<const char*>(&h), sizeof h);
        m.b.append(reinterpret_cast<const char*>(&g), sizeof g);
    }
    static void end(std::string& out, Msg& m, uint32_t seq) {
        auto* h = reinterpret_cast<nlmsghdr*>(m.b.data());
        h->nlmsg_len = uint32_t(m.b.size());
        h->nlmsg_seq = seq;
        out += m.b;
    }
    static void expr(Msg& m, const char* name) {
        m.open(NFTA_LIST_ELEM);
        m.str(NFTA_EXPR_NAME, name);
        m.open(NFTA_EXPR_DATA);
    }
    static void expr_end(Msg& m) { m.close(), m.close(); }
    static void cmp_eq(Msg& m, const void* d, size_t n) {
        expr(m, "cmp");
        m.u32(NFTA_CMP_SREG, NFT_REG_1);
        m.u32(NFTA_CMP_OP, NFT_CMP_EQ);
        m.open(NFTA_CMP_DATA);
        m.put(NFTA_DATA_VALUE, d, n);
        m.close();
        expr_end(m);
    }
    static void payload(Msg& m, uint32_t base, uint32_t off, uint32_t len) {
        expr(m, "payload");
        m.u32(NFTA_PAYLOAD_DREG, NFT_REG_1);
        m.u32(NFTA_PAYLOAD_BASE, base);
        m.u32(NFTA_PAYLOAD_OFFSET, off);
        m.u32(NFTA_PAYLOAD_LEN, len);
        expr_end(m);
    }
    /// add: our table, a chain on PREROUTING and one on OUTPUT (before raw), each with the one
    /// rule `<match> meta nftrace set 1`; !add: the table deleted. One batch, its errors read back.
    std::string batch(bool add, const std::vector<Match>& mts) {
        const Fd& fd = ctl_;
        std::string out;
        Msg m;
        uint32_t& seq = seq_;
        int acks = 0;
        begin(out, m, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
        end(out, m, seq++);
        const int T = NFNL_SUBSYS_NFTABLES << 8;
        if (!add) {
            begin(out, m, T | NFT_MSG_DELTABLE, NLM_F_ACK, NFPROTO_IPV4);
            m.str(NFTA_TABLE_NAME, table_);
            end(out, m, seq++), acks++;
        } else {
            begin(out, m, T | NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, NFPROTO_IPV4);
            m.str(NFTA_TABLE_NAME, table_);
            m.u32(NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER);
            end(out, m, seq++), acks++;
            for (auto [name, hook] : {std::pair<const char*, int>{"pre", NF_INET_PRE_ROUTING}, {"out", NF_INET_LOCAL_OUT}}) {
                begin(out, m, T | NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, NFPROTO_IPV4);
                m.str(NFTA_CHAIN_TABLE, table_);
                m.str(NFTA_CHAIN_NAME, name);
                m.open(NFTA_CHAIN_HOOK);
                m.u32(NFTA_HOOK_HOOKNUM, uint32_t(hook));
                m.u32(NFTA_HOOK_PRIORITY, uint32_t(-350));   // before raw (-300) and conntrack
                m.close();
                m.str(NFTA_CHAIN_TYPE, "filter");
                end(out, m, seq++), acks++;
                for (auto& mt : mts) {
                begin(out, m, T | NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, NFPROTO_IPV4);
                m.str(NFTA_RULE_TABLE, table_);
                m.str(NFTA_RULE_CHAIN, name);
                m.open(NFTA_RULE_EXPRESSIONS);
                expr(m, "meta");
                m.u32(NFTA_META_DREG, NFT_REG_1);
                m.u32(NFTA_META_KEY, NFT_META_L4PROTO);
                expr_end(m);
                cmp_eq(m, &mt.proto, 1);
                if (mt.src_be) {
                    payload(m, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
                    cmp_eq(m, &mt.src_be, 4);
                }
                payload(m, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
                cmp_eq(m, &mt.dst_be, 4);
                if (mt.proto == IPPROTO_ICMP) {
                    uint8_t echo = 8;
                    payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
                    cmp_eq(m, &echo, 1);
                } else {
                    uint16_t sp = htons(mt.sport), dp = htons(mt.dport);
                    if (mt.sport) {
                        payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
                        cmp_eq(m, &sp, 2);
                    }
                    if (mt.dport) {
                        payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
                        cmp_eq(m, &dp, 2);
                    }
                }
                uint8_t one = 1;
                expr(m, "immediate");
                m.u32(NFTA_IMMEDIATE_DREG, NFT_REG_1);
                m.open(NFTA_IMMEDIATE_DATA);
                m.put(NFTA_DATA_VALUE, &one, 1);
                m.close();
                expr_end(m);
                expr(m, "meta");
                m.u32(NFTA_META_KEY, NFT_META_NFTRACE);
                m.u32(NFTA_META_SREG, NFT_REG_1);
                expr_end(m);
                m.close();
                end(out, m, seq++), acks++;
                }
            }
        }
        begin(out, m, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
        end(out, m, seq++);
        if (::send(fd.get(), out.data(), out.size(), 0) < 0) return std::string("nf_tables: ") + std::strerror(errno);
        char buf[8192];
        while (acks > 0) {
            pollfd p{fd.get(), POLLIN, 0};
            if (::poll(&p, 1, 2000) <= 0) return "nf_tables: no answer";
            ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
            if (n <= 0) return std::string("nf_tables: ") + std::strerror(errno);
            size_t left = size_t(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                int e = static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
                if (e) return std::string("nf_tables: ") + std::strerror(-e);
                acks--;
            }
        }
        return {};
    }

    static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
    static std::string cstr(const char* v, size_t n) { return std::string(v, strnlen(v, n)); }
    static uint32_t be32(const char* d) {
        return uint32_t(uint8_t(d[0])) << 24 | uint32_t(uint8_t(d[1])) << 16 | uint32_t(uint8_t(d[2])) << 8 | uint8_t(d[3]);
    }
    static uint64_t be64(const char* d) { return uint64_t(be32(d)) << 32 | be32(d + 4); }
    static std::string verdict_name(int32_t c) {
        switch (c) {
            case 0: return "DROP";
            case 1: return "ACCEPT";
            case 2: return "STOLEN";
            case 3: return "QUEUE";
            case NFT_CONTINUE: return "continue";
            case NFT_BREAK: return "break";
            case NFT_JUMP: return "jump";
            case NFT_GOTO: return "goto";
            case NFT_RETURN: return "return";
            default: return std::to_string(c);
        }
    }
    template <class F> static void each(const char* d, size_t len, F f) {
        size_t left = len;
        auto* a = reinterpret_cast<const nlattr*>(d);
        while (left >= sizeof(nlattr) && a->nla_len >= sizeof(nlattr) && a->nla_len <= left) {
            f(a->nla_type & NLA_TYPE_MASK, reinterpret_cast<const char*>(a) + NLA_HDRLEN, size_t(a->nla_len) - NLA_HDRLEN);
            size_t l = NLA_ALIGN(a->nla_len);
            if (l >= left) break;
            left -= l;
            a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + l);
        }
    }
    template <class F> static void attrs(const nlmsghdr* h, F f) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return;
        each(static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg)), h->nlmsg_len - NLMSG_LENGTH(sizeof(nfgenmsg)), f);
    }
    /// (table, handle) -> place in its chain, from one NFT_MSG_GETRULE dump (rules come in chain
    /// order; a handle is unique in its table only).
    std::map<std::pair<std::string, uint64_t>, int> positions() {
        std::map<std::pair<std::string, uint64_t>, int> out;
        const Fd& fd = ctl_;
        struct {
            nlmsghdr h;
            nfgenmsg g;
        } req{};
        req.h.nlmsg_len = sizeof req;
        req.h.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.h.nlmsg_seq = seq_++;
        req.g.nfgen_family = NFPROTO_IPV4;
        req.g.version = NFNETLINK_V0;
        if (::send(fd.get(), &req, sizeof req, 0) < 0) return out;
        std::map<std::pair<std::string, std::string>, int> count;
        std::vector<char> buf(1 << 17);
        for (;;) {
            ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
            if (n <= 0) return out;
            size_t left = size_t(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
                if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return out;
                std::string table, chain;
                uint64_t handle = 0;
                attrs(h, [&](int t, const char* v, size_t vn) {
                    if (t == NFTA_RULE_TABLE) table = cstr(v, vn);
                    else if (t == NFTA_RULE_CHAIN) chain = cstr(v, vn);
                    else if (t == NFTA_RULE_HANDLE && vn >= 8) handle = be64(v);
                });
                out[{table, handle}] = ++count[{table, chain}];
            }
        }
    }
};

}  // namespace ovnet::tool
