// ovnet-lab verbs: up, down, status, scale.
#include "lab_cli.hpp"

namespace ovnet::lab {

void add_core_verbs(tool::App& app, LabCli& c) {
    (void)app;
    (void)c;
}

}  // namespace ovnet::lab
