# The ctest suite.  Every file that follows a naming rule below becomes a
# test; nothing has to be listed by hand.
#
#   test/unit/test_<module>.c   a C program linked with libcoldmail
#   test/tools/<tool>.c         test helper programs (not tests themselves)
#   test/e2e/NN-<what>.sh       both binaries end to end, in a scratch dir
#   test/interop/<tool>.sh      our files against the real tools
#   test/fuzz/fuzz_<parser>.c   replayed over test/fuzz/corpus/<parser>/

set(TEST_ENV
  "COLDMAIL=$<TARGET_FILE:coldmail>"
  "COLDMAIL_RESTORE=$<TARGET_FILE:coldmail-restore>"
  "SRCDIR=${CMAKE_SOURCE_DIR}"
  "BUILDDIR=${CMAKE_BINARY_DIR}"
  "TOOLDIR=${CMAKE_BINARY_DIR}/test-tools"
  "TESTDATA=${CMAKE_SOURCE_DIR}/test/data")

# In a sanitizer build every report, of every process a test runs, goes to
# a file in sanitizer-logs/ (LeakSanitizer on, no recovery), and the last
# test fails if there is any: a leak or an error in a run whose exit status
# a test expected to be non-zero, or ignored, does not go unseen.
# ASAN_OPTIONS and UBSAN_OPTIONS set when cmake runs are kept, these added.
if(COLDMAIL_SANITIZE)
  set(SAN_LOGS ${CMAKE_BINARY_DIR}/sanitizer-logs)
  list(APPEND TEST_ENV
    "ASAN_OPTIONS=$ENV{ASAN_OPTIONS}:detect_leaks=1:log_path=${SAN_LOGS}/asan"
    "UBSAN_OPTIONS=$ENV{UBSAN_OPTIONS}:print_stacktrace=1:halt_on_error=1:log_path=${SAN_LOGS}/ubsan")
  add_test(NAME sanitizer/clear-logs COMMAND ${CMAKE_COMMAND} -E
           rm -rf ${SAN_LOGS})
  add_test(NAME sanitizer/make-logs COMMAND ${CMAKE_COMMAND} -E
           make_directory ${SAN_LOGS})
  add_test(NAME sanitizer/no-reports
           COMMAND sh ${CMAKE_SOURCE_DIR}/test/sanitizer-reports.sh ${SAN_LOGS})
  set_tests_properties(sanitizer/clear-logs PROPERTIES FIXTURES_SETUP sanclear)
  set_tests_properties(sanitizer/make-logs PROPERTIES
    FIXTURES_SETUP sanlogs FIXTURES_REQUIRED sanclear)
  set_tests_properties(sanitizer/no-reports PROPERTIES
    FIXTURES_CLEANUP sanlogs LABELS sanitizer)
endif()

file(GLOB TOOL_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/test/tools/*.c)
foreach(src ${TOOL_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${COLDMAIL_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/test)
  target_link_libraries(${name} PRIVATE libcoldmail)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/test-tools)
endforeach()

file(GLOB UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/test/unit/test_*.c)
foreach(src ${UNIT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${COLDMAIL_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/test)
  target_link_libraries(${name} PRIVATE libcoldmail)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/test-unit)
  add_test(NAME unit/${name} COMMAND ${name}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(unit/${name} PROPERTIES ENVIRONMENT "${TEST_ENV}"
                       LABELS unit)
  if(COLDMAIL_SANITIZE)
    set_tests_properties(unit/${name} PROPERTIES FIXTURES_REQUIRED sanlogs)
  endif()
endforeach()

# test_secrets searches every block libcoldmail frees or moves for secrets.
if(TARGET test_secrets)
  target_link_options(test_secrets PRIVATE -Wl,--wrap=free -Wl,--wrap=realloc)
endif()

# test_cctv inflates the zlib-compressed CCTV age vectors.
if(TARGET test_cctv)
  find_package(ZLIB REQUIRED)
  target_link_libraries(test_cctv PRIVATE ZLIB::ZLIB)
endif()

foreach(kind e2e interop)
  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/test/${kind}/*.sh)
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${kind}/${name} COMMAND bash ${script}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(${kind}/${name} PROPERTIES
      ENVIRONMENT "${TEST_ENV}" LABELS ${kind} TIMEOUT 900
      SKIP_RETURN_CODE 77)
    if(COLDMAIL_SANITIZE)
      set_tests_properties(${kind}/${name} PROPERTIES FIXTURES_REQUIRED sanlogs)
    endif()
  endforeach()
endforeach()

# valgrind memcheck of the end-to-end sample (test/valgrind.sh --quick; the
# whole script runs a subset of e2e too).  Plain builds only: valgrind and
# the sanitizers do not mix.
if(NOT COLDMAIL_SANITIZE AND NOT COLDMAIL_FUZZ)
  add_test(NAME valgrind/sample
           COMMAND bash ${CMAKE_SOURCE_DIR}/test/valgrind.sh --quick
                   ${CMAKE_BINARY_DIR}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(valgrind/sample PROPERTIES LABELS valgrind
                       TIMEOUT 600 SKIP_RETURN_CODE 77)
endif()

# Fuzz targets: every build replays the seed corpora through a plain main();
# with COLDMAIL_FUZZ=ON (clang) real libFuzzer binaries are built as well.
file(GLOB FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/test/fuzz/fuzz_*.c)
foreach(src ${FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" target ${name})
  add_executable(replay_${target} ${src} ${CMAKE_SOURCE_DIR}/test/fuzz/replay.c)
  target_compile_options(replay_${target} PRIVATE ${COLDMAIL_WARNINGS})
  target_link_libraries(replay_${target} PRIVATE libcoldmail)
  set_target_properties(replay_${target} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/test-fuzz)
  add_test(NAME fuzz-replay/${target}
           COMMAND replay_${target} ${CMAKE_SOURCE_DIR}/test/fuzz/corpus/${target})
  set_tests_properties(fuzz-replay/${target} PROPERTIES LABELS fuzz
                       ENVIRONMENT "${TEST_ENV}")
  if(COLDMAIL_SANITIZE)
    set_tests_properties(fuzz-replay/${target} PROPERTIES
                         FIXTURES_REQUIRED sanlogs)
  endif()
  if(COLDMAIL_FUZZ)
    add_executable(fuzz_${target} ${src})
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${target} PRIVATE libcoldmail)
    set_target_properties(fuzz_${target} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
endforeach()
