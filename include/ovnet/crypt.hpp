// ovnet/crypt.hpp - encrypted overlays as Docker's `--opt encrypted` builds them: IPsec ESP in
// transport mode between every pair of nodes, over xfrm netlink, plus the iptables rules that mark
// the overlay's VXLAN packets and drop the ones that arrive unencrypted.
//
// Docker's scheme exactly (moby/libnetwork drivers/overlay/encryption.go), so that ovnet reads and
// audits a real swarm's SAs and interoperates with one:
//  - AEAD rfc4106(gcm(aes)): the 16-byte cluster key followed by a 4-byte salt equal to the SA's
//    SPI (big-endian); 64-bit ICV; transport mode; reqid 0xD0C4E3; no replay window.
//  - SPI = FNV-1a-32(src16 ‖ tag(BE32) ‖ dst16), src and dst as 16-byte IPv4-mapped addresses
//    (Go's net.IP), computed per direction and per key.
//  - Every key gets the inbound SA (peer -> local); only the primary key (the first) gets the
//    outbound SA and the outbound policy: src/32 dst/32 UDP dport <port>, mark 0xD0C4E3/0xffffffff,
//    an ESP transport template naming the primary's outbound SPI.
//  - mangle: `-p udp --dport <port> -m u32 --u32 "0>>22&0x3C@12&0xFFFFFF00=<vni<<8>"` MARK 0xD0C4E3;
//    filter: the same match with `-m policy --dir in --pol none` DROP, `--pol ipsec` ACCEPT.
// Differences, on purpose: the data port is whatever the overlay uses (Docker hard-codes 4789 in
// the policy, moby #45635), and the rules live in one ovnet-owned chain per table and VNI
// (OVNET-CRYPT-<vni>) so that `del` removes exactly them.
//
// Keys never appear on a command line, in a report or in an error: they are read from a file that
// only its owner may read (mode 0600 or stricter) or from stdin, and shown only as a fingerprint.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ovnet/inspect.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/json.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/schema.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

class Handle;

inline constexpr uint32_t kCryptReqid = 0xD0C4E3;         ///< Docker's reqid, also its packet mark
inline constexpr uint32_t kCryptMark = 0xD0C4E3;
inline constexpr const char* kCryptAlg = "rfc4106(gcm(aes))";
inline constexpr size_t kCryptKeyLen = 16;                ///< swarmkit's DefaultKeyLen
inline constexpr uint32_t kCryptIcvBits = 64;
inline constexpr const char* kCryptChainPrefix = "OVNET-CRYPT-";

/// One cluster key: Docker's (tag, 16 bytes). The tag is swarmkit's Lamport time of the key.
struct CryptKey {
    uint32_t tag = 0;
    std::array<uint8_t, kCryptKeyLen> value{};
    /// The fingerprint `show` prints (SHA-256 prefix of the SA's key material: value ‖ salt).
    std::string fingerprint(uint32_t spi) const;
};

/// The keys of one node, primary first (Docker keeps a primary and up to two secondaries).
struct CryptKeys {
    std::vector<CryptKey> keys;
    bool pair_keys = false;   ///< derive a key per pair and direction (crypt_pair_key); not Docker's
};

/// Parses a key file: one key per line, `<tag> <32 hex digits>` (tag decimal or 0x-hex), the
/// primary first; blank lines and lines starting with '#' are skipped. At most 3 keys, tags
/// distinct. Errors name the line, never the key. `source` labels messages ("key file /x").
CryptKeys crypt_keys_parse(std::string_view text, const std::string& source);
/// Reads keys from `path` ("-" = stdin). A file (not stdin) must be a regular file readable by its
/// owner only: any group or other permission bit is refused (Error(Input)).
CryptKeys crypt_keys_read(const std::string& path);
/// Refuses a key file whose mode lets group or others in (mode & 077), or that is not a regular file.
void crypt_key_mode_check(unsigned mode, bool regular, const std::string& path);

/// SHA-256 (lib/inspect_xfrm.cpp, the key fingerprints' hash), HMAC-SHA256 and HKDF-SHA256 (RFC 5869).
std::array<uint8_t, 32> sha256(const uint8_t* data, size_t len);
std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view msg);
std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, size_t len);
/// The per-pair key of one direction (--pair-keys, as Weave and Cilium derive theirs instead of
/// sharing one key cluster-wide): HKDF-SHA256 of the cluster key, salt "ovnet-crypt pair key",
/// info = src16 ‖ dst16 ‖ tag(BE32), 16 bytes. Both ends of a direction derive the same key; a key
/// leaked from one pair's SA says nothing about another pair's.
CryptKey crypt_pair_key(const CryptKey& cluster, const IpAddr& src, const IpAddr& dst);

