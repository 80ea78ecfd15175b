# hvsim installed with `cmake --install` (tests/install/install.sh): install.tree installs
# into the build folder (fixture hvsim_installed); the other cases read what it installed.
add_test(NAME install.tree
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install.sh ${CMAKE_BINARY_DIR} tree)
set_tests_properties(install.tree PROPERTIES FIXTURES_SETUP hvsim_installed)
foreach(case man completion help-man)
  add_test(NAME install.${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install.sh ${CMAKE_BINARY_DIR} ${case})
  set_tests_properties(install.${case} PROPERTIES FIXTURES_REQUIRED hvsim_installed
                                                SKIP_RETURN_CODE 77)
endforeach()
