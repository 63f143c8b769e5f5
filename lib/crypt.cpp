// Encrypted overlays (ovnet/crypt.hpp): Docker's ESP scheme planned purely, then written over
// NETLINK_XFRM in batches, and read back with the kernel's counters for `ovnet-crypt show`.
#include "ovnet/crypt.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netlink/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <map>

#include "ovnet/error.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

namespace {

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// The 16-byte form Go's net.IP has for an IPv4 address (::ffff:a.b.c.d).
std::array<uint8_t, 16> ip16(const IpAddr& a) {
    std::array<uint8_t, 16> o{};
    if (a.family == AF_INET) {
        o[10] = o[11] = 0xff;
        std::memcpy(o.data() + 12, a.b.data(), 4);
    } else {
        o = a.b;
    }
    return o;
}

void fill_addr(xfrm_address_t& x, const IpAddr& a) {
    std::memset(&x, 0, sizeof x);
    std::memcpy(&x, a.b.data(), a.size());
}

bool sa_same_id(const CryptSa& a, const CryptSa& b) { return a.src == b.src && a.dst == b.dst && a.spi == b.spi; }
bool pol_same_id(const CryptPolicy& a, const CryptPolicy& b) {
    return a.src == b.src && a.dst == b.dst && a.dport == b.dport && a.mark == b.mark && a.mark_mask == b.mark_mask;
}

}  // namespace

// ---------------------------------------------------------------- keys

std::string CryptKey::fingerprint(uint32_t spi) const {
    auto m = crypt_key_material(*this, spi);
    return key_fingerprint(m.data(), m.size());
}

CryptKeys crypt_keys_parse(std::string_view text, const std::string& source) {
    CryptKeys out;
    size_t lineno = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        lineno++;
        if (line.empty() || line.front() == '#') continue;
        std::string where = fmt::format("{} line {}", source, lineno);
        size_t sp = line.find_first_of(" \t");
        if (sp == std::string_view::npos) throw_input(where, "key", "", "expected \"<tag> <32 hex digits>\"");
        std::string_view tag_s = line.substr(0, sp), key_s = trim(line.substr(sp));
        CryptKey k;
        int base = 10;
        if (tag_s.size() > 2 && tag_s[0] == '0' && (tag_s[1] == 'x' || tag_s[1] == 'X')) tag_s.remove_prefix(2), base = 16;
        auto r = std::from_chars(tag_s.data(), tag_s.data() + tag_s.size(), k.tag, base);
        if (r.ec != std::errc() || r.ptr != tag_s.data() + tag_s.size())
            throw_input(where, "tag", std::string(tag_s), "not a 32-bit number");
        // The key itself is never quoted back: only its length.
        if (key_s.size() != 2 * kCryptKeyLen)
            throw_input(where, "key", fmt::format("{} characters", key_s.size()),
                        fmt::format("a key is {} bytes, {} hex digits", kCryptKeyLen, 2 * kCryptKeyLen));
        for (size_t i = 0; i < kCryptKeyLen; i++) {
            int hi = hexval(key_s[2 * i]), lo = hexval(key_s[2 * i + 1]);
            if (hi < 0 || lo < 0) throw_input(where, "key", "", "not hexadecimal");
            k.value[i] = uint8_t(hi << 4 | lo);
        }
        for (auto& o : out.keys)
            if (o.tag == k.tag) throw_input(where, "tag", std::to_string(k.tag), "appears twice");
        out.keys.push_back(k);
    }
    if (out.keys.empty()) throw_input(source, "keys", "", "no key (one \"<tag> <32 hex digits>\" line per key, primary first)");
    if (out.keys.size() > 3) throw_input(source, "keys", std::to_string(out.keys.size()), "at most 3 keys (a primary and two secondaries)");
    return out;
}

