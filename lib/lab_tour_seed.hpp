// The deep dive's own text as the tour quotes it (lab_tour_seed.cpp, generated from the seed).
#pragma once
#include <string>
#include <vector>

namespace ovnet::lab_seed {

/// One quotation: the seed's command(s) and the output (and explanation) it shows, verbatim.
struct Quote {
    const char* key;
    const char* command;
    const char* output;
};
const std::vector<Quote>& quotes();

}  // namespace ovnet::lab_seed
