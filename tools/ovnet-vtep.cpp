// ovnet-vtep: VXLAN tunnel endpoints (ip -d link show, for vxlan devices).
#include "common.hpp"
#include "ovnet/crypt.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

void vtep_table(const json& doc) {
    Table t({"NAME", "VNI", "PORT", "LOCAL", "DEV", "MASTER", "MTU", "LEARNING", "PROXY", "L2MISS", "L3MISS", "TTL", "STATE", "AGEING", "LINK-NETNS"});
    for (auto& v : doc)
        t.row({v["name"].get<std::string>(), std::to_string(v["vni"].get<uint32_t>()), std::to_string(v["port"].get<int>()),
               cell(v["local"]), cell(v["dev"]), cell(v["master"]), std::to_string(v["mtu"].get<int>()),
               cell(v["learning"]), cell(v["proxy"]), cell(v["l2miss"]), cell(v["l3miss"]),
               v["ttl"].get<int>() ? std::to_string(v["ttl"].get<int>()) : "auto", v["state"].get<std::string>(),
               cell(v["ageing"]), cell(v["link_netns"])});
    t.print(stdout);
}

bool is_bridge_object(const json& o) {
    return o.is_object() && (o.value("kind", "") == "bridge" || (o.contains("ports") && !o.contains("vni")));
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-vtep", "Create, inspect and delete VXLAN tunnel endpoints.");
    auto& g = app.g;

    std::string name;
    auto* show = app.verb("show", "List VXLAN devices with VNI, port, local address, flags and bridge");
    show->add_option("name", name, "Only this device")->type_name("VTEP");
    show->callback([&] {
        Handle h(g.netns);
        json a = json::array();
        for (auto& v : vtep_show(h, name)) a.push_back(v.to_json());
        emit(g, a, vtep_table);
    });

    std::optional<uint64_t> vni, port, ttl, mtu, ageing;
    bool udpcsum = false, no_udpcsum = false, encrypted = false;
    std::string local, dev, master, netid;
    // CLI11 2.1 fills optional<bool> flags even when absent: keep on/off as separate flags.
    bool f_on[4] = {}, f_off[4] = {};
    const char* fname[4] = {"learning", "proxy", "l2miss", "l3miss"};
    auto* add = app.verb("add", "Create a VTEP (attached to the bridge object read on stdin, if any)", VerbKind::MutatingFromStdin);
    add->add_option("name", name, "Device name; default: from --netid, or vx-* for an ov-* bridge on stdin")->type_name("VTEP");
    add->add_option("--vni", vni, "VXLAN network identifier, 1..16777215")->type_name("VNI");
    add->add_option("--port", port, "UDP port (default 4789)")->type_name("PORT");
    add->add_option("--local", local, "Local (source) address of the tunnel")->type_name("IP");
    add->add_option("--dev", dev, "Underlay device")->type_name("IFNAME");
    add->add_option("--master", master, "Bridge to attach to")->type_name("BRIDGE");
    add->add_option("--ttl", ttl, "TTL of outer packets (0 = inherit)")->type_name("TTL");
    auto* mtu_opt = add->add_option("--mtu", mtu, "MTU (default 1450)")->type_name("MTU");
    add->add_flag("--encrypted", encrypted, "An encrypted overlay (ovnet-crypt): MTU 1424, Docker's for a 1500-byte underlay")
        ->excludes(mtu_opt);
    add->add_option("--ageing", ageing, "Lifetime of learned fdb entries, seconds (Docker: 300)")->type_name("SECONDS");
    auto* uc = add->add_flag("--udpcsum", udpcsum, "UDP checksums on IPv4 outer packets (Docker sets it)");
    add->add_flag("--no-udpcsum", no_udpcsum, "No UDP checksums on IPv4 outer packets (the kernel's default)")->excludes(uc);
    add->add_option("--netid", netid, "Docker network id: names the device vx-%06x-<netid[:5]>")->type_name("NETID");
    const char* fhelp[4] = {"Learn remote MACs from traffic (default off, see the man page)",
                            "Answer ARP from the neighbor table (default on)", "Report fdb misses (default on)",
                            "Report neighbor misses (default on)"};
    for (int i = 0; i < 4; i++) {
        auto* on = add->add_flag(std::string("--") + fname[i], f_on[i], fhelp[i]);
        add->add_flag(std::string("--no-") + fname[i], f_off[i], std::string("Turn ") + fname[i] + " off")->excludes(on);
    }
    add->callback([&] {
        std::vector<json> objs;
        std::string bridge_from_stdin, ns_from_stdin;
        if (stdin_has_data() && name.empty()) {
            for (auto& o : read_stdin("stdin")) {
                if (is_bridge_object(o)) {
                    if (!bridge_from_stdin.empty()) throw_input("stdin holds more than one bridge object");
                    bridge_from_stdin = get_string(o, "name", "bridge");
                    ns_from_stdin = o.value("netns", "");
                } else {
                    objs.push_back(o);
                }
            }
        }
        if (objs.empty()) {
            // Build one spec from the options.
            json o = json::object();
            std::string br = master.empty() ? bridge_from_stdin : master;
            std::string n = name;
            if (n.empty() && !netid.empty()) {
                if (!vni) throw_input("vtep", "vni", "", "required field is missing");
                n = docker_vxlan_name(uint32_t(std::min<uint64_t>(*vni, kVniMax + 1)), netid);
            }
            if (n.empty() && br.size() > 3 && br.rfind("ov-", 0) == 0) n = "vx-" + br.substr(3);
            if (n.empty()) throw_input("vtep", "name", "", "give a NAME, --netid, or an ov-* bridge on stdin");
            o["name"] = n;
            if (vni) o["vni"] = *vni;
            if (port) o["port"] = *port;
            if (!local.empty()) o["local"] = local;
            if (!dev.empty()) o["dev"] = dev;
            if (!br.empty()) o["master"] = br;
            if (ttl) o["ttl"] = *ttl;
            if (mtu) o["mtu"] = *mtu;
            if (encrypted) {
                o["mtu"] = kEncryptedOverlayMtu;
                if (!g.quiet)
                    fmt::print(stderr, "{}: encrypted overlay: MTU {} (1500 - 50 VXLAN - 26 ESP, a multiple of 4)\n", g.name,
                               kEncryptedOverlayMtu);
            }
            if (ageing) o["ageing"] = *ageing;
            if (udpcsum || no_udpcsum) o["udp_csum"] = udpcsum;
            for (int i = 0; i < 4; i++)
                if (f_on[i] || f_off[i]) o[fname[i]] = f_on[i];
            objs.push_back(o);
        } else if (!bridge_from_stdin.empty()) {
            for (auto& o : objs)
                if (o.is_object() && !o.contains("master")) o["master"] = bridge_from_stdin;
        }
        std::vector<VtepSpec> specs;
        for (auto& o : objs) specs.push_back(VtepSpec::from_json(o));
        // Like apply: without -n, the namespace the objects were shown from (bridge or VTEPs).
        std::string ns = !g.netns.empty() ? g.netns : !ns_from_stdin.empty() ? ns_from_stdin : netns_for(g, objs);
        lock_netns(ns);
        Handle h(ns);
        auto ch = vtep_apply(h, specs);
        json out = json::array();
        for (auto& s : specs) out.push_back(vtep_show(h, s.name).at(0).to_json());
        report(g, ch, specs.size() == 1 ? out[0] : out);
    });

    auto* apply = app.verb("apply", "Create or converge every VTEP object read on stdin (ovnet-vtep show -j output)", VerbKind::MutatingFromStdin);
    apply->callback([&] {
        std::vector<VtepSpec> specs;
        auto objs = read_stdin("stdin");
        for (auto& o : objs) specs.push_back(VtepSpec::from_json(o));
        Handle h(netns_for(g, objs));
        auto ch = vtep_apply(h, specs);
        report(g, ch, to_json(ch));
    });

    std::vector<std::string> names;
    auto* del = app.verb("del", "Delete VTEPs", VerbKind::Mutating);
    del->add_option("name", names, "Device names")->required()->type_name("VTEP");
    del->callback([&] {
        Handle h(g.netns);
        auto ch = vtep_del(h, names);
        report(g, ch, to_json(ch));
    });

    return app.run(argc, argv);
}
