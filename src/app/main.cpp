// Placeholder entry point until the app layer lands (issue 2).
#include <cstdio>

#include "xs3_build_config.h"

int main() {
    std::printf("xs3lerator %s\n", XS3_VERSION);
    return 0;
}