void crypt_key_mode_check(unsigned mode, bool regular, const std::string& path) {
    if (!regular) throw_input("key file " + path, "type", "", "not a regular file");
    if (mode & 077)
        throw_input("key file " + path, "mode", fmt::format("{:04o}", mode & 07777),
                    "readable or writable by group or others; chmod 600 it");
}

CryptKeys crypt_keys_read(const std::string& path) {
    if (path == "-") return crypt_keys_parse(read_fd_all(0, "keys on stdin"), "keys on stdin");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        throw Error(ErrorKind::Input, fmt::format("key file {}: {}", shown_text(path), std::strerror(e)), 0, {},
                    "key file " + path, "path");
    }
    Fd guard(fd);
    struct stat st{};
    if (::fstat(fd, &st) < 0) throw_sys(errno, "stat key file " + path);
    crypt_key_mode_check(st.st_mode, S_ISREG(st.st_mode), path);
    return crypt_keys_parse(read_fd_all(fd, "key file " + path), "key file " + path);
}

// ---------------------------------------------------------------- Docker's scheme

std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view msg) {
    std::string k(key);
    if (k.size() > 64) {
        auto h = sha256(reinterpret_cast<const uint8_t*>(k.data()), k.size());
        k.assign(reinterpret_cast<const char*>(h.data()), h.size());
    }
    k.resize(64, '\0');
    std::string inner(64, '\0'), outer(64, '\0');
    for (size_t i = 0; i < 64; i++) inner[i] = char(k[i] ^ 0x36), outer[i] = char(k[i] ^ 0x5c);
    inner.append(msg);
    auto ih = sha256(reinterpret_cast<const uint8_t*>(inner.data()), inner.size());
    outer.append(reinterpret_cast<const char*>(ih.data()), ih.size());
    return sha256(reinterpret_cast<const uint8_t*>(outer.data()), outer.size());
}

std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, size_t len) {
    auto prk = hmac_sha256(salt, ikm);
    std::string_view prk_s(reinterpret_cast<const char*>(prk.data()), prk.size());
    std::string out, t;
    for (uint8_t i = 1; out.size() < len; i++) {
        std::string m = t;
        m.append(info);
        m.push_back(char(i));
        auto h = hmac_sha256(prk_s, m);
        t.assign(reinterpret_cast<const char*>(h.data()), h.size());
        out += t;
    }
    out.resize(len);
    return out;
}

CryptKey crypt_pair_key(const CryptKey& cluster, const IpAddr& src, const IpAddr& dst) {
    auto s = ip16(src), d = ip16(dst);
    std::string info(reinterpret_cast<const char*>(s.data()), 16);
    info.append(reinterpret_cast<const char*>(d.data()), 16);
    for (int sh = 24; sh >= 0; sh -= 8) info.push_back(char(cluster.tag >> sh));
    std::string ikm(reinterpret_cast<const char*>(cluster.value.data()), cluster.value.size());
    std::string okm = hkdf_sha256(ikm, "ovnet-crypt pair key", info, kCryptKeyLen);
    CryptKey k;
    k.tag = cluster.tag;
    std::memcpy(k.value.data(), okm.data(), kCryptKeyLen);
    return k;
}

uint32_t crypt_spi(const IpAddr& src, const IpAddr& dst, uint32_t tag) {
    uint32_t h = 2166136261u;
    auto feed = [&](const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    };
    auto s = ip16(src), d = ip16(dst);
    uint8_t t[4] = {uint8_t(tag >> 24), uint8_t(tag >> 16), uint8_t(tag >> 8), uint8_t(tag)};
    feed(s.data(), 16);
    feed(t, 4);
    feed(d.data(), 16);
    return h;
}

std::array<uint8_t, kCryptKeyLen + 4> crypt_key_material(const CryptKey& k, uint32_t spi) {
    std::array<uint8_t, kCryptKeyLen + 4> m{};
    std::memcpy(m.data(), k.value.data(), kCryptKeyLen);
    m[16] = uint8_t(spi >> 24), m[17] = uint8_t(spi >> 16), m[18] = uint8_t(spi >> 8), m[19] = uint8_t(spi);
    return m;
}

