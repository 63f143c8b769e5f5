// ovnet-audit: cross-node consistency checks over ovnet-inspect snapshots, each finding with the
// ovnet commands that fix it. Exit 0 when clean, 1 with findings, 2 on bad input. Never writes.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <cstring>
#include <unistd.h>

#include "common.hpp"
#include "ovnet/audit.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

// A regular file mapped read-only: 100 snapshots are hundreds of MB, read once; mapping them
// saves copying them (about a third of the time read(2) took in bench/audit).
struct Mapped {
    void* p = MAP_FAILED;
    size_t n = 0;
    Mapped() = default;
    Mapped(const Mapped&) = delete;
    Mapped& operator=(const Mapped&) = delete;
    ~Mapped() {
        if (p != MAP_FAILED) ::munmap(p, n);
    }
};

void print_list(const json& doc) {
    auto& nets = doc["networks"];
    fmt::print("{} nodes, {} networks\n", doc["nodes"].size(), nets.size());
    for (auto& f : doc["findings"]) {
        fmt::print("\n{} {}{}: {}\n", f["severity"].get<std::string>(), f["code"].get<std::string>(),
                   f["network"].is_null() ? std::string() : " (network " + f["network"].get<std::string>() + ")",
                   f["message"].get<std::string>());
        for (auto& o : f["objects"]) fmt::print("  object {}\n", o.get<std::string>());
        if (f["fix"].is_null()) {
            fmt::print("  fix: none (see the message)\n");
            continue;
        }
        for (auto& x : f["fix"])
            fmt::print("  fix on {}: {}{}\n", x["node"].get<std::string>(), x["command"].get<std::string>(),
                       x["input"].is_null() ? "" : " < (input: ovnet-audit --fix)");
    }
    auto& s = doc["summary"];
    fmt::print("{}{} errors, {} warnings, {} info\n", doc["findings"].empty() ? "" : "\n", s["error"].get<size_t>(),
               s["warning"].get<size_t>(), s["info"].get<size_t>());
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-audit", "Cross-node consistency checks over ovnet-inspect snapshots (concatenated on stdin, or "
                           "files), each finding with the ovnet commands that fix it. Never writes.");
    auto& g = app.g;
    std::vector<std::string> files;
    std::string node;
    bool fix = false, findings = false;
    app.cli.require_subcommand(0, 0);
    // Snapshots are read, no namespace is.
    app.cli.remove_option(app.cli.get_option("--netns"));
    app.cli.remove_option(app.cli.get_option("--docker-netns-dir"));
    app.cli.add_option("FILE", files, "Snapshot streams (- or none: stdin)")->type_name("FILE");
    app.cli.add_flag("--fix", fix, "Print the fixes as a shell script (per node: \"# node HOST\" then its commands) "
                                   "instead of the report");
    app.cli.add_option("--node", node, "With --fix: only this node's part (ovnet-audit --fix --node n2 | ssh n2 sh)")
        ->type_name("HOST");
    app.cli.callback([&] {
        if (files.empty()) files.push_back("-");
        if (std::count(files.begin(), files.end(), "-") > 1) throw Error(ErrorKind::Input, "stdin (-) given twice");
        AuditReader reader;
        for (auto& f : files) {
            std::string what = f == "-" ? "stdin" : f;
            if (f == "-") {
                reader.read(read_fd_all(STDIN_FILENO, what), what);
                continue;
            }
            int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) throw Error(ErrorKind::Input, what + ": cannot open: " + std::strerror(errno));
            Fd h(fd);
            struct stat st {};
            if (::fstat(h.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
                Mapped m;
                m.n = size_t(st.st_size);
                m.p = ::mmap(nullptr, m.n, PROT_READ, MAP_PRIVATE, h.get(), 0);
                if (m.p != MAP_FAILED) {
                    ::madvise(m.p, m.n, MADV_SEQUENTIAL);
                    reader.read(std::string_view(static_cast<const char*>(m.p), m.n), what);
                    continue;
                }
            }
            reader.read(read_fd_all(h.get(), what), what);
        }
        auto snaps = reader.finish();
        if (!node.empty() && std::none_of(snaps.begin(), snaps.end(), [&](auto& s) { return s.host == node; }))
            throw Error(ErrorKind::Input, "--node " + node + ": no snapshot of that host");
        auto report = audit(snaps);
        findings = !report.findings.empty();
        if (fix) {
            std::string s = audit_fix_script(report, node);
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
            return;
        }
        emit(g, report.to_json(), print_list);
    });
    int rc = app.run(argc, argv);
    return rc == 0 && findings ? 1 : rc;
}
