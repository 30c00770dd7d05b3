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
endforeach()

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
  endforeach()
endforeach()

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
  set_tests_properties(fuzz-replay/${target} PROPERTIES LABELS fuzz)
  if(COLDMAIL_FUZZ)
    add_executable(fuzz_${target} ${src})
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${target} PRIVATE libcoldmail)
    set_target_properties(fuzz_${target} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
endforeach()