std::string crypt_u32(uint32_t vni) { return fmt::format("0x0>>0x16&0x3c@0xc&0xffffff00=0x{:x}", vni << 8); }
std::string crypt_chain(uint32_t vni) { return kCryptChainPrefix + std::to_string(vni); }

void validate_crypt_overlay(const CryptOverlay& o) {
    std::string obj = fmt::format("overlay {}", o.vni);
    if (o.vni < 1 || o.vni > 0xffffff) throw_input(obj, "vni", std::to_string(o.vni), "must be 1..16777215");
    if (o.port == 0) throw_input(obj, "port", "0", "must be 1..65535");
    auto check = [&](const IpAddr& a, const char* field) {
        if (a.family != AF_INET)
            throw_input(obj, field, a.valid() ? a.str() : "", "an IPv4 underlay address is required (the u32 match reads IPv4 headers)");
        if (!is_unicast_host(a)) throw_input(obj, field, a.str(), "not a unicast host address");
    };
    check(o.local, "local");
    std::vector<IpAddr> seen;
    for (auto& p : o.peers) {
        check(p, "peer");
        if (p == o.local) throw_input(obj, "peer", p.str(), "is the local address");
        if (std::find(seen.begin(), seen.end(), p) != seen.end()) throw_input(obj, "peer", p.str(), "appears twice");
        seen.push_back(p);
    }
}

std::string CryptSa::label() const { return fmt::format("sa {} {} -> {} spi {}", dir, src.str(), dst.str(), hex32(spi)); }
std::string CryptPolicy::label() const { return fmt::format("policy out {} -> {} dport {}", src.str(), dst.str(), dport); }

template <class W>
void CryptSa::fields(W& w) const {
    using schema::ReadOnly;
    w("dir", dir, ReadOnly);
    w("src", src, ReadOnly);
    w("dst", dst, ReadOnly);
    w("spi", hex32(spi), ReadOnly);
    w("reqid", hex32(reqid), ReadOnly);
    w.opt("key_tag", key_tag != 0, key_tag, ReadOnly);
    w("key_fingerprint", fingerprint, ReadOnly);
}

template <class W>
void CryptPolicy::fields(W& w) const {
    using schema::ReadOnly;
    w("src", src, ReadOnly);
    w("dst", dst, ReadOnly);
    w("dport", dport, ReadOnly);
    w("mark", hex32(mark), ReadOnly);
    w("mark_mask", hex32(mark_mask), ReadOnly);
    w("spi", hex32(spi), ReadOnly);
    w("reqid", hex32(reqid), ReadOnly);
}

template <class W>
void CryptSaStatus::fields(W& w) const {
    using schema::ReadOnly;
    w("dir", sa.dir, ReadOnly);
    w("src", sa.src, ReadOnly);
    w("dst", sa.dst, ReadOnly);
    w("spi", hex32(sa.spi), ReadOnly);
    w("reqid", hex32(sa.reqid), ReadOnly);
    w("alg", alg, ReadOnly);
    w("key_bits", key_bits, ReadOnly);
    w("icv_bits", icv_bits, ReadOnly);
    w("key_fingerprint", sa.fingerprint, ReadOnly);
    w.opt("key", !key_hex.empty(), key_hex, ReadOnly);
    w("packets", packets, ReadOnly);
    w("bytes", bytes, ReadOnly);
    w("replay_errors", replay_errors, ReadOnly);
    w("replay_window_errors", replay_window_errors, ReadOnly);
    w("integrity_errors", integrity_errors, ReadOnly);
    w("seq", seq, ReadOnly);
    w("oseq", oseq, ReadOnly);
    w("seq_limit", seq_limit, ReadOnly);
}

