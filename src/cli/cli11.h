// CLI11, included without <iostream>'s static initializer (support/lazy_iostreams.h): every
// file of src/cli includes CLI11 through here. main.cpp builds the streams before CLI11 reads
// a command line.
#pragma once

#include "support/lazy_iostreams.h"

#include <CLI/CLI.hpp>
