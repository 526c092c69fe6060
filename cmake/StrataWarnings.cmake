# Compiler flags shared by every target: warnings as errors in CI, optional ASan+UBSan.
add_compile_options(-Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(STRATA_WERROR)
  add_compile_options(-Werror)
endif()
if(STRATA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# strata_add_test(NAME SOURCES... LIBS ...): one gtest binary per folder, discovered by CTest
# with the label "unit" (the ASan+UBSan pass in .ci/test runs that label).
function(strata_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS unit ENVIRONMENT "STRATA_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
