// Encrypted overlays: Docker's SPI derivation against SAs a real swarm programmed, the key file
// reader (never echoing a key), the desired SAs/policies/rules, and the plan's order and scope.
#include <catch2/catch.hpp>

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netlink/msg.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

#include "helpers.hpp"
#include "ovnet/crypt.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;

namespace {

IpAddr ip(const char* s) { return IpAddr::parse(s); }

const char* kKeyA = "00112233445566778899aabbccddeeff";
const char* kKeyB = "ffeeddccbbaa99887766554433221100";

CryptKeys keys2() { return crypt_keys_parse(std::string("3314 ") + kKeyA + "\n3313 " + kKeyB + "\n", "test"); }

}  // namespace

TEST_CASE("crypt SPI matches a real swarm's SAs (docker-overlay-facts section 4)") {
    auto a = ip("192.0.2.1"), b = ip("192.0.2.2");
    CHECK(crypt_spi(a, b, 3313) == 0x5093b01bu);
    CHECK(crypt_spi(a, b, 3314) == 0x44498c6eu);
    CHECK(crypt_spi(a, b, 3315) == 0x64722be5u);
    CHECK(crypt_spi(b, a, 3313) == 0x47ade123u);
    CHECK(crypt_spi(b, a, 3314) == 0x13996e76u);
    CHECK(crypt_spi(b, a, 3315) == 0x0f651cedu);
}

TEST_CASE("crypt key material is the key then the SPI as salt") {
    CryptKey k = crypt_keys_parse(std::string("1 ") + kKeyA, "t").keys[0];
    auto m = crypt_key_material(k, 0x5093b01b);
    CHECK(m.size() == 20);
    CHECK(m[0] == 0x00);
    CHECK(m[15] == 0xff);
    CHECK(m[16] == 0x50);
    CHECK(m[17] == 0x93);
    CHECK(m[18] == 0xb0);
    CHECK(m[19] == 0x1b);
    CHECK(k.fingerprint(0x5093b01b) == key_fingerprint(m.data(), m.size()));
    CHECK(k.fingerprint(1) != k.fingerprint(2));
}

TEST_CASE("crypt key file parsing") {
    auto k = crypt_keys_parse(std::string("# cluster keys\n\n0x10 ") + kKeyA + "\n  3313\t" + kKeyB + "  \n", "f");
    REQUIRE(k.keys.size() == 2);
    CHECK(k.keys[0].tag == 16);
    CHECK(k.keys[1].tag == 3313);
    CHECK(k.keys[1].value[0] == 0xff);
    // Errors name the line and the length, never the key.
    auto e = require_input_error([] { crypt_keys_parse("1 00112233445566778899aabbccddee", "f"); }, "f line 1");
    CHECK_THAT(std::string(e.what()), !Catch::Matchers::Contains("00112233"));
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("30 characters"));
    auto e2 = require_input_error([] { crypt_keys_parse("1 00112233445566778899aabbccddeeZZ", "f"); }, "not hexadecimal");
    CHECK_THAT(std::string(e2.what()), !Catch::Matchers::Contains("0011"));
    require_input_error([] { crypt_keys_parse(std::string("1 ") + kKeyA + "\n1 " + kKeyB, "f"); }, "appears twice");
    require_input_error([] { crypt_keys_parse("", "f"); }, "no key");
    require_input_error([] { crypt_keys_parse(std::string("x ") + kKeyA, "f"); }, "tag");
    require_input_error([] { crypt_keys_parse(kKeyA, "f"); }, "expected");
    std::string four;
    for (int i = 1; i <= 4; i++) four += std::to_string(i) + " " + kKeyA + "\n";
    require_input_error([&] { crypt_keys_parse(four, "f"); }, "at most 3");
}

TEST_CASE("crypt key file refused unless 0600") {
    crypt_key_mode_check(0100600, true, "/k");
    crypt_key_mode_check(0100400, true, "/k");
    require_input_error([] { crypt_key_mode_check(0100644, true, "/k"); }, "0644");
    require_input_error([] { crypt_key_mode_check(0100640, true, "/k"); }, "chmod 600");
    require_input_error([] { crypt_key_mode_check(0100602, true, "/k"); }, "mode");
    require_input_error([] { crypt_key_mode_check(0020600, false, "/k"); }, "regular");

    char path[] = "/tmp/ovnet-unit-keyXXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    std::string text = std::string("7 ") + kKeyA + "\n";
    REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
    close(fd);
    chmod(path, 0600);
    CHECK(crypt_keys_read(path).keys.at(0).tag == 7);
    chmod(path, 0644);
    auto e = require_input_error([&] { crypt_keys_read(path); }, "0644");
    CHECK_THAT(std::string(e.what()), !Catch::Matchers::Contains("00112233"));
    unlink(path);
    require_input_error([&] { crypt_keys_read(path); }, "key file");
}

