// xfrm states and policies for ovnet-inspect, over NETLINK_XFRM (no libnl-xfrm: one more shared
// library for every tool's start-up). Keys are never kept: only their length and a fingerprint.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <fmt/format.h>

#include "ovnet/inspect.hpp"
#include "ovnet/netlink.hpp"

namespace ovnet {

namespace {

// ---- SHA-256 (FIPS 180-4), for key fingerprints only ---------------------------------------------

struct Sha256 {
    std::array<uint32_t, 8> h{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    static constexpr uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
        0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
        0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
        0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
        0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
    void block(const uint8_t* p) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++) w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    std::array<uint32_t, 8> digest(const uint8_t* data, size_t len) {
        size_t full = len / 64 * 64;
        for (size_t i = 0; i < full; i += 64) block(data + i);
        uint8_t tail[128] = {};
        size_t rest = len - full;
        std::memcpy(tail, data + full, rest);
        tail[rest] = 0x80;
        size_t n = rest + 1 + 8 <= 64 ? 64 : 128;
        uint64_t bits = uint64_t(len) * 8;
        for (int i = 0; i < 8; i++) tail[n - 1 - i] = uint8_t(bits >> (8 * i));
        block(tail);
        if (n == 128) block(tail + 64);
        return h;
    }
};

IpAddr xaddr(const xfrm_address_t& a, int family) {
    IpAddr out;
    if (family == AF_INET) {
        if (a.a4 == 0) return out;
        out.family = AF_INET;
        std::memcpy(out.b.data(), &a.a4, 4);
    } else if (family == AF_INET6) {
        static const uint8_t zero[16] = {};
        if (std::memcmp(a.a6, zero, 16) == 0) return out;
        out.family = AF_INET6;
        std::memcpy(out.b.data(), a.a6, 16);
    }
    return out;
}

std::string proto_name(uint8_t p) {
    switch (p) {
        case IPPROTO_ESP: return "esp";
        case IPPROTO_AH: return "ah";
        case IPPROTO_COMP: return "comp";
        default: return std::to_string(p);
    }
}

std::string mode_name(uint8_t m) {
    switch (m) {
        case XFRM_MODE_TRANSPORT: return "transport";
        case XFRM_MODE_TUNNEL: return "tunnel";
        case XFRM_MODE_ROUTEOPTIMIZATION: return "ro";
        case XFRM_MODE_IN_TRIGGER: return "in_trigger";
        case XFRM_MODE_BEET: return "beet";
        default: return std::to_string(m);
    }
}

XfrmAlg alg_of(const char* kind, const char* name, uint32_t key_bits, const uint8_t* key, size_t avail, uint32_t icv) {
    XfrmAlg a;
    a.kind = kind;
    a.name = std::string(name, strnlen(name, 64));
    a.key_bits = key_bits;
    size_t bytes = (key_bits + 7) / 8;
    if (bytes && bytes <= avail) a.key_fingerprint = key_fingerprint(key, bytes);
    a.icv_bits = icv;
    return a;
}

}  // namespace

std::array<uint8_t, 32> sha256(const uint8_t* data, size_t len) {
    auto d = Sha256().digest(data, len);
    std::array<uint8_t, 32> out{};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) out[size_t(4 * i + j)] = uint8_t(d[size_t(i)] >> (24 - 8 * j));
    return out;
}

std::string key_fingerprint(const uint8_t* key, size_t len) {
    auto d = Sha256().digest(key, len);
    return fmt::format("{:08x}{:08x}", d[0], d[1]);
}