OVNET_SCHEMA_FIELDS(CryptSa)
OVNET_SCHEMA_FIELDS(CryptPolicy)
OVNET_SCHEMA_FIELDS(CryptSaStatus)

std::vector<CryptSa> crypt_desired_sas(const IpAddr& local, const std::vector<IpAddr>& peers, const CryptKeys& keys) {
    std::vector<CryptSa> out;
    for (auto& p : peers)
        for (size_t i = 0; i < keys.keys.size(); i++) {
            auto& k = keys.keys[i];
            auto mk = [&](const char* dir, const IpAddr& s, const IpAddr& d) {
                CryptSa sa;
                sa.dir = dir;
                sa.src = s, sa.dst = d;
                sa.spi = crypt_spi(s, d, k.tag);
                sa.key_tag = k.tag;
                sa.key = crypt_key_material(keys.pair_keys ? crypt_pair_key(k, s, d) : k, sa.spi);
                sa.fingerprint = key_fingerprint(sa.key.data(), sa.key.size());
                out.push_back(std::move(sa));
            };
            // Docker: every key receives; only the primary sends.
            if (i == 0) mk("out", local, p);
            mk("in", p, local);
        }
    return out;
}

std::vector<CryptPolicy> crypt_desired_policies(const IpAddr& local, const std::vector<IpAddr>& peers, uint16_t port,
                                                const CryptKeys& keys) {
    std::vector<CryptPolicy> out;
    if (keys.keys.empty()) return out;
    for (auto& p : peers) {
        CryptPolicy pol;
        pol.src = local, pol.dst = p, pol.dport = port;
        pol.spi = crypt_spi(local, p, keys.keys[0].tag);
        out.push_back(pol);
    }
    return out;
}

std::vector<IptChain> crypt_chains(uint32_t vni, uint16_t port, bool remove) {
    std::string chain = crypt_chain(vni);
    std::string match = fmt::format("-m udp --dport {} -m u32 --u32 \"{}\"", port, crypt_u32(vni));
    IptChain mangle{"mangle", chain, {}, {{"OUTPUT", "-j " + chain}}};
    IptChain filter{"filter", chain, {}, {{"INPUT", "-j " + chain}}};
    if (!remove) {
        mangle.rules.push_back(fmt::format("-p udp {} -j MARK --set-xmark 0x{:x}/0xffffffff", match, kCryptMark));
        filter.rules.push_back(fmt::format("-p udp -m policy --dir in --pol none {} -j DROP", match));
        filter.rules.push_back(fmt::format("-p udp -m policy --dir in --pol ipsec {} -j ACCEPT", match));
    }
    return {mangle, filter};
}

std::vector<CryptSa> crypt_owned_sas(const Xfrm& cur, const IpAddr& local) {
    std::vector<CryptSa> out;
    for (auto& s : cur.states) {
        if (s.proto != "esp" || s.reqid != kCryptReqid) continue;
        if (s.src != local && s.dst != local) continue;
        CryptSa sa;
        sa.dir = s.src == local ? "out" : "in";
        sa.src = s.src, sa.dst = s.dst, sa.spi = s.spi, sa.reqid = s.reqid;
        for (auto& a : s.algs)
            if (a.kind == "aead") sa.fingerprint = a.key_fingerprint;
        out.push_back(std::move(sa));
    }
    return out;
}

std::vector<CryptPolicy> crypt_owned_policies(const Xfrm& cur, const IpAddr& local) {
    std::vector<CryptPolicy> out;
    for (auto& p : cur.policies) {
        if (p.dir != "out" || p.mark != kCryptMark || p.mark_mask != 0xffffffff || p.proto != IPPROTO_UDP) continue;
        if (p.src.addr != local || p.src.len != 32 || p.dst.len != 32) continue;
        CryptPolicy c;
        c.src = local, c.dst = p.dst.addr, c.dport = p.dport, c.mark = p.mark, c.mark_mask = p.mark_mask;
        if (!p.templates.empty()) c.spi = p.templates[0].spi, c.reqid = p.templates[0].reqid;
        out.push_back(c);
    }
    return out;
}

