# Runs one example and checks what it prints (see troupe_add_example in
# CMakeLists.txt, which writes the spec file and the ctest test).
#
#   cmake -DPROGRAM=<exe> -DSPEC=<name>.check.cmake -P check_output.cmake
#
# The spec file sets <kind>_COUNT and <kind>_0 ... for each <kind> of ARGS,
# EXPECT, EXPECT_ANYWHERE and FORBID, and ALLOW_STDERR and RUN_TIMEOUT
# (seconds). Items are read by index, never as one CMake list, so a '[' in
# a regex cannot glue two of them together.

if(NOT PROGRAM OR NOT SPEC)
  message(FATAL_ERROR "usage: cmake -DPROGRAM=<exe> -DSPEC=<file> -P "
                      "check_output.cmake")
endif()
include(${SPEC})

# The indexes 0 ... <kind>_COUNT - 1, as a list (empty for no items).
function(indexes kind out)
  set(result)
  if(${kind}_COUNT GREATER 0)
    math(EXPR last "${${kind}_COUNT} - 1")
    foreach(i RANGE ${last})
      list(APPEND result ${i})
    endforeach()
  endif()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

indexes(ARGS arg_indexes)
set(program_args)
foreach(i IN LISTS arg_indexes)
  list(APPEND program_args "${ARGS_${i}}")
endforeach()

string(TIMESTAMP started "%s%f")
execute_process(COMMAND ${PROGRAM} ${program_args}
                RESULT_VARIABLE status
                OUTPUT_VARIABLE out
                ERROR_VARIABLE err
                TIMEOUT ${RUN_TIMEOUT})
string(TIMESTAMP finished "%s%f")
math(EXPR elapsed_ms "(${finished} - ${started}) / 1000")

# Every failure shows the whole output, verbatim (FATAL_ERROR would reflow
# it): the reason is usually in it. The arguments are joined into one
# message.
function(fail)
  string(JOIN "" why ${ARGV})
  get_filename_component(name ${PROGRAM} NAME)
  message(NOTICE
          "${name}: ${why}\n"
          "---- exit status: ${status}, ran ${elapsed_ms} ms\n"
          "---- standard output:\n${out}"
          "---- standard error:\n${err}"
          "---- end")
  message(FATAL_ERROR "${name}: ${why}")
endfunction()

if(NOT status STREQUAL "0")
  fail("the program did not exit with status 0")
endif()
if(NOT ALLOW_STDERR AND NOT err STREQUAL "")
  fail("the program wrote to standard error")
endif()

# Each pattern is searched after the end of the previous match, so the
# patterns must appear in the given order. A pattern without ^ or $ matches
# first where the text it matched first occurs, which locates the match.
indexes(EXPECT expect_indexes)
set(rest "${out}")
set(previous "(start of output)")
foreach(i IN LISTS expect_indexes)
  set(pattern "${EXPECT_${i}}")
  if(NOT rest MATCHES "${pattern}")
    if(out MATCHES "${pattern}")
      fail("expected pattern '${pattern}' appears only before the match "
           "of the previous pattern '${previous}'")
    endif()
    fail("expected pattern not found: '${pattern}'")
  endif()
  string(FIND "${rest}" "${CMAKE_MATCH_0}" at)
  string(LENGTH "${CMAKE_MATCH_0}" length)
  math(EXPR end "${at} + ${length}")
  string(SUBSTRING "${rest}" ${end} -1 rest)
  set(previous "${pattern}")
endforeach()

indexes(EXPECT_ANYWHERE anywhere_indexes)
foreach(i IN LISTS anywhere_indexes)
  set(pattern "${EXPECT_ANYWHERE_${i}}")
  if(NOT out MATCHES "${pattern}")
    fail("expected pattern not found anywhere: '${pattern}'")
  endif()
endforeach()

indexes(FORBID forbid_indexes)
foreach(i IN LISTS forbid_indexes)
  set(pattern "${FORBID_${i}}")
  if("${out}${err}" MATCHES "${pattern}")
    fail("forbidden pattern '${pattern}' matched '${CMAKE_MATCH_0}'")
  endif()
endforeach()

message(STATUS "output as expected (${elapsed_ms} ms)")