/// Docker's SPI for one direction and key (see the file comment).
uint32_t crypt_spi(const IpAddr& src, const IpAddr& dst, uint32_t tag);
/// The 20-byte AEAD key material of an SA: value ‖ BE32(spi).
std::array<uint8_t, kCryptKeyLen + 4> crypt_key_material(const CryptKey& k, uint32_t spi);
/// The u32 match of a VNI: "0x0>>0x16&0x3c@0xc&0xffffff00=0x100200" (iptables-save's form).
std::string crypt_u32(uint32_t vni);
/// "OVNET-CRYPT-<vni>".
std::string crypt_chain(uint32_t vni);

/// The MTU of an encrypted overlay over an underlay of `underlay_mtu`: Docker's, 50 bytes of VXLAN
/// and 26 of ESP taken off, rounded down to a multiple of 4 (1500 -> 1424).
constexpr uint32_t crypt_overlay_mtu(uint32_t underlay_mtu = 1500) { return (underlay_mtu - 50 - 26) & ~3u; }
inline constexpr uint32_t kEncryptedOverlayMtu = crypt_overlay_mtu(1500);

/// One encrypted overlay on this node.
struct CryptOverlay {
    uint32_t vni = 0;               ///< 1..16777215
    uint16_t port = 4789;           ///< the VXLAN data port (the policy's and rules' dport)
    IpAddr local;                   ///< this node's underlay address (IPv4)
    std::vector<IpAddr> peers;      ///< the other nodes' underlay addresses (IPv4)
};
/// Input checks: VNI range, port, IPv4 unicast addresses, no duplicate peer, local not a peer.
void validate_crypt_overlay(const CryptOverlay& o);

/// A security association ovnet wants or found. The key is held (to write it) but never output.
struct CryptSa {
    std::string dir;                ///< "out" (local -> peer) or "in" (peer -> local)
    IpAddr src, dst;
    uint32_t spi = 0;
    uint32_t reqid = kCryptReqid;
    uint32_t key_tag = 0;           ///< 0 when read from the kernel (unknown)
    std::string fingerprint;        ///< of the 20-byte key material
    std::array<uint8_t, kCryptKeyLen + 4> key{};   ///< desired SAs only
    std::string label() const;      ///< "sa out 192.0.2.1 -> 192.0.2.2 spi 0x5093b01b"
    template <class W> void fields(W& w) const;
};

/// An outbound policy ovnet wants or found.
struct CryptPolicy {
    IpAddr src, dst;                ///< the selector's /32s and the template's ends
    uint16_t dport = 4789;
    uint32_t mark = kCryptMark, mark_mask = 0xffffffff;
    uint32_t spi = 0, reqid = kCryptReqid;   ///< the template's
    std::string label() const;      ///< "policy out 192.0.2.1 -> 192.0.2.2 dport 4789"
    template <class W> void fields(W& w) const;
};

/// The xfrm objects of an overlay's peers for the given keys (pure).
std::vector<CryptSa> crypt_desired_sas(const IpAddr& local, const std::vector<IpAddr>& peers, const CryptKeys& keys);
std::vector<CryptPolicy> crypt_desired_policies(const IpAddr& local, const std::vector<IpAddr>& peers,
                                                uint16_t port, const CryptKeys& keys);
/// The overlay's owned chains: mangle (hooked from OUTPUT) and filter (hooked from INPUT); empty
/// rule lists (the chains removed) when `remove`.
std::vector<IptChain> crypt_chains(uint32_t vni, uint16_t port, bool remove);

/// What ovnet owns in a namespace's xfrm tables for one local address: ESP SAs with reqid 0xD0C4E3
/// from or to `local`, outbound policies with mark 0xD0C4E3 from `local`/32.
std::vector<CryptSa> crypt_owned_sas(const Xfrm& cur, const IpAddr& local);
std::vector<CryptPolicy> crypt_owned_policies(const Xfrm& cur, const IpAddr& local);