CryptPlan crypt_plan(const std::vector<CryptSa>& have_sas, const std::vector<CryptPolicy>& have_pols,
                     const std::vector<CryptSa>& want_sas, const std::vector<CryptPolicy>& want_pols,
                     const IpAddr& local, const std::vector<IpAddr>& scope_peers, bool prune) {
    CryptPlan p;
    auto in_scope = [&](const IpAddr& src, const IpAddr& dst) {
        const IpAddr& remote = src == local ? dst : src;
        return scope_peers.empty() || std::find(scope_peers.begin(), scope_peers.end(), remote) != scope_peers.end();
    };
    for (auto& w : want_sas) {
        auto it = std::find_if(have_sas.begin(), have_sas.end(), [&](const CryptSa& h) { return sa_same_id(h, w); });
        if (it == have_sas.end()) {
            p.sa_add.push_back(w);
            p.changes.emplace_back(Action::Added, w.label());
        } else if (it->fingerprint != w.fingerprint) {
            p.sa_rekey_old.push_back(*it);      // same SPI, another key: written again
            p.sa_rekey.push_back(w);
            p.changes.emplace_back(Action::Changed, w.label(), "replaced");
        } else {
            p.changes.emplace_back(Action::Unchanged, w.label());
        }
    }
    for (auto& w : want_pols) {
        auto it = std::find_if(have_pols.begin(), have_pols.end(), [&](const CryptPolicy& h) { return pol_same_id(h, w); });
        if (it == have_pols.end()) {
            p.pol_put.push_back(w);
            p.changes.emplace_back(Action::Added, w.label());
        } else if (it->spi != w.spi || it->reqid != w.reqid) {
            p.pol_put.push_back(w);
            p.changes.push_back(Change::with_detail(Action::Changed, w.label(), json{{"value", hex32(w.spi)}, {"was", hex32(it->spi)}}, "replaced"));
        } else {
            p.changes.emplace_back(Action::Unchanged, w.label());
        }
    }
    if (!prune) return p;
    for (auto& h : have_pols) {
        if (!in_scope(h.src, h.dst)) continue;
        if (std::none_of(want_pols.begin(), want_pols.end(), [&](const CryptPolicy& w) { return pol_same_id(h, w); })) {
            p.pol_del.push_back(h);
            p.changes.emplace_back(Action::Removed, h.label());
        }
    }
    for (auto& h : have_sas) {
        if (!in_scope(h.src, h.dst)) continue;
        if (std::none_of(want_sas.begin(), want_sas.end(), [&](const CryptSa& w) { return sa_same_id(h, w); })) {
            p.sa_del.push_back(h);
            p.changes.emplace_back(Action::Removed, h.label());
        }
    }
    return p;
}

// ---------------------------------------------------------------- netlink

NlMsg crypt_msg_newsa(const CryptSa& s) {
    void* hdr;
    NlMsg m = nl_new(XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL, sizeof(xfrm_usersa_info), &hdr, 512);
    auto* p = static_cast<xfrm_usersa_info*>(hdr);
    fill_addr(p->saddr, s.src);
    fill_addr(p->id.daddr, s.dst);
    p->id.spi = htonl(s.spi);
    p->id.proto = IPPROTO_ESP;
    p->family = uint16_t(s.src.family);
    p->mode = XFRM_MODE_TRANSPORT;
    p->reqid = s.reqid;
    p->replay_window = 0;
    p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
    p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
    char buf[sizeof(xfrm_algo_aead) + kCryptKeyLen + 4] = {};
    auto* a = reinterpret_cast<xfrm_algo_aead*>(buf);
    std::strncpy(a->alg_name, kCryptAlg, sizeof a->alg_name - 1);
    a->alg_key_len = (kCryptKeyLen + 4) * 8;
    a->alg_icv_len = kCryptIcvBits;
    std::memcpy(buf + sizeof(xfrm_algo_aead), s.key.data(), s.key.size());
    nla_put(m.get(), XFRMA_ALG_AEAD, sizeof buf, buf);
    std::memset(buf, 0, sizeof buf);   // the key does not outlive the message
    return m;
}