TEST_CASE("crypt desired SAs and policies follow Docker") {
    auto l = ip("192.0.2.1"), p = ip("192.0.2.2");
    auto k = crypt_keys_parse(std::string("3315 ") + kKeyA + "\n3313 " + kKeyB + "\n3314 " + kKeyB, "t");
    auto sas = crypt_desired_sas(l, {p}, k);
    // The capture of node A: three inbound SAs (one per key), one outbound (the primary's).
    REQUIRE(sas.size() == 4);
    CHECK(sas[0].dir == "out");
    CHECK(sas[0].spi == 0x64722be5u);
    CHECK(sas[0].src == l);
    CHECK(sas[1].dir == "in");
    CHECK(sas[1].spi == 0x0f651cedu);
    CHECK(sas[2].spi == 0x47ade123u);
    CHECK(sas[3].spi == 0x13996e76u);
    for (auto& s : sas) CHECK(s.reqid == 0xD0C4E3u);
    auto pols = crypt_desired_policies(l, {p}, 4789, k);
    REQUIRE(pols.size() == 1);
    CHECK(pols[0].spi == 0x64722be5u);
    CHECK(pols[0].mark == 0xD0C4E3u);
    CHECK(pols[0].mark_mask == 0xffffffffu);
    CHECK(pols[0].dport == 4789);
    // JSON never carries the key.
    auto j = schema::to_dom(sas[0]).dump();
    CHECK(j == R"({"dir":"out","src":"192.0.2.1","dst":"192.0.2.2","spi":"0x64722be5","reqid":"0x00d0c4e3","key_tag":3315,"key_fingerprint":")" +
                   sas[0].fingerprint + "\"}");
    std::string text;
    schema::to_text(text, sas[0]);
    CHECK(text == j);
    CHECK(schema::to_dom(pols[0]).dump() ==
          R"({"src":"192.0.2.1","dst":"192.0.2.2","dport":4789,"mark":"0x00d0c4e3","mark_mask":"0xffffffff","spi":"0x64722be5","reqid":"0x00d0c4e3"})");
}

TEST_CASE("crypt rules are Docker's in iptables-save form") {
    // The reference capture: VNI 4097 -> 0x100100.
    CHECK(crypt_u32(4097) == "0x0>>0x16&0x3c@0xc&0xffffff00=0x100100");
    auto ch = crypt_chains(4098, 5789, false);
    REQUIRE(ch.size() == 2);
    CHECK(ch[0].table == "mangle");
    CHECK(ch[0].chain == "OVNET-CRYPT-4098");
    CHECK(ch[0].hooks == std::vector<IptHook>{{"OUTPUT", "-j OVNET-CRYPT-4098"}});
    CHECK(ch[0].rules == std::vector<std::string>{
        "-p udp -m udp --dport 5789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100200\" -j MARK --set-xmark 0xd0c4e3/0xffffffff"});
    CHECK(ch[1].table == "filter");
    CHECK(ch[1].hooks == std::vector<IptHook>{{"INPUT", "-j OVNET-CRYPT-4098"}});
    CHECK(ch[1].rules == std::vector<std::string>{
        "-p udp -m policy --dir in --pol none -m udp --dport 5789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100200\" -j DROP",
        "-p udp -m policy --dir in --pol ipsec -m udp --dport 5789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100200\" -j ACCEPT"});
    for (auto& c : ch) validate_ipt_chain(c);
    for (auto& c : crypt_chains(4098, 5789, true)) CHECK(c.rules.empty());
    // Planned against an empty namespace: one payload adding both chains and hooks.
    auto plan = ipt_plan(IptState{}, crypt_chains(4098, 4789, false));
    CHECK(plan.tables == 2);
    CHECK_THAT(plan.payload, Catch::Matchers::Contains("-I INPUT 1 -j OVNET-CRYPT-4098"));
}

