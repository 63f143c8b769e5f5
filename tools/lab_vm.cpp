// ovnet-lab --vm: the whole lab inside the project's qemu VM (tests/vm/vmrun.sh: Debian's cloud
// kernel, which has IPVS and AES-GCM), for kernels that lack them. A lab does not outlive the VM, so
// one boot runs `up`, the verb asked for, and `down`; the guest's console is streamed back.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "lab_cli.hpp"

namespace ovnet::lab {
namespace {

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char ch : s) {
        if (ch == '\'') out += "'\\''";
        else out += ch;
    }
    return out + "'";
}

std::string self_dir() {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : p.parent_path().string();
}

// vmrun.sh: $OVNET_VMRUN, else the source tree this binary was built from.
std::string vmrun_path() {
    if (const char* e = std::getenv("OVNET_VMRUN"); e && *e) return e;
#ifdef OVNET_SOURCE_DIR
    std::string p = std::string(OVNET_SOURCE_DIR) + "/tests/vm/vmrun.sh";
    if (access(p.c_str(), X_OK) == 0) return p;
#endif
    return {};
}

}  // namespace

bool wants_vm(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") break;
        if (a == "--vm") return true;
    }
    return false;
}

int run_in_vm(int argc, char** argv) {
    // The arguments for the guest: --vm dropped, a topology file shipped into the guest's /usr/local/bin.
    std::vector<std::string> args, extra;
    std::string verb;
    static const std::vector<std::string> verbs = {"up", "down", "status", "scale", "tour", "task", "check",
                                                   "selftest", "break", "capture", "graph"};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--vm") continue;
        std::string file;
        if (a == "--topology" && i + 1 < argc) {
            file = argv[++i];
        } else if (a.rfind("--topology=", 0) == 0) {
            file = a.substr(11);
        }
        if (!file.empty()) {
            if (access(file.c_str(), R_OK) != 0) {
                std::fprintf(stderr, "ovnet-lab: --topology \"%s\": cannot read it\n", file.c_str());
                return 2;
            }
            extra.push_back(std::filesystem::absolute(file).string());
            args.push_back("--topology");
            args.push_back("/usr/local/bin/" + std::filesystem::path(file).filename().string());
            continue;
        }
        if (verb.empty()) {
            for (const auto& v : verbs)
                if (a == v) verb = a;
        }
        args.push_back(a);
    }
    if (verb.empty()) {
        std::fprintf(stderr, "ovnet-lab: --vm needs a verb (up, tour, selftest, ...)\n");
        return 2;
    }
    if (verb == "down") {
        std::fprintf(stderr, "ovnet-lab: --vm down: a lab in the VM ends with the VM; nothing to take down\n");
        return 0;
    }
    std::string vmrun = vmrun_path();
    if (vmrun.empty()) {
        std::fprintf(stderr, "ovnet-lab: --vm: no tests/vm/vmrun.sh (set OVNET_VMRUN to the source tree's tests/vm/vmrun.sh)\n");
        return 1;
    }
    // Global options (those before the verb) for up and down around the verb.
    std::vector<std::string> global;
    for (const auto& a : args) {
        if (a == verb) break;
        global.push_back(a);
    }
    auto cmd = [&](const std::vector<std::string>& v) {
        std::string s = "ovnet-lab";
        for (const auto& a : v) s += " " + shell_quote(a);
        return s;
    };
    std::vector<std::string> up = global, down = global;
    up.push_back("up");
    down.push_back("down");
    std::string tmp = "/tmp/ovnet-lab-vm.XXXXXX";
    if (!mkdtemp(tmp.data())) {
        std::perror("ovnet-lab: --vm: mkdtemp");
        return 1;
    }
    std::string body = tmp + "/lab.sh";
    {
        std::ofstream b(body);
        b << "#!/bin/bash\n"
             "# ovnet-lab --vm: up, the verb, down, in one boot.\n"
             "for m in veth bridge vxlan ip_vs ip_vs_rr ip_vs_sh nf_nat nf_conntrack iptable_nat iptable_mangle iptable_filter \\\n"
             "         iptable_raw xt_mark xt_nat xt_ipvs xt_tcpudp xt_addrtype xt_MASQUERADE xt_conntrack xt_policy xt_u32 \\\n"
             "         esp4 xfrm_user; do modprobe $m 2>/dev/null; done\n"
          << cmd(up) << " -t || { echo \"VM-RESULT: FAIL ovnet-lab up\"; " << cmd(down) << " -q; exit 0; }\n";
        if (verb != "up") b << cmd(args) << "\nrc=$?\n";
        else b << cmd(global) << " status -t\nrc=$?\n";
        b << cmd(down) << " -q >/dev/null\n"
             "if [ $rc = 0 ]; then echo \"VM-RESULT: PASS\"; else echo \"VM-RESULT: FAIL ovnet-lab " << verb
          << " exit $rc\"; fi\n";
    }
    std::vector<std::string> files;
    std::string dir = self_dir();
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        auto n = e.path().filename().string();
        if (n.rfind("ovnet-", 0) == 0 && e.is_regular_file() && access(e.path().c_str(), X_OK) == 0)
            files.push_back(e.path().string());
    }
    for (const auto& f : extra) files.push_back(f);
    std::string line = shell_quote(vmrun) + " " + shell_quote(body);
    for (const auto& f : files) line += " " + shell_quote(f);
    std::fprintf(stderr, "ovnet-lab: --vm: booting the VM (software emulation: this takes a minute or more)\n");
    std::FILE* p = popen(line.c_str(), "r");
    if (!p) {
        std::perror("ovnet-lab: --vm: vmrun.sh");
        return 1;
    }
    // The guest console: the body's lines ("[lab] ...") without the prefix; the rest dropped.
    bool passed = false;
    char buf[8192];
    while (std::fgets(buf, sizeof buf, p)) {
        std::string l = buf;
        if (l.rfind("[lab] ", 0) != 0) continue;
        l = l.substr(6);
        if (l.rfind("VM-RESULT: PASS", 0) == 0) {
            passed = true;
            continue;
        }
        if (l.rfind("VM-RESULT: ", 0) == 0) {
            std::fprintf(stderr, "ovnet-lab: --vm: %s", l.c_str() + 11);
            continue;
        }
        std::fputs(l.c_str(), stdout);
        std::fflush(stdout);
    }
    int st = pclose(p);
    std::filesystem::remove_all(tmp, ec);
    if (!WIFEXITED(st) || WEXITSTATUS(st) >= 2) {
        std::fprintf(stderr, "ovnet-lab: --vm: the VM run did not complete (vmrun.sh exit %d)\n",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return 1;
    }
    return passed ? 0 : 1;
}

}  // namespace ovnet::lab