NlMsg crypt_msg_delsa(const CryptSa& s) {
    void* hdr;
    NlMsg m = nl_new(XFRM_MSG_DELSA, 0, sizeof(xfrm_usersa_id), &hdr, 256);
    auto* p = static_cast<xfrm_usersa_id*>(hdr);
    fill_addr(p->daddr, s.dst);
    p->spi = htonl(s.spi);
    p->family = uint16_t(s.dst.family);
    p->proto = IPPROTO_ESP;
    xfrm_address_t src;
    fill_addr(src, s.src);
    nla_put(m.get(), XFRMA_SRCADDR, sizeof src, &src);
    return m;
}

namespace {
void fill_selector(xfrm_selector& sel, const CryptPolicy& c) {
    fill_addr(sel.saddr, c.src);
    fill_addr(sel.daddr, c.dst);
    sel.family = uint16_t(c.src.family);
    sel.prefixlen_s = sel.prefixlen_d = c.src.family == AF_INET6 ? 128 : 32;
    sel.proto = IPPROTO_UDP;
    sel.dport = htons(c.dport);
    sel.dport_mask = 0xffff;
}
}  // namespace

NlMsg crypt_msg_updpolicy(const CryptPolicy& c) {
    void* hdr;
    NlMsg m = nl_new(XFRM_MSG_UPDPOLICY, NLM_F_CREATE, sizeof(xfrm_userpolicy_info), &hdr, 512);
    auto* p = static_cast<xfrm_userpolicy_info*>(hdr);
    fill_selector(p->sel, c);
    p->dir = XFRM_POLICY_OUT;
    p->action = XFRM_POLICY_ALLOW;
    p->share = XFRM_SHARE_ANY;
    p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
    p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
    xfrm_user_tmpl t{};
    fill_addr(t.id.daddr, c.dst);
    fill_addr(t.saddr, c.src);
    t.id.spi = htonl(c.spi);
    t.id.proto = IPPROTO_ESP;
    t.family = uint16_t(c.src.family);
    t.reqid = c.reqid;
    t.mode = XFRM_MODE_TRANSPORT;
    t.aalgos = t.ealgos = t.calgos = ~0u;
    nla_put(m.get(), XFRMA_TMPL, sizeof t, &t);
    xfrm_mark mk{c.mark, c.mark_mask};
    nla_put(m.get(), XFRMA_MARK, sizeof mk, &mk);
    return m;
}

NlMsg crypt_msg_delpolicy(const CryptPolicy& c) {
    void* hdr;
    NlMsg m = nl_new(XFRM_MSG_DELPOLICY, 0, sizeof(xfrm_userpolicy_id), &hdr, 256);
    auto* p = static_cast<xfrm_userpolicy_id*>(hdr);
    fill_selector(p->sel, c);
    p->dir = XFRM_POLICY_OUT;
    xfrm_mark mk{c.mark, c.mark_mask};
    nla_put(m.get(), XFRMA_MARK, sizeof mk, &mk);
    return m;
}

std::string crypt_sa_error(int err, const std::string& extack) {
    // attach_aead() fails first (ENOSYS, "Requested AEAD algorithm not found") when the algorithm
    // is missing; xfrm_init_state() then (EPROTONOSUPPORT, "Requested type not found") without esp4.
    if (err == ENOSYS || extack.find("AEAD") != std::string::npos)
        return fmt::format("{} missing in the kernel (CONFIG_CRYPTO_GCM, CONFIG_CRYPTO_AES): no ESP SA can be created", kCryptAlg);
    if (err == EPROTONOSUPPORT || extack.find("type not found") != std::string::npos)
        return "ESP (esp4, CONFIG_INET_ESP) missing in the kernel: no ESP SA can be created";
    return {};
}