/// The xfrm part of a change, in the order it must run so that no packet is lost: SAs added
/// (old ones are still there), policies written (moved to the new SPI), then policies removed and
/// SAs removed.
struct CryptPlan {
    std::vector<CryptSa> sa_add;
    /// SAs whose SPI stays but whose key changes (another key under the same tag, --pair-keys
    /// switched): the kernel cannot change an SA's key, so each is removed and written again,
    /// after sa_add and before the policies (packets on that SA in between are lost).
    std::vector<CryptSa> sa_rekey_old, sa_rekey;
    std::vector<CryptPolicy> pol_put;      ///< new or changed (XFRM_MSG_UPDPOLICY)
    std::vector<CryptPolicy> pol_del;
    std::vector<CryptSa> sa_del;
    Changes changes;                       ///< one per object, unchanged ones included
    size_t writes() const {
        return sa_add.size() + sa_rekey_old.size() + sa_rekey.size() + pol_put.size() + pol_del.size() + sa_del.size();
    }
};

/// Compares the owned objects with the desired ones (pure). Desired objects missing or different
/// are written; with `prune`, owned objects that are not desired are removed too, within the scope:
/// every owned object when `scope_peers` is empty (apply), else only those whose remote end is in
/// `scope_peers` (del --peer). add passes prune=false: it never removes. An SA whose SPI is desired
/// but whose key differs goes to sa_rekey_old/sa_rekey.
CryptPlan crypt_plan(const std::vector<CryptSa>& have_sas, const std::vector<CryptPolicy>& have_pols,
                     const std::vector<CryptSa>& want_sas, const std::vector<CryptPolicy>& want_pols,
                     const IpAddr& local, const std::vector<IpAddr>& scope_peers, bool prune);

/// Runs a plan through a NETLINK_XFRM handle: the first SA alone (so that a kernel without ESP or
/// rfc4106(gcm(aes)) is reported before anything is written: Error(Runtime) "rfc4106(gcm(aes))
/// missing in the kernel" or "ESP (esp4) missing in the kernel"), then each group in one batch.
/// Returns the netlink writes made.
size_t crypt_execute(Handle& xh, const CryptPlan& p);
/// The message builders crypt_execute uses (exposed for the unit tests).
NlMsg crypt_msg_newsa(const CryptSa& s);
NlMsg crypt_msg_delsa(const CryptSa& s);
NlMsg crypt_msg_updpolicy(const CryptPolicy& p);
NlMsg crypt_msg_delpolicy(const CryptPolicy& p);
/// The one-line error for a failed SA write: names the missing algorithm or ESP when that is why.
std::string crypt_sa_error(int err, const std::string& extack);

/// An SA as `show` lists it: the object plus the kernel's counters.
struct CryptSaStatus {
    CryptSa sa;
    std::string alg;
    uint32_t key_bits = 0, icv_bits = 0;
    uint64_t packets = 0, bytes = 0;
    uint32_t replay_errors = 0, integrity_errors = 0, replay_window_errors = 0;
    uint32_t seq = 0, oseq = 0;            ///< last received / sent sequence number
    uint64_t seq_limit = 0xffffffffULL;    ///< without ESN the sequence number is 32 bits
    std::string key_hex;                   ///< only with --show-keys
    template <class W> void fields(W& w) const;
};
/// Parses an XFRM_MSG_NEWSA reply into a status (false for other messages). `keys` keeps the key.
bool crypt_sa_status_parse(const nlmsghdr* h, CryptSaStatus& out, bool keys);
/// Dumps the SAs with reqid 0xD0C4E3 (every local address).
std::vector<CryptSaStatus> crypt_sa_status(Handle& xh, bool keys);

/// One counter of /proc/net/xfrm_stat with its likely cause (Cilium's mapping).
struct XfrmStat {
    std::string name;
    uint64_t value = 0;
    std::string cause;                     ///< "" when none is known
    template <class W> void fields(W& w) const {
        w("name", name, schema::ReadOnly);
        w("value", value, schema::ReadOnly);
        w.opt("cause", !cause.empty(), cause, schema::ReadOnly);
    }
};
/// Parses /proc/net/xfrm_stat's text (pure).
std::vector<XfrmStat> xfrm_stat_parse(std::string_view text);
/// Reads the namespace's /proc/net/xfrm_stat; empty when the kernel has no XFRM statistics.
std::vector<XfrmStat> xfrm_stat_read(const std::string& netns);

}  // namespace ovnet
