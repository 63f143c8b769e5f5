// The iptables-save parser, the parsers of ovnet's own rules, and the planner over what was read.
#include "fuzz.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/lb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string s(ovnet_fuzz::text(data, size));
    ovnet_fuzz::guarded([&] {
        auto st = ovnet::IptState::parse(s);
        for (auto& [name, t] : st.tables)
            for (auto& [chain, rules] : t.rules)
                for (auto& r : rules) {
                    (void)ovnet::parse_mark_rule(r);
                    (void)ovnet::parse_port_mark_rule(r);
                    (void)ovnet::parse_snat_rule(r);
                    (void)ovnet::parse_dnat_rule(r);
                }
        (void)ovnet::lb_used_marks(st);
        (void)ovnet::lb_namespace_in_use(st);
        // Planning a known chain against whatever was read never fails.
        ovnet::IptChain c{"mangle", "OVNET-LB", {"-d 10.0.0.5/32 -j MARK --set-xmark 0x100/0xffffffff"},
                          {{"INPUT", "-j OVNET-LB"}}};
        (void)ovnet::ipt_plan(st, {c});
    });
    return 0;
}