TEST_CASE("crypt overlay validation") {
    CryptOverlay o{4098, 4789, ip("192.0.2.1"), {ip("192.0.2.2"), ip("192.0.2.3")}};
    validate_crypt_overlay(o);
    auto bad = o;
    bad.vni = 0;
    require_input_error([&] { validate_crypt_overlay(bad); }, "vni");
    bad.vni = 1u << 24;
    require_input_error([&] { validate_crypt_overlay(bad); }, "16777215");
    bad = o;
    bad.peers.push_back(ip("2001:db8::1"));
    require_input_error([&] { validate_crypt_overlay(bad); }, "IPv4");
    bad = o;
    bad.peers.push_back(ip("192.0.2.2"));
    require_input_error([&] { validate_crypt_overlay(bad); }, "appears twice");
    bad = o;
    bad.peers.push_back(ip("192.0.2.1"));
    require_input_error([&] { validate_crypt_overlay(bad); }, "local");
    bad = o;
    bad.port = 0;
    require_input_error([&] { validate_crypt_overlay(bad); }, "port");
}

TEST_CASE("crypt plan converges in the order that loses nothing") {
    auto l = ip("192.0.2.1"), b = ip("192.0.2.2"), c = ip("192.0.2.3");
    auto old_keys = crypt_keys_parse(std::string("3313 ") + kKeyB, "t");
    auto have_sas = crypt_desired_sas(l, {b, c}, old_keys);
    auto have_pols = crypt_desired_policies(l, {b, c}, 4789, old_keys);
    for (auto& s : have_sas) s.key_tag = 0, s.key = {};   // as read from the kernel

    SECTION("nothing to do") {
        auto p = crypt_plan(have_sas, have_pols, crypt_desired_sas(l, {b, c}, old_keys),
                            crypt_desired_policies(l, {b, c}, 4789, old_keys), l, {}, true);
        CHECK(p.writes() == 0);
        CHECK(count(p.changes).unchanged == 6);
    }
    SECTION("rotation: new SAs added, policies moved, old outbound SA removed, old inbound kept") {
        auto k = keys2();   // new primary 3314, old 3313 secondary
        auto p = crypt_plan(have_sas, have_pols, crypt_desired_sas(l, {b, c}, k),
                            crypt_desired_policies(l, {b, c}, 4789, k), l, {}, true);
        CHECK(p.sa_add.size() == 4);     // out+in of 3314 for both peers
        CHECK(p.pol_put.size() == 2);
        CHECK(p.pol_put[0].spi == crypt_spi(l, b, 3314));
        CHECK(p.pol_del.empty());
        REQUIRE(p.sa_del.size() == 2);   // the 3313 outbound SAs
        for (auto& s : p.sa_del) CHECK(s.dir == "out");
        // And then only the new key: the old inbound SAs go.
        auto now_sas = crypt_desired_sas(l, {b, c}, k);
        auto only_new = crypt_keys_parse(std::string("3314 ") + kKeyA, "t");
        auto p2 = crypt_plan(now_sas, crypt_desired_policies(l, {b, c}, 4789, k), crypt_desired_sas(l, {b, c}, only_new),
                             crypt_desired_policies(l, {b, c}, 4789, only_new), l, {}, true);
        CHECK(p2.sa_add.empty());
        CHECK(p2.pol_put.empty());
        REQUIRE(p2.sa_del.size() == 2);
        for (auto& s : p2.sa_del) CHECK(s.dir == "in");
    }
    SECTION("a peer leaves and another joins in one plan") {
        auto d = ip("192.0.2.4");
        auto p = crypt_plan(have_sas, have_pols, crypt_desired_sas(l, {b, d}, old_keys),
                            crypt_desired_policies(l, {b, d}, 4789, old_keys), l, {}, true);
        CHECK(p.sa_add.size() == 2);
        CHECK(p.pol_put.size() == 1);
        CHECK(p.pol_del.size() == 1);
        CHECK(p.pol_del[0].dst == c);
        CHECK(p.sa_del.size() == 2);
        auto st = count(p.changes);
        CHECK(st.added == 3);
        CHECK(st.removed == 3);
        CHECK(st.unchanged == 3);
    }
    SECTION("scope: del of one peer leaves the others") {
        auto p = crypt_plan(have_sas, have_pols, {}, {}, l, {c}, true);
        CHECK(p.pol_del.size() == 1);
        CHECK(p.sa_del.size() == 2);
        for (auto& s : p.sa_del) CHECK((s.src == c || s.dst == c));
    }
    SECTION("a changed key under the same SPI is written again") {
        auto other = crypt_keys_parse(std::string("3313 ") + kKeyA, "t");
        auto p = crypt_plan(have_sas, have_pols, crypt_desired_sas(l, {b, c}, other),
                            crypt_desired_policies(l, {b, c}, 4789, other), l, {}, true);
        CHECK(p.sa_del.empty());
        CHECK(p.sa_add.empty());
        CHECK(p.sa_rekey_old.size() == 4);
        REQUIRE(p.sa_rekey.size() == 4);
        CHECK(p.sa_rekey[0].fingerprint != p.sa_rekey_old[0].fingerprint);
        CHECK(p.sa_rekey[0].spi == p.sa_rekey_old[0].spi);
        CHECK(count(p.changes).changed == 4);
    }
    SECTION("another data port: a second policy per peer") {
        auto p = crypt_plan(have_sas, have_pols, crypt_desired_sas(l, {b, c}, old_keys),
                            crypt_desired_policies(l, {b, c}, 5789, old_keys), l, {}, false);
        CHECK(p.pol_put.size() == 2);
        CHECK(p.pol_put[0].dport == 5789);
        CHECK(p.pol_del.empty());
    }
}

