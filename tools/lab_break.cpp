// ovnet-lab verbs: break, capture, graph.
#include "lab_cli.hpp"

namespace ovnet::lab {

void add_break_verbs(tool::App& app, LabCli& c) {
    (void)app;
    (void)c;
}

}  // namespace ovnet::lab