bool xfrm_state_parse(const nlmsghdr* h, XfrmState& out) {
    if (h->nlmsg_type != XFRM_MSG_NEWSA || h->nlmsg_len < NLMSG_LENGTH(sizeof(xfrm_usersa_info))) return false;
    // Netlink messages are 4-byte aligned and xfrm_usersa_info holds 64-bit counters: read a copy.
    xfrm_usersa_info copy;
    std::memcpy(&copy, NLMSG_DATA(h), sizeof copy);
    const auto* p = &copy;
    out = XfrmState{};
    out.src = xaddr(p->saddr, p->family);
    out.dst = xaddr(p->id.daddr, p->family);
    out.proto = proto_name(p->id.proto);
    out.spi = ntohl(p->id.spi);
    out.reqid = p->reqid;
    out.mode = mode_name(p->mode);
    each_attr(h, sizeof(xfrm_usersa_info), [&](int type, const uint8_t* d, size_t len) {
        if (type == XFRMA_ALG_AEAD && len >= sizeof(xfrm_algo_aead)) {
            auto* a = reinterpret_cast<const xfrm_algo_aead*>(d);
            out.algs.push_back(alg_of("aead", a->alg_name, a->alg_key_len, d + sizeof(xfrm_algo_aead),
                                      len - sizeof(xfrm_algo_aead), a->alg_icv_len));
        } else if ((type == XFRMA_ALG_CRYPT || type == XFRMA_ALG_AUTH || type == XFRMA_ALG_COMP) && len >= sizeof(xfrm_algo)) {
            auto* a = reinterpret_cast<const xfrm_algo*>(d);
            const char* kind = type == XFRMA_ALG_CRYPT ? "crypt" : type == XFRMA_ALG_AUTH ? "auth" : "comp";
            // The truncated form of the same algorithm, when both come, replaces the plain one.
            for (auto& x : out.algs)
                if (x.kind == "auth" && type == XFRMA_ALG_AUTH) return;
            out.algs.push_back(alg_of(kind, a->alg_name, a->alg_key_len, d + sizeof(xfrm_algo), len - sizeof(xfrm_algo), 0));
        } else if (type == XFRMA_ALG_AUTH_TRUNC && len >= sizeof(xfrm_algo_auth)) {
            auto* a = reinterpret_cast<const xfrm_algo_auth*>(d);
            std::erase_if(out.algs, [](const XfrmAlg& x) { return x.kind == "auth"; });
            out.algs.push_back(alg_of("auth", a->alg_name, a->alg_key_len, d + sizeof(xfrm_algo_auth),
                                      len - sizeof(xfrm_algo_auth), a->alg_trunc_len));
        } else if (type == XFRMA_MARK && len >= sizeof(xfrm_mark)) {
            auto* m = reinterpret_cast<const xfrm_mark*>(d);
            out.mark = m->v;
            out.mark_mask = m->m;
        }
    });
    return true;
}

bool xfrm_policy_parse(const nlmsghdr* h, XfrmPolicy& out) {
    if (h->nlmsg_type != XFRM_MSG_NEWPOLICY || h->nlmsg_len < NLMSG_LENGTH(sizeof(xfrm_userpolicy_info))) return false;
    // Netlink messages are 4-byte aligned and xfrm_userpolicy_info holds 64-bit counters: read a copy.
    xfrm_userpolicy_info copy;
    std::memcpy(&copy, NLMSG_DATA(h), sizeof copy);
    const auto* p = &copy;
    out = XfrmPolicy{};
    static const char* dirs[] = {"in", "out", "fwd"};
    out.dir = p->dir < 3 ? dirs[p->dir] : std::to_string(p->dir);
    int fam = p->sel.family ? p->sel.family : AF_INET;
    auto sel = [&](const xfrm_address_t& a, uint8_t len) {
        IpAddr ip = xaddr(a, fam);
        if (!ip.valid()) ip = IpAddr::parse(fam == AF_INET6 ? "::" : "0.0.0.0");
        return Prefix{ip, len};
    };
    out.src = sel(p->sel.saddr, p->sel.prefixlen_s);
    out.dst = sel(p->sel.daddr, p->sel.prefixlen_d);
    out.proto = p->sel.proto;
    out.sport = ntohs(p->sel.sport);
    out.dport = ntohs(p->sel.dport);
    out.priority = p->priority;
    out.index = p->index;
    out.action = p->action == XFRM_POLICY_ALLOW ? "allow" : p->action == XFRM_POLICY_BLOCK ? "block" : std::to_string(p->action);
    each_attr(h, sizeof(xfrm_userpolicy_info), [&](int type, const uint8_t* d, size_t len) {
        if (type == XFRMA_TMPL) {
            for (size_t o = 0; o + sizeof(xfrm_user_tmpl) <= len; o += sizeof(xfrm_user_tmpl)) {
                auto* t = reinterpret_cast<const xfrm_user_tmpl*>(d + o);
                XfrmTmpl x;
                x.src = xaddr(t->saddr, t->family);
                x.dst = xaddr(t->id.daddr, t->family);
                x.proto = proto_name(t->id.proto);
                x.mode = mode_name(t->mode);
                x.spi = ntohl(t->id.spi);
                x.reqid = t->reqid;
                out.templates.push_back(std::move(x));
            }
        } else if (type == XFRMA_MARK && len >= sizeof(xfrm_mark)) {
            auto* m = reinterpret_cast<const xfrm_mark*>(d);
            out.mark = m->v;
            out.mark_mask = m->m;
        }
    });
    return true;
}

