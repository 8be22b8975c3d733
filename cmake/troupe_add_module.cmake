# troupe_add_module(NAME <name> SOURCES <src>... [DEPENDENCIES <target>...])
#
# The one helper that creates every layer's library (modelled on CAF's
# caf_add_component and Abseil's absl_cc_library):
#   - target troupe_<name> with alias troupe::<name> and export name <name>;
#   - public headers from ./include, installed under include/;
#   - shared warnings (build tree only) and C++20;
#   - install rules into the troupeTargets export set.

function(troupe_add_module)
  cmake_parse_arguments(arg "" "NAME" "SOURCES;DEPENDENCIES" ${ARGN})
  if(NOT arg_NAME)
    message(FATAL_ERROR "troupe_add_module: NAME is required")
  endif()
  set(tgt troupe_${arg_NAME})
  add_library(${tgt} ${arg_SOURCES})
  add_library(troupe::${arg_NAME} ALIAS ${tgt})
  set_target_properties(${tgt} PROPERTIES EXPORT_NAME ${arg_NAME}
                                          OUTPUT_NAME troupe_${arg_NAME})
  target_compile_features(${tgt} PUBLIC cxx_std_20)
  target_include_directories(
    ${tgt} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${tgt} PUBLIC ${arg_DEPENDENCIES}
                        PRIVATE $<BUILD_INTERFACE:troupe_warnings>)
  if(TROUPE_SANITIZE)
    # A sanitized static library needs the sanitizer runtime wherever it
    # is linked, installed consumers included. An installed consumer also
    # compiles the templates of troupe's headers in its own code, and those
    # must be instrumented too: TSan cannot see synchronization it did not
    # instrument (a result's shared_ptr released by the consumer's own
    # code, uninstrumented, looked like a race with the worker that
    # published it). The build tree has the flag already.
    target_link_options(${tgt} INTERFACE -fsanitize=${TROUPE_SANITIZE})
    target_compile_options(
      ${tgt} INTERFACE $<INSTALL_INTERFACE:-fsanitize=${TROUPE_SANITIZE}>)
  endif()
  install(TARGETS ${tgt} EXPORT troupeTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set_property(GLOBAL APPEND PROPERTY TROUPE_MODULES ${arg_NAME})
endfunction()