size_t crypt_execute(Handle& xh, const CryptPlan& p) {
    size_t writes = 0;
    auto fail = [](const std::string& object, int err, const std::string& extack) {
        std::string why = crypt_sa_error(err, extack);
        if (!why.empty()) throw Error(ErrorKind::Runtime, why, err, extack, object);
        throw_sys(err, object, extack, object);
    };
    auto run = [&](size_t n, const std::function<NlMsg(size_t)>& build, const std::function<std::string(size_t)>& label) {
        if (n == 0) return;
        auto errs = xh.batch(n, build);
        writes += n;
        // Removing what is already gone is success (another run, or the kernel expired it).
        for (auto& e : errs)
            if (e.err != ESRCH && e.err != ENOENT) fail(label(e.index), e.err, e.extack);
    };
    size_t first = 0;
    if (!p.sa_add.empty()) {
        std::string extack;
        int err = xh.request_errno(crypt_msg_newsa(p.sa_add[0]), &extack);
        writes++;
        if (err && err != EEXIST) fail(p.sa_add[0].label(), err, extack);
        first = 1;
    }
    run(p.sa_add.size() - first, [&](size_t i) { return crypt_msg_newsa(p.sa_add[first + i]); },
        [&](size_t i) { return p.sa_add[first + i].label(); });
    run(p.sa_rekey_old.size(), [&](size_t i) { return crypt_msg_delsa(p.sa_rekey_old[i]); },
        [&](size_t i) { return p.sa_rekey_old[i].label(); });
    run(p.sa_rekey.size(), [&](size_t i) { return crypt_msg_newsa(p.sa_rekey[i]); }, [&](size_t i) { return p.sa_rekey[i].label(); });
    run(p.pol_put.size(), [&](size_t i) { return crypt_msg_updpolicy(p.pol_put[i]); }, [&](size_t i) { return p.pol_put[i].label(); });
    run(p.pol_del.size(), [&](size_t i) { return crypt_msg_delpolicy(p.pol_del[i]); }, [&](size_t i) { return p.pol_del[i].label(); });
    run(p.sa_del.size(), [&](size_t i) { return crypt_msg_delsa(p.sa_del[i]); }, [&](size_t i) { return p.sa_del[i].label(); });
    return writes;
}

// ---------------------------------------------------------------- show

bool crypt_sa_status_parse(const nlmsghdr* h, CryptSaStatus& out, bool keys) {
    XfrmState s;
    if (!xfrm_state_parse(h, s)) return false;
    // Netlink messages are 4-byte aligned and xfrm_usersa_info holds 64-bit counters: read a copy.
    xfrm_usersa_info copy;
    std::memcpy(&copy, NLMSG_DATA(h), sizeof copy);
    const auto* p = &copy;
    out = CryptSaStatus{};
    out.sa.src = s.src, out.sa.dst = s.dst, out.sa.spi = s.spi, out.sa.reqid = s.reqid;
    for (auto& a : s.algs) {
        out.alg = a.name, out.key_bits = a.key_bits, out.icv_bits = a.icv_bits;
        out.sa.fingerprint = a.key_fingerprint;
    }
    out.packets = p->curlft.packets;
    out.bytes = p->curlft.bytes;
    out.replay_errors = p->stats.replay;
    out.replay_window_errors = p->stats.replay_window;
    out.integrity_errors = p->stats.integrity_failed;
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(xfrm_usersa_info));
    while (off + sizeof(nlattr) <= h->nlmsg_len) {
        auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(h) + off);
        if (a->nla_len < sizeof(nlattr) || off + a->nla_len > h->nlmsg_len) break;
        auto* d = reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN;
        size_t len = size_t(a->nla_len) - NLA_HDRLEN;
        int type = a->nla_type & NLA_TYPE_MASK;
        if (type == XFRMA_REPLAY_VAL && len >= sizeof(xfrm_replay_state)) {
            auto* r = reinterpret_cast<const xfrm_replay_state*>(d);
            out.seq = r->seq, out.oseq = r->oseq;
        } else if (type == XFRMA_REPLAY_ESN_VAL && len >= sizeof(xfrm_replay_state_esn)) {
            auto* r = reinterpret_cast<const xfrm_replay_state_esn*>(d);
            out.seq = r->seq, out.oseq = r->oseq;
            out.seq_limit = 0xffffffffffffffffULL;
        } else if (type == XFRMA_ALG_AEAD && keys && len >= sizeof(xfrm_algo_aead)) {
            auto* x = reinterpret_cast<const xfrm_algo_aead*>(d);
            size_t n = std::min<size_t>((x->alg_key_len + 7) / 8, len - sizeof(xfrm_algo_aead));
            for (size_t i = 0; i < n; i++) out.key_hex += fmt::format("{:02x}", d[sizeof(xfrm_algo_aead) + i]);
        }
        off += NLA_ALIGN(a->nla_len);
    }
    return true;
}