TEST_CASE("crypt owned objects are read back from the kernel's form") {
    Xfrm x;
    XfrmState s;
    s.src = ip("192.0.2.2"), s.dst = ip("192.0.2.1"), s.proto = "esp", s.spi = 0xc7ac14ff, s.reqid = 0xD0C4E3, s.mode = "transport";
    s.algs.push_back(XfrmAlg{"aead", kCryptAlg, 160, "abcd", 64});
    x.states.push_back(s);
    s.reqid = 1;   // someone else's
    x.states.push_back(s);
    XfrmPolicy p;
    p.dir = "out", p.src = Prefix::parse("192.0.2.1/32"), p.dst = Prefix::parse("192.0.2.2/32");
    p.proto = 17, p.dport = 4789, p.mark = 0xD0C4E3, p.mark_mask = 0xffffffff;
    p.templates.push_back(XfrmTmpl{ip("192.0.2.1"), ip("192.0.2.2"), "esp", "transport", 0xba5f548f, 0xD0C4E3});
    x.policies.push_back(p);
    p.mark = 0;
    x.policies.push_back(p);
    auto sas = crypt_owned_sas(x, ip("192.0.2.1"));
    REQUIRE(sas.size() == 1);
    CHECK(sas[0].dir == "in");
    CHECK(sas[0].fingerprint == "abcd");
    auto pols = crypt_owned_policies(x, ip("192.0.2.1"));
    REQUIRE(pols.size() == 1);
    CHECK(pols[0].spi == 0xba5f548fu);
    CHECK(crypt_owned_sas(x, ip("192.0.2.9")).empty());
}

TEST_CASE("crypt netlink messages") {
    auto k = keys2();
    auto sa = crypt_desired_sas(ip("192.0.2.1"), {ip("192.0.2.2")}, k)[0];
    auto m = crypt_msg_newsa(sa);
    auto* h = nlmsg_hdr(m.get());
    CHECK(h->nlmsg_type == XFRM_MSG_NEWSA);
    auto* p = static_cast<xfrm_usersa_info*>(NLMSG_DATA(h));
    CHECK(ntohl(p->id.spi) == sa.spi);
    CHECK(p->reqid == 0xD0C4E3u);
    CHECK(p->mode == XFRM_MODE_TRANSPORT);
    // Read back through the show parser: the same SA, fingerprint and algorithm.
    CryptSaStatus st;
    h->nlmsg_type = XFRM_MSG_NEWSA;
    REQUIRE(crypt_sa_status_parse(h, st, true));
    CHECK(st.sa.spi == sa.spi);
    CHECK(st.alg == "rfc4106(gcm(aes))");
    CHECK(st.key_bits == 160);
    CHECK(st.icv_bits == 64);
    CHECK(st.sa.fingerprint == sa.fingerprint);
    CHECK(st.key_hex.size() == 40);
    CHECK(st.key_hex.substr(32) == fmt::format("{:08x}", sa.spi));
    CryptSaStatus nokey;
    REQUIRE(crypt_sa_status_parse(h, nokey, false));
    CHECK(nokey.key_hex.empty());
    CHECK_THAT(schema::to_dom(nokey).dump(), !Catch::Matchers::Contains("\"key\""));

    auto pol = crypt_desired_policies(ip("192.0.2.1"), {ip("192.0.2.2")}, 5789, k)[0];
    auto pm = crypt_msg_updpolicy(pol);
    auto* ph = nlmsg_hdr(pm.get());
    CHECK(ph->nlmsg_type == XFRM_MSG_UPDPOLICY);
    ph->nlmsg_type = XFRM_MSG_NEWPOLICY;
    XfrmPolicy back;
    REQUIRE(xfrm_policy_parse(ph, back));
    CHECK(back.dir == "out");
    CHECK(back.dport == 5789);
    CHECK(back.mark == 0xD0C4E3u);
    REQUIRE(back.templates.size() == 1);
    CHECK(back.templates[0].spi == pol.spi);
    CHECK(nlmsg_hdr(crypt_msg_delpolicy(pol).get())->nlmsg_type == XFRM_MSG_DELPOLICY);
    CHECK(nlmsg_hdr(crypt_msg_delsa(sa).get())->nlmsg_type == XFRM_MSG_DELSA);
}

