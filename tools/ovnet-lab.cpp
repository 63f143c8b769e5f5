// ovnet-lab: the deep dive's cluster on one machine (up, down, status, scale), walked (tour, task,
// check, selftest), broken and fixed (break), watched (capture) and drawn (graph).
#include "lab_cli.hpp"

int main(int argc, char** argv) {
    if (ovnet::lab::wants_vm(argc, argv)) return ovnet::lab::run_in_vm(argc, argv);
    ovnet::tool::App app("ovnet-lab", "the Swarm networking deep dive, replayed in network namespaces");
    ovnet::lab::LabCli c;
    c.app = &app;
    ovnet::lab::add_core_verbs(app, c);
    ovnet::lab::add_tour_verbs(app, c);
    ovnet::lab::add_break_verbs(app, c);
    int rc = app.run(argc, argv);
    return rc ? rc : c.exit_code;
}