template <class W>
void XfrmState::fields(W& w) const {
    using schema::ReadOnly;
    w("src", src, ReadOnly);
    w("dst", dst, ReadOnly);
    w("proto", proto, ReadOnly);
    w("spi", hex32(spi), ReadOnly);
    w("reqid", reqid, ReadOnly);
    w("mode", mode, ReadOnly);
    w("mark", hex32(mark), ReadOnly);
    w("mark_mask", hex32(mark_mask), ReadOnly);
    w("algs", algs, ReadOnly);
}

template <class W>
void XfrmTmpl::fields(W& w) const {
    using schema::ReadOnly;
    w("src", src, ReadOnly);
    w("dst", dst, ReadOnly);
    w("proto", proto, ReadOnly);
    w("spi", hex32(spi), ReadOnly);
    w("reqid", reqid, ReadOnly);
    w("mode", mode, ReadOnly);
}

template <class W>
void XfrmPolicy::fields(W& w) const {
    using schema::ReadOnly;
    w("dir", dir, ReadOnly);
    w("src", src, ReadOnly);
    w("dst", dst, ReadOnly);
    w("proto", proto, ReadOnly);
    w("sport", sport, ReadOnly);
    w("dport", dport, ReadOnly);
    w("mark", hex32(mark), ReadOnly);
    w("mark_mask", hex32(mark_mask), ReadOnly);
    w("priority", priority, ReadOnly);
    w("index", index, ReadOnly);
    w("action", action, ReadOnly);
    w("templates", templates, ReadOnly);
}

OVNET_SCHEMA_FIELDS(XfrmState)
OVNET_SCHEMA_FIELDS(XfrmTmpl)
OVNET_SCHEMA_FIELDS(XfrmPolicy)

std::string hex32(uint32_t v) { return fmt::format("0x{:08x}", v); }

Xfrm xfrm_read(Handle& h) {
    Xfrm x;
    void* hdr;
    NlMsg m = nl_new(XFRM_MSG_GETSA, 0, sizeof(xfrm_usersa_id), &hdr);
    h.dump(m, [&](const nlmsghdr* r) {
        XfrmState s;
        if (xfrm_state_parse(r, s)) x.states.push_back(std::move(s));
    }, [&] { x.states.clear(); });
    NlMsg p = nl_new(XFRM_MSG_GETPOLICY, 0, sizeof(xfrm_userpolicy_id), &hdr);
    h.dump(p, [&](const nlmsghdr* r) {
        XfrmPolicy s;
        if (xfrm_policy_parse(r, s)) x.policies.push_back(std::move(s));
    }, [&] { x.policies.clear(); });
    return x;
}

}  // namespace ovnet