TEST_CASE("crypt missing algorithm and xfrm_stat causes") {
    CHECK_THAT(crypt_sa_error(ENOSYS, "Requested AEAD algorithm not found"), Catch::Matchers::StartsWith("rfc4106(gcm(aes)) missing"));
    CHECK_THAT(crypt_sa_error(EPROTONOSUPPORT, "Requested type not found"), Catch::Matchers::StartsWith("ESP (esp4"));
    CHECK(crypt_sa_error(EEXIST, "").empty());
    auto st = xfrm_stat_parse("XfrmInError             \t0\nXfrmInNoStates          \t3\nXfrmOutPolBlock\t1\n");
    REQUIRE(st.size() == 3);
    CHECK(st[0].cause.empty());
    CHECK(st[1].value == 3);
    CHECK_THAT(st[1].cause, Catch::Matchers::Contains("removed too early"));
    CHECK_THAT(st[2].cause, Catch::Matchers::Contains("plaintext blocked"));
    CHECK(schema::to_dom(st[0]).dump() == R"({"name":"XfrmInError","value":0})");
}

TEST_CASE("crypt overlay MTU is Docker's") {
    CHECK(crypt_overlay_mtu(1500) == 1424);
    CHECK(kEncryptedOverlayMtu == 1424);
    CHECK(crypt_overlay_mtu(9000) == 8924);
    CHECK(crypt_overlay_mtu(1498) == 1420);   // 1422 rounded down to a multiple of 4
}

TEST_CASE("crypt HKDF-SHA256 matches RFC 5869 test case 1") {
    auto hex = [](const std::string& s) {
        std::string o;
        for (unsigned char c : s) o += fmt::format("{:02x}", c);
        return o;
    };
    std::string ikm(22, '\x0b'), salt, info;
    for (int i = 0; i <= 0x0c; i++) salt.push_back(char(i));
    for (int i = 0xf0; i <= 0xf9; i++) info.push_back(char(i));
    CHECK(hex(hkdf_sha256(ikm, salt, info, 42)) ==
          "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    // SHA-256 of "abc" (FIPS 180-2).
    auto d = sha256(reinterpret_cast<const uint8_t*>("abc"), 3);
    CHECK(hex(std::string(reinterpret_cast<const char*>(d.data()), 32)) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("crypt pair keys differ per pair and direction and keep Docker's SPIs") {
    auto k = keys2();
    auto a = ip("192.0.2.1"), b = ip("192.0.2.2"), c = ip("192.0.2.3");
    auto ab = crypt_pair_key(k.keys[0], a, b), ba = crypt_pair_key(k.keys[0], b, a), ac = crypt_pair_key(k.keys[0], a, c);
    CHECK(ab.value != ba.value);
    CHECK(ab.value != ac.value);
    CHECK(ab.value != k.keys[0].value);
    CHECK(ab.tag == k.keys[0].tag);
    auto pk = k;
    pk.pair_keys = true;
    // What A sends to B with is what B receives from A with.
    auto on_a = crypt_desired_sas(a, {b}, pk), on_b = crypt_desired_sas(b, {a}, pk);
    auto plain = crypt_desired_sas(a, {b}, k);
    REQUIRE(on_a[0].dir == "out");
    auto it = std::find_if(on_b.begin(), on_b.end(), [&](const CryptSa& s) { return s.dir == "in" && s.spi == on_a[0].spi; });
    REQUIRE(it != on_b.end());
    CHECK(it->fingerprint == on_a[0].fingerprint);
    CHECK(on_a[0].spi == plain[0].spi);
    CHECK(on_a[0].fingerprint != plain[0].fingerprint);
}
