// ovnet-lab verbs: tour, task, check, selftest.
#include "lab_cli.hpp"

namespace ovnet::lab {

void add_tour_verbs(tool::App& app, LabCli& c) {
    (void)app;
    (void)c;
}

}  // namespace ovnet::lab
