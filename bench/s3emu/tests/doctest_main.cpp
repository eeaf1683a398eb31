// doctest main for the emulator's unit tests (tests/meson.build's main is declared after bench/).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
