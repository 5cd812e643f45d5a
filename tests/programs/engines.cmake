# The engines that the native-vs-Vireo comparison tests (tests/programs, tests/busybox) run
# under. Both folders include this file, so adding an engine to the matrix is this one line
# (or -DVIREO_TEST_ENGINES="interp;jit" at configure time).
if(NOT DEFINED VIREO_TEST_ENGINES)
  set(VIREO_TEST_ENGINES interp jit)
endif()

# Each comparison run gets this many seconds; CTest's TIMEOUT is a little longer so that the
# script, not CTest, reports a hang (with the diff of what was printed so far).
set(VIREO_COMPARE_RUN_TIMEOUT 50)
set(VIREO_COMPARE_TEST_TIMEOUT 120)
set(VIREO_COMPARE_RUN ${CMAKE_SOURCE_DIR}/scripts/compare-run.sh)

# Off by default: also run every comparison with qemu-x86_64 as the "guest" runner. That checks
# the test material itself (deterministic output, harness correct) independently of Vireo.
option(VIREO_TEST_WITH_QEMU "Add <suite>.qemu.* tests that validate the test material with qemu-x86_64" OFF)
if(VIREO_TEST_WITH_QEMU)
  find_program(VIREO_QEMU_X86_64 qemu-x86_64 REQUIRED)
endif()