std::vector<CryptSaStatus> crypt_sa_status(Handle& xh, bool keys) {
    std::vector<CryptSaStatus> out;
    void* hdr;
    NlMsg m = nl_new(XFRM_MSG_GETSA, 0, sizeof(xfrm_usersa_id), &hdr);
    xh.dump(m, [&](const nlmsghdr* r) {
        CryptSaStatus s;
        if (crypt_sa_status_parse(r, s, keys) && s.sa.reqid == kCryptReqid) out.push_back(std::move(s));
    }, [&] { out.clear(); });
    return out;
}

std::vector<XfrmStat> xfrm_stat_parse(std::string_view text) {
    static const std::map<std::string, std::string, std::less<>> causes = {
        {"XfrmInNoStates", "no SA for an incoming SPI: a key removed too early, or a peer ahead of this node"},
        {"XfrmInStateProtoError", "ESP decryption failed: key or salt mismatch between the peers"},
        {"XfrmInStateSeqError", "sequence number outside the replay window"},
        {"XfrmInStateInvalid", "SA expired or being removed"},
        {"XfrmInTmplMismatch", "a packet's SA does not match the policy's template"},
        {"XfrmInNoPols", "no policy for an incoming packet"},
        {"XfrmInPolBlock", "inbound policy blocks"},
        {"XfrmOutNoStates", "no SA for the policy's template: the primary key's outbound SA is missing"},
        {"XfrmOutPolBlock", "plaintext blocked by a policy"},
        {"XfrmOutStateSeqError", "sequence number exhausted: rotate the key"},
        {"XfrmOutStateExpired", "SA expired: rotate the key"},
        {"XfrmFwdHdrError", "forwarded packet header error"},
        {"XfrmAcquireError", "no SA could be acquired for a policy"},
    };
    std::vector<XfrmStat> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        size_t sp = line.find_first_of(" \t");
        if (line.empty() || sp == std::string_view::npos) continue;
        XfrmStat s;
        s.name = std::string(line.substr(0, sp));
        auto v = trim(line.substr(sp));
        std::from_chars(v.data(), v.data() + v.size(), s.value);
        if (auto it = causes.find(s.name); it != causes.end()) s.cause = it->second;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<XfrmStat> xfrm_stat_read(const std::string& netns) {
    std::string text;
    {
        // /proc/net follows the reading thread's namespace at open time.
        NetnsGuard g(netns);
        int fd = ::open("/proc/thread-self/net/xfrm_stat", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return {};
        Fd guard(fd);
        text = read_fd_all(fd, "/proc/net/xfrm_stat");
    }
    return xfrm_stat_parse(text);
}

}  // namespace ovnet
